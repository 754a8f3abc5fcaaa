package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Fuzzing what a plugin hands the host: its description at load and its
// result on every call. Both come from code moat does not trust, so
// whatever the bytes, parsing must return a value or an error, and what it
// accepts must be something the rest of the host can use without failing:
// the server registers every accepted tool with the go-sdk, and decodes
// every accepted result as an MCP CallToolResult.
//
// Run one for longer with
//
//	go test -run '^$' -fuzz '^FuzzDescription$' -fuzztime 2m ./host/plugin/

func FuzzDescription(f *testing.F) {
	for _, seed := range []string{
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object"}}]}`,
		`{"name":"p","tools":[{"name":"a","title":"A","description":"d","inputSchema":{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]},"outputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object","$defs":{"s":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/s"}}}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object","properties":{"x":{"$ref":"https://example.com/s.json"}}}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"a","inputSchema":{"type":"object"}}]}`,
		`{"name":"p","tools":[{"name":"a b","inputSchema":{"type":"object"}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"array"}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object","$schema":"http://json-schema.org/draft-07/schema#"}}]}`,
		`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object","properties":{"n":{"type":"integer","minimum":"x"}}}}]}`,
		`{"name":"p","tools":null,"capabilities":{"kv":true,"http":{"hosts":["example.com"]}}}`,
		`{"tools":[{"name":"a"}]}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(seed), "p_")
	}
	f.Add([]byte(`{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object"}}]}`), "")
	f.Fuzz(func(t *testing.T, raw []byte, prefix string) {
		desc, tools, err := parseDescription("fuzz", prefix, raw)
		if err != nil {
			if desc != nil || tools != nil {
				t.Fatalf("an error (%v) and a description together", err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an empty error says nothing to the operator")
			}
			return
		}
		if len(tools) != len(desc.Tools) || len(tools) > maxTools {
			t.Fatalf("%d tools from a description of %d", len(tools), len(desc.Tools))
		}
		srv := mcp.NewServer(&mcp.Implementation{Name: "fuzz"}, nil)
		seen := map[string]bool{}
		for i, tool := range tools {
			if tool.Name != prefix+desc.Tools[i].Name || !toolName.MatchString(tool.Name) || seen[tool.Name] {
				t.Fatalf("accepted tool %q (as %q): a bad, or repeated, name", desc.Tools[i].Name, tool.Name)
			}
			seen[tool.Name] = true
			if tool.input == nil {
				t.Fatalf("accepted tool %q without a compiled inputSchema", tool.Name)
			}
			// What host/server does with every tool of a loaded plugin; a
			// panic here would take the host down at start or on reload.
			if err := register(srv, tool); err != nil {
				t.Fatalf("accepted tool %q, which the MCP server refuses: %v", tool.Name, err)
			}
		}
	})
}

// register adds tool to srv as the server does, and turns a panic of the
// SDK into an error.
func register(srv *mcp.Server, tool *Tool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("AddTool panics: %v", r)
		}
	}()
	mt := &mcp.Tool{Name: tool.Name, Title: tool.Def.Title, Description: tool.Def.Description, InputSchema: tool.Def.InputSchema}
	if len(tool.Def.OutputSchema) > 0 {
		mt.OutputSchema = tool.Def.OutputSchema
	}
	srv.AddTool(mt, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil })
	return nil
}

func FuzzCallResult(f *testing.F) {
	for _, seed := range []string{
		`{"content":[{"type":"text","text":"ok"}]}`,
		`{"content":[{"type":"text","text":"ok"}],"structuredContent":{"n":1}}`,
		`{"content":[{"type":"text","text":"no"}],"isError":true}`,
		`{"content":[]}`,
		`{"content":[{"type":"image","data":"AAAA","mimeType":"image/png"},{"type":"resource_link","uri":"file:///a","name":"a"}]}`,
		`{"content":[{"type":"resource","resource":{"uri":"file:///a","text":"x"}}],"structuredContent":{"n":"x"}}`,
		`{"content":[{"type":"mystery"}]}`,
		`{"content":[null]}`,
		`{"content":[7]}`,
		`{"content":{}}`,
		`{"content":[{"type":"text","text":"ok"}],"_meta":"x"}`,
		`{"content":[{"type":"text","text":"ok"}],"isError":"yes"}`,
		`{"error":{"code":-32602,"message":"unknown tool"}}`,
		`{"error":null,"content":[]}`,
		`not json{`, `null`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	output, err := compileSchema(json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`), "moat://fuzz/output", true)
	if err != nil {
		f.Fatal(err)
	}
	p := &Plugin{Name: "fuzz"}
	plain := &Tool{Name: "fuzz_plain", Plugin: p}
	typed := &Tool{Name: "fuzz_typed", Plugin: p, output: output}
	f.Fuzz(func(t *testing.T, out []byte) {
		for _, tool := range []*Tool{plain, typed} {
			err := tool.checkResult(out)
			if err != nil {
				var proto *ProtocolError
				if !strings.Contains(err.Error(), "fuzz") && !errors.As(err, &proto) {
					t.Fatalf("%s: the error does not name the plugin: %v", tool.Name, err)
				}
				continue
			}
			// The server decodes every accepted result so; if it cannot,
			// the client gets an error the breaker never counted.
			var res mcp.CallToolResult
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: accepted %q, which is not a CallToolResult the server can send: %v", tool.Name, out, err)
			}
		}
	})
}
