package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdkjson "github.com/segmentio/encoding/json"
)

// sdkParams decodes params as the go-sdk does before a tool runs: with the
// JSON package it uses, matching keys case-sensitively.
func sdkParams(raw json.RawMessage) (*mcp.CallToolParamsRaw, error) {
	var p *mcp.CallToolParamsRaw
	dec := sdkjson.NewDecoder(bytes.NewReader(raw))
	dec.DontMatchCaseInsensitiveStructFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	return p, nil
}

// FuzzFrontDoorView checks the edge's one reading of a request against
// the go-sdk's: for every body the edge accepts, the method, id, tool name
// and arguments the rate limits count and the audit records are those the
// go-sdk runs. A body the two could read differently must be refused.
//
//	go test -run '^$' -fuzz '^FuzzFrontDoorView$' -fuzztime 2m ./host/server/
func FuzzFrontDoorView(f *testing.F) {
	for _, seed := range viewSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, verr := readView(body)
		if verr != nil {
			if verr.code != jsonrpc.CodeParseError && verr.code != jsonrpc.CodeInvalidRequest {
				t.Fatalf("refused with code %d", verr.code)
			}
			return
		}
		msg, err := jsonrpc.DecodeMessage(body)
		if err != nil {
			t.Fatalf("the edge accepts %q, the go-sdk does not: %v", body, err)
		}
		switch m := msg.(type) {
		case *jsonrpc.Request:
			if !v.Request || v.Method != m.Method {
				t.Fatalf("method: the edge reads %q (request %v), the go-sdk %q", v.Method, v.Request, m.Method)
			}
			if fmt.Sprintf("%T %v", v.ID, v.ID) != fmt.Sprintf("%T %v", m.ID.Raw(), m.ID.Raw()) {
				t.Fatalf("id: the edge reads %T %v, the go-sdk %T %v", v.ID, v.ID, m.ID.Raw(), m.ID.Raw())
			}
			if len(m.Params) == 0 {
				if v.Name != "" || v.Arguments != nil {
					t.Fatalf("no params to the go-sdk, the edge reads name %q arguments %s", v.Name, v.Arguments)
				}
				return
			}
			p, err := sdkParams(m.Params)
			if err != nil {
				return // the go-sdk refuses the params: nothing runs
			}
			if p == nil {
				t.Fatalf("params %s read as null by the go-sdk", m.Params)
			}
			if p.Name != v.Name {
				t.Fatalf("name: the edge reads %q, the go-sdk %q", v.Name, p.Name)
			}
			if !bytes.Equal(p.Arguments, v.Arguments) {
				t.Fatalf("arguments: the edge reads %s, the go-sdk %s", v.Arguments, p.Arguments)
			}
		case *jsonrpc.Response:
			if v.Request {
				t.Fatalf("the edge reads a request (%q), the go-sdk a response", v.Method)
			}
			if fmt.Sprintf("%T %v", v.ID, v.ID) != fmt.Sprintf("%T %v", m.ID.Raw(), m.ID.Raw()) {
				t.Fatalf("id: the edge reads %T %v, the go-sdk %T %v", v.ID, v.ID, m.ID.Raw(), m.ID.Raw())
			}
		}
	})
}

var viewSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"x"},"_meta":{"progressToken":7}}}`,
	`{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":3,"result":{"content":[]}}`,
	`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"p","arguments":{"a":"b"}}}`,
	`{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"b"}}}`,
	`{"jsonrpc":"2.0","id":1e2,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":-0,"method":"ping","params":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping","params":{"name":"echo_echo"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","NAME":7}}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\ud800b","arguments":{"k":"\ud83d\ude00"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"echo_echo","arguments":{}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","arguments":{"a":{"b":1,"b":2}}}}`,
	`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
	`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","progreſsToken":1}}`,
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"\xff\"}}",
}

func TestReadViewRefusesWhatTwoReadersCouldReadApart(t *testing.T) {
	cases := []struct {
		name, body, label string
	}{
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "batch"},
		{"not an object", `"ping"`, "not_object"},
		{"empty", ` `, "not_object"},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"ping"}{}`, "parse_error"},
		{"duplicate through bytes that are not UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{\"a\xff\":1,\"a\xfe\":2}}}", "duplicate_key"},
		{"duplicate method", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`, "duplicate_key"},
		{"duplicate through an escape", `{"jsonrpc":"2.0","id":1,"method":"ping","m\u0065thod":"tools/call"}`, "duplicate_key"},
		{"duplicate deep in arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":[{"b":1,"b":2}]}}}`, "duplicate_key"},
		{"duplicate in a large object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{` + manyKeys(40) + `,"k3":0}}}`, "duplicate_key"},
		{"Method beside method", `{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping"}`, "case_variant"},
		{"Params beside params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"},"Params":{"name":"u"}}`, "case_variant"},
		{"NAME in params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","NAME":7}}`, "case_variant"},
		{"Arguments in params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","Arguments":{}}}`, "case_variant"},
		{"Unicode fold of progressToken", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"progreſsToken":1}}}`, "case_variant"},
		{"method a number", `{"jsonrpc":"2.0","id":1,"method":7}`, "wrong_type"},
		{"params an array", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["t"]}`, "wrong_type"},
		{"params null", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}`, "wrong_type"},
		{"name a number", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`, "wrong_type"},
		{"arguments a string", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"{}"}}`, "wrong_type"},
		{"id an object", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, "wrong_type"},
		{"id a fraction", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, "wrong_type"},
		{"id past 2^53", `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`, "wrong_type"},
		{"no jsonrpc", `{"id":1,"method":"ping"}`, "wrong_type"},
		{"neither method nor id", `{"jsonrpc":"2.0","result":{}}`, "wrong_type"},
		{"too deep", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}}`, "too_deep"},
		{"bad number", `{"jsonrpc":"2.0","id":01,"method":"ping"}`, "parse_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := readView([]byte(c.body))
			if err == nil {
				t.Fatalf("accepted, read as %+v", v)
			}
			if err.label != c.label {
				t.Fatalf("refused as %s (%s), want %s", err.label, err.msg, c.label)
			}
			if !strings.Contains(err.msg, "; ") {
				t.Fatalf("the message names no fix: %s", err.msg)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}

func TestReadViewReadsWhatRuns(t *testing.T) {
	v, err := readView([]byte(` {"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"n\u0061me":"echo_\u00e9","arguments":{"text":"a\"b"},"_meta":{"progressToken":"p"}}} `))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "x" || v.Method != "tools/call" || !v.Request || v.Name != "echo_é" || string(v.Arguments) != `{"text":"a\"b"}` {
		t.Fatalf("read %+v (arguments %s)", v, v.Arguments)
	}
	// Bytes that are not UTF-8 read as U+FFFD, as the go-sdk reads them;
	// the arguments are passed on as they came.
	v, err = readView([]byte("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\xff\",\"arguments\":{\"k\":\"\xfe\"}}}"))
	if err != nil || v.Name != "t\uFFFD" || string(v.Arguments) != "{\"k\":\"\xfe\"}" {
		t.Fatalf("read %+v, %v", v, err)
	}
	v, err = readView([]byte(`{"jsonrpc":"2.0","id":12,"result":{"action":"accept"}}`))
	if err != nil || v.Request || v.ID != int64(12) {
		t.Fatalf("a response read as %+v, %v", v, err)
	}
}

// BenchmarkReadView is what the edge's one parse costs a typical
// tools/call (the body the go-sdk client sends for echo with 100 bytes of
// text).
func BenchmarkReadView(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"` + strings.Repeat("a", 100) + `"},"_meta":{"progressToken":3}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readView(body); err != nil {
			b.Fatal(err)
		}
	}
}
