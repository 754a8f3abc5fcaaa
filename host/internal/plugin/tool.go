package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Tool is one tool as clients see it, bound to the plugin that serves it.
type Tool struct {
	// Name is the name clients call: the plugin's prefix and its own name.
	Name string
	// Def is the tool as the plugin described it, under its own name.
	Def    abi.Tool
	Plugin *Plugin

	input  *jsonschema.Schema
	output *jsonschema.Schema
}

// ArgumentError is a call whose arguments do not match the tool's
// inputSchema. The model that called can correct it, so it becomes a tool
// error, not a protocol error.
type ArgumentError struct {
	Tool    string
	Problem string
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("invalid arguments for tool %s: %s", e.Tool, e.Problem)
}

// OutputError is a plugin result the host refuses to pass on.
type OutputError struct {
	Plugin string
	Tool   string
	// Request names what was asked when it was not a tool call, such as
	// `resources/read of resource "notes://a"`.
	Request string
	Problem string
}

func (e *OutputError) Error() string {
	if e.Request != "" {
		return fmt.Sprintf("plugin %q returned a bad result for %s: %s", e.Plugin, e.Request, e.Problem)
	}
	return fmt.Sprintf("plugin %q returned a bad result for tool %s: %s", e.Plugin, e.Tool, e.Problem)
}

// ProtocolError is a JSON-RPC error the plugin returned instead of a
// result; it goes to the client as a protocol error.
type ProtocolError struct {
	Code    int
	Message string
}

func (e *ProtocolError) Error() string { return e.Message }

// Call runs the tool: arguments checked against its inputSchema, the
// plugin called in the sandbox, and its result checked. The result is a
// CallToolResult as JSON. A fault is a *sandbox.Fault; other failures are
// *ArgumentError, *OutputError or *ProtocolError.
func (t *Tool) Call(ctx context.Context, args json.RawMessage, meta map[string]any) (json.RawMessage, error) {
	out, _, err := t.CallResult(ctx, args, meta)
	return out, err
}

// CallResult is Call, with the result also as the go-sdk decoded it while
// checking it, so that a server need not decode it again.
func (t *Tool) CallResult(ctx context.Context, args json.RawMessage, meta map[string]any) (json.RawMessage, *mcp.CallToolResult, error) {
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	if problem := validateJSON(t.input, args); problem != "" {
		return nil, nil, &ArgumentError{Tool: t.Name, Problem: problem}
	}
	params, err := json.Marshal(abi.CallToolParams{Name: t.Def.Name, Arguments: args, Meta: meta})
	if err != nil {
		return nil, nil, err
	}
	request, err := json.Marshal(abi.Request{Method: abi.MethodToolsCall, Params: params})
	if err != nil {
		return nil, nil, err
	}
	var res *mcp.CallToolResult
	out, err := t.Plugin.breaker.run(t.Plugin.Name, func() ([]byte, error) {
		out, err := t.Plugin.sandbox.Call(ctx, request)
		if err != nil {
			t.Plugin.fault(err)
			return nil, err
		}
		if res, err = t.decodeResult(out); err != nil {
			if isFault(err) { // a protocol error the plugin chose to return is not one
				t.Plugin.fault(err)
			}
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, res, nil
}

// toolResult is the part of a result the host checks.
type toolResult struct {
	Error             *abi.Error      `json:"error"`
	Content           json.RawMessage `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func (t *Tool) checkResult(out []byte) error {
	_, err := t.decodeResult(out)
	return err
}

// decodeResult checks a plugin's answer and returns it decoded.
func (t *Tool) decodeResult(out []byte) (*mcp.CallToolResult, error) {
	bad := func(format string, args ...any) error {
		return &OutputError{Plugin: t.Plugin.Name, Tool: t.Name, Problem: fmt.Sprintf(format, args...)}
	}
	var res toolResult
	if err := json.Unmarshal(out, &res); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || !json.Valid(out) {
			return nil, bad("it is not valid JSON: %s", t.Plugin.quote(err.Error()))
		}
		return nil, bad("it is not a CallToolResult object: %s", t.Plugin.quote(err.Error()))
	}
	if res.Error != nil {
		return nil, &ProtocolError{Code: res.Error.Code, Message: res.Error.Message}
	}
	if len(res.Content) == 0 || res.Content[0] != '[' {
		return nil, bad(`it has no "content" array`)
	}
	// What the server will send must decode as MCP's CallToolResult (known
	// content types, no null blocks, _meta an object); refused here, it
	// counts against the plugin's breaker like any other bad output.
	decoded := new(mcp.CallToolResult)
	if err := json.Unmarshal(out, decoded); err != nil {
		return nil, bad("it is not a CallToolResult MCP clients can read: %s", t.Plugin.quote(err.Error()))
	}
	// The go-sdk decodes structuredContent into an any, where a number
	// becomes a float64 and an integer past 2^53 loses its last digits:
	// what goes on is the plugin's JSON as written, checked below.
	if len(res.StructuredContent) > 0 && string(res.StructuredContent) != "null" {
		decoded.StructuredContent = res.StructuredContent
	}
	if t.output != nil && !res.IsError {
		if len(res.StructuredContent) == 0 {
			return nil, bad("the tool declares an outputSchema but the result has no structuredContent")
		}
		if problem := validateJSON(t.output, res.StructuredContent); problem != "" {
			return nil, bad("structuredContent does not match the tool's outputSchema: %s", t.Plugin.quote(problem))
		}
	}
	return decoded, nil
}

// maxQuoted bounds the text of the plugin's own that an error quotes.
const maxQuoted = 256

// quote makes text the plugin chose fit to put in an error that goes to
// logs, /health and clients: its secrets redacted first (cutting after
// would leave part of one showing), cut to maxQuoted bytes, and Go-quoted
// so that a newline or a quote in it cannot start a log line of its own or
// end a string early.
func (p *Plugin) quote(text string) string {
	return strconv.Quote(clip(p.spec.Secrets.Scrub(text), maxQuoted))
}

// clip cuts s to at most n bytes, on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
