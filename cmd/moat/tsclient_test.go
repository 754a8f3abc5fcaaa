package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
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
	if saw("resources/read unknown", &rpcErr) && rpcErr.Code != -32002 {
		t.Errorf("reading rawc://users/nobody: the client saw %+v; want code -32002", rpcErr)
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
