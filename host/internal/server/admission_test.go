package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/server"
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
	return watRegistry(t, "", "echo")
}

// watRegistry loads the WAT plugins sandbox/testdata/NAME.wat of names,
// under the configuration doc.
func watRegistry(t testing.TB, doc string, names ...string) *plugin.Registry {
	dir := t.TempDir()
	for _, name := range names {
		testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/"+name+".wat"), dir, name)
	}
	cfg, err := config.Parse([]byte(doc), "test", dir)
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

// A session closed by http.session_timeout gives its place back: the next
// initialize is admitted, not refused for a session that no longer is.
func TestTimedOutSessionGivesItsPlaceBack(t *testing.T) {
	srv := server.New(echoRegistry(t), hclog.NewNullLogger(), server.Options{
		HTTP:     config.HTTP{MaxSessions: 1, SessionTimeout: config.Duration(200 * time.Millisecond)},
		Fallback: auth.Anonymous(nil),
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	post := func(session, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(body))
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
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const init = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	first := post("", init)
	session := first.Header.Get("Mcp-Session-Id")
	if first.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize: %d", first.StatusCode)
	}
	if resp := post("", init); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second session past http.max_sessions: 1: %d", resp.StatusCode)
	}
	// Wait for the go-sdk to close it, without a request that would keep
	// it alive.
	deadline := time.Now().Add(30 * time.Second)
	for open := true; open; {
		open = false
		open = slices.Contains(server.SessionIDs(srv), session)
		if time.Now().After(deadline) {
			t.Fatal("the session did not time out within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		resp := post("", init)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the session timed out, initialize answers %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
