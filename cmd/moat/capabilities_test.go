package main_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A granted configuration value reaches the plugin and never the client;
// a plugin's progress reaches the client that sent a progress token.
func TestConfigGrantsAndProgress(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  caps:\n    grants:\n      config: {API_TOKEN: tok-1234567890}\n")
	srv := startHTTP(t, "--config", config)

	// Both protocol versions: 2026-07-28's sessionless calls carry their
	// progress on the call's own response stream.
	for _, version := range protocolVersions {
		t.Run(version, func(t *testing.T) {
			var mu sync.Mutex
			var progress []string
			client := mcp.NewClient(&mcp.Implementation{Name: "caps"}, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
					mu.Lock()
					defer mu.Unlock()
					p := req.Params
					progress = append(progress, fmt.Sprintf("%v %v/%v %s", p.ProgressToken, p.Progress, p.Total, p.Message))
				},
			})
			s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			res := callTool(t, s, "caps_secret", map[string]any{"key": "API_TOKEN"})
			if got := text(res); res.IsError || got != "got [redacted] (14 bytes)" {
				t.Fatalf("a granted value: isError=%v %q; want it delivered (14 bytes) and redacted", res.IsError, got)
			}
			// caps asks for OTHER, which is not granted: EPERM naming the key to set.
			res = callTool(t, s, "caps_secret", map[string]any{"key": "OTHER"})
			if got := text(res); !res.IsError || !strings.Contains(got, "EPERM") || !strings.Contains(got, "plugins.caps.grants.config.OTHER") {
				t.Fatalf("a value asked for but not granted: isError=%v %q; want EPERM naming plugins.caps.grants.config.OTHER", res.IsError, got)
			}
			// A name it never asked for has no value at all.
			res = callTool(t, s, "caps_secret", map[string]any{"key": "NEVER_ASKED"})
			if got := text(res); !res.IsError || !strings.Contains(got, "ENOTFOUND") || !strings.Contains(got, "capabilities.config") {
				t.Fatalf("a value never asked for: isError=%v %q; want ENOTFOUND", res.IsError, got)
			}

			params := &mcp.CallToolParams{Name: "caps_steps", Arguments: map[string]any{"n": 3}}
			params.SetProgressToken("job-7")
			if res, err := s.CallTool(context.Background(), params); err != nil || text(res) != "done" {
				t.Fatalf("steps: %v %v", res, err)
			}
			// The client hands notifications to its handler on its own goroutine,
			// so the last may land just after the result.
			want := strings.Join([]string{"job-7 1/3 step 1", "job-7 2/3 step 2", "job-7 3/3 step 3"}, "|")
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := strings.Join(progress, "|")
				mu.Unlock()
				if got == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("progress notifications: %q; want %q", got, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A value a plugin stores with kv outlives moat; another plugin's grant is
// its own namespace, and a plugin without a grant is refused by name.
func TestKVPersistsAndIsolates(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	caps := filepath.Join(filepath.Dir(moatBin), "caps.wasm")
	for _, name := range []string{"caps", "caps2", "nokv"} {
		copyFile(t, caps, filepath.Join(dir, name+".wasm"))
	}
	data := filepath.Join(t.TempDir(), "data")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\ndata_dir: "+data+"\nplugins:\n"+
		"  caps:\n    grants:\n      kv: {quota: 1MiB}\n"+
		"  caps2:\n    grants:\n      kv: {}\n")

	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	if res := callTool(t, s, "caps_remember", map[string]any{"key": "color", "value": "teal"}); res.IsError {
		t.Fatalf("remember: %s", text(res))
	}
	stop(t, srv)
	if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("data_dir: %v, %v; want a folder with mode 0700", info, err)
	}

	srv = startHTTP(t, "--config", config)
	s = connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	if res := callTool(t, s, "caps_recall", map[string]any{"key": "color"}); res.IsError || text(res) != "teal" {
		t.Fatalf("recall after a restart: isError=%v %q; want teal", res.IsError, text(res))
	}
	res := callTool(t, s, "caps2_recall", map[string]any{"key": "color"})
	if got := text(res); !res.IsError || !strings.Contains(got, "ENOTFOUND") {
		t.Fatalf("another plugin recalls caps' key: isError=%v %q; want ENOTFOUND", res.IsError, got)
	}
	res = callTool(t, s, "nokv_remember", map[string]any{"key": "k", "value": "v"})
	if got := text(res); !res.IsError || !strings.Contains(got, "plugins.nokv.grants.kv") {
		t.Fatalf("a plugin without a kv grant: isError=%v %q; want the grant named", res.IsError, got)
	}

	// A second moat on the same data_dir is refused, naming it.
	_, stderr, code := runMoat(t, "serve", "--config", config, "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "data_dir "+data) {
		t.Fatalf("a second moat on the same data_dir: exit %d\n%s", code, stderr)
	}
}

// A plugin granted http for one exact address reaches it through moat;
// the cloud metadata address is refused with a message.
func TestHTTPGrant(t *testing.T) {
	needBuild(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("upstream says hi"))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	for _, name := range []string{"caps", "nohttp"} {
		copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, name+".wasm"))
	}
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  caps:\n    grants:\n      http: {hosts: [\""+upstream.Listener.Addr().String()+"\"], timeout: 5s}\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	res := callTool(t, s, "caps_fetch", map[string]any{"url": upstream.URL + "/hello"})
	if got := text(res); res.IsError || got != "200 upstream says hi" {
		t.Fatalf("fetch of the granted server: isError=%v %q", res.IsError, got)
	}
	res = callTool(t, s, "caps_fetch", map[string]any{"url": "http://169.254.169.254/latest/meta-data/"})
	if got := text(res); !res.IsError || !strings.Contains(got, "EPERM") || !strings.Contains(got, `"169.254.169.254" (port 80) is not on the list of plugins.caps.grants.http`) {
		t.Fatalf("fetch of the metadata address: isError=%v %q; want EPERM naming the host", res.IsError, got)
	}
	res = callTool(t, s, "nohttp_fetch", map[string]any{"url": upstream.URL})
	if got := text(res); !res.IsError || !strings.Contains(got, "plugins.nohttp.grants.http") {
		t.Fatalf("a plugin without an http grant: isError=%v %q; want the grant named", res.IsError, got)
	}
}
