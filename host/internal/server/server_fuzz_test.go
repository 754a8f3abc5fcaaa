package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FuzzHTTP sends arbitrary requests (a method, headers, a body) through the
// real /mcp handler, serving a real echo plugin. Whatever arrives, the
// handler must not panic, must not answer 5xx (a client's mistake is
// never the server's error), and must go on serving: after each request a
// fresh client opens a session and calls echo.
//
// The seeds are what the go-sdk client itself sends, in both protocol
// versions, recorded at the start. Run it for longer with
//
//	go test -run '^$' -fuzz '^FuzzHTTP$' -fuzztime 2m ./host/server/
func FuzzHTTP(f *testing.F) {
	h := fuzzServer(f)
	for _, r := range recordClient(f, h) {
		f.Add(r.method, r.header, r.body)
	}
	f.Add(uint8(0), "Content-Type: application/json\nAccept: application/json, text/event-stream\n", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"x"}}}`))
	f.Add(uint8(0), "Content-Type: application/json\nAccept: application/json, text/event-stream\nMcp-Session-Id: nope\n", []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	f.Add(uint8(0), "Content-Type: application/json\nAccept: application/json, text/event-stream\nOrigin: https://evil.example\n", []byte(`{}`))
	f.Add(uint8(0), "Content-Type: application/json\nAccept: application/json, text/event-stream\n", []byte(`[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},{"jsonrpc":"2.0","method":"notifications/initialized"}]`))
	f.Add(uint8(0), "Content-Type: application/json\n", bytes.Repeat([]byte("["), 70000))
	f.Add(uint8(2), "Mcp-Session-Id: nope\n", []byte(nil))
	f.Add(uint8(3), "", []byte("x"))
	f.Fuzz(func(t *testing.T, method uint8, header string, body []byte) {
		code, session, took := send(h, fuzzMethods[int(method)%len(fuzzMethods)], header, body)
		if session != "" {
			send(h, http.MethodDelete, "Mcp-Session-Id: "+session+"\n", nil)
		}
		if code >= 500 {
			t.Fatalf("answered %d to a request a client made up", code)
		}
		if took > 8*time.Second {
			t.Fatalf("held the request for %v", took)
		}
		if err := stillServes(h); err != nil {
			t.Fatalf("after that request, moat no longer serves: %v", err)
		}
	})
}

// Methods the fuzzer chooses from. GET is left out: it opens a session's
// event stream, which is meant to stay open.
var fuzzMethods = []string{http.MethodPost, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodOptions, http.MethodPatch}

// fuzzServer is the MCP handler over the echo plugin, with a small body
// cap so that the cap is met, and a call cap.
func fuzzServer(f *testing.F) http.Handler {
	reg := echoRegistry(f)
	srv := server.New(reg, hclog.NewNullLogger(), server.Options{
		HTTP:        config.HTTP{MaxBody: 64 << 10},
		Fallback:    auth.Anonymous(nil),
		MaxInflight: 64,
	})
	return srv.Handler()
}

// send makes one request through h and returns its status, the session it
// opened (if any) and how long it took.
func send(h http.Handler, method, header string, body []byte) (int, string, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, "http://127.0.0.1/mcp", bytes.NewReader(body))
	req.Host = "127.0.0.1"
	for _, line := range strings.Split(header, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); ok && name != "" && !strings.ContainsAny(name, " \t\r") {
			req.Header.Add(name, strings.TrimSpace(value))
		}
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Mcp-Session-Id"), time.Since(start)
}

// stillServes opens a session, calls echo and closes the session, by hand.
func stillServes(h http.Handler) error {
	const accept = "Content-Type: application/json\nAccept: application/json, text/event-stream\n"
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	post := func(session, body string) (*httptest.ResponseRecorder, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
		req.Host = "127.0.0.1"
		for _, line := range strings.Split(strings.TrimSpace(accept), "\n") {
			name, value, _ := strings.Cut(line, ":")
			req.Header.Set(name, strings.TrimSpace(value))
		}
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			return rec, fmt.Errorf("%d %s", rec.Code, rec.Body)
		}
		return rec, nil
	}
	rec, err := post("", init)
	if err != nil {
		return fmt.Errorf("initialize: %v", err)
	}
	session := rec.Header().Get("Mcp-Session-Id")
	defer send(h, http.MethodDelete, "Mcp-Session-Id: "+session+"\n", nil)
	if _, err := post(session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return fmt.Errorf("initialized: %v", err)
	}
	rec, err = post(session, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"still here"}}}`)
	if err != nil {
		return fmt.Errorf("tools/call: %v", err)
	}
	if !strings.Contains(rec.Body.String(), `"text":"still here"`) {
		return fmt.Errorf("tools/call answered %q", rec.Body)
	}
	return nil
}

// recorded is one request the go-sdk client made.
type recorded struct {
	method uint8
	header string
	body   []byte
}

// recordClient runs the go-sdk client against h, in each protocol version,
// and returns the requests it made, as seeds.
func recordClient(f *testing.F, h http.Handler) []recorded {
	var mu sync.Mutex
	var out []recorded
	kept := []string{"Content-Type", "Accept", "Mcp-Protocol-Version", "Mcp-Session-Id", "Mcp-Method", "Mcp-Name", "Last-Event-Id"}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		m := -1
		for i, name := range fuzzMethods {
			if name == r.Method {
				m = i
				break
			}
		}
		if m >= 0 {
			var hdr strings.Builder
			for _, k := range kept {
				for _, v := range r.Header.Values(k) {
					fmt.Fprintf(&hdr, "%s: %s\n", k, v)
				}
			}
			mu.Lock()
			out = append(out, recorded{method: uint8(m), header: hdr.String(), body: body})
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	for _, version := range []string{"2025-11-25", "2026-07-28"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		session, err := mcp.NewClient(&mcp.Implementation{Name: "fuzz-seed"}, nil).Connect(ctx,
			&mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: version})
		if err != nil {
			cancel()
			f.Fatalf("recording the client (%s): %v", version, err)
		}
		if _, err := session.ListTools(ctx, nil); err != nil {
			f.Fatalf("recording tools/list (%s): %v", version, err)
		}
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo_echo", Arguments: map[string]any{"text": "seed"}})
		if err != nil || res.IsError {
			f.Fatalf("recording tools/call (%s): %v %v", version, res, err)
		}
		session.Close()
		cancel()
	}
	if len(out) == 0 {
		f.Fatal("the client made no request to record")
	}
	return out
}
