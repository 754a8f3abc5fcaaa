package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// What plugins serve beside tools: resources, resource templates and
// prompts, registered with the go-sdk as tools are, and completion. Each
// request is routed to the plugin that described the item, under the same
// policy, limits, breaker, scrubbing, audit and metrics as a tool call. A
// resource or prompt the caller may not use answers exactly as an unknown
// one does.

// addFeatures serves p's resources, templates and prompts.
func (s *Server) addFeatures(p *plugin.Plugin) {
	for _, r := range p.Resources {
		s.mcp.AddResource(mcpResource(r.Def), s.readResource)
	}
	for _, t := range p.Templates {
		s.mcp.AddResourceTemplate(mcpTemplate(t.Def), s.readResource)
	}
	for _, pr := range p.Prompts {
		s.mcp.AddPrompt(mcpPrompt(pr), s.getPrompt)
	}
}

// dropFeatures stops serving what old served and p (nil when old is gone)
// does not.
func (s *Server) dropFeatures(old, p *plugin.Plugin) {
	keepURI, keepTmpl, keepPrompt := map[string]bool{}, map[string]bool{}, map[string]bool{}
	if p != nil {
		for _, r := range p.Resources {
			keepURI[r.Def.URI] = true
		}
		for _, t := range p.Templates {
			keepTmpl[t.Def.URITemplate] = true
		}
		for _, pr := range p.Prompts {
			keepPrompt[pr.Name] = true
		}
	}
	var uris, tmpls, prompts []string
	for _, r := range old.Resources {
		if !keepURI[r.Def.URI] {
			uris = append(uris, r.Def.URI)
		}
	}
	for _, t := range old.Templates {
		if !keepTmpl[t.Def.URITemplate] {
			tmpls = append(tmpls, t.Def.URITemplate)
		}
	}
	for _, pr := range old.Prompts {
		if !keepPrompt[pr.Name] {
			prompts = append(prompts, pr.Name)
		}
	}
	if len(uris) > 0 {
		s.mcp.RemoveResources(uris...)
	}
	if len(tmpls) > 0 {
		s.mcp.RemoveResourceTemplates(tmpls...)
	}
	if len(prompts) > 0 {
		s.mcp.RemovePrompts(prompts...)
	}
}

func mcpResource(d abi.Resource) *mcp.Resource {
	return &mcp.Resource{URI: d.URI, Name: d.Name, Title: d.Title, Description: d.Description, MIMEType: d.MIMEType, Size: d.Size, Annotations: mcpAnnotations(d.Annotations)}
}

func mcpTemplate(d abi.ResourceTemplate) *mcp.ResourceTemplate {
	return &mcp.ResourceTemplate{URITemplate: d.URITemplate, Name: d.Name, Title: d.Title, Description: d.Description, MIMEType: d.MIMEType, Annotations: mcpAnnotations(d.Annotations)}
}

func mcpAnnotations(a *abi.Annotations) *mcp.Annotations {
	if a == nil {
		return nil
	}
	out := &mcp.Annotations{LastModified: a.LastModified}
	for _, r := range a.Audience {
		out.Audience = append(out.Audience, mcp.Role(r))
	}
	if a.Priority != nil {
		out.Priority = *a.Priority
	}
	return out
}

func mcpPrompt(p *plugin.Prompt) *mcp.Prompt {
	out := &mcp.Prompt{Name: p.Name, Title: p.Def.Title, Description: p.Def.Description}
	for _, a := range p.Def.Arguments {
		out.Arguments = append(out.Arguments, &mcp.PromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required})
	}
	return out
}

// featureCall is one request to a plugin beside a tool call, as the audit
// log and metrics see it.
type featureCall struct {
	method, name string // name: the resource's URI, the prompt's name
	p            *auth.Principal
	plugin       *plugin.Plugin
	start        time.Time
}

// begin counts a request as in flight, for the drain and max_inflight, as
// a tool call is. It returns the context to run it in and the end, or an
// error to answer at once.
func (s *Server) begin(ctx context.Context, fc *featureCall) (context.Context, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	run := &running{tool: fc.method + " " + fc.name, plugin: fc.plugin.Name, principal: principalID(fc.p), since: time.Now(), cancel: cancel}
	if !s.calls.start(run) {
		cancel()
		s.opts.Metrics.Reject("draining")
		return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: errDraining}
	}
	maxInflight := frontFrom(ctx).MaxInflight
	if n := s.inflight.Add(1); maxInflight > 0 && n > int64(maxInflight) {
		s.inflight.Add(-1)
		s.calls.done(run)
		cancel()
		s.opts.Metrics.Reject("max_inflight")
		return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("moat is running its limit of %d calls at once (max_inflight); retry in a moment", maxInflight)}
	}
	s.opts.Metrics.InflightAdd(1)
	fc.start = time.Now()
	return ctx, func() {
		s.opts.Metrics.InflightAdd(-1)
		s.inflight.Add(-1)
		s.calls.done(run)
		cancel()
	}, nil
}

// finish audits and counts a request, and turns a failure into the
// JSON-RPC error the client sees, scrubbed of secrets.
func (s *Server) finish(ctx context.Context, fc *featureCall, secrets *observe.Secrets, err error) error {
	elapsed := time.Since(fc.start)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		var proto *plugin.ProtocolError
		switch {
		case errors.As(err, &proto):
			outcome = "protocol_error"
			err = &jsonrpc.Error{Code: int64(proto.Code), Message: secrets.Scrub(proto.Message)}
		case errors.Is(err, plugin.ErrQuarantined):
			outcome = "quarantined"
			err = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: secrets.Scrub(err.Error())}
		default:
			if kind := sandbox.KindName(err); kind != "" {
				outcome = "fault:" + kind
			} else {
				outcome = "fault:bad_output"
			}
			msg := secrets.Scrub(err.Error())
			s.log.Warn("plugin fault", "plugin", fc.plugin.Name, "method", fc.method, "kind", outcome, "duration", elapsed, "error", msg)
			err = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
		}
	}
	s.audit(ctx, fc.p, fc.method, secrets.Scrub(fc.name), fc.plugin.Name, outcome, "", elapsed, nil)
	s.opts.Metrics.ObservePluginRequest(fc.plugin.Name, fc.method, outcome)
	return err
}

// secretsFor are the secrets to scrub from what p is sent: the
// configuration's and p's own bearer token.
func (s *Server) secretsFor(ctx context.Context, p *auth.Principal) *observe.Secrets {
	secrets := frontFrom(ctx).Secrets
	if secrets != nil && p != nil && p.Token != "" {
		secrets = secrets.WithExtra(p.Token)
	}
	return secrets
}

// rescrub scrubs a plugin's raw answer and, when that changed it, decodes
// the scrubbed bytes again in place of decoded.
func rescrub[T any](secrets *observe.Secrets, raw json.RawMessage, decoded *T) (*T, error) {
	if secrets == nil {
		return decoded, nil
	}
	scrubbed := secrets.ScrubJSON(raw)
	if bytes.Equal(scrubbed, raw) {
		return decoded, nil
	}
	again := new(T)
	if err := json.Unmarshal(scrubbed, again); err != nil {
		return nil, err
	}
	return again, nil
}

// allowed reports whether p may use the item of kind named name.
func (s *Server) allowed(ctx context.Context, p *auth.Principal, kind policy.Kind, name string) bool {
	pol := frontFrom(ctx).Policy
	return pol == nil || pol.Allowed(subject(p), kind, name)
}

// readResource serves resources/read for every resource and template.
func (s *Server) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	p := s.principal(ctx, req.GetExtra())
	if !s.allowed(ctx, p, policy.Resource, uri) {
		s.audit(ctx, p, "resources/read", uri, "", "denied", "", 0, nil)
		return nil, mcp.ResourceNotFoundError(uri)
	}
	owner, ok := s.routeResource(ctx, uri)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	defer owner.Leave()
	fc := &featureCall{method: "resources/read", name: uri, p: p, plugin: owner}
	ctx, end, err := s.begin(ctx, fc)
	if err != nil {
		return nil, err
	}
	defer end()
	secrets := s.secretsFor(ctx, p)
	raw, res, err := owner.ReadResource(ctx, uri)
	if err == nil {
		res, err = rescrub(secrets, raw, res)
	}
	// A plugin says a URI its template matches is not one of its own with
	// -32002, as the ABI asks; clients get the one answer moat gives for
	// every resource it does not serve.
	var proto *plugin.ProtocolError
	if errors.As(err, &proto) && proto.Code == abi.CodeResourceNotFound {
		s.finish(ctx, fc, secrets, err)
		return nil, mcp.ResourceNotFoundError(uri)
	}
	return res, s.finish(ctx, fc, secrets, err)
}

// routeResource finds the plugin serving uri and counts the request as in
// flight on it (see enter).
func (s *Server) routeResource(ctx context.Context, uri string) (*plugin.Plugin, bool) {
	return enter(s, ctx, func(reg *plugin.Registry) (*plugin.Plugin, *plugin.Plugin, bool) {
		owner, _, _, ok := reg.ResourceFor(uri)
		return owner, owner, ok
	})
}

// getPrompt serves prompts/get for every prompt.
func (s *Server) getPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	name := req.Params.Name
	p := s.principal(ctx, req.GetExtra())
	unknown := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", name)}
	if !s.allowed(ctx, p, policy.Prompt, name) {
		s.audit(ctx, p, "prompts/get", name, "", "denied", "", 0, nil)
		return nil, unknown
	}
	pr, ok := s.routePrompt(ctx, name)
	if !ok {
		return nil, unknown
	}
	defer pr.Plugin.Leave()
	for _, a := range pr.Def.Arguments {
		if _, given := req.Params.Arguments[a.Name]; a.Required && !given {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("prompt %q needs the argument %q", name, a.Name)}
		}
	}
	fc := &featureCall{method: "prompts/get", name: name, p: p, plugin: pr.Plugin}
	key := frontFrom(ctx).StateKey
	digest := promptDigest(req.Params.Arguments)
	st, err := openRound(key, principalID(p), "prompts/get", name, digest, req.Params.RequestState)
	if err != nil {
		s.audit(ctx, p, "prompts/get", name, pr.Plugin.Name, "invalid_request_state", "", 0, nil)
		return nil, err
	}
	round, err := pluginRound(st, req.Params.InputResponses)
	if err != nil {
		return nil, err
	}
	ctx, end, err := s.begin(ctx, fc)
	if err != nil {
		return nil, err
	}
	defer end()
	secrets := s.secretsFor(ctx, p)
	raw, res, err := pr.Plugin.GetPrompt(ctx, pr.Def.Name, req.Params.Arguments, round)
	if err == nil {
		res, err = rescrub(secrets, raw, res)
	}
	if err == nil && res.InputRequests != nil {
		if err := answerable(req.ClientCapabilities(), res.InputRequests); err != nil {
			s.audit(ctx, p, "prompts/get", name, pr.Plugin.Name, "missing_capability", "", 0, nil)
			return nil, err
		}
		var answers []answer
		if st != nil {
			answers = st.Answers
		}
		res.RequestState, err = seal(key, principalID(p), "prompts/get", name, digest, answers, res.RequestState)
	}
	return res, s.finish(ctx, fc, secrets, err)
}

// promptDigest is argumentsDigest of a prompt's arguments.
func promptDigest(args map[string]string) string {
	b, err := json.Marshal(args)
	if err != nil {
		return ""
	}
	return argumentsDigest(b)
}

func (s *Server) routePrompt(ctx context.Context, name string) (*plugin.Prompt, bool) {
	return enter(s, ctx, func(reg *plugin.Registry) (*plugin.Prompt, *plugin.Plugin, bool) {
		pr, ok := reg.Prompt(name)
		if !ok {
			return nil, nil, false
		}
		return pr, pr.Plugin, true
	})
}

// noCompletion is the answer for a reference no plugin completes.
func noCompletion() *mcp.CompleteResult {
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{}}}
}

// complete serves completion/complete: for a prompt's argument or a
// template's variable, asked of the plugin that serves it. A reference to
// something the caller may not use, or that no plugin serves, completes to
// nothing.
func (s *Server) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	ref := req.Params.Ref
	p := s.principal(ctx, req.GetExtra())
	params := abi.CompleteParams{Argument: abi.CompleteArgument{Name: req.Params.Argument.Name, Value: req.Params.Argument.Value}}
	if c := req.Params.Context; c != nil {
		params.Context = &abi.CompleteContext{Arguments: c.Arguments}
	}
	var owner *plugin.Plugin
	var name string
	switch ref.Type {
	case abi.RefPrompt:
		pr, ok := s.registry(ctx).Prompt(ref.Name)
		if !ok || !s.allowed(ctx, p, policy.Prompt, ref.Name) {
			return noCompletion(), nil
		}
		owner, name = pr.Plugin, ref.Name
		params.Ref = abi.CompleteReference{Type: abi.RefPrompt, Name: pr.Def.Name}
	case abi.RefResource:
		t, ok := s.registry(ctx).Template(ref.URI)
		if !ok || !s.allowed(ctx, p, policy.Resource, ref.URI) {
			return noCompletion(), nil
		}
		owner, name = t.Plugin, ref.URI
		params.Ref = abi.CompleteReference{Type: abi.RefResource, URI: ref.URI}
	default:
		return noCompletion(), nil
	}
	if !owner.Enter() {
		return noCompletion(), nil
	}
	defer owner.Leave()
	fc := &featureCall{method: "completion/complete", name: name, p: p, plugin: owner}
	ctx, end, err := s.begin(ctx, fc)
	if err != nil {
		return nil, err
	}
	defer end()
	secrets := s.secretsFor(ctx, p)
	raw, res, err := owner.Complete(ctx, params)
	if err == nil {
		res, err = rescrub(secrets, raw, res)
	}
	return res, s.finish(ctx, fc, secrets, err)
}

// subscribe accepts a subscription to a resource the caller may read; the
// go-sdk keeps it with the session, and ResourceUpdated reaches it.
func (s *Server) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	uri := req.Params.URI
	p := s.principal(ctx, req.GetExtra())
	if !s.allowed(ctx, p, policy.Resource, uri) {
		s.audit(ctx, p, "resources/subscribe", uri, "", "denied", "", 0, nil)
		return mcp.ResourceNotFoundError(uri)
	}
	if _, _, _, ok := s.registry(ctx).ResourceFor(uri); !ok {
		return mcp.ResourceNotFoundError(uri)
	}
	return nil
}

func (s *Server) unsubscribe(context.Context, *mcp.UnsubscribeRequest) error { return nil }

// ResourceUpdated tells the sessions subscribed to uri that it changed, as
// a plugin announced with notify_resource_updated.
func (s *Server) ResourceUpdated(uri string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.mcp.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: uri}); err != nil {
		s.log.Debug("notifying a resource's subscribers", "uri", uri, "error", err)
	}
}

// filterFeatures is the receiving middleware that shows each principal the
// resources, templates and prompts it may use, as the front door does for
// tools.
func (s *Server) filterFeatures(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil || frontFrom(ctx).Policy == nil {
			return res, err
		}
		p := s.principal(ctx, req.GetExtra())
		switch list := res.(type) {
		case *mcp.ListResourcesResult:
			out := *list
			out.Resources = keep(list.Resources, func(r *mcp.Resource) bool { return s.allowed(ctx, p, policy.Resource, r.URI) })
			return &out, nil
		case *mcp.ListResourceTemplatesResult:
			out := *list
			out.ResourceTemplates = keep(list.ResourceTemplates, func(t *mcp.ResourceTemplate) bool { return s.allowed(ctx, p, policy.Resource, t.URITemplate) })
			return &out, nil
		case *mcp.ListPromptsResult:
			out := *list
			out.Prompts = keep(list.Prompts, func(pr *mcp.Prompt) bool { return s.allowed(ctx, p, policy.Prompt, pr.Name) })
			return &out, nil
		}
		return res, nil
	}
}

func keep[T any](items []T, ok func(T) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
