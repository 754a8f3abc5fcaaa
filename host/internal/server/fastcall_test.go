package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/server"
)

// What the tests of the direct path check is what a client sees: a plain
// tool call of a session is answered as one application/json body, with
// exactly the message the go-sdk would have sent on its event stream, and
// everything a plain call is not goes to the go-sdk.

// rawSession is a 2025-11-25 session spoken over plain HTTP.
type rawSession struct {
	t   *testing.T
	url string
	id  string
}

// answer is one HTTP answer to a POST: its status, media type, and the
// JSON-RPC message it carried (from a JSON body or the stream's last event).
type answer struct {
	status int
	media  string
	msg    map[string]any
}

func (s *rawSession) post(ctx context.Context, body string) answer {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, media: resp.Header.Get("Content-Type")}
	if s.id == "" {
		s.id = resp.Header.Get("Mcp-Session-Id")
	}
	var data []byte
	switch {
	case strings.HasPrefix(a.media, "application/json"):
		data, _ = io.ReadAll(resp.Body)
	case strings.HasPrefix(a.media, "text/event-stream"):
		r := bufio.NewScanner(resp.Body)
		r.Buffer(nil, 1<<20)
		for r.Scan() {
			if d, ok := strings.CutPrefix(r.Text(), "data: "); ok {
				data = []byte(d)
			}
		}
	default:
		io.Copy(io.Discard, resp.Body)
		return a
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.msg); err != nil {
			s.t.Fatalf("the answer to %s is not JSON: %v: %s", body, err, data)
		}
	}
	return a
}

// openSession initializes a session for a client that declared caps, and
// waits until moat has booked it: the go-sdk answers
// notifications/initialized before it has handled it.
func openSession(t *testing.T, srv *server.Server, url, caps string) *rawSession {
	t.Helper()
	s := &rawSession{t: t, url: url}
	a := s.post(context.Background(), `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":`+caps+`,"clientInfo":{"name":"t","version":"1"}}}`)
	if a.status != http.StatusOK || s.id == "" {
		t.Fatalf("initialize: %d, session %q", a.status, s.id)
	}
	if a := s.post(context.Background(), `{"jsonrpc":"2.0","method":"notifications/initialized"}`); a.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d", a.status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !server.SessionBooked(srv, s.id) {
		if time.Now().After(deadline) {
			t.Fatalf("session %s was not booked as initialized within 30s", s.id)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// directRegistry loads the echo plugin and the endless one, under limits.
func directRegistry(t *testing.T, limits string) *plugin.Registry {
	return watRegistry(t, limits, "echo", "endless")
}

func directServer(t *testing.T, reg *plugin.Registry, httpCfg config.HTTP) (*server.Server, string) {
	srv := server.New(reg, hclog.NewNullLogger(), server.Options{HTTP: httpCfg, Fallback: auth.Anonymous(nil)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL + "/mcp"
}

// toolNamed finds the name clients call a plugin's tool by.
func toolNamed(t *testing.T, reg *plugin.Registry, suffix string) string {
	for _, p := range reg.Plugins() {
		for _, tool := range p.Tools {
			if strings.HasSuffix(tool.Name, suffix) {
				return tool.Name
			}
		}
	}
	t.Fatalf("no tool named *%s", suffix)
	return ""
}

func call(id, name, args, extra string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + extra + `}}`
}

// A plain call answered directly carries the same message as the same call
// through the go-sdk (made not plain by an empty _meta): results, tool
// errors and protocol errors alike, for ids of either type.
func TestDirectCallsAnswerAsTheGoSDKDoes(t *testing.T) {
	reg := directRegistry(t, "")
	srv, url := directServer(t, reg, config.HTTP{})
	s := openSession(t, srv, url, `{}`)
	echo, ok := toolNamed(t, reg, "echo"), toolNamed(t, reg, "ok")
	cases := []struct{ what, id, name, args string }{
		{"an echo", `7`, echo, `{"text":"hello, direct path"}`},
		{"a string id", `"call-8"`, echo, `{"text":"é ✓ \u0000 \"quoted\""}`},
		{"arguments the schema refuses", `9`, echo, `{"text":42}`},
		{"a tool of another plugin", `10`, ok, `{}`},
		{"no arguments at all", `11`, ok, ``},
	}
	for _, c := range cases {
		args := c.args
		if args == "" {
			args = `null`
		}
		plain := call(c.id, c.name, args, "")
		if c.args == "" {
			plain = `{"jsonrpc":"2.0","id":` + c.id + `,"method":"tools/call","params":{"name":"` + c.name + `"}}`
		}
		direct := s.post(context.Background(), plain)
		viaSDK := s.post(context.Background(), call(c.id, c.name, args, `,"_meta":{}`))
		if c.args == "" {
			viaSDK = s.post(context.Background(), `{"jsonrpc":"2.0","id":`+c.id+`,"method":"tools/call","params":{"name":"`+c.name+`","_meta":{}}}`)
		}
		if direct.status != http.StatusOK || !strings.HasPrefix(direct.media, "application/json") {
			t.Errorf("%s: the plain call was answered %d %q; want 200 application/json", c.what, direct.status, direct.media)
		}
		if !strings.HasPrefix(viaSDK.media, "text/event-stream") {
			t.Errorf("%s: the call with _meta was answered as %q; want the go-sdk's event stream", c.what, viaSDK.media)
		}
		if !reflect.DeepEqual(direct.msg, viaSDK.msg) {
			t.Errorf("%s: direct answer\n%v\ndiffers from the go-sdk's\n%v", c.what, direct.msg, viaSDK.msg)
		}
		if direct.msg["result"] == nil && direct.msg["error"] == nil {
			t.Errorf("%s: no result and no error: %v", c.what, direct.msg)
		}
	}
	// The echo's text came back whole.
	a := s.post(context.Background(), call(`12`, echo, `{"text":"round trip"}`, ""))
	if got, _ := json.Marshal(a.msg["result"]); !strings.Contains(string(got), "round trip") {
		t.Errorf("echo answered %s", got)
	}
}

// Only a call nothing can come between is answered directly: not when the
// client declared roots (any plugin may ask for them), not once it asked
// for log messages, not when it asked for progress, and not for a session
// moat does not know.
func TestDirectPathOnlyWhenNothingCanComeBetween(t *testing.T) {
	reg := directRegistry(t, "")
	srv, url := directServer(t, reg, config.HTTP{})
	echo := toolNamed(t, reg, "echo")
	plain := call(`1`, echo, `{"text":"x"}`, "")
	media := func(s *rawSession, body string) string {
		t.Helper()
		a := s.post(context.Background(), body)
		if a.status != http.StatusOK || a.msg["result"] == nil {
			t.Fatalf("%s: %d %v", body, a.status, a.msg)
		}
		return a.media
	}
	const direct, stream = "application/json", "text/event-stream"
	for _, c := range []struct {
		what, caps, body, want string
	}{
		{"a client that declared nothing", `{}`, plain, direct},
		{"a client with sampling, the plugin not granted it", `{"sampling":{}}`, plain, direct},
		{"a client with elicitation, the plugin not granted it", `{"elicitation":{}}`, plain, direct},
		{"a client with roots", `{"roots":{}}`, plain, stream},
		{"a client with roots that change", `{"roots":{"listChanged":true}}`, plain, stream},
		{"a call that asks for progress", `{}`, call(`2`, echo, `{"text":"x"}`, `,"_meta":{"progressToken":"p"}`), stream},
	} {
		s := openSession(t, srv, url, c.caps)
		if got := media(s, c.body); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: answered as %q; want %q", c.what, got, c.want)
		}
	}
	s := openSession(t, srv, url, `{}`)
	if a := s.post(context.Background(), `{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}`); a.status != http.StatusOK {
		t.Fatalf("logging/setLevel: %d", a.status)
	}
	if got := media(s, plain); !strings.HasPrefix(got, stream) {
		t.Errorf("after logging/setLevel: answered as %q; want the event stream, which carries the logs", got)
	}
	stranger := &rawSession{t: t, url: url, id: "no-such-session"}
	if a := stranger.post(context.Background(), plain); a.status != http.StatusNotFound {
		t.Errorf("a call for a session that does not exist: %d; want 404", a.status)
	}
}

// moat closes sessions idle past http.session_timeout itself: a session in
// use by direct calls alone stays open however long it is used, and closes
// once it is left idle.
func TestDirectCallsKeepTheirSessionOpen(t *testing.T) {
	reg := directRegistry(t, "")
	srv, url := directServer(t, reg, config.HTTP{SessionTimeout: config.Duration(300 * time.Millisecond)})
	s := openSession(t, srv, url, `{}`)
	echo := toolNamed(t, reg, "echo")
	// Three timeouts' worth of calls, none through the go-sdk.
	for end, i := time.Now().Add(time.Second), 0; time.Now().Before(end); i++ {
		a := s.post(context.Background(), call(`1`, echo, `{"text":"still here"}`, ""))
		if a.status != http.StatusOK || !strings.HasPrefix(a.media, "application/json") {
			t.Fatalf("call %d: %d %q; the session closed while in use", i, a.status, a.media)
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids := server.SessionIDs(srv)
		if len(ids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle session %v was not closed within 30s of a 300ms timeout", ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a := s.post(context.Background(), call(`2`, echo, `{"text":"gone"}`, "")); a.status != http.StatusNotFound {
		t.Errorf("a call to the closed session: %d; want 404", a.status)
	}
}

// notifications/cancelled stops a call moat answers directly, as the go-sdk
// stops its own: the plugin's loop ends long before its deadline. A call
// that reuses the id of one in flight is refused meanwhile.
func TestCancelledDirectCallStops(t *testing.T) {
	reg := directRegistry(t, "limits: {timeout: 10m}\n")
	srv, url := directServer(t, reg, config.HTTP{})
	s := openSession(t, srv, url, `{}`)
	loop := toolNamed(t, reg, "loop")
	done := make(chan answer, 1)
	go func() { done <- s.post(context.Background(), call(`"spin"`, loop, `{}`, "")) }()
	deadline := time.Now().Add(30 * time.Second)
	for srv.InFlight() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call did not start within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A second call under the id of one in flight is refused, as the
	// go-sdk refuses it: its answer could not be told from the first's.
	dup := s.post(context.Background(), call(`"spin"`, loop, `{}`, ""))
	if e, _ := dup.msg["error"].(map[string]any); dup.status != http.StatusBadRequest || e == nil || !strings.Contains(e["message"].(string), "duplicate in-flight request ID") {
		t.Errorf("a second call with the id in flight: %d %v; want 400 naming the duplicate id", dup.status, dup.msg)
	}
	if a := s.post(context.Background(), `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"spin","reason":"test"}}`); a.status != http.StatusAccepted {
		t.Fatalf("notifications/cancelled: %d", a.status)
	}
	select {
	case a := <-done:
		if a.status != http.StatusOK {
			t.Errorf("the cancelled call was answered %d", a.status)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the cancelled call still runs after 60s (its deadline is 10m)")
	}
	for srv.InFlight() != 0 {
		if time.Now().After(deadline.Add(time.Minute)) {
			t.Fatal("the cancelled call is still counted in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
