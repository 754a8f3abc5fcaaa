package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// TestTSClient serves a plugin written in C from docs/ABI.md alone
// (testdata/rawc) and drives moat with the official TypeScript MCP SDK
// (testdata/tsclient/client.mjs), over stdio and over streamable HTTP: its
// tool, resource, resource template, prompt and completion, as a user of
// that SDK reaches them. Two independent implementations meet here, so
// neither the host's Go client nor a Go SDK plugin hides a shared mistake.
func TestTSClient(t *testing.T) {
	needBuild(t)
	plugins := t.TempDir()
	buildRawC(t, plugins)
	node := testplugin.RequireTool(t, "node", "install Node.js 18 or later")
	dir := tsClientDeps(t)

	t.Run("stdio", func(t *testing.T) {
		checkTSClient(t, runTSClient(t, node, dir, "stdio", moatBin, plugins))
	})
	t.Run("http", func(t *testing.T) {
		srv := startHTTP(t, "--plugins", plugins)
		checkTSClient(t, runTSClient(t, node, dir, "http", srv.url))
	})
}

// buildRawC compiles testdata/rawc/rawc.c into dir/rawc.wasm.
func buildRawC(t *testing.T, dir string) {
	t.Helper()
	clang := testplugin.RequireTool(t, "clang-14", "apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32")
	src := filepath.Join(testplugin.Root(t), "cmd", "moat", "testdata", "rawc", "rawc.c")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Werror",
		"-Wl,--strip-debug", "-o", filepath.Join(dir, "rawc.wasm"), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building rawc.c: %v\n%s", err, out)
	}
}

// tsSDKVersion is the TypeScript SDK the client pins, as bench/peers/ts does.
const tsSDKVersion = "1.32.2"

// tsClientDeps installs the client's locked dependencies with npm ci, unless
// the pinned SDK is installed already, and returns the client's folder.
func tsClientDeps(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testplugin.Root(t), "cmd", "moat", "testdata", "tsclient")
	installed := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json"))
		if err != nil {
			return ""
		}
		var pkg struct{ Version string }
		if json.Unmarshal(b, &pkg) != nil {
			return ""
		}
		return pkg.Version
	}
	if installed() == tsSDKVersion {
		return dir
	}
	npm := testplugin.RequireTool(t, "npm", "install Node.js 18 or later, with npm")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if v := installed(); v != tsSDKVersion {
		t.Fatalf("after npm ci, @modelcontextprotocol/sdk is %q; package-lock.json should pin %s", v, tsSDKVersion)
	}
	return dir
}

// tsSummary is what client.mjs prints.
type tsSummary struct {
	Transport string
	Checks    []struct {
		Name  string
		OK    bool
		Got   json.RawMessage
		Error string
	}
	Failed []string
}

// runTSClient runs client.mjs with args and returns its summary; it fails
// the test when the script fails or prints no summary.
func runTSClient(t *testing.T, node, dir string, args ...string) *tsSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"client.mjs"}, args...)...)
	cmd.Dir = dir
	cmd.Env = moatEnv(t) // for the moat it spawns over stdio
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var sum tsSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("client.mjs %v printed no summary (%v), exit %v:\nstdout:\n%s\nstderr:\n%s", args, err, runErr, stdout.Bytes(), stderr.Bytes())
	}
	if runErr != nil || len(sum.Failed) > 0 {
		t.Errorf("client.mjs %v: %v; failed checks %q\nstderr:\n%s", args, runErr, sum.Failed, stderr.Bytes())
	}
	return &sum
}

// checkTSClient asserts every check ran and passed, and looks at what the
// client saw for itself rather than only trusting the script's verdicts.
func checkTSClient(t *testing.T, sum *tsSummary) {
	t.Helper()
	want := []string{
		"connect",
		"tools/list",
		"tools/call add",
		"resources/list",
		"resources/templates/list",
		"resources/read static",
		"resources/read templated",
		"resources/read unknown",
		"resources/read unmatched",
		"prompts/list",
		"prompts/get",
		"prompts/get without a required argument",
		"prompts/get unknown",
		"completion/complete prompt argument",
		"completion/complete template variable",
	}
	got := map[string]json.RawMessage{}
	var names []string
	for _, c := range sum.Checks {
		names = append(names, c.Name)
		if !c.OK {
			t.Errorf("check %q failed: %s", c.Name, c.Error)
			continue
		}
		got[c.Name] = c.Got
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("client.mjs ran the checks %q; want %q", names, want)
	}

	saw := func(name string, into any) bool {
		t.Helper()
		raw, ok := got[name]
		if !ok {
			return false
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Errorf("check %q: what it saw, %s, does not decode: %v", name, raw, err)
			return false
		}
		return true
	}
	var sums map[string]int64
	if saw("tools/call add", &sums) && (sums["2+40"] != 42 || sums["-7+3"] != -4) {
		t.Errorf("rawc_add: the client saw %v; want 2+40=42 and -7+3=-4", sums)
	}
	var text string
	if saw("resources/read static", &text) && text != "Plugins in C need no SDK." {
		t.Errorf("reading rawc://motd: the client saw %q", text)
	}
	if saw("resources/read templated", &text) && text != "Grace Hopper" {
		t.Errorf("reading rawc://users/grace: the client saw %q", text)
	}
	var rpcErr struct {
		Code    int
		Message string
	}
	if saw("resources/read unknown", &rpcErr) && rpcErr.Code != -32602 {
		t.Errorf("reading rawc://users/nobody: the client saw %+v; want code -32602, moat's answer for every resource it does not serve", rpcErr)
	}
	if saw("prompts/get", &text) && text != `Please review the following go code, paying most attention to error "handling" <&>.` {
		t.Errorf("getting rawc_review: the client saw %q", text)
	}
	var values map[string][]string
	if saw("completion/complete prompt argument", &values) &&
		(!reflect.DeepEqual(values["j"], []string{"java", "javascript"}) || len(values["zz"]) != 0) {
		t.Errorf("completing rawc_review's language: the client saw %v", values)
	}
	if saw("completion/complete template variable", &values) &&
		(!reflect.DeepEqual(values["a"], []string{"ada", "alan"}) || len(values["x"]) != 0) {
		t.Errorf("completing rawc://users/{id}'s id: the client saw %v", values)
	}
}

// TestRawCABI sends the C plugin, at the ABI level, requests that no client
// can make through moat (a method the host never sends, a tool the host
// would refuse, arguments the host would not pass) and checks it answers
// each as docs/ABI.md says, byte for byte.
func TestRawCABI(t *testing.T) {
	dir := t.TempDir()
	buildRawC(t, dir)
	wasm, err := os.ReadFile(filepath.Join(dir, "rawc.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(ctx)
	p, err := engine.Load(ctx, sandbox.Spec{Name: "rawc", Wasm: wasm})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if imports := p.Imports(); len(imports) != 0 {
		t.Errorf("rawc imports %v; it needs nothing from the host", imports)
	}
	read := func(uri string) string { return `{"method":"resources/read","params":{"uri":"` + uri + `"}}` }
	cases := []struct{ name, request, want string }{
		{"unknown method", `{"method":"logging/setLevel","params":{"level":"info"}}`,
			`{"error":{"code":-32601,"message":"method \"logging/setLevel\" is not supported by this plugin"}}`},
		{"no method", `{"params":{}}`,
			`{"error":{"code":-32602,"message":"the request has no method"}}`},
		{"unknown tool", `{"method":"tools/call","params":{"name":"sub","arguments":{}}}`,
			`{"error":{"code":-32602,"message":"unknown tool \"sub\""}}`},
		{"add, members in another order, _meta and spaces", `{ "params" : { "_meta":{"progressToken":"x,\"}"}, "arguments" : { "b" : -5 , "a" : 9007199254740993 } , "name" : "add" } , "method" : "tools/call" }`,
			`{"content":[{"type":"text","text":"9007199254740988"}],"structuredContent":{"sum":9007199254740988}}`},
		{"add, a whole number with a fraction of zeros", `{"method":"tools/call","params":{"name":"add","arguments":{"a":3.00,"b":-3}}}`,
			`{"content":[{"type":"text","text":"0"}],"structuredContent":{"sum":0}}`},
		{"add, the extremes", `{"method":"tools/call","params":{"name":"add","arguments":{"a":-9223372036854775808,"b":9223372036854775807}}}`,
			`{"content":[{"type":"text","text":"-1"}],"structuredContent":{"sum":-1}}`},
		{"add, overflow", `{"method":"tools/call","params":{"name":"add","arguments":{"a":9223372036854775807,"b":1}}}`,
			`{"content":[{"type":"text","text":"the sum does not fit in 64 bits"}],"isError":true}`},
		{"add, too large to read", `{"method":"tools/call","params":{"name":"add","arguments":{"a":9223372036854775808,"b":0}}}`,
			`{"content":[{"type":"text","text":"a and b must be integers between -2^63 and 2^63-1, written without an exponent"}],"isError":true}`},
		{"read, escaped URI", read(`rawc:\/\/users\/\u0061da`),
			`{"contents":[{"uri":"rawc://users/ada","mimeType":"text/plain","text":"Ada Lovelace"}]}`},
		{"read, unknown user", read(`rawc://users/Ada`),
			`{"error":{"code":-32002,"message":"resource not found: rawc://users/Ada"}}`},
		{"read, no uri", `{"method":"resources/read","params":{"uri":7}}`,
			`{"error":{"code":-32602,"message":"resources/read needs params.uri, a string"}}`},
		{"prompt, escapes and a surrogate pair", `{"method":"prompts/get","params":{"name":"review","arguments":{"language":"\u00e9\ud83d\ude00\"\\\n","focus":"\ud800"}}}`,
			`{"description":"Code review","messages":[{"role":"user","content":{"type":"text","text":"Please review the following é😀\"\\\u000a code, paying most attention to �."}}]}`},
		{"prompt, arguments not an object", `{"method":"prompts/get","params":{"name":"review","arguments":["go"]}}`,
			`{"error":{"code":-32602,"message":"prompt \"review\": arguments must be an object of strings"}}`},
		{"prompt, a number for a string", `{"method":"prompts/get","params":{"name":"review","arguments":{"language":1}}}`,
			`{"error":{"code":-32602,"message":"prompt \"review\": every argument must be a string"}}`},
		{"unknown prompt, named with a quote", `{"method":"prompts/get","params":{"name":"re\"view"}}`,
			`{"error":{"code":-32602,"message":"unknown prompt \"re\\\"view\""}}`},
		{"complete, prompt by its server name", `{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"rawc_review"},"argument":{"name":"language","value":""}}}`,
			`{"completion":{"values":[]}}`},
		{"complete, no value", `{"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"rawc://users/{id}"},"argument":{"name":"id"}}}`,
			`{"completion":{"values":["ada","alan","grace","linus"]}}`},
		{"complete, no ref", `{"method":"completion/complete","params":{"argument":{"name":"id","value":""}}}`,
			`{"error":{"code":-32602,"message":"completion/complete needs params.ref.type and params.argument.name, strings"}}`},
	}
	for _, c := range cases {
		got, err := p.Call(ctx, []byte(c.request))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: moat_call(%s)\n got %s\nwant %s", c.name, c.request, got, c.want)
		}
	}
}

// A tool's structuredContent reaches the client as the plugin wrote it: an
// integer past 2^53 keeps its last digits, where decoding it as a number
// on the way through would round it.
func TestStructuredContentKeepsLargeIntegers(t *testing.T) {
	needBuild(t)
	plugins := t.TempDir()
	buildRawC(t, plugins)
	stdout, stderr, code := runMoat(t, "call", filepath.Join(plugins, "rawc.wasm"), "add", `{"a":9007199254740993,"b":0}`)
	if code != 0 {
		t.Fatalf("moat call: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `9007199254740993`) || strings.Contains(stdout, `9007199254740992`) {
		t.Fatalf("moat call rawc add 2^53+1: %s; want the sum exact in text and structuredContent", stdout)
	}
	// Over MCP, read as bytes: a client that decodes numbers into float64
	// (the go-sdk's and JavaScript's do) would round them itself.
	srv := startHTTP(t, "--plugins", plugins)
	post := func(session, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	session := resp.Header.Get("Mcp-Session-Id")
	if session == "" {
		t.Fatalf("initialize: %d, no session", resp.StatusCode)
	}
	post(session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	_, body := post(session, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rawc_add","arguments":{"a":9007199254740993,"b":0}}}`)
	if !strings.Contains(body, `"structuredContent":{"sum":9007199254740993}`) {
		t.Fatalf("over MCP the answer is %s; want structuredContent {\"sum\":9007199254740993}", body)
	}
}
