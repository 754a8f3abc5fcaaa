package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/moat-mcp/moat/abi"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Resources, resource templates and prompts: what a plugin describes beside
// its tools, and the calls that serve them (resources/read, prompts/get,
// completion/complete), each run in the plugin's sandbox under the same
// breaker, limits and checks as a tool call.

// Resource is a resource a plugin serves at a fixed URI. URIs are the
// plugin's own: they take no prefix.
type Resource struct {
	Def    abi.Resource
	Plugin *Plugin
}

// Template is a family of resources whose URIs match a URI template.
type Template struct {
	Def    abi.ResourceTemplate
	Plugin *Plugin
	tmpl   *abi.URITemplate
}

// Match reports whether uri is one of the template's.
func (t *Template) Match(uri string) bool {
	_, ok := t.tmpl.Match(uri)
	return ok
}

// shape is the template with its variables' names taken out: two templates
// of the same shape match the same URIs.
func (t *Template) shape() string {
	var b strings.Builder
	depth := 0
	for _, r := range t.Def.URITemplate {
		switch {
		case r == '{':
			depth++
			b.WriteString("{}")
		case r == '}':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Prompt is a prompt as clients see it, bound to the plugin that serves it.
type Prompt struct {
	// Name is the name clients ask for: the plugin's prefix and its own.
	Name   string
	Def    abi.Prompt
	Plugin *Plugin
}

// serves reports whether uri is one of p's resources or matched by one of
// its templates.
func (p *Plugin) serves(uri string) bool {
	for _, r := range p.Resources {
		if r.Def.URI == uri {
			return true
		}
	}
	for _, t := range p.Templates {
		if t.Match(uri) {
			return true
		}
	}
	return false
}

// maxFeatures bounds how many resources, templates or prompts one plugin
// may describe, each.
const maxFeatures = 1024

// parseFeatures checks the resources, templates and prompts of a
// description, and binds them to p.
func parseFeatures(p *Plugin, prefix string, d *abi.Description) error {
	if n := max(len(d.Resources), len(d.ResourceTemplates), len(d.Prompts)); n > maxFeatures {
		return fmt.Errorf("describes %d resources, templates or prompts of one kind, more than moat allows (%d)", n, maxFeatures)
	}
	uris := map[string]bool{}
	for i, def := range d.Resources {
		where := fmt.Sprintf("resource %s", quoteClipped(def.URI))
		if def.URI == "" {
			where = fmt.Sprintf("resource #%d", i+1)
		}
		if err := checkURI(def.URI); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if err := checkTexts(def.Name, def.Title, def.Description, def.MIMEType); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if uris[def.URI] {
			return fmt.Errorf("%s is described twice; resource URIs must be unique", where)
		}
		uris[def.URI] = true
		p.Resources = append(p.Resources, &Resource{Def: def, Plugin: p})
	}
	shapes := map[string]string{}
	for i, def := range d.ResourceTemplates {
		where := fmt.Sprintf("resource template %s", quoteClipped(def.URITemplate))
		if def.URITemplate == "" {
			where = fmt.Sprintf("resource template #%d", i+1)
		}
		tmpl, err := abi.ParseURITemplate(def.URITemplate)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if err := checkURI(literalPrefix(def.URITemplate)); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if err := checkTexts(def.Name, def.Title, def.Description, def.MIMEType); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		t := &Template{Def: def, Plugin: p, tmpl: tmpl}
		if other, ok := shapes[t.shape()]; ok {
			return fmt.Errorf("%s matches the same URIs as resource template %s", where, quoteClipped(other))
		}
		shapes[t.shape()] = def.URITemplate
		p.Templates = append(p.Templates, t)
	}
	names := map[string]bool{}
	for i, def := range d.Prompts {
		where := fmt.Sprintf("prompt %s", quoteClipped(def.Name))
		if def.Name == "" {
			where = fmt.Sprintf("prompt #%d", i+1)
		}
		full := prefix + def.Name
		switch {
		case !toolName.MatchString(def.Name):
			return fmt.Errorf("%s: a prompt name must be 1 to 128 letters, digits, '_', '-' or '.'", where)
		case !toolName.MatchString(full):
			return fmt.Errorf("%s: with its prefix the name %q is longer than 128 characters; set a shorter prefix", where, full)
		case names[def.Name]:
			return fmt.Errorf("%s is described twice; prompt names must be unique", where)
		}
		names[def.Name] = true
		if err := checkTexts("x", def.Title, def.Description, ""); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		args := map[string]bool{}
		for _, a := range def.Arguments {
			if a.Name == "" || args[a.Name] {
				return fmt.Errorf("%s: each argument needs a name of its own", where)
			}
			args[a.Name] = true
			if err := checkTexts(a.Name, a.Title, a.Description, ""); err != nil {
				return fmt.Errorf("%s: argument %s: %v", where, quoteClipped(a.Name), err)
			}
		}
		p.Prompts = append(p.Prompts, &Prompt{Name: full, Def: def, Plugin: p})
	}
	return nil
}

// checkURI accepts an absolute URI, as MCP requires of a resource's.
func checkURI(uri string) error {
	u, err := url.Parse(uri)
	switch {
	case uri == "":
		return errors.New("it has no uri")
	case len(uri) > maxText:
		return fmt.Errorf("its uri is longer than %d bytes", maxText)
	case err != nil || u.Scheme == "":
		return fmt.Errorf("%s is not an absolute URI; write one with a scheme, such as file:///notes/a.md or notes://a", quoteClipped(uri))
	}
	return nil
}

// literalPrefix is a template's text before its first variable, which must
// hold the scheme.
func literalPrefix(tmpl string) string {
	if i := strings.IndexByte(tmpl, '{'); i >= 0 {
		return tmpl[:i] + "x"
	}
	return tmpl
}

// checkTexts checks a name (required) and the texts beside it.
func checkTexts(name, title, description, mimeType string) error {
	switch {
	case name == "":
		return errors.New("it has no name")
	case len(name) > maxVersion || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("its name %s is not one moat can show: at most %d characters, no control characters", quoteClipped(name), maxVersion)
	case len(title) > maxText || len(description) > maxText:
		return fmt.Errorf("its title or description is longer than %d bytes", maxText)
	case len(mimeType) > maxVersion || strings.IndexFunc(mimeType, unicode.IsControl) >= 0:
		return fmt.Errorf("its mimeType %s is not a MIME type", quoteClipped(mimeType))
	}
	return nil
}

// ReadResource runs resources/read for uri, one of the plugin's resources
// or matched by one of its templates, and checks the answer. The result is
// returned as the plugin wrote it and as the go-sdk decoded it.
func (p *Plugin) ReadResource(ctx context.Context, uri string) (json.RawMessage, *mcp.ReadResourceResult, error) {
	res := new(mcp.ReadResourceResult)
	out, err := p.serve(ctx, abi.MethodResourcesRead, abi.ReadResourceParams{URI: uri}, "resource "+quoteClipped(uri), func(out []byte) error {
		if err := json.Unmarshal(out, res); err != nil {
			return err
		}
		if len(res.Contents) == 0 {
			return errors.New(`it has no "contents"`)
		}
		for _, c := range res.Contents {
			if c == nil {
				return errors.New("a contents entry is null")
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, res, nil
}

// GetPrompt runs prompts/get for the prompt the plugin calls name.
// With round, the request comes back with the client's answers to an
// input-required result; the result may be input-required in turn.
func (p *Plugin) GetPrompt(ctx context.Context, name string, args map[string]string, round *Round) (json.RawMessage, *mcp.GetPromptResult, error) {
	res := new(mcp.GetPromptResult)
	params := abi.GetPromptParams{Name: name, Arguments: args}
	if round != nil {
		params.RequestState = round.RequestState
		if len(round.InputResponses) > 0 {
			if err := json.Unmarshal(round.InputResponses, &params.InputResponses); err != nil {
				return nil, nil, err
			}
		}
	}
	out, err := p.serve(ctx, abi.MethodPromptsGet, params, "prompt "+quoteClipped(name), func(out []byte) error {
		if err := json.Unmarshal(out, res); err != nil {
			return err
		}
		if res.InputRequests != nil {
			if len(res.Messages) > 0 {
				return errors.New("it asks for input and has messages too; return one or the other")
			}
			return p.checkInputRequests(res.InputRequests)
		}
		for _, m := range res.Messages {
			if m == nil || m.Content == nil {
				return errors.New("a message is null or has no content")
			}
			if m.Role != abi.RoleUser && m.Role != abi.RoleAssistant {
				return fmt.Errorf("a message has the role %s; use user or assistant", quoteClipped(string(m.Role)))
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, res, nil
}

// Complete runs completion/complete, with ref naming the plugin's own
// prompt or template.
func (p *Plugin) Complete(ctx context.Context, params abi.CompleteParams) (json.RawMessage, *mcp.CompleteResult, error) {
	res := new(mcp.CompleteResult)
	out, err := p.serve(ctx, abi.MethodComplete, params, "completion", func(out []byte) error {
		if err := json.Unmarshal(out, res); err != nil {
			return err
		}
		if len(res.Completion.Values) > abi.MaxCompletionValues {
			return fmt.Errorf("it holds %d values, more than the %d MCP allows", len(res.Completion.Values), abi.MaxCompletionValues)
		}
		if res.Completion.Values == nil {
			res.Completion.Values = []string{}
		}
		return nil
	})
	if err != nil {
		var proto *ProtocolError
		if errors.As(err, &proto) && proto.Code == abi.CodeMethodNotFound {
			// A plugin that completes nothing: no suggestion, not an error.
			return json.RawMessage(`{"completion":{"values":[]}}`), &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{}}}, nil
		}
		return nil, nil, err
	}
	return out, res, nil
}

// serve runs one request of method in the plugin's sandbox, under its
// breaker, and checks the answer with check. A protocol error the plugin
// returns is a *ProtocolError; a bad answer an *OutputError, which counts
// against the breaker as a fault.
func (p *Plugin) serve(ctx context.Context, method string, params any, what string, check func([]byte) error) (json.RawMessage, error) {
	rawParams, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	request, err := json.Marshal(abi.Request{Method: method, Params: rawParams})
	if err != nil {
		return nil, err
	}
	return p.breaker.run(p.Name, func() ([]byte, error) {
		out, err := p.sandbox.Call(ctx, request)
		if err != nil {
			p.fault(err)
			return nil, err
		}
		var envelope struct {
			Error *abi.Error `json:"error"`
		}
		if json.Unmarshal(out, &envelope) == nil && envelope.Error != nil {
			return nil, &ProtocolError{Code: envelope.Error.Code, Message: envelope.Error.Message}
		}
		if err := check(out); err != nil {
			err = &OutputError{Plugin: p.Name, Request: method + " of " + what, Problem: "it is not a result MCP clients can read: " + p.quote(err.Error())}
			p.fault(err)
			return nil, err
		}
		return out, nil
	})
}
