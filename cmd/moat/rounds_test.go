package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Under MCP 2026-07-28 a plugin that elicits twice completes through two
// input-required rounds, and since moat keeps nothing between rounds, each
// round may be served by another moat process that shares only the
// configuration. A requestState altered, or sent for other arguments, is
// refused; the go-sdk client's own round trips reach the same answer.
func TestInputRequiredRoundsAcrossProcesses(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\ndata_dir: "+filepath.Join(dir, "data")+"\n"+
		"request_state: {key: 0123456789abcdef0123456789abcdef-shared-by-replicas}\n"+
		"plugins:\n  caps:\n    grants: {elicitation: true}\n")
	one := startHTTP(t, "--config", config)
	two := startHTTP(t, "--config", config)

	var mu sync.Mutex
	var asked []string
	answer := func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, req.Params.Message)
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "Ada"}}, nil
	}
	manual := func(url string) *mcp.ClientSession {
		c := mcp.NewClient(&mcp.Implementation{Name: "rounds"}, &mcp.ClientOptions{ElicitationHandler: answer,
			MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true}})
		s, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url}, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	sessions := []*mcp.ClientSession{manual(one.url), manual(two.url)}
	args := map[string]any{"topic": "tea"}
	call := func(s *mcp.ClientSession, params *mcp.CallToolParams) (*mcp.CallToolResult, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return s.CallTool(ctx, params)
	}

	// Round 1 on one, round 2 on two, the end on one again.
	params := &mcp.CallToolParams{Name: "caps_interview", Arguments: args}
	var states []string
	for round := 0; ; round++ {
		res, err := call(sessions[round%2], params)
		if err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		if !res.NeedsInput() {
			if got, want := text(res), `{"action":"accept","content":{"answer":"Ada"}} | {"action":"accept","content":{"answer":"Ada"}}`; res.IsError || got != want {
				t.Fatalf("after %d rounds: isError=%v %q; want %q", round, res.IsError, got, want)
			}
			if round != 2 {
				t.Fatalf("the call ended after %d rounds; want 2, one per question", round)
			}
			break
		}
		if round >= 2 || len(res.InputRequests) != 1 || res.RequestState == "" {
			t.Fatalf("round %d: %d input requests, state %q; want one request and a state, twice", round+1, len(res.InputRequests), res.RequestState)
		}
		responses := mcp.InputResponseMap{}
		for key, ir := range res.InputRequests {
			ep, ok := ir.(*mcp.ElicitParams)
			if !ok {
				t.Fatalf("round %d: input request %T; want elicitation", round+1, ir)
			}
			r, _ := answer(context.Background(), &mcp.ElicitRequest{Params: ep})
			responses[key] = r
		}
		states = append(states, res.RequestState)
		params = &mcp.CallToolParams{Name: "caps_interview", Arguments: args, InputResponses: responses, RequestState: res.RequestState}
	}
	mu.Lock()
	if got := strings.Join(asked, "|"); got != "Who is asking?|What about tea?" {
		t.Errorf("the user was asked %q; want each question once, in order", got)
	}
	mu.Unlock()

	// An altered state, and a state sent with other arguments, are refused
	// as the client's error, naming requestState.
	last := states[len(states)-1]
	swap := byte('A')
	if last[10] == 'A' {
		swap = 'B'
	}
	tampered := last[:10] + string(swap) + last[11:]
	for name, p := range map[string]*mcp.CallToolParams{
		"altered":         {Name: "caps_interview", Arguments: args, RequestState: tampered, InputResponses: mcp.InputResponseMap{"moat-2": &mcp.ElicitResult{Action: "decline"}}},
		"other arguments": {Name: "caps_interview", Arguments: map[string]any{"topic": "coffee"}, RequestState: last, InputResponses: mcp.InputResponseMap{"moat-2": &mcp.ElicitResult{Action: "decline"}}},
	} {
		_, err := call(sessions[0], p)
		if err == nil || !strings.Contains(err.Error(), "requestState") {
			t.Errorf("%s: %v; want an error naming requestState", name, err)
		}
	}

	// Answers without the state that awaits them answer nothing: the
	// plugin asks its first question again.
	res, err := call(sessions[1], &mcp.CallToolParams{Name: "caps_interview", Arguments: args, InputResponses: mcp.InputResponseMap{"moat-2": &mcp.ElicitResult{Action: "decline"}}})
	if err != nil || !res.NeedsInput() || res.InputRequests["moat-1"].(*mcp.ElicitParams).Message != "Who is asking?" {
		t.Fatalf("answers without a state: %v, %+v; want the first question asked again", err, res)
	}

	// The go-sdk client's own middleware runs the rounds by itself.
	auto := mcp.NewClient(&mcp.Implementation{Name: "auto"}, &mcp.ClientOptions{ElicitationHandler: answer})
	s, err := auto.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: two.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res = callTool(t, s, "caps_interview", args)
	if got := text(res); res.IsError || strings.Count(got, `"answer":"Ada"`) != 2 {
		t.Fatalf("through the client's round trips: isError=%v %q; want both answers", res.IsError, got)
	}
}

// Without request_state.key, moat keeps a key of its own in data_dir,
// created 0600 the first time a round needs it.
func TestInputRequiredKeyKeptInDataDir(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	data := filepath.Join(dir, "data")
	writeFile(t, config, "plugins_dir: .\ndata_dir: "+data+"\nplugins:\n  caps:\n    grants: {elicitation: true}\n")
	srv := startHTTP(t, "--config", config)
	c := mcp.NewClient(&mcp.Implementation{Name: "auto"}, &mcp.ClientOptions{ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes"}}, nil
	}})
	s, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res := callTool(t, s, "caps_interview", map[string]any{"topic": "keys"})
	if got := text(res); res.IsError || strings.Count(got, `"answer":"yes"`) != 2 {
		t.Fatalf("isError=%v %q; want both answers", res.IsError, got)
	}
	fi, err := os.Stat(filepath.Join(data, "request-state.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() < 32 {
		t.Errorf("the kept key is %v, %d bytes; want 0600 and 32 bytes or more", fi.Mode().Perm(), fi.Size())
	}
}

// A W3C traceparent in a request's _meta is written to the call's audit
// line, to join it to a trace; text that is not one is not.
func TestAuditCarriesTraceparent(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	audit := filepath.Join(dir, "audit.log")
	writeFile(t, filepath.Join(dir, "moat.yaml"), "plugins_dir: .\naudit: {path: "+audit+"}\n")
	srv := startHTTP(t, "--config", filepath.Join(dir, "moat.yaml"))
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, meta := range []map[string]any{{"traceparent": tp}, {"traceparent": "\nforged line"}} {
		c := &taskClient{t: t, url: srv.url, meta: meta}
		if a := c.do("tools/call", "caps_say", map[string]any{"name": "caps_say", "arguments": map[string]any{"text": "hi"}}); a.Error != nil {
			t.Fatalf("call: %+v", a.Error)
		}
	}
	var lines []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for len(lines) < 2 && time.Now().Before(deadline) {
		lines = lines[:0]
		b, _ := os.ReadFile(audit)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["method"] == "tools/call" {
				lines = append(lines, m)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(lines) != 2 {
		t.Fatalf("%d audit lines for two calls", len(lines))
	}
	if lines[0]["traceparent"] != tp || lines[1]["traceparent"] != nil {
		t.Fatalf("traceparent in the audit lines: %v and %v; want the valid one only", lines[0]["traceparent"], lines[1]["traceparent"])
	}
}

// Lists and reads tell clients to keep them privately and for no time:
// roles filter them by caller, and a reload changes them.
func TestListsCarryPrivateStaleCacheHints(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	writeFile(t, filepath.Join(dir, "moat.yaml"), "plugins_dir: .\n")
	srv := startHTTP(t, "--config", filepath.Join(dir, "moat.yaml"))
	c := &taskClient{t: t, url: srv.url}
	for _, method := range []string{"tools/list", "prompts/list", "resources/list"} {
		a := c.do(method, "", map[string]any{})
		if a.Error != nil {
			t.Fatalf("%s: %+v", method, a.Error)
		}
		if string(a.Result["ttlMs"]) != "0" || string(a.Result["cacheScope"]) != `"private"` {
			t.Errorf("%s: ttlMs %s, cacheScope %s; want 0 and private", method, a.Result["ttlMs"], a.Result["cacheScope"])
		}
	}
}
