package moat

import (
	"encoding/json"
	"fmt"

	"github.com/moat-mcp/moat/abi"
)

// Info is what moat_describe says about the plugin besides its tools.
type Info struct {
	// Name is the plugin's name; required.
	Name        string
	Version     string
	Description string
	// Capabilities is what the plugin asks the operator to grant.
	Capabilities abi.Capabilities
}

// ToolDef declares a tool. InputSchema and OutputSchema are JSON Schema
// objects whose "type" must be "object"; a nil InputSchema means
// {"type":"object"}, one that accepts any arguments.
type ToolDef struct {
	Name         string
	Title        string
	Description  string
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage
	Annotations  *abi.ToolAnnotations
	// TaskSupport lets the tool run as a task (abi.TaskSupportOptional or
	// abi.TaskSupportRequired); empty, it never does.
	TaskSupport string
}

// Call is one tools/call request as a handler sees it.
type Call struct {
	// Tool is the name of the tool called.
	Tool string
	// Arguments are the arguments as sent, before decoding; nil if none.
	Arguments json.RawMessage
	// Meta is the request's _meta object as sent, or nil.
	Meta json.RawMessage
	// InputResponses are the client's answers, by the keys of the input
	// requests they answer, when the call comes back after the tool
	// returned InputRequired; nil otherwise. They come from the client,
	// and are to be checked as arguments are.
	InputResponses map[string]json.RawMessage
	// RequestState is the state the tool's InputRequired result carried,
	// back unaltered (moat refuses a call whose state was changed).
	RequestState string
}

// InputRequired is a result that asks the client for input instead of
// answering (MCP 2026-07-28 input-required results; moat serves it to
// 2025-11-25 clients too). The client answers each request and calls the
// tool again with the same arguments: Call.InputResponses then holds its
// answers under the same keys, and Call.RequestState the state given here
// (which the client can read but not change). A tool asked again may ask
// for more. Sampling and elicitation requests need the same grants as
// Sample and Elicit.
func InputRequired(requests map[string]abi.InputRequest, state string) *abi.CallToolResult {
	return &abi.CallToolResult{ResultType: abi.ResultTypeInputRequired, InputRequests: requests, RequestState: state}
}

// ElicitRequest is an input request that asks the user, through the
// client, for what params (elicitation/create params) describe.
func ElicitRequest(params json.RawMessage) abi.InputRequest {
	return abi.InputRequest{Method: abi.InputElicit, Params: params}
}

// SampleRequest is an input request for a completion from the client's
// model (sampling/createMessage params).
func SampleRequest(params json.RawMessage) abi.InputRequest {
	return abi.InputRequest{Method: abi.InputCreateMessage, Params: params}
}

// RootsRequest is an input request for the client's roots.
func RootsRequest() abi.InputRequest {
	return abi.InputRequest{Method: abi.InputListRoots, Params: json.RawMessage(`{}`)}
}

// StringArg returns the string argument called name. It reads the
// arguments without decoding the others, which is much cheaper under
// WebAssembly than a typed handler's encoding/json, for a raw handler that
// needs a string or two. An argument that is missing or not a string is an
// error whose message a model can act on.
func (c *Call) StringArg(name string) (string, error) {
	val, found, err := stringMember(c.Arguments, name)
	if err != nil {
		return "", fmt.Errorf("invalid arguments for tool %q: %v", c.Tool, err)
	}
	if !found {
		return "", fmt.Errorf("tool %q needs the string argument %q", c.Tool, name)
	}
	return val, nil
}

// handler runs one call. An error it returns becomes an isError result.
type handler func(c *Call) (*abi.CallToolResult, error)

type tool struct {
	def abi.Tool
	run handler
}

// The plugin's registry. A plugin is one module and its registration runs
// in init functions, so package state is all it needs.
var (
	info  Info
	tools []tool
	index = map[string]int{}
)

// SetInfo sets the plugin's name, version, description and requested
// capabilities. Call it from an init function. It panics if info.Name is
// empty.
func SetInfo(i Info) {
	if i.Name == "" {
		panic("moat.SetInfo: the plugin needs a name")
	}
	info = i
}

// AddTool registers a tool with a typed handler. The call's arguments are
// decoded from JSON into In; arguments that do not decode give an isError
// result without calling h. The Out that h returns is encoded as JSON and
// sent both as structuredContent and as a text block holding the same JSON,
// as MCP recommends; Out should therefore encode to a JSON object (anything
// else is sent as text only). An error from h becomes an isError result
// whose text is the error's message, which a model reads.
//
// AddTool panics on a malformed definition or a duplicate name, so mistakes
// surface when the module initializes, or in the author's tests.
func AddTool[In, Out any](def ToolDef, h func(c *Call, in In) (Out, error)) {
	register(def, func(c *Call) (*abi.CallToolResult, error) {
		in, err := decode[In](c)
		if err != nil {
			return nil, err
		}
		out, err := h(c, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("tool %q: encoding its result: %v", c.Tool, err)
		}
		res := Text(string(b))
		if len(b) > 0 && b[0] == '{' {
			res.StructuredContent = b
		}
		return res, nil
	})
}

// AddTextTool registers a tool whose handler returns plain text, sent as one
// text block. Arguments and errors are handled as by AddTool.
func AddTextTool[In any](def ToolDef, h func(c *Call, in In) (string, error)) {
	register(def, func(c *Call) (*abi.CallToolResult, error) {
		in, err := decode[In](c)
		if err != nil {
			return nil, err
		}
		s, err := h(c, in)
		if err != nil {
			return nil, err
		}
		return Text(s), nil
	})
}

// AddRawTool registers a tool whose handler reads c.Arguments itself and
// builds the whole result. A nil result with a nil error is an empty
// result; an error becomes an isError result.
func AddRawTool(def ToolDef, h func(c *Call) (*abi.CallToolResult, error)) {
	register(def, h)
}

// Text is a result holding one text block.
func Text(s string) *abi.CallToolResult {
	// One allocation for the result and its one block, rather than two:
	// each costs about a microsecond in a plugin.
	t := &textResult{block: [1]abi.Content{{Type: "text", Text: s}}}
	t.res.Content = t.block[:]
	return &t.res
}

type textResult struct {
	res   abi.CallToolResult
	block [1]abi.Content
}

// ErrorResult is an isError result whose text is formatted as by
// fmt.Sprintf, for raw handlers; the others return an ordinary error.
func ErrorResult(format string, args ...any) *abi.CallToolResult {
	res := Text(fmt.Sprintf(format, args...))
	res.IsError = true
	return res
}

func decode[In any](c *Call) (In, error) {
	var in In
	if len(c.Arguments) == 0 {
		return in, nil
	}
	if err := json.Unmarshal(c.Arguments, &in); err != nil {
		return in, fmt.Errorf("invalid arguments for tool %q: %v", c.Tool, err)
	}
	return in, nil
}

func register(def ToolDef, h handler) {
	if err := validName(def.Name); err != nil {
		panic("moat: " + err.Error())
	}
	if _, dup := index[def.Name]; dup {
		panic(fmt.Sprintf("moat: tool %q registered twice", def.Name))
	}
	in := def.InputSchema
	if in == nil {
		in = json.RawMessage(`{"type":"object"}`)
	}
	if err := objectSchema(in); err != nil {
		panic(fmt.Sprintf("moat: tool %q: inputSchema %v", def.Name, err))
	}
	if def.OutputSchema != nil {
		if err := objectSchema(def.OutputSchema); err != nil {
			panic(fmt.Sprintf("moat: tool %q: outputSchema %v", def.Name, err))
		}
	}
	index[def.Name] = len(tools)
	tools = append(tools, tool{
		def: abi.Tool{
			Name:         def.Name,
			Title:        def.Title,
			Description:  def.Description,
			InputSchema:  in,
			OutputSchema: def.OutputSchema,
			Annotations:  def.Annotations,
			Execution:    execution(def.TaskSupport),
		},
		run: h,
	})
}

func execution(taskSupport string) *abi.ToolExecution {
	if taskSupport == "" {
		return nil
	}
	return &abi.ToolExecution{TaskSupport: taskSupport}
}

// validName applies MCP's rule for tool names: 1 to 128 characters among
// ASCII letters, digits, '_', '-' and '.'.
func validName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("tool name %q must have 1 to 128 characters", name)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("tool name %q may hold only letters, digits, '_', '-' and '.'", name)
		}
	}
	return nil
}

// objectSchema checks that s is a JSON object with "type": "object".
func objectSchema(s json.RawMessage) error {
	var v struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(s, &v); err != nil {
		return fmt.Errorf("is not a JSON object: %v", err)
	}
	if v.Type != "object" {
		return fmt.Errorf(`must have "type": "object"`)
	}
	return nil
}
