package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	segjson "github.com/segmentio/encoding/json"
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
	// cacheTTL is how long its results are kept (see CacheTTL).
	cacheTTL time.Duration
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
	return t.CallRound(ctx, args, meta, nil)
}

// TaskSupport is how the tool may run as a task: abi.TaskSupportOptional,
// abi.TaskSupportRequired, or "" when it may not.
//
// The operator's plugins.NAME.task_support for the tool, when set, decides
// over the plugin's description.
func (t *Tool) TaskSupport() string {
	mode := ""
	if e := t.Def.Execution; e != nil {
		mode = e.TaskSupport
	}
	if t.Plugin != nil {
		if m, ok := t.Plugin.spec.TaskSupport[t.Def.Name]; ok {
			mode = m
		}
	}
	if mode == abi.TaskSupportOptional || mode == abi.TaskSupportRequired {
		return mode
	}
	return ""
}

// CallRound is CallResult for a call that comes back with the client's
// answers to an input-required result (round may be nil). The result may
// be input-required in turn: InputRequests set, checked, and RequestState
// the plugin's own.
func (t *Tool) CallRound(ctx context.Context, args json.RawMessage, meta map[string]any, round *Round) (json.RawMessage, *mcp.CallToolResult, error) {
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	if problem := validateJSON(t.input, args); problem != "" {
		return nil, nil, &ArgumentError{Tool: t.Name, Problem: problem}
	}
	request, err := t.request(args, meta, round)
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

// request is the tools/call request for the plugin, written in one pass:
// the arguments passed validateJSON, so they are JSON already and go in as
// they are, compacted, where marshalling abi.CallToolParams and then
// abi.Request around it would copy and rescan them twice. The tool's own
// name passed parseDescription (letters, digits, '_', '.' and '-'), so
// strconv's quoting of it is its JSON string.
func (t *Tool) request(args json.RawMessage, meta map[string]any, round *Round) ([]byte, error) {
	var metaJSON, roundJSON []byte
	if len(meta) > 0 {
		var err error
		if metaJSON, err = json.Marshal(meta); err != nil {
			return nil, err
		}
	}
	if round != nil {
		var err error
		if roundJSON, err = json.Marshal(round.params()); err != nil {
			return nil, err
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(requestHead)+len(t.Def.Name)+len(args)+len(metaJSON)+32))
	buf.WriteString(requestHead)
	buf.Write(strconv.AppendQuote(buf.AvailableBuffer(), t.Def.Name))
	buf.WriteString(`,"arguments":`)
	if err := json.Compact(buf, args); err != nil {
		return nil, err
	}
	if metaJSON != nil {
		buf.WriteString(`,"_meta":`)
		buf.Write(metaJSON)
	}
	if len(roundJSON) > 2 { // the members of {...}, after a comma
		buf.WriteByte(',')
		buf.Write(roundJSON[1 : len(roundJSON)-1])
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

const requestHead = `{"method":"` + abi.MethodToolsCall + `","params":{"name":`

// toolResult is the part of a result the host checks, as the slow path
// reads it.
type toolResult struct {
	Error             *abi.Error      `json:"error"`
	Content           json.RawMessage `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
	ResultType        string          `json:"resultType"`
}

func (t *Tool) checkResult(out []byte) error {
	_, err := t.decodeResult(out)
	return err
}

// decodeResult checks a plugin's answer and returns it decoded.
//
// The answer is read once, as the go-sdk reads it (readResult), and that
// one reading is what is checked and what the server sends. Only an answer
// that reading does not take (another content type than text, a protocol
// error, or one it refuses) is read again, by encoding/json for the check
// and by the go-sdk for the server, so that each refusal keeps its message.
func (t *Tool) decodeResult(out []byte) (*mcp.CallToolResult, error) {
	bad := func(format string, args ...any) error {
		return &OutputError{Plugin: t.Plugin.Name, Tool: t.Name, Problem: fmt.Sprintf(format, args...)}
	}
	var decoded *mcp.CallToolResult
	var structured json.RawMessage
	if wire, ok := readResult(out); ok {
		if wire.Error != nil {
			return nil, &ProtocolError{Code: wire.Error.Code, Message: wire.Error.Message}
		}
		if decoded, ok = wire.textResult(); ok {
			structured = wire.StructuredContent
		}
	}
	if decoded == nil {
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
		if res.ResultType == abi.ResultTypeInputRequired {
			return t.decodeInputRequired(out, res.Content)
		}
		if len(res.Content) == 0 || res.Content[0] != '[' {
			return nil, bad(`it has no "content" array`)
		}
		// What the server will send must decode as MCP's CallToolResult
		// (known content types, no null blocks, _meta an object); refused
		// here, it counts against the plugin's breaker like any other bad
		// output.
		decoded = new(mcp.CallToolResult)
		if err := json.Unmarshal(out, decoded); err != nil {
			return nil, bad("it is not a CallToolResult MCP clients can read: %s", t.Plugin.quote(err.Error()))
		}
		structured = res.StructuredContent
	}
	// The go-sdk decodes structuredContent into an any, where a number
	// becomes a float64 and an integer past 2^53 loses its last digits:
	// what goes on is the plugin's JSON as written, checked below.
	if len(structured) > 0 && string(structured) != "null" {
		decoded.StructuredContent = structured
	}
	// isError as the client will read it decides whether the outputSchema
	// applies: a result sent as a success keeps the schema's promise.
	if t.output != nil && !decoded.IsError {
		if len(structured) == 0 {
			return nil, bad("the tool declares an outputSchema but the result has no structuredContent")
		}
		if problem := validateJSON(t.output, structured); problem != "" {
			return nil, bad("structuredContent does not match the tool's outputSchema: %s", t.Plugin.quote(problem))
		}
	}
	return decoded, nil
}

// decodeInputRequired checks a result that asks the client for input: no
// content, and input requests the plugin may make.
func (t *Tool) decodeInputRequired(out []byte, content json.RawMessage) (*mcp.CallToolResult, error) {
	bad := func(format string, args ...any) error {
		return &OutputError{Plugin: t.Plugin.Name, Tool: t.Name, Problem: fmt.Sprintf(format, args...)}
	}
	if c := string(bytes.TrimSpace(content)); c != "" && c != "null" && c != "[]" {
		return nil, bad(`it is input_required and has content too; return one or the other`)
	}
	decoded := new(mcp.CallToolResult)
	if err := json.Unmarshal(out, decoded); err != nil {
		return nil, bad("its inputRequests are not MCP input requests: %s", t.Plugin.quote(err.Error()))
	}
	if err := t.Plugin.checkInputRequests(decoded.InputRequests); err != nil {
		return nil, bad("%s", t.Plugin.quote(err.Error()))
	}
	decoded.Content, decoded.StructuredContent, decoded.IsError = nil, nil, false
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

// sdkDecode decodes a result as the go-sdk's CallToolResult.UnmarshalJSON
// does: readResult's reading where it takes the result, the go-sdk's own
// otherwise. (decodeResult is what the host runs; this is the same choice
// without the checks, for the test that holds the two readings together.)
func sdkDecode(out []byte) (*mcp.CallToolResult, error) {
	if wire, ok := readResult(out); ok && wire.Error == nil {
		if res, ok := wire.textResult(); ok {
			return res, nil
		}
	}
	res := new(mcp.CallToolResult)
	if err := json.Unmarshal(out, res); err != nil {
		return nil, err
	}
	return res, nil
}

// sdkMaxDepth is the go-sdk's bound on the nesting of a message it decodes.
const sdkMaxDepth = 1000

// wireResult is a plugin's answer read as the go-sdk reads a
// CallToolResult (with the JSON library it uses, case-sensitive names and
// its bound on nesting), plus the error a plugin may answer with instead.
// Fields the fast path does not build are raw, so that their presence
// sends the answer down the slow path.
type wireResult struct {
	Error             *abi.Error      `json:"error"`
	Meta              mcp.Meta        `json:"_meta"`
	Content           []*wireBlock    `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
	InputRequests     json.RawMessage `json:"inputRequests"`
	RequestState      json.RawMessage `json:"requestState"`
	ResultType        json.RawMessage `json:"resultType"`
}

// wireBlock mirrors the go-sdk's wire form of one content block: every
// field of every type, since the go-sdk decodes them all whatever the type
// (a text block with a "size" that is not a number is refused).
type wireBlock struct {
	Type              string                `json:"type"`
	Text              string                `json:"text"`
	MIMEType          string                `json:"mimeType"`
	Data              []byte                `json:"data"`
	Resource          *mcp.ResourceContents `json:"resource"`
	URI               string                `json:"uri"`
	Name              string                `json:"name"`
	Title             string                `json:"title"`
	Description       string                `json:"description"`
	Size              *int64                `json:"size"`
	Meta              mcp.Meta              `json:"_meta"`
	Annotations       *mcp.Annotations      `json:"annotations"`
	Icons             []mcp.Icon            `json:"icons"`
	ID                string                `json:"id"`
	Input             map[string]any        `json:"input"`
	ToolUseID         string                `json:"toolUseId"`
	NestedContent     []*wireBlock          `json:"content"`
	StructuredContent any                   `json:"structuredContent"`
	IsError           bool                  `json:"isError"`
}

// readResult reads a plugin's answer in one pass without the go-sdk's
// stream decoder, which takes a 32 KiB buffer for every call. ok is false
// when the answer is not one JSON value of that shape.
func readResult(out []byte) (*wireResult, bool) {
	if !withinDepth(out, sdkMaxDepth) {
		return nil, false
	}
	wire := new(wireResult)
	rest, err := segjson.Parse(out, wire, segjson.DontMatchCaseInsensitiveStructFields)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, false
	}
	return wire, true
}

// textResult is the answer as the go-sdk would decode it, when it holds
// text blocks alone, the common case; ok is false for anything else.
func (wire *wireResult) textResult() (*mcp.CallToolResult, bool) {
	if wire.Content == nil || wire.InputRequests != nil || wire.RequestState != nil || wire.ResultType != nil {
		return nil, false
	}
	res := &mcp.CallToolResult{Meta: wire.Meta, IsError: wire.IsError, Content: make([]mcp.Content, len(wire.Content))}
	blocks := make([]mcp.TextContent, len(wire.Content))
	for i, b := range wire.Content {
		if b == nil || b.Type != "text" {
			return nil, false
		}
		blocks[i] = mcp.TextContent{Text: b.Text, Meta: b.Meta, Annotations: b.Annotations}
		res.Content[i] = &blocks[i]
	}
	if len(wire.StructuredContent) > 0 {
		// The go-sdk would decode it into an any, and refuse what that
		// cannot hold (a number past float64's range).
		var v any
		if _, err := segjson.Parse(wire.StructuredContent, &v, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
			return nil, false
		}
		res.StructuredContent = v
	}
	return res, true
}

// withinDepth reports whether the objects and arrays of data, which is
// valid JSON, nest at most max deep.
func withinDepth(data []byte, max int) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return false
			}
		case '}', ']':
			depth--
		}
	}
	return true
}
