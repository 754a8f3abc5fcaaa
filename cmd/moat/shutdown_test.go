package main_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Whatever a call is waiting on, SIGTERM ends moat within shutdown_timeout
// and a moment, and the log names the call it abandoned. Here the call waits
// on an upstream that never answers, under a deadline and an http timeout of
// an hour.
func TestShutdownEndsWithACallStuck(t *testing.T) {
	needBuild(t)
	var reached atomic.Bool
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Store(true)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(release)

	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nshutdown_timeout: 1s\nlimits: {timeout: 1h}\nplugins:\n  caps:\n    grants:\n      http: {hosts: [\""+upstream.Listener.Addr().String()+"\"], timeout: 1h}\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	go s.CallTool(context.Background(), &mcp.CallToolParams{Name: "caps_fetch", Arguments: map[string]any{"url": upstream.URL + "/never"}})
	eventually(t, 30*time.Second, "the call reaches the upstream", reached.Load)

	signalled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// shutdown_timeout is 1s; the bound is generous for a busy machine, and
	// far below the hour the call would otherwise wait.
	select {
	case err := <-srv.done:
		srv.done <- err
		t.Logf("moat exited %v after SIGTERM (shutdown_timeout 1s): %v", time.Since(signalled).Round(time.Millisecond), err)
	case <-time.After(30 * time.Second):
		t.Fatalf("moat still running 30s after SIGTERM with shutdown_timeout 1s:\n%s", srv.log)
	}
	log := srv.log.String()
	if !strings.Contains(log, "abandoned") || !strings.Contains(log, "caps_fetch") {
		t.Fatalf("the log does not name the abandoned call:\n%s", log)
	}
}

// The same with a call in plugin code made only of calls, which no check at
// a loop header interrupts: SIGTERM still ends moat, within shutdown_timeout
// and its grace, saying what it abandoned.
func TestShutdownEndsWithACallTreeRunning(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "cmd/moat/testdata/calltree.wat"), dir, "calltree")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nshutdown_timeout: 1s\nlimits: {timeout: 1h}\n")
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	go s.CallTool(context.Background(), &mcp.CallToolParams{Name: "calltree_tree", Arguments: map[string]any{}})
	eventually(t, 30*time.Second, "the call tree is running", func() bool { return inflight(t, admin) == 1 })

	signalled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		t.Logf("moat exited %v after SIGTERM (shutdown_timeout 1s): %v", time.Since(signalled).Round(time.Millisecond), err)
	case <-time.After(60 * time.Second):
		t.Fatalf("moat still running 60s after SIGTERM with shutdown_timeout 1s:\n%s", srv.log)
	}
	if log := srv.log.String(); !strings.Contains(log, "abandoned") || !strings.Contains(log, "calltree_tree") {
		t.Fatalf("the log does not name the abandoned call:\n%s", log)
	}
}
