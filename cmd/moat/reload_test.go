package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Plugins dropped into, replaced in and removed from the watched folder
// change what clients see without a restart; a broken replacement leaves
// the old version serving.
func TestHotReload(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	srv := startHTTP(t, "--plugins", dir)

	changed := make(chan struct{}, 16)
	client := mcp.NewClient(&mcp.Implementation{Name: "reload"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor := func(what string, ok func([]string) bool) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			names := toolNamesOf(t, s)
			if ok(names) {
				return names
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: tools are %v\n%s", what, names, srv.log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	waitFor("a plugin dropped in", func(n []string) bool { return slices.Contains(n, "echo_echo") })
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the client got no notifications/tools/list_changed")
	}
	if res := callTool(t, s, "echo_echo", map[string]any{"text": "hot"}); text(res) != "hot" {
		t.Fatalf("the new plugin: %q", text(res))
	}

	// A broken replacement: the old echo keeps serving, and the log says why.
	if err := os.WriteFile(filepath.Join(dir, "echo.wasm"), []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(srv.log.String(), "the new version of a plugin is refused") {
		if time.Now().After(deadline) {
			t.Fatalf("the broken replacement was not reported:\n%s", srv.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := callTool(t, s, "echo_echo", map[string]any{"text": "still"}); text(res) != "still" {
		t.Fatalf("the old version after a broken replacement: %q", text(res))
	}

	// A good replacement with other tools: the faulty plugin's, under the same name.
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/faulty.wat"), dir, "echo")
	waitFor("a replaced plugin", func(n []string) bool { return slices.Contains(n, "echo_ok") && !slices.Contains(n, "echo_echo") })

	os.Remove(filepath.Join(dir, "echo.wasm"))
	names := waitFor("a removed plugin", func(n []string) bool { return !slices.Contains(n, "echo_ok") })
	if !slices.Contains(names, "time_get_current_time") {
		t.Fatalf("the untouched plugin went too: %v", names)
	}
}

// SIGHUP re-reads the configuration: a valid change applies to the plugins
// it touches, an invalid one is refused whole and the running one stays.
func TestSIGHUPReloadsTheConfiguration(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	writeFile(t, config, "plugins_dir: .\nlimits: {memory: lots}\n")
	srv.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(srv.log.String(), "the new configuration is refused") {
		if time.Now().After(deadline) {
			t.Fatalf("an invalid configuration on SIGHUP was not refused:\n%s", srv.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(srv.log.String(), "limits.memory") {
		t.Fatalf("the refusal does not name the key:\n%s", srv.log)
	}
	if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatalf("after a refused reload: %q", text(res))
	}

	writeFile(t, config, "plugins_dir: .\nplugins:\n  time: {prefix: clock_}\n")
	srv.cmd.Process.Signal(syscall.SIGHUP)
	for {
		names := toolNamesOf(t, s)
		if slices.Contains(names, "clock_get_current_time") && !slices.Contains(names, "time_get_current_time") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new prefix did not apply: %v\n%s", names, srv.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A plugins_dir changed by SIGHUP applies whole: the new folder is served
// and watched, the old one neither.
func TestSIGHUPMovesPluginsDir(t *testing.T) {
	needBuild(t)
	root := t.TempDir()
	oldDir, newDir := filepath.Join(root, "old"), filepath.Join(root, "new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(oldDir, "time.wasm"))
	watPlugin(t, "echo", newDir, "echo")
	config := filepath.Join(root, "moat.yaml")
	writeFile(t, config, "plugins_dir: old\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	waitTools := func(what string, ok func([]string) bool) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() bool { return ok(toolNamesOf(t, s)) })
	}
	waitTools("time served from the old folder", func(n []string) bool { return slices.Contains(n, "time_get_current_time") })

	writeFile(t, config, "plugins_dir: new\n")
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitTools("the new folder served, the old one not", func(n []string) bool {
		return slices.Contains(n, "echo_echo") && !slices.Contains(n, "time_get_current_time")
	})
	if log := srv.log.String(); strings.Contains(log, "its file is gone") || strings.Contains(log, "restart moat to apply it") {
		t.Fatalf("the move was reported as a missing file or a restart:\n%s", log)
	}

	// The new folder is watched; the old one no longer is.
	watPlugin(t, "faulty", oldDir, "stale")
	watPlugin(t, "faulty", newDir, "fresh")
	waitTools("a plugin dropped into the new folder", func(n []string) bool { return slices.Contains(n, "fresh_ok") })
	if names := toolNamesOf(t, s); slices.Contains(names, "stale_ok") {
		t.Fatalf("a plugin dropped into the old folder was loaded: %v", names)
	}
}

// SIGHUP applies a changed role, a new rate limit and new or removed API
// keys to the next request, without a restart and without dropping the
// sessions open.
func TestSIGHUPReloadsTheFrontDoor(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	const keyA, keyB = "moat_reload_key_a_51c2", "moat_reload_key_b_77f0"
	config := filepath.Join(dir, "moat.yaml")
	write := func(keys, roleOfA, limit string) {
		writeFile(t, config, fmt.Sprintf(`plugins_dir: .
auth:
  api_keys:
    - {name: a, sha256: %s, roles: [%s]}
%s
roles:
  small: {allow: ["time_get_current_time"]}
  big: {allow: ["*"]}
rate_limits:
  per_principal_tool: %s
`, digest(keyA), roleOfA, keys, limit))
	}
	write("", "small", `{rate: "1/m", burst: 100}`)
	srv := startHTTP(t, "--config", config)
	as := func(key string) *mcp.ClientSession {
		hc := &http.Client{Transport: bearer{token: key, base: http.DefaultTransport}}
		return connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: hc}, "2025-11-25")
	}
	a := as(keyA)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	convert := map[string]any{"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
	if _, err := a.CallTool(ctx, &mcp.CallToolParams{Name: "time_convert_time", Arguments: convert}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("role small calls time_convert_time: %v; want it unknown", err)
	}

	reloads := 0
	reload := func() {
		t.Helper()
		reloads++
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the front door is reloaded", func() bool {
			return strings.Count(srv.log.String(), "front door reloaded") >= reloads
		})
	}
	// Role big for a, a second key, and a limit of one call per tool.
	write(fmt.Sprintf("    - {name: b, sha256: %s, roles: [small]}", digest(keyB)), "big", `{rate: "1/m", burst: 1}`)
	reload()
	if res := callTool(t, a, "time_convert_time", convert); res.IsError {
		t.Fatalf("after the role changed, in the session opened before: %q", text(res))
	}
	if _, err := a.CallTool(ctx, &mcp.CallToolParams{Name: "time_convert_time", Arguments: convert}); err == nil || !(strings.Contains(err.Error(), "rate limited") || strings.Contains(err.Error(), "Too Many Requests")) {
		t.Fatalf("a second call past the new limit of one: %v; want it rate limited", err)
	}
	b := as(keyB)
	if res := callTool(t, b, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatalf("the key added by the reload: %q", text(res))
	}

	// Key a removed: its next request is refused, b's still served.
	write(fmt.Sprintf("    - {name: b, sha256: %s, roles: [small]}", digest(keyB)), "big", `{rate: "1/m", burst: 100}`)
	writeFile(t, config, strings.Replace(readFile(t, config), fmt.Sprintf("    - {name: a, sha256: %s, roles: [big]}\n", digest(keyA)), "", 1))
	reload()
	if _, err := a.ListTools(ctx, nil); err == nil {
		t.Fatal("the key the reload removed still works")
	}
	if res := callTool(t, b, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatalf("the key that stayed: %q", text(res))
	}
	if log := srv.log.String(); strings.Contains(log, "restart moat to apply it") {
		t.Fatalf("a front-door change was reported as needing a restart:\n%s", log)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
