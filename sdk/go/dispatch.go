package moat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/moat-mcp/moat/abi"
)

// Describe returns the plugin's description, as moat_describe sends it.
func Describe() abi.Description {
	d := abi.Description{
		Name:         info.Name,
		Version:      info.Version,
		Description:  info.Description,
		Tools:        make([]abi.Tool, len(tools)),
		Capabilities: info.Capabilities,
	}
	for i, t := range tools {
		d.Tools[i] = t.def
	}
	for _, r := range resources {
		d.Resources = append(d.Resources, r.def)
	}
	for _, t := range templates {
		d.ResourceTemplates = append(d.ResourceTemplates, t.def)
	}
	for _, p := range prompts {
		d.Prompts = append(d.Prompts, p.def)
	}
	return d
}

// Handle answers one moat_call request with the response JSON: the method's
// result or a protocol error. The moat_call export calls it; tests of a
// plugin may call it too, on any platform.
func Handle(request []byte) []byte { return handle(nil, request) }

// handle is Handle writing a tool's result into dst's array when it fits.
func handle(dst, request []byte) []byte {
	req, err := parseRequest(request)
	if req.method == "" && err != nil {
		return protocolError(abi.CodeInvalidParams, "malformed request: "+err.Error())
	}
	// A method is served when the plugin registered something it reads;
	// otherwise it is unknown here, as it is to a plugin built before it.
	switch {
	case req.method == abi.MethodToolsCall:
	case req.method == abi.MethodResourcesRead && len(resources)+len(templates) > 0:
		return readResource(req, err)
	case req.method == abi.MethodPromptsGet && len(prompts) > 0:
		return getPrompt(req, err)
	case req.method == abi.MethodComplete && len(prompts)+len(templates) > 0:
		return complete(req, err)
	default:
		return protocolError(abi.CodeMethodNotFound, fmt.Sprintf("method %q is not supported by this plugin", req.method))
	}
	if err != nil {
		return protocolError(abi.CodeInvalidParams, "malformed tools/call request: "+err.Error())
	}
	i, ok := findTool(req.name)
	if !ok {
		return protocolError(abi.CodeInvalidParams, fmt.Sprintf("unknown tool %q", req.name))
	}
	if string(req.args) == "null" {
		req.args = nil
	}
	call := &Call{Tool: tools[i].def.Name, Arguments: req.args, Meta: req.meta, RequestState: req.state}
	if len(req.responses) > 0 && string(req.responses) != "null" {
		if err := json.Unmarshal(req.responses, &call.InputResponses); err != nil {
			return protocolError(abi.CodeInvalidParams, "malformed inputResponses: "+err.Error())
		}
	}
	res, perr := invoke(tools[i].run, call)
	if perr != nil {
		return protocolError(perr.Code, perr.Message)
	}
	if res.ResultType == abi.ResultTypeInputRequired {
		return encode(inputRequired{ResultType: res.ResultType, InputRequests: res.InputRequests, RequestState: res.RequestState})
	}
	if res.Content == nil {
		res.Content = []abi.Content{}
	}
	b, err := appendResult(dst, res)
	if err != nil {
		return protocolError(abi.CodeInternalError, fmt.Sprintf("tool %q: encoding its result: %v", call.Tool, err))
	}
	return b
}

// findTool is the index of the tool named name. A plugin has a handful of
// tools, and comparing their names is cheaper in WebAssembly than hashing
// one for the map, which is for plugins with many.
func findTool(name string) (int, bool) {
	if len(tools) > 8 {
		i, ok := index[name]
		return i, ok
	}
	for i := range tools {
		if tools[i].def.Name == name {
			return i, true
		}
	}
	return 0, false
}

// inputRequired is the wire form of a result that asks for input: no
// content at all.
type inputRequired struct {
	ResultType    string                      `json:"resultType"`
	InputRequests map[string]abi.InputRequest `json:"inputRequests"`
	RequestState  string                      `json:"requestState,omitempty"`
}

// invoke runs a handler and turns its error or panic into an isError result.
func invoke(h handler, c *Call) (*abi.CallToolResult, *ProtocolError) {
	res, err := run(h, c)
	if v := panicked; v != nil {
		panicked = nil
		return ErrorResult("tool %q panicked: %v", c.Tool, v), nil
	}
	var perr *ProtocolError
	if errors.As(err, &perr) {
		return nil, perr
	}
	if err != nil {
		return ErrorResult("%s", err.Error()), nil
	}
	if res == nil {
		res = &abi.CallToolResult{}
	}
	return res, nil
}

// panicked is what the last handler that panicked panicked with, until
// invoke reads it. A plugin runs one call at a time.
var panicked any

// run calls h under catch. The deferred call is a plain function, not a
// closure over run's results: compiled to WebAssembly, a closure that
// captures them moves them to the heap and cost a tool call about 1.6 µs.
func run(h handler, c *Call) (*abi.CallToolResult, error) {
	defer catch()
	return h(c)
}

// catch keeps a handler's panic for invoke, with its stack on stderr.
func catch() {
	if v := recover(); v != nil {
		os.Stderr.Write(debug.Stack())
		panicked = v
	}
}

// protocolError writes a JSON-RPC error as the other SDKs do, with '<',
// '>' and '&' as they are.
func protocolError(code int, msg string) []byte {
	return encode(abi.Response{Error: &abi.Error{Code: code, Message: msg}})
}
