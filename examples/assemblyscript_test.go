package examples_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

var (
	asOnce sync.Once
	asWasm []byte
	asErr  string
)

// buildASHello builds examples/assemblyscript/hello with its own npm
// scripts, as an author would, once per test binary, and returns the module.
func buildASHello(t testing.TB) []byte {
	t.Helper()
	const install = "install Node.js 20 or later, which includes npm (https://nodejs.org)"
	testplugin.RequireTool(t, "node", install)
	npm := testplugin.RequireTool(t, "npm", install)
	asOnce.Do(func() {
		dir := filepath.Join(testplugin.Root(t), "examples", "assemblyscript", "hello")
		// npm ci installs exactly what package-lock.json pins; it starts by
		// deleting node_modules, so it runs only when no install is there yet.
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
			if asErr = runNPM(npm, dir, "ci", "--no-audit", "--no-fund"); asErr != "" {
				return
			}
		}
		if asErr = runNPM(npm, dir, "run", "build"); asErr != "" {
			return
		}
		// Keep the bytes this build wrote, whatever later builds do to
		// build/hello.wasm.
		b, err := os.ReadFile(filepath.Join(dir, "build", "hello.wasm"))
		if err != nil {
			asErr = err.Error()
		}
		asWasm = b
	})
	if asErr != "" {
		t.Fatal(asErr)
	}
	return asWasm
}

func runNPM(npm, dir string, args ...string) string {
	cmd := exec.Command(npm, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "npm " + filepath.Base(dir) + ": " + cmd.String() + ": " + err.Error() + "\n" + string(out)
	}
	return ""
}

func TestAssemblyScriptHello(t *testing.T) {
	checkHello(t, testplugin.WriteTo(t, buildASHello(t), t.TempDir(), "hello"))
}

// TestAssemblyScriptProtocol sends the SDK requests a client cannot make
// through moat (the server refuses an unknown tool before the plugin sees
// it) and escapes a JSON encoder would not write, and checks the bytes that
// moat_call returns.
func TestAssemblyScriptProtocol(t *testing.T) {
	wasm := buildASHello(t)
	ctx := context.Background()
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(ctx)
	p, err := engine.Load(ctx, sandbox.Spec{Name: "hello", Wasm: wasm})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	cases := []struct{ name, request, want string }{
		{"unknown tool", `{"method":"tools/call","params":{"name":"nope","arguments":{}}}`,
			`{"error":{"code":-32602,"message":"unknown tool \"nope\""}}`},
		{"other method", `{"method":"logging/setLevel","params":{"level":"info"}}`,
			`{"error":{"code":-32601,"message":"method \"logging/setLevel\" is not supported by this plugin"}}`},
		{"escapes in", `{"method":"tools/call","params":{"name":"greet","arguments":{"name":"\u00e9\ud83d\udc4b \" \\ \/ \n\t\u0001"}}}`,
			`{"content":[{"type":"text","text":"Hello, é👋 \" \\ / \n\t\u0001!"}]}`},
		{"lone surrogate", `{"method":"tools/call","params":{"name":"greet","arguments":{"name":"\ud800"}}}`,
			`{"content":[{"type":"text","text":"Hello, \ud800!"}]}`},
		{"members around", `{"method":"tools/call","params":{"name":"greet","arguments":{"a":{"name":"}"},"name" : "Ada","b":[1,"]"]},"_meta":{"progressToken":7}}}`,
			`{"content":[{"type":"text","text":"Hello, Ada!"}]}`},
		{"code points", `{"method":"tools/call","params":{"name":"stats","arguments":{"text":"\ud83d\udc4b\ud800x\udc00 a"}}}`,
			`{"content":[{"type":"text","text":"{\"words\":2,\"lines\":1,\"chars\":6}"}],"structuredContent":{"words":2,"lines":1,"chars":6}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Call(ctx, []byte(c.request))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("moat_call(%s)\n got %s\nwant %s", c.request, got, c.want)
			}
		})
	}
}

// TestAssemblyScriptSDKResources builds sdk/assemblyscript/test/resources.ts
// with the compiler the hello installed, and checks the SDK's resources,
// prompts and completion byte for byte, the cases the hello does not reach
// included.
func TestAssemblyScriptSDKResources(t *testing.T) {
	buildASHello(t) // installs the compiler
	root := testplugin.Root(t)
	out := filepath.Join(t.TempDir(), "resources.wasm")
	cmd := exec.Command(filepath.Join(root, "examples", "assemblyscript", "hello", "node_modules", ".bin", "asc"),
		filepath.Join(root, "sdk", "assemblyscript", "test", "resources.ts"),
		"--outFile", out, "--optimize", "--runtime", "incremental", "--exportStart", "_initialize")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building resources.ts: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p := loadRaw(t, wasm)
	wantDesc := `{"name":"resources","version":"0.1.0","tools":[{"name":"touch","inputSchema":{"type":"object"}}],` +
		`"resources":[{"uri":"mem://static","name":"static","description":"A fixed text.","mimeType":"text/plain"},` +
		`{"uri":"mem://blob","name":"blob","title":"Binary","mimeType":"application/octet-stream"}],` +
		`"resourceTemplates":[{"uriTemplate":"mem://notes/{id}.md","name":"note","mimeType":"text/markdown"},{"uriTemplate":"mem://{a}/{b}","name":"pair"}],` +
		`"prompts":[{"name":"summarize","description":"Summarizes a topic.","arguments":[{"name":"topic","required":true},{"name":"style","description":"How."}]},` +
		`{"name":"failing","title":"Fails"}]}`
	if got := string(p.Description()); got != wantDesc {
		t.Errorf("description:\n got %s\nwant %s", got, wantDesc)
	}
	imported := false
	for _, imp := range p.Imports() {
		imported = imported || imp.Name == "notify_resource_updated"
	}
	if !imported {
		t.Errorf("imports %v: touch calls notifyResourceUpdated, so the module must import it", p.Imports())
	}
	summarize := `{"type":"ref/prompt","name":"summarize"}`
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = fmt.Sprintf(`"%d"`, i)
	}
	for _, c := range []rawCase{
		{"static", readReq("mem://static"), `{"contents":[{"uri":"mem://static","mimeType":"text/plain","text":"static text <&>"}]}`},
		{"blob", readReq("mem://blob"), `{"contents":[{"uri":"mem://blob","mimeType":"application/octet-stream","blob":"AAEC"}]}`},
		{"templated", readReq("mem://notes/todo.md"), `{"contents":[{"uri":"mem://notes/todo.md","mimeType":"text/markdown","text":"# note todo"}]}`},
		{"two variables, own contents", readReq("mem://x/y"), `{"contents":[{"uri":"mem://canonical","text":"a=x b=y"}]}`},
		{"handler: not found", readReq("mem://notes/missing.md"), `{"error":{"code":-32002,"message":"resource not found: mem://notes/missing.md"}}`},
		{"handler fails", readReq("mem://notes/broken.md"), `{"error":{"code":-32603,"message":"the store is down"}}`},
		{"unknown", readReq("mem://notes/a/b.md"), `{"error":{"code":-32002,"message":"resource not found: mem://notes/a/b.md"}}`},
		{"prompt", promptReq("summarize", `{"style":"terse","topic":"dogs"}`),
			`{"description":"A summary of dogs","messages":[{"role":"user","content":{"type":"text","text":"Summarize dogs"}},` +
				`{"role":"assistant","content":{"type":"text","text":"In terse style."}},` +
				`{"role":"user","content":{"type":"resource_link","uri":"mem://static","name":"static"}}]}`},
		{"missing argument", promptReq("summarize", `{"style":"terse"}`),
			`{"error":{"code":-32602,"message":"prompt \"summarize\" needs the argument \"topic\""}}`},
		{"unknown prompt", promptReq("nope", `{}`), `{"error":{"code":-32602,"message":"unknown prompt \"nope\""}}`},
		{"prompt fails", promptReq("failing", `{}`), `{"error":{"code":-32603,"message":"cannot build it"}}`},
		{"complete by prefix", completeReq(summarize, "topic", "ca"), `{"completion":{"values":["cats","cars"]}}`},
		{"complete, over 100", completeReq(summarize, "style", ""),
			`{"completion":{"values":[` + strings.Join(hundred, ",") + `],"total":150,"hasMore":true}}`},
		{"complete with context", `{"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"mem://notes/{id}.md"},"argument":{"name":"id","value":"to"},"context":{"arguments":{"suffix":"do"}}}}`,
			`{"completion":{"values":["todo"]}}`},
		{"no completer", completeReq(`{"type":"ref/prompt","name":"failing"}`, "x", ""), `{"completion":{"values":[]}}`},
	} {
		got, err := p.Call(context.Background(), []byte(c.request))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if string(got) != c.want {
			t.Errorf("%s: moat_call(%s)\n got %s\nwant %s", c.name, c.request, got, c.want)
		}
	}
}
