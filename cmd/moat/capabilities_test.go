package main_test

import (
	"context"
	"fmt"
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
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	res := callTool(t, s, "caps_secret", map[string]any{"key": "API_TOKEN"})
	if got := text(res); res.IsError || got != "got [redacted] (14 bytes)" {
		t.Fatalf("a granted value: isError=%v %q; want it delivered (14 bytes) and redacted", res.IsError, got)
	}
	res = callTool(t, s, "caps_secret", map[string]any{"key": "OTHER"})
	if got := text(res); !res.IsError || !strings.Contains(got, `"OTHER" is not among the values granted to plugin "caps"`) {
		t.Fatalf("a value not granted: isError=%v %q", res.IsError, got)
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
}
