package moat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
)

type addIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

type addOut struct {
	Sum int `json:"sum"`
}

// setup replaces the registry with a plugin of a few tools.
func setup(t *testing.T) {
	t.Helper()
	info, tools, index = Info{}, nil, map[string]int{}
	resources, templates, prompts, completions = nil, nil, nil, map[completionKey]Completer{}
	SetInfo(Info{Name: "test", Version: "0.1.0", Description: "Tools for tests.",
		Capabilities: abi.Capabilities{KV: true}})
	AddTool(ToolDef{
		Name:         "add",
		Title:        "Add",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}`),
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"sum":{"type":"integer"}}}`),
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true},
	}, func(c *Call, in addIn) (addOut, error) {
		if in.A < 0 {
			return addOut{}, fmt.Errorf("a is negative: pass a number >= 0")
		}
		return addOut{in.A + in.B}, nil
	})
	AddTextTool(ToolDef{Name: "upper"}, func(c *Call, in struct{ S string }) (string, error) {
		return strings.ToUpper(in.S), nil
	})
	AddRawTool(ToolDef{Name: "meta"}, func(c *Call) (*abi.CallToolResult, error) {
		return Text(string(c.Meta)), nil
	})
	AddTextTool(ToolDef{Name: "boom"}, func(c *Call, in struct{}) (string, error) {
		panic("kaboom")
	})
	AddTool(ToolDef{Name: "list"}, func(c *Call, in struct{}) ([]int, error) {
		return []int{1, 2}, nil
	})
}

func call(t *testing.T, request string) (abi.CallToolResult, *abi.Error) {
	t.Helper()
	out := Handle([]byte(request))
	var resp struct {
		abi.CallToolResult
		Error *abi.Error `json:"error"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	if resp.Error == nil && resp.Content == nil {
		t.Fatalf("response %s has no content", out)
	}
	return resp.CallToolResult, resp.Error
}

func toolCall(name, args string) string {
	return `{"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
}

func TestDescribe(t *testing.T) {
	setup(t)
	b, err := json.Marshal(Describe())
	if err != nil {
		t.Fatal(err)
	}
	var d abi.Description
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "test" || d.Version != "0.1.0" || !d.Capabilities.KV || len(d.Tools) != 5 {
		t.Fatalf("description: %s", b)
	}
	add := d.Tools[0]
	if add.Name != "add" || add.Title != "Add" || add.Annotations == nil || !add.Annotations.ReadOnlyHint ||
		!strings.Contains(string(add.OutputSchema), `"sum"`) {
		t.Errorf("add: %+v", add)
	}
	if got := string(d.Tools[1].InputSchema); got != `{"type":"object"}` {
		t.Errorf("default input schema: %s", got)
	}
	if d.Tools[1].OutputSchema != nil {
		t.Errorf("upper has an output schema: %s", d.Tools[1].OutputSchema)
	}
}

func TestTypedTool(t *testing.T) {
	setup(t)
	res, perr := call(t, toolCall("add", `{"a":2,"b":3}`))
	if perr != nil || res.IsError {
		t.Fatalf("add: %+v %+v", res, perr)
	}
	if string(res.StructuredContent) != `{"sum":5}` || len(res.Content) != 1 ||
		res.Content[0].Type != "text" || res.Content[0].Text != `{"sum":5}` {
		t.Fatalf("add: %+v", res)
	}
}

func TestToolErrorsAreResults(t *testing.T) {
	setup(t)
	for _, c := range []struct{ req, want string }{
		{toolCall("add", `{"a":-1}`), "a is negative"},
		{toolCall("add", `{"a":"two"}`), `invalid arguments for tool "add"`},
		{toolCall("add", `[1]`), `invalid arguments for tool "add"`},
		{toolCall("boom", `{}`), `tool "boom" panicked: kaboom`},
		{toolCall("add", `{"a":-1}`), "a is negative"}, // the panic is not the next call's
	} {
		res, perr := call(t, c.req)
		if perr != nil || !res.IsError || len(res.Content) != 1 || !strings.Contains(res.Content[0].Text, c.want) {
			t.Errorf("%s: %+v %+v, want an isError result saying %q", c.req, res, perr, c.want)
		}
		if res.StructuredContent != nil {
			t.Errorf("%s: an error with structured content", c.req)
		}
	}
}

func TestTextAndRawTools(t *testing.T) {
	setup(t)
	if res, _ := call(t, toolCall("upper", `{"S":"abc"}`)); res.Content[0].Text != "ABC" || res.StructuredContent != nil {
		t.Errorf("upper: %+v", res)
	}
	if res, _ := call(t, toolCall("upper", `null`)); res.IsError || res.Content[0].Text != "" {
		t.Errorf("upper with null arguments: %+v", res)
	}
	req := `{"method":"tools/call","params":{"name":"meta","_meta":{"progressToken":7}}}`
	if res, _ := call(t, req); res.Content[0].Text != `{"progressToken":7}` {
		t.Errorf("meta: %+v", res)
	}
	if res, _ := call(t, toolCall("list", `{}`)); res.Content[0].Text != "[1,2]" || res.StructuredContent != nil {
		t.Errorf("a non-object result: %+v", res)
	}
}

func TestProtocolErrors(t *testing.T) {
	setup(t)
	for _, c := range []struct {
		req  string
		code int
		want string
	}{
		{toolCall("nope", `{}`), abi.CodeInvalidParams, `unknown tool "nope"`},
		{`{"method":"resources/read","params":{"uri":"x"}}`, abi.CodeMethodNotFound, `"resources/read"`},
		{`{"method":"tools/call","params":{"name":7}}`, abi.CodeInvalidParams, "malformed"},
		{`not json`, abi.CodeInvalidParams, "malformed request"},
	} {
		_, perr := call(t, c.req)
		if perr == nil || perr.Code != c.code || !strings.Contains(perr.Message, c.want) {
			t.Errorf("%s: %+v, want code %d saying %q", c.req, perr, c.code, c.want)
		}
	}
}

func TestBadDefinitionsPanic(t *testing.T) {
	setup(t)
	for name, def := range map[string]ToolDef{
		"no name":        {},
		"bad name":       {Name: "a b"},
		"duplicate":      {Name: "add"},
		"array schema":   {Name: "x", InputSchema: json.RawMessage(`[]`)},
		"string type":    {Name: "x", InputSchema: json.RawMessage(`{"type":"string"}`)},
		"bad output":     {Name: "x", OutputSchema: json.RawMessage(`{}`)},
		"invalid schema": {Name: "x", InputSchema: json.RawMessage(`{`)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered without a panic", name)
				}
			}()
			AddRawTool(def, func(*Call) (*abi.CallToolResult, error) { return nil, nil })
		}()
	}
}

func TestHostStubsAndErrors(t *testing.T) {
	_, err := KVGet("k")
	var e *Error
	if !errors.As(err, &e) || e.Code != abi.EUNSUPPORTED || !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNotFound) {
		t.Fatalf("KVGet outside a host: %v", err)
	}
	if !strings.Contains(err.Error(), "EUNSUPPORTED") || !strings.Contains(err.Error(), "not running in a moat host") {
		t.Errorf("message: %q", err)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", &Error{Code: abi.ENOTFOUND, Message: "no key x"}), ErrNotFound) {
		t.Error("a wrapped ENOTFOUND is not ErrNotFound")
	}
	if Cancelled() {
		t.Error("cancelled outside a host")
	}
}

// A plugin with a handful of tools finds them by name in a list, one with
// many through the map; both find every tool and no other.
func TestToolsAreFoundHoweverMany(t *testing.T) {
	setup(t)
	first := fmt.Sprintf("t%d", len(tools))
	for n := len(tools); n < 12; n++ {
		name := fmt.Sprintf("t%d", n)
		AddRawTool(ToolDef{Name: name}, func(c *Call) (*abi.CallToolResult, error) { return Text(c.Tool), nil })
		for _, want := range []string{first, name} {
			if res, perr := call(t, toolCall(want, `{}`)); perr != nil || res.Content[0].Text != want {
				t.Fatalf("with %d tools, %s: %+v %+v", len(tools), want, res, perr)
			}
		}
		if _, perr := call(t, toolCall("nope", `{}`)); perr == nil || !strings.Contains(perr.Message, `unknown tool "nope"`) {
			t.Fatalf("with %d tools, an unknown tool: %+v", len(tools), perr)
		}
	}
}
