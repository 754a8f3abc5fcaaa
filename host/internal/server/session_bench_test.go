package server_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/server"
)

// BenchmarkSessionMemory opens 1000 idle 2025-11-25 sessions (initialize
// and notifications/initialized, as a client does) and reports the heap and
// goroutines each one holds until it ends: what http.max_sessions bounds.
//
//	go test -run '^$' -bench SessionMemory -benchtime 1x ./host/server/
func BenchmarkSessionMemory(b *testing.B) {
	const n = 1000
	reg := echoRegistry(b)
	srv := server.New(reg, hclog.NewNullLogger(), server.Options{
		HTTP:     config.HTTP{MaxSessions: n, MaxSessionsPerPrincipal: n},
		Fallback: auth.Anonymous(nil),
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	post := func(session, body string) string {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Fatalf("%s: %d", body, resp.StatusCode)
		}
		return resp.Header.Get("Mcp-Session-Id")
	}
	var heap, stack, goroutines float64
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		b.StartTimer()
		sessions := make([]string, 0, n)
		for range n {
			id := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
			post(id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			sessions = append(sessions, id)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / n
		stack = float64(after.StackInuse-before.StackInuse) / n
		goroutines = float64(runtime.NumGoroutine()-g0) / n
		for _, id := range sessions {
			req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/mcp", nil)
			req.Header.Set("Mcp-Session-Id", id)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(heap, "heap-B/session")
	b.ReportMetric(stack, "stack-B/session")
	b.ReportMetric(goroutines, "goroutines/session")
}
