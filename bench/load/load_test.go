package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/bench/load"
)

// fakeServer is a streamable HTTP server that answers tools/call of echo
// wrongly in known ways, and counts what it sent, so that a test can hold
// the harness's counts against the truth.
type fakeServer struct {
	mu       sync.Mutex
	calls    int
	sent     map[string]int // error kind → answers of that kind sent
	ids      map[string]bool
	dupIDs   int
	sessions map[string]bool
	noSess   int
}

func newFakeServer() *fakeServer {
	return &fakeServer{sent: map[string]int{}, ids: map[string]bool{}, sessions: map[string]bool{}}
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Arguments struct{ Text string } `json:"arguments"`
		} `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.ID == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if f.ids[string(req.ID)] {
		f.dupIDs++
	}
	f.ids[string(req.ID)] = true
	if req.Method == "initialize" {
		sid := fmt.Sprintf("s%d", len(f.sessions)+1)
		f.sessions[sid] = true
		w.Header().Set("Mcp-Session-Id", sid)
		writeJSON(w, req.ID, `{"protocolVersion":"`+load.ProtocolVersion+`","capabilities":{},"serverInfo":{"name":"fake","version":"1"}}`)
		return
	}
	if !f.sessions[r.Header.Get("Mcp-Session-Id")] {
		f.noSess++
	}
	f.calls++
	n := f.calls
	text := req.Params.Arguments.Text
	good := `{"content":[{"type":"text","text":"` + text + `"}]}`
	switch {
	case n%7 == 0:
		f.sent["tool result"]++
		writeJSON(w, req.ID, `{"content":[{"type":"text","text":"not the text"}]}`)
	case n%11 == 0:
		f.sent["tool result"]++
		writeSSE(w, req.ID, `{"content":[{"type":"text","text":"boom"}],"isError":true}`)
	case n%13 == 0:
		f.sent["http status"]++
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	case n%17 == 0:
		f.sent["json-rpc error"]++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":"internal"}}`, req.ID)
	case n%19 == 0:
		f.sent["parse"]++
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\n\n")
	case n%23 == 0:
		f.sent["parse"]++
		writeJSON(w, json.RawMessage("999999999"), good) // an answer to another request
	case n%2 == 0:
		// A notification on the stream before the answer, as servers may send.
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n")
		fmt.Fprintf(w, "id: 1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n\n", req.ID, good)
	default:
		writeJSON(w, req.ID, good)
	}
}

func writeJSON(w http.ResponseWriter, id json.RawMessage, result string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, id, result)
}

func writeSSE(w http.ResponseWriter, id json.RawMessage, result string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n\n", id, result)
}

func TestRunCountsEveryKindOfFailure(t *testing.T) {
	for _, rate := range []float64{0, 2000} {
		t.Run(fmt.Sprintf("rate=%g", rate), func(t *testing.T) {
			f := newFakeServer()
			ts := httptest.NewServer(f)
			defer ts.Close()
			target := load.Target{URL: ts.URL + "/mcp", Tool: "echo", Text: strings.Repeat("b", 100)}
			r, err := load.Run(context.Background(), target, load.Workload{Clients: 4, Duration: 500 * time.Millisecond, Rate: rate})
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if r.Calls != int64(f.calls) || r.Calls < 100 {
				t.Fatalf("the harness counted %d calls; the server answered %d (want at least 100)", r.Calls, f.calls)
			}
			wantErrors := 0
			for kind, n := range f.sent {
				wantErrors += n
				if got := r.ErrorKinds[kind]; got != int64(n) {
					t.Errorf("%s: counted %d, the server sent %d", kind, got, n)
				}
			}
			if r.Errors != int64(wantErrors) || len(r.ErrorKinds) != len(f.sent) {
				t.Errorf("errors: counted %d %v, the server sent %d %v", r.Errors, r.ErrorKinds, wantErrors, f.sent)
			}
			if f.dupIDs != 0 || f.noSess != 0 || len(f.sessions) != 4 {
				t.Errorf("%d repeated request ids, %d calls without a session, %d sessions for 4 clients", f.dupIDs, f.noSess, len(f.sessions))
			}
			if ok := r.Calls - r.Errors; r.Throughput <= 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
				t.Errorf("%d successful calls but throughput %v, p50 %v, p99 %v, max %v", ok, r.Throughput, r.P50, r.P99, r.Max)
			}
		})
	}
}

func TestDialRefusesAServerThatIsNotMCP(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>hello</html>")
	}))
	defer ts.Close()
	_, err := load.Dial(context.Background(), load.Target{URL: ts.URL, Tool: "echo", Text: "x"}, http.DefaultClient)
	if err == nil || load.Kind(err) != "parse" {
		t.Fatalf("Dial of an HTML page: %v (kind %q), want a parse error", err, load.Kind(err))
	}
}

func TestStatelessCallsOpenNoSession(t *testing.T) {
	f := newFakeServer()
	var versions sync.Map
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		versions.Store(r.Header.Get("MCP-Protocol-Version"), true)
		f.ServeHTTP(w, r)
	}))
	defer ts.Close()
	target := load.Target{URL: ts.URL, Tool: "echo", Text: "hi", Stateless: true, Protocol: "2026-07-28"}
	r, err := load.Run(context.Background(), target, load.Workload{Clients: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sessions) != 0 || f.noSess != f.calls || r.Calls != int64(f.calls) {
		t.Errorf("%d sessions opened, %d of %d calls without one, %d counted; want none, all, all", len(f.sessions), f.noSess, f.calls, r.Calls)
	}
	if _, ok := versions.Load("2026-07-28"); !ok {
		t.Error("no request carried MCP-Protocol-Version: 2026-07-28")
	}
}
