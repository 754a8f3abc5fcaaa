package moat

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
)

// reference decodes a request with encoding/json, which parseRequest must
// agree with.
func reference(b []byte) (request, error) {
	var raw struct {
		Params json.RawMessage `json:"params"`
	}
	json.Unmarshal(b, &raw)
	var v struct {
		Method string `json:"method"`
		Params *struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
			Meta      json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	err := json.Unmarshal(b, &v)
	req := request{method: v.Method, params: raw.Params}
	if v.Params != nil {
		req.name, req.args, req.meta = v.Params.Name, v.Params.Arguments, v.Params.Meta
	}
	return req, err
}

var validRequests = []string{
	`{"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`,
	" {\n\t\"params\" : { \"_meta\" : {\"progressToken\":7} , \"arguments\" : [1, {\"a\":\"}\"}], \"name\" : \"x\" } , \"method\" : \"tools/call\" } \r\n",
	`{"method":"tools\/call","params":{"name":"caf\u00e9","arguments":{"s":"a\"b\\c","n":-1.5e3,"t":true,"z":null}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"é","arguments":"str"}}`,
	`{"method":"resources/read","params":{"uri":"file:///x"}}`,
	`{"method":"tools/call","params":null}`,
	`{"method":"tools/call"}`,
	`{"\u006dethod":"tools/call","params":{"name":"a","extra":[[],{}],"arguments":{}}}`,
	`{"params":{"name":"a"},"params":{"arguments":{"b":1}},"method":"x","method":"tools/call"}`,
	`{}`,
	`{"method":null}`,
}

func TestParseRequestMatchesEncodingJSON(t *testing.T) {
	for _, s := range validRequests {
		want, err := reference([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got, err := parseRequest([]byte(s))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", s, got, err, want)
		}
	}
}

func TestParseRequestRejects(t *testing.T) {
	for _, s := range []string{
		``, `[]`, `"x"`, `{`, `{"method"}`, `{"method":"tools/call",}`, `{"method":"tools/call"} x`,
		`{"method":"tools/call","params":{"name":"a","arguments":{"a":[}}}`,
		`{"method":"tools/call","params":{"name":7}}`, `{"method":tools/call}`, "{\"method\":\"a\nb\"}",
		`{"method":"tools/call","params":{"name":"a","arguments":{"a":"unterminated}}}`,
	} {
		if req, err := parseRequest([]byte(s)); err == nil {
			t.Errorf("%q: parsed as %+v", s, req)
		}
	}
}

// Fuzz parseRequest against encoding/json: wherever encoding/json reads a
// request, parseRequest reads the same.
func FuzzParseRequest(f *testing.F) {
	for _, s := range validRequests {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := parseRequest(b)
		want, werr := reference(b)
		if werr != nil || caseFolded(b) {
			return // encoding/json rejects it, or matches keys loosely
		}
		if gerr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v, %v\nwant %+v", b, got, gerr, want)
		}
	})
}

// caseFolded reports whether b may hold a key that encoding/json would
// match without regard to case, as parseRequest does not.
func caseFolded(b []byte) bool {
	lower := bytes.ToLower(b)
	for _, k := range []string{"method", "params", "name", "arguments", "_meta"} {
		if bytes.Count(lower, []byte(k)) != bytes.Count(b, []byte(k)) {
			return true
		}
	}
	return bytes.Contains(b, []byte(`\u`)) || bytes.ContainsRune(b, 'ſ') || bytes.ContainsRune(b, 'K')
}

func TestAppendResultMatchesEncodingJSON(t *testing.T) {
	tricky := "quote\" backslash\\ nl\n cr\r tab\t nul\x00 us\x1f del\x7f <&> é 🙂 \u2028 bad\xff\xfe end"
	for _, res := range []*abi.CallToolResult{
		Text(tricky),
		ErrorResult("failed: %s", tricky),
		{Content: []abi.Content{}},
		{Content: []abi.Content{{Type: "text", Text: "a"}, {Type: "image", Data: "iVBO", MIMEType: "image/png"}}},
		{Content: []abi.Content{{Type: "text"}}, StructuredContent: json.RawMessage(`{ "a" : 1 }`)},
		{Content: []abi.Content{
			{Type: "resource_link", URI: "hello://greeting", Name: "greeting", Title: "T", Description: tricky, MIMEType: "text/plain", Size: 16},
			{Type: "resource", Resource: &abi.ResourceContents{URI: "a://b", Text: tricky}},
			{Type: "resource", Resource: &abi.ResourceContents{URI: "a://c", MIMEType: "image/png", Blob: "iVBO"}},
		}},
	} {
		got, err := appendResult(nil, res)
		if err != nil || !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("%+v: %s %v", res, got, err)
		}
		want, _ := json.Marshal(res)
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("appendResult:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("quote\" nul\x00 bad\xff \u2028")
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		want, _ := json.Marshal(s)
		var g, w string
		if err := json.Unmarshal(got, &g); err != nil || !utf8.Valid(got) {
			t.Fatalf("%q: %s is not a JSON string: %v", s, got, err)
		}
		if json.Unmarshal(want, &w); g != w {
			t.Fatalf("%q: %s reads as %q, not %q", s, got, g, w)
		}
	})
}

func TestStringArg(t *testing.T) {
	for _, c := range []struct{ args, want, err string }{
		{`{"text":"hi"}`, "hi", ""},
		{`{"other":{"text":"no"},"text":"a\u00e9\n"}`, "a\u00e9\n", ""},
		{`{"text":"first","text":"last"}`, "last", ""},
		{``, "", `tool "t" needs the string argument "text"`},
		{`{"other":1}`, "", `tool "t" needs the string argument "text"`},
		{`{"text":5}`, "", `invalid arguments for tool "t": argument "text" must be a string`},
		{`[1]`, "", `invalid arguments for tool "t"`},
		{`{"text":"a"`, "", `invalid arguments for tool "t"`},
	} {
		c2 := &Call{Tool: "t", Arguments: json.RawMessage(c.args)}
		got, err := c2.StringArg("text")
		if c.err == "" && (err != nil || got != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("StringArg over %s = %q, %v; want %q, %q", c.args, got, err, c.want, c.err)
		}
	}
}

func BenchmarkHandleEcho(b *testing.B) {
	info, tools, index = Info{}, nil, map[string]int{}
	AddRawTool(ToolDef{Name: "echo"}, func(c *Call) (*abi.CallToolResult, error) {
		text, err := c.StringArg("text")
		return Text(text), err
	})
	req := []byte(`{"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("a", 100) + `"}}}`)
	for b.Loop() {
		Handle(req)
	}
}

// The scans read eight bytes at a time: a byte that needs a look must be
// found wherever it falls in the word, and in the tail after the last
// whole word.
func TestScansFindEveryByteInEveryPosition(t *testing.T) {
	for _, special := range []string{`"`, `\`, "\n", "\x00", "\x1f", "\x7f", "é", "\xff", "\u2028"} {
		for n := 0; n < 24; n++ {
			for at := 0; at <= n; at++ {
				s := strings.Repeat("a", at) + special + strings.Repeat("b", n-at)
				got := appendString(nil, s)
				want, _ := json.Marshal(s)
				var g, w string
				if err := json.Unmarshal(got, &g); err != nil {
					t.Fatalf("appendString(%q) = %s: %v", s, got, err)
				}
				json.Unmarshal(want, &w)
				if g != w {
					t.Fatalf("appendString(%q) reads as %q, not %q", s, g, w)
				}
				// The same text as an argument, escaped as a client would.
				args := `{"text":` + string(want) + `}`
				v, found, err := stringMember([]byte(args), "text")
				if err != nil || !found || v != w {
					t.Fatalf("stringMember(%s) = %q, %v, %v; want %q", args, v, found, err, w)
				}
				// And unescaped, where JSON allows it: as raw bytes.
				if special != `"` && special != `\` && special[0] >= 0x20 {
					raw := `{"text":"` + s + `"}`
					v, _, err := stringMember([]byte(raw), "text")
					var ref struct{ Text string }
					rerr := json.Unmarshal([]byte(raw), &ref)
					if (err == nil) != (rerr == nil) || err == nil && v != ref.Text {
						t.Fatalf("stringMember(%q) = %q, %v; encoding/json: %q, %v", raw, v, err, ref.Text, rerr)
					}
				} else if special[0] < 0x20 {
					if _, _, err := stringMember([]byte(`{"text":"`+s+`"}`), "text"); err == nil {
						t.Fatalf("a raw control character in %q was accepted", s)
					}
				}
			}
		}
	}
}
