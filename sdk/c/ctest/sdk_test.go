// Package ctest checks the C SDK (../moat.h, ../moat.c): it builds
// testdata/sdktest.c with clang for wasm32-wasi and drives it through the
// sandbox with raw ABI requests, so that what the SDK decodes and writes is
// checked byte for byte.
package ctest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

func load(t *testing.T) *sandbox.Plugin {
	t.Helper()
	return loadFile(t, "sdktest.c")
}

// loadFile builds testdata/file with the SDK and loads it.
func loadFile(t *testing.T, file string) *sandbox.Plugin {
	t.Helper()
	clang := testplugin.RequireTool(t, "clang-14", "apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32")
	dir := filepath.Join(testplugin.Root(t), "sdk", "c")
	out := filepath.Join(t.TempDir(), "plugin.wasm")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra",
		"-Wl,--strip-debug", "-I", dir, "-o", out, filepath.Join(dir, "ctest", "testdata", file), filepath.Join(dir, "moat.c"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", file, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(ctx) })
	p, err := engine.Load(ctx, sandbox.Spec{Name: strings.TrimSuffix(file, ".c"), Wasm: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

func TestDescription(t *testing.T) {
	p := load(t)
	want := `{"name":"sdktest","version":"0.1.0","description":"Exercises the C SDK.","tools":[` +
		`{"name":"echo","description":"Echoes its arguments.","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},` +
		`{"name":"config","inputSchema":{"type":"object"},"annotations":{"idempotentHint":true}},` +
		`{"name":"fail","inputSchema":{"type":"object"}},` +
		`{"name":"reject","inputSchema":{"type":"object"}}],` +
		`"capabilities":{"config":["GREETING"]}}`
	if got := string(p.Description()); got != want {
		t.Errorf("description:\n got %s\nwant %s", got, want)
	}
}

func TestCalls(t *testing.T) {
	p := load(t)
	echo := func(args string) string {
		return `{"method":"tools/call","params":{"name":"echo","arguments":` + args + `}}`
	}
	result := func(sc string) string {
		var text strings.Builder
		enc := json.NewEncoder(&text)
		enc.SetEscapeHTML(false) // the SDK writes < > & as they are
		enc.Encode(sc)
		return `{"content":[{"type":"text","text":` + strings.TrimSpace(text.String()) + `}],"structuredContent":` + sc + `}`
	}
	for _, c := range []struct {
		name, request, want string
	}{
		{"unknown tool", `{"method":"tools/call","params":{"name":"nope","arguments":{}}}`,
			`{"error":{"code":-32602,"message":"unknown tool \"nope\""}}`},
		{"unknown method", `{"method":"resources/read","params":{"uri":"x"}}`,
			`{"error":{"code":-32601,"message":"method \"resources/read\" is not supported by this plugin"}}`},
		{"no prompts to get", `{"method":"prompts/get","params":{"name":"x"}}`,
			`{"error":{"code":-32601,"message":"method \"prompts/get\" is not supported by this plugin"}}`},
		{"nothing to complete", `{"method":"completion/complete","params":{}}`,
			`{"error":{"code":-32601,"message":"method \"completion/complete\" is not supported by this plugin"}}`},
		{"no method", `[1,2]`,
			`{"error":{"code":-32602,"message":"malformed request: no \"method\" string in a JSON object"}}`},
		{"no tool name", `{"method":"tools/call","params":{}}`,
			`{"error":{"code":-32602,"message":"malformed tools/call request: no \"name\" string in params"}}`},
		{"no arguments", `{"method":"tools/call","params":{"name":"echo"}}`,
			result(`{"s":null,"n":null,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"escapes", echo(`{"s":"a\"b\\c\/d\b\f\n\r\t\u0000\u001f\u00e9\u20ac\ud83d\udc4b\ud800x\udc00<>&"}`),
			result(`{"s":"a\"b\\c/d\b\f\n\r\t\u0000\u001f` + "é€👋\uFFFDx\uFFFD" + `<>&","n":null,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"raw UTF-8 and control characters", echo(`{"s":"Zoë 👋 \u007f\u0001"}`),
			result(`{"s":"Zoë 👋 ` + "\x7f" + `\u0001","n":null,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"types", echo(`{"n":-1.5e2,"i":42,"b":true,"raw":{"x":[1,"]}",{"y":null}]},"s":7}`),
			result(`{"s":null,"n":-150,"i":42,"b":true,"raw":{"x":[1,"]}",{"y":null}]},"progress":false}`)},
		{"fractions and wrong types", echo(`{"n":0.1,"i":1.5,"b":"true"}`),
			result(`{"s":null,"n":0.1,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"whole floats and big integers", echo(`{"n":1e300,"i":99999999999999999999}`),
			result(`{"s":null,"n":1e+300,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"last duplicate wins, nested keys do not count", echo(`{"s":"first","x":{"s":"nested"},"s":"last"}`),
			result(`{"s":"last","n":null,"i":null,"b":null,"raw":null,"progress":false}`)},
		{"progress token", `{"params":{"name":"echo","arguments":{"i":-3},"_meta":{"progressToken":"t"}} , "method" : "tools/call"}`,
			result(`{"s":null,"n":null,"i":-3,"b":null,"raw":null,"progress":true}`)},
		{"host error", `{"method":"tools/call","params":{"name":"config","arguments":{"key":"GREETING"}}}`,
			`{"content":[{"type":"text","text":"{\"err\":\"EPERM\",\"data\":\"moat.config_get: this host serves no \\\"config\\\" capability to plugin \\\"sdktest\\\"\"}"}]}`},
		{"tool error", `{"method":"tools/call","params":{"name":"fail","arguments":{}}}`,
			`{"content":[{"type":"text","text":"it \"failed\""}],"isError":true}`},
		{"protocol error", `{"method":"tools/call","params":{"name":"reject","arguments":{}}}`,
			`{"error":{"code":-32602,"message":"cannot read these params"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := p.Call(context.Background(), []byte(c.request))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out); got != c.want {
				t.Errorf("%s\n got %s\nwant %s", c.request, got, c.want)
			}
			if !json.Valid(out) {
				t.Errorf("not valid JSON: %s", out)
			}
		})
	}
}

// TestImports checks that a plugin imports only the host functions its
// code reaches: sdktest calls config_get (and so read_result), log and
// progress are linked only if used.
func TestImports(t *testing.T) {
	p := load(t)
	var names []string
	for _, imp := range p.Imports() {
		names = append(names, imp.Module+"."+imp.Name)
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"moat.config_get", "moat.read_result"} {
		if !strings.Contains(got, want) {
			t.Errorf("imports %s; want %s among them", got, want)
		}
	}
	for _, unwanted := range []string{"moat.log", "moat.http_request", "moat.kv_get", "moat.sample", "moat.notify_resource_updated", "_start"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("imports %s; want no %s", got, unwanted)
		}
	}
}
