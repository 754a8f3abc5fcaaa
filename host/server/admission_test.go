package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/plugin"
	"github.com/moat-mcp/moat/host/server"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// A subscriptions/listen POST (2026-07-28) is an event stream no timeout
// ends: it counts against http.max_streams like a session's GET.
func TestListenStreamsCountAgainstTheStreamCap(t *testing.T) {
	srv := server.New(echoRegistry(t), hclog.NewNullLogger(), server.Options{
		HTTP:     config.HTTP{MaxConnections: 8, MaxStreams: 2, MaxStreamsPerPrincipal: 1},
		Fallback: auth.Anonymous(nil),
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	listen := func(ctx context.Context) (*http.Response, error) {
		body := `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "subscriptions/listen")
		return http.DefaultClient.Do(req)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 2 {
		resp, err := listen(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("listen %d: %d %s", i+1, resp.StatusCode, b)
		}
		// The stream is open once the server acknowledges it, and holds.
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("listen %d: the stream ended: %v", i+1, err)
			}
			if strings.Contains(line, `"result"`) {
				t.Fatalf("listen %d: the stream ended with a result: %s", i+1, line)
			}
			if strings.Contains(line, "subscriptions/acknowledged") {
				break
			}
		}
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	resp, err := listen(rctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Every client is the anonymous principal here: the total applies.
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "(http.max_streams)") {
		t.Fatalf("a third listen: %d (Retry-After %q) %s; want 503 naming http.max_streams", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
}

// echoRegistry loads the echo WAT plugin.
func echoRegistry(t testing.TB) *plugin.Registry {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	cfg, err := config.Parse(nil, "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	reg, errs := plugin.Load(context.Background(), cfg, engine, plugin.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	t.Cleanup(func() { reg.Close(context.Background()) })
	return reg
}
