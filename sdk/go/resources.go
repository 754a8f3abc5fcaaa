package moat

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/moat-mcp/moat/abi"
)

// ResourceDef declares a resource served at a fixed URI. URI and Name are
// required.
type ResourceDef = abi.Resource

// ResourceTemplateDef declares a family of resources whose URIs match a
// level-1 URI template such as "file:///notes/{name}.md" (see
// abi.URITemplate for how a URI matches). URITemplate and Name are required.
type ResourceTemplateDef = abi.ResourceTemplate

// PromptDef declares a prompt, under the plugin's own name (the host adds
// its prefix, as for tools). Name is required; arguments marked Required
// are checked before the handler runs.
type PromptDef = abi.Prompt

// Completer suggests values for a prompt argument or a template variable:
// value is what the user has typed so far, context the values of the other
// arguments already chosen (possibly nil). Filtering by value is the
// completer's choice; the SDK sends at most abi.MaxCompletionValues of what
// it returns, and says how many there were.
type Completer func(value string, context map[string]string) []string

// ErrResourceNotFound is what a resource handler returns (or wraps) for a
// URI it does not serve after all, such as a template's URI naming nothing
// that exists: the client gets MCP's "resource not found" error (-32002).
// Any other error from a resource or prompt handler is an internal error
// (-32603) whose message is the error's.
var ErrResourceNotFound = errors.New("resource not found")

type resource struct {
	def abi.Resource
	run func(uri string) ([]abi.ResourceContents, error)
}

type resourceTemplate struct {
	def   abi.ResourceTemplate
	match *abi.URITemplate
	run   func(uri string, vars map[string]string) ([]abi.ResourceContents, error)
}

type prompt struct {
	def abi.Prompt
	run func(c *PromptCall) (*abi.GetPromptResult, error)
}

// PromptCall is one prompts/get: the prompt's arguments as sent, and, when
// the request comes back after the prompt asked for input, the client's
// answers and the prompt's state (as in Call).
type PromptCall struct {
	Name           string
	Arguments      map[string]string
	InputResponses map[string]json.RawMessage
	RequestState   string
}

// PromptInputRequired is a prompts/get result that asks the client for
// input; see InputRequired.
func PromptInputRequired(requests map[string]abi.InputRequest, state string) *abi.GetPromptResult {
	return &abi.GetPromptResult{ResultType: abi.ResultTypeInputRequired, InputRequests: requests, RequestState: state}
}

// completionKey names what a completer completes: a ref type, the prompt's
// name or the template's uriTemplate, and the argument or variable.
type completionKey struct{ ref, name, arg string }

var (
	resources   []resource
	templates   []resourceTemplate
	prompts     []prompt
	completions = map[completionKey]Completer{}
)

// AddResource registers a resource at def.URI. The handler gets the URI and
// returns the resource's contents; a content with no URI gets the one read,
// and one with no MIMEType gets def.MIMEType. Use abi.ResourceContents's
// Text for text and Blob (base64) for binary data.
//
// AddResource panics on a definition without a URI or a name, or a URI
// registered twice.
func AddResource(def ResourceDef, h func(uri string) ([]abi.ResourceContents, error)) {
	switch {
	case def.URI == "" || def.Name == "":
		panic(fmt.Sprintf("moat: resource %q needs a URI and a name", def.URI))
	case findResource(def.URI) >= 0:
		panic(fmt.Sprintf("moat: resource %q registered twice", def.URI))
	}
	resources = append(resources, resource{def, h})
}

// AddResourceTemplate registers a resource template. A resources/read of a
// URI that no static resource has and that the template matches calls h
// with the URI and the value of each variable, as the URI spells it
// (percent-escapes included). Templates are tried in the order they were
// registered. Contents are completed as by AddResource.
//
// AddResourceTemplate panics on a definition without a name, a template
// registered twice, or one that is not level 1 (abi.ParseURITemplate).
func AddResourceTemplate(def ResourceTemplateDef, h func(uri string, vars map[string]string) ([]abi.ResourceContents, error)) {
	t, err := abi.ParseURITemplate(def.URITemplate)
	switch {
	case err != nil:
		panic("moat: " + err.Error())
	case def.Name == "":
		panic(fmt.Sprintf("moat: resource template %q needs a name", def.URITemplate))
	case findTemplate(def.URITemplate) >= 0:
		panic(fmt.Sprintf("moat: resource template %q registered twice", def.URITemplate))
	}
	templates = append(templates, resourceTemplate{def, t, h})
}

// AddPrompt registers a prompt. A prompts/get with every required argument
// calls h with the arguments as sent (those not sent are absent from the
// map); h returns the messages, for which UserMessage and AssistantMessage
// are shorthands.
//
// AddPrompt panics on a definition without a valid name (as for tools), a
// name registered twice, or an argument without a name.
func AddPrompt(def PromptDef, h func(args map[string]string) (*abi.GetPromptResult, error)) {
	AddPromptCall(def, func(c *PromptCall) (*abi.GetPromptResult, error) { return h(c.Arguments) })
}

// AddPromptCall is AddPrompt for a prompt that may ask for input: h gets
// the whole request, and may return PromptInputRequired.
func AddPromptCall(def PromptDef, h func(c *PromptCall) (*abi.GetPromptResult, error)) {
	if err := validName(def.Name); err != nil {
		panic("moat: prompt: " + err.Error())
	}
	if findPrompt(def.Name) >= 0 {
		panic(fmt.Sprintf("moat: prompt %q registered twice", def.Name))
	}
	for _, a := range def.Arguments {
		if a.Name == "" {
			panic(fmt.Sprintf("moat: prompt %q has an argument without a name", def.Name))
		}
	}
	prompts = append(prompts, prompt{def, h})
}

// AddPromptCompletion registers c to suggest values for argument arg of
// the prompt called name, which must be registered already.
func AddPromptCompletion(name, arg string, c Completer) {
	i := findPrompt(name)
	if i < 0 {
		panic(fmt.Sprintf("moat: completion for prompt %q: no such prompt; register it first", name))
	}
	declared := false
	for _, a := range prompts[i].def.Arguments {
		declared = declared || a.Name == arg
	}
	if !declared {
		panic(fmt.Sprintf("moat: completion for prompt %q: it has no argument %q", name, arg))
	}
	completions[completionKey{abi.RefPrompt, name, arg}] = c
}

// AddResourceCompletion registers c to suggest values for variable v of
// the resource template uriTemplate, which must be registered already.
func AddResourceCompletion(uriTemplate, v string, c Completer) {
	i := findTemplate(uriTemplate)
	if i < 0 {
		panic(fmt.Sprintf("moat: completion for resource template %q: no such template; register it first", uriTemplate))
	}
	declared := false
	for _, name := range templates[i].match.Vars() {
		declared = declared || name == v
	}
	if !declared {
		panic(fmt.Sprintf("moat: completion for resource template %q: it has no variable %q", uriTemplate, v))
	}
	completions[completionKey{abi.RefResource, uriTemplate, v}] = c
}

// UserMessage is a prompt message from the user holding one text block.
func UserMessage(text string) abi.PromptMessage {
	return abi.PromptMessage{Role: abi.RoleUser, Content: abi.Content{Type: "text", Text: text}}
}

// AssistantMessage is a prompt message from the assistant holding one text
// block.
func AssistantMessage(text string) abi.PromptMessage {
	return abi.PromptMessage{Role: abi.RoleAssistant, Content: abi.Content{Type: "text", Text: text}}
}

// NotifyResourceUpdated tells the host that the resource at uri (one of
// the plugin's, or one its templates match) has changed, so that it
// notifies the clients subscribed to it. A plugin that never calls it does
// not import the host function, and runs on hosts that lack it.
func NotifyResourceUpdated(uri string) error {
	_, err := result(hostNotifyResourceUpdated(uri))
	return err
}

func findResource(uri string) int {
	for i, r := range resources {
		if r.def.URI == uri {
			return i
		}
	}
	return -1
}

func findTemplate(tmpl string) int {
	for i, t := range templates {
		if t.def.URITemplate == tmpl {
			return i
		}
	}
	return -1
}

func findPrompt(name string) int {
	for i, p := range prompts {
		if p.def.Name == name {
			return i
		}
	}
	return -1
}
