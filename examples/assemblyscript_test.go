package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
