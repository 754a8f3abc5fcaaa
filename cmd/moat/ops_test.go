package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A faulting plugin ends its call with a tool error that names it, a plugin
// that cannot load is skipped, and the rest serve on.
func TestFaultsAndBadPluginsStayLocal(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	watPlugin(t, "faulty", dir, "faulty")
	watPlugin(t, "unknown_import", dir, "evil")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins:\n  faulty:\n    limits: {timeout: 300ms}\n")

	srv := startHTTP(t, "--config", config, "--plugins", dir)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	tools, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		if strings.HasPrefix(tool.Name, "evil") {
			t.Fatalf("the plugin with an unknown import serves %s", tool.Name)
		}
	}
	if !strings.Contains(srv.log.String(), "evil.steal") {
		t.Fatalf("the refused plugin's reason is not logged:\n%s", srv.log)
	}

	res := callTool(t, s, "faulty_loop", map[string]any{})
	if !res.IsError || !strings.Contains(text(res), `plugin "faulty": call exceeded its 300ms deadline`) {
		t.Fatalf("infinite loop: isError=%v %q", res.IsError, text(res))
	}
	res = callTool(t, s, "faulty_badjson", map[string]any{})
	if !res.IsError || !strings.Contains(text(res), "not valid JSON") {
		t.Fatalf("invalid JSON result: isError=%v %q", res.IsError, text(res))
	}
	if res := callTool(t, s, "faulty_ok", map[string]any{}); res.IsError || text(res) != "ok" {
		t.Fatalf("healthy tool of the faulting plugin: %q", text(res))
	}
	if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatalf("other plugin: %q", text(res))
	}
}

// SIGTERM lets the call in flight finish, refuses new work, and exits 0.
func TestSIGTERMDrainsInFlightCalls(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "slow.wasm"), filepath.Join(dir, "slow.wasm"))
	srv := startHTTP(t, "--plugins", dir)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	result := make(chan *mcp.CallToolResult, 1)
	errs := make(chan error, 1)
	go func() {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "slow_sleep", Arguments: map[string]any{"ms": 1500}})
		if err != nil {
			errs <- err
			return
		}
		result <- res
	}()
	admin := adminURL(t, srv.log)
	eventually(t, 30*time.Second, "the call is sleeping in the plugin", func() bool { return inflight(t, admin) == 1 })
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-result:
		if res.IsError || text(res) != "slept 1500ms" {
			t.Fatalf("in-flight call: isError=%v %q", res.IsError, text(res))
		}
	case err := <-errs:
		t.Fatalf("the in-flight call was lost: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the in-flight call never returned")
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("moat exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("moat did not exit after SIGTERM")
	}
	if _, err := mcp.NewClient(&mcp.Implementation{Name: "late"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, nil); err == nil {
		t.Fatal("a new client connected after shutdown")
	}
}

func TestCallCommand(t *testing.T) {
	needBuild(t)
	cases := []struct {
		name   string
		args   []string
		exit   int
		stdout string
		stderr string
	}{
		{"by plugin name", []string{"call", "--plugins", pluginsDir, "time", "get_current_time", `{"timezone":"Europe/Paris"}`}, 0, `"timezone": "Europe/Paris"`, ""},
		{"by file", []string{"call", filepath.Join(pluginsDir, "time.wasm"), "convert_time", `{"source_timezone":"UTC","time":"08:00","target_timezone":"UTC"}`}, 0, `"time_difference": "+0.0h"`, ""},
		{"tool error", []string{"call", "--plugins", pluginsDir, "time", "get_current_time", `{"timezone":"Nowhere/Land"}`}, 1, `"isError": true`, ""},
		{"bad arguments", []string{"call", "--plugins", pluginsDir, "time", "get_current_time", `{}`}, 1, "missing property 'timezone'", ""},
		{"unknown tool", []string{"call", "--plugins", pluginsDir, "time", "get_time"}, 1, "", `has no tool "get_time"`},
		{"unknown plugin", []string{"call", "--plugins", pluginsDir, "weather", "forecast"}, 1, "", `"weather" is neither a .wasm file nor a plugin`},
		{"bad JSON", []string{"call", "--plugins", pluginsDir, "time", "get_current_time", `{timezone}`}, 1, "", "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runMoat(t, c.args...)
			if code != c.exit || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("moat %v: exit %d (want %d)\nstdout: %s\nstderr: %s", c.args, code, c.exit, stdout, stderr)
			}
		})
	}
}

func TestInspectCommand(t *testing.T) {
	needBuild(t)
	stdout, stderr, code := runMoat(t, "inspect", filepath.Join(pluginsDir, "time.wasm"))
	for _, want := range []string{"ABI version          1", "get_current_time", "convert_time", "wasi_snapshot_preview1.clock_time_get", "could ever use       fs", "compile time"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	// Resources, templates and prompts are shown, prompts by the name
	// clients see.
	dir := t.TempDir()
	hello := testplugin.WriteTo(t, testplugin.GoPlugin(t, "examples/go/hello"), dir, "hello")
	stdout, stderr, code = runMoat(t, "inspect", hello)
	for _, want := range []string{"resources:\n  hello://greeting  greeting (text/plain)", "resource templates:\n  hello://greeting/{name}", "prompts:\n  hello_greet_prompt", "argument name, required"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestBadConfigIsRefusedAtStart(t *testing.T) {
	needBuild(t)
	config := filepath.Join(t.TempDir(), "moat.yaml")
	writeFile(t, config, "listen: 127.0.0.1:0\nlimits:\n  memory: lots\n")
	_, stderr, code := runMoat(t, "serve", "--config", config)
	if code != 1 || !strings.Contains(stderr, "limits.memory") || !strings.Contains(stderr, "64MiB") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

func runMoat(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runMoatEnv(t, nil, args...)
}

// runMoatEnv runs the moat binary to its end with extra environment
// variables, and returns what it printed and its exit code.
func runMoatEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(moatBin, args...)
	cmd.Env = moatEnv(t, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// moat inspect --config shows, per capability, what the module imports,
// asks for, is granted and so may use, and what to change where they
// differ.
func TestInspectComparesRequestsAndGrants(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, `plugins:
  caps:
    path: `+filepath.Join(filepath.Dir(pluginsDir), "caps.wasm")+`
    grants:
      kv: {quota: 1MiB}
      config: {API_TOKEN: tok-secret-value, EXTRA: x}
      fs: [{path: ., mount: /data}]
`)
	stdout, stderr, code := runMoat(t, "inspect", "--config", config, "caps")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string]*regexp.Regexp{
		"http":        regexp.MustCompile(`(?m)^  http +yes +127\.0\.0\.1 +- +-$`),
		"kv":          regexp.MustCompile(`(?m)^  kv +yes +yes +quota 1MiB +quota 1MiB$`),
		"config":      regexp.MustCompile(`(?m)^  config +yes +API_TOKEN, OTHER +API_TOKEN, EXTRA +API_TOKEN$`),
		"fs":          regexp.MustCompile(`(?m)^  fs +(yes|-) +- +\S+ at /data \(ro\) +-$`),
		"sampling":    regexp.MustCompile(`(?m)^  sampling +yes +yes +- +-$`),
		"elicitation": regexp.MustCompile(`(?m)^  elicitation +yes +yes +- +-$`),
	}
	for c, re := range rows {
		if !re.MatchString(stdout) {
			t.Errorf("the %s row does not match %s:\n%s", c, re, stdout)
		}
	}
	for _, want := range []string{"plugins.caps.grants.http", "plugins.caps.grants.config.OTHER", "config.EXTRA but does not ask", "fs mount /data"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no note says %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "tok-secret-value") {
		t.Errorf("inspect printed a granted secret:\n%s", stdout)
	}
}
