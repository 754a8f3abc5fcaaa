package ctest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
)

func TestResourcesDescription(t *testing.T) {
	p := loadFile(t, "resources.c")
	want := `{"name":"resources","version":"0.1.0","tools":[{"name":"touch","inputSchema":{"type":"object"}},{"name":"counts","inputSchema":{"type":"object"}}],` +
		`"resources":[{"uri":"mem://static","name":"static","description":"A fixed text.","mimeType":"text/plain"},` +
		`{"uri":"mem://blob","name":"blob","title":"Binary","mimeType":"application/octet-stream","size":3}],` +
		`"resourceTemplates":[{"uriTemplate":"mem://notes/{id}.md","name":"note","mimeType":"text/markdown"},{"uriTemplate":"mem://{a}/{b}","name":"pair"}],` +
		`"prompts":[{"name":"summarize","description":"Summarizes a topic.","arguments":[{"name":"topic","required":true},{"name":"style","description":"How."}]},` +
		`{"name":"failing","title":"Fails"}]}`
	if got := string(p.Description()); got != want {
		t.Errorf("description:\n got %s\nwant %s", got, want)
	}
	var d abi.Description
	if err := json.Unmarshal(p.Description(), &d); err != nil || len(d.Resources) != 2 || len(d.ResourceTemplates) != 2 || len(d.Prompts) != 2 {
		t.Errorf("abi.Description reads %+v, %v", d, err)
	}
}

func TestResourcesPromptsAndCompletion(t *testing.T) {
	p := loadFile(t, "resources.c")
	read := func(uri string) string { return `{"method":"resources/read","params":{"uri":"` + uri + `"}}` }
	get := func(name, args string) string {
		return `{"method":"prompts/get","params":{"name":"` + name + `","arguments":` + args + `}}`
	}
	complete := func(ref, arg, value, context string) string {
		return `{"method":"completion/complete","params":{"ref":` + ref + `,"argument":{"name":"` + arg + `","value":"` + value + `"}` + context + `}}`
	}
	const summarize = `{"type":"ref/prompt","name":"summarize"}`
	var hundred []string
	for i := range 100 {
		hundred = append(hundred, fmt.Sprintf(`"%d"`, i))
	}
	for _, c := range []struct{ name, request, want string }{
		{"registrations", `{"method":"tools/call","params":{"name":"counts","arguments":{}}}`,
			`{"content":[{"type":"text","text":"18 as expected, 0 not"}]}`},
		{"static", read("mem://static"),
			`{"contents":[{"uri":"mem://static","mimeType":"text/plain","text":"static text <&>"}]}`},
		{"blob", read("mem://blob"),
			`{"contents":[{"uri":"mem://blob","mimeType":"application/octet-stream","blob":"AAEC"}]}`},
		{"templated", read("mem://notes/todo.md"),
			`{"contents":[{"uri":"mem://notes/todo.md","mimeType":"text/markdown","text":"# note todo"}]}`},
		{"escaped URI", `{"method":"resources/read","params":{"uri":"mem://notes/caf\u00e9 \"x\".md"}}`,
			`{"contents":[{"uri":"mem://notes/café \"x\".md","mimeType":"text/markdown","text":"# note café \"x\""}]}`},
		{"two variables, own contents", read("mem://x/y"),
			`{"contents":[{"uri":"mem://canonical","text":"a=x b=y"}]}`},
		{"handler: not found", read("mem://notes/missing.md"),
			`{"error":{"code":-32002,"message":"resource not found: mem://notes/missing.md"}}`},
		{"handler fails", read("mem://notes/broken.md"),
			`{"error":{"code":-32603,"message":"the store is down"}}`},
		{"unknown", read("mem://notes/a/b.md"),
			`{"error":{"code":-32002,"message":"resource not found: mem://notes/a/b.md"}}`},
		{"no uri", `{"method":"resources/read","params":{}}`,
			`{"error":{"code":-32602,"message":"malformed resources/read request: no \"uri\" string in params"}}`},
		{"prompt", get("summarize", `{"topic":"cats"}`),
			`{"description":"A summary of cats","messages":[{"role":"user","content":{"type":"text","text":"Summarize cats"}},` +
				`{"role":"user","content":{"type":"resource_link","uri":"mem://static","name":"static"}}]}`},
		{"prompt, two arguments", get("summarize", `{"style":"terse","topic":"dogs"}`),
			`{"description":"A summary of dogs","messages":[{"role":"user","content":{"type":"text","text":"Summarize dogs"}},` +
				`{"role":"assistant","content":{"type":"text","text":"In terse style."}},` +
				`{"role":"user","content":{"type":"resource_link","uri":"mem://static","name":"static"}}]}`},
		{"missing argument", get("summarize", `{"style":"terse"}`),
			`{"error":{"code":-32602,"message":"prompt \"summarize\" needs the argument \"topic\""}}`},
		{"no arguments", `{"method":"prompts/get","params":{"name":"summarize"}}`,
			`{"error":{"code":-32602,"message":"prompt \"summarize\" needs the argument \"topic\""}}`},
		{"unknown prompt", get("nope", `{}`),
			`{"error":{"code":-32602,"message":"unknown prompt \"nope\""}}`},
		{"prompt fails", get("failing", `{}`),
			`{"error":{"code":-32603,"message":"cannot build it"}}`},
		{"complete by prefix", complete(summarize, "topic", "ca", ""), `{"completion":{"values":["cats","cars"]}}`},
		{"complete, nothing", complete(summarize, "topic", "x", ""), `{"completion":{"values":[]}}`},
		{"complete, over 100", complete(summarize, "style", "", ""),
			`{"completion":{"values":[` + strings.Join(hundred, ",") + `],"total":150,"hasMore":true}}`},
		{"complete a template variable with context", complete(`{"type":"ref/resource","uri":"mem://notes/{id}.md"}`, "id", "to", `,"context":{"arguments":{"suffix":"do"}}`),
			`{"completion":{"values":["todo"]}}`},
		{"no completer", complete(`{"type":"ref/prompt","name":"failing"}`, "x", "", ""), `{"completion":{"values":[]}}`},
		{"ref of the other kind", complete(`{"type":"ref/resource","uri":"summarize"}`, "topic", "", ""), `{"completion":{"values":[]}}`},
		{"malformed completion", `{"method":"completion/complete","params":{"ref":{}}}`,
			`{"error":{"code":-32602,"message":"malformed completion/complete request: params need \"ref\" with a \"type\", and \"argument\" with a \"name\" and a \"value\""}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := p.Call(context.Background(), []byte(c.request))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out); got != c.want {
				t.Errorf("%s\n got %s\nwant %s", c.request, got, c.want)
			}
		})
	}
}

// TestNotifyIsImportedWhenCalled checks the other side of TestImports: a
// plugin that calls moat_notify_resource_updated imports it, and the call
// returns to the plugin whatever the host answers.
func TestNotifyIsImportedWhenCalled(t *testing.T) {
	p := loadFile(t, "resources.c")
	found := false
	for _, imp := range p.Imports() {
		found = found || imp.Module == "moat" && imp.Name == abi.ImportNotifyResourceUpdated
	}
	if !found {
		t.Fatalf("imports %v; want moat.notify_resource_updated", p.Imports())
	}
	out, err := p.Call(context.Background(), []byte(`{"method":"tools/call","params":{"name":"touch","arguments":{"uri":"mem://static"}}}`))
	if err != nil || !strings.HasPrefix(string(out), `{"content":[{"type":"text","text":"E`) && string(out) != `{"content":[{"type":"text","text":"OK"}]}` {
		t.Errorf("touch: %s, %v", out, err)
	}
}
