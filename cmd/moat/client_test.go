//lint:file-ignore SA1019 sampling and logging are deprecated from MCP 2026-07-28 only; moat serves them to the clients before

package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// samplingParams asks the client's model one question.
func samplingParams(question string) map[string]any {
	return map[string]any{
		"messages":  []any{map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": question}}},
		"maxTokens": 50,
	}
}

// nameForm asks the user for a name.
var nameForm = map[string]any{
	"message": "Who is asking?",
	"requestedSchema": map[string]any{
		"type":       "object",
		"properties": map[string]any{"name": map[string]any{"type": "string"}},
		"required":   []any{"name"},
	},
}

// A plugin granted sampling and elicitation asks the client of its call,
// and gets the client's answers; the client sees no configured secret. A
// plugin without the grants, a client that cannot answer, and params that
// are not the method's are refused with the error code and the cause; the
// client's own error, and an answer over limits.output, come back as EIO
// and ETOOBIG.
func TestSamplingAndElicitationRoundTrip(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	for _, name := range []string{"caps", "nogrant", "small"} {
		copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, name+".wasm"))
	}
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n"+
		"  caps:\n    grants:\n      sampling: true\n      elicitation: true\n      config: {API_TOKEN: tok-1234567890}\n"+
		"  small:\n    limits: {output: 4KiB}\n    grants: {sampling: true}\n")
	srv := startHTTP(t, "--config", config)

	var mu sync.Mutex
	var asked []string // what reached the client's handlers
	client := mcp.NewClient(&mcp.Implementation{Name: "answers"}, &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			mu.Lock()
			defer mu.Unlock()
			q := req.Params.Messages[0].Content.(*mcp.TextContent).Text
			asked = append(asked, "sample: "+q+" / "+req.Params.SystemPrompt)
			switch q {
			case "Fail, please.":
				return nil, errors.New("the user turned the request down")
			case "Tell me everything.":
				return &mcp.CreateMessageResult{Model: "test-model", Role: "assistant", Content: &mcp.TextContent{Text: strings.Repeat("all of it ", 1000)}}, nil
			}
			return &mcp.CreateMessageResult{Model: "test-model", Role: "assistant", Content: &mcp.TextContent{Text: "Paris"}}, nil
		},
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, "elicit: "+req.Params.Message)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	})
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	res := callTool(t, s, "caps_sample", map[string]any{"params": samplingParams("What is the capital of France?"), "leak": "API_TOKEN"})
	var sampled struct {
		Model   string `json:"model"`
		Role    string `json:"role"`
		Content struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal([]byte(text(res)), &sampled); res.IsError || err != nil || sampled.Model != "test-model" || sampled.Role != "assistant" || sampled.Content.Text != "Paris" {
		t.Fatalf("sample: isError=%v %q (%v); want the client's answer, Paris from test-model", res.IsError, text(res), err)
	}
	res = callTool(t, s, "caps_elicit", map[string]any{"params": nameForm})
	if got := text(res); res.IsError || got != `{"action":"accept","content":{"name":"Ada"}}` {
		t.Fatalf("elicit: isError=%v %q; want the client's answer", res.IsError, got)
	}
	mu.Lock()
	got := strings.Join(asked, "|")
	mu.Unlock()
	if want := "sample: What is the capital of France? / the key is [redacted]|elicit: Who is asking?"; got != want {
		t.Fatalf("the client was asked %q; want %q (a secret in the params redacted)", got, want)
	}

	refusals := []struct {
		name, tool string
		args       map[string]any
		want       []string
	}{
		{"no sampling grant", "nogrant_sample", map[string]any{"params": samplingParams("hi")}, []string{"EPERM", "plugins.nogrant.grants.sampling"}},
		{"no elicitation grant", "nogrant_elicit", map[string]any{"params": nameForm}, []string{"EPERM", "plugins.nogrant.grants.elicitation"}},
		{"sampling without messages", "caps_sample", map[string]any{"params": map[string]any{"messages": []any{}, "maxTokens": 5}}, []string{"EINVAL", "at least one entry in messages"}},
		{"sampling params of the wrong shape", "caps_sample", map[string]any{"params": map[string]any{"messages": "hi", "maxTokens": 5}}, []string{"EINVAL", "sampling/createMessage params do not have the shape"}},
		{"a form without a schema", "caps_elicit", map[string]any{"params": map[string]any{"message": "name?"}}, []string{"EINVAL", "requestedSchema"}},
	}
	for _, r := range refusals {
		res := callTool(t, s, r.tool, r.args)
		for _, want := range r.want {
			if !res.IsError || !strings.Contains(text(res), want) {
				t.Errorf("%s: isError=%v %q; want it to say %q", r.name, res.IsError, text(res), want)
			}
		}
	}
	mu.Lock()
	if len(asked) != 2 {
		t.Errorf("the client was asked %q; a refused request must not reach it", asked)
	}
	mu.Unlock()

	// The client's error, and an answer over the plugin's limits.output.
	res = callTool(t, s, "caps_sample", map[string]any{"params": samplingParams("Fail, please.")})
	if got := text(res); !res.IsError || !strings.Contains(got, "EIO") || !strings.Contains(got, "the user turned the request down") {
		t.Errorf("a sample the client fails: isError=%v %q; want EIO with the client's message", res.IsError, got)
	}
	res = callTool(t, s, "small_sample", map[string]any{"params": samplingParams("Tell me everything.")})
	if got := text(res); !res.IsError || !strings.Contains(got, "ETOOBIG") || !strings.Contains(got, "limits.output") {
		t.Errorf("a sampled answer over limits.output: isError=%v %q; want ETOOBIG naming the limit", res.IsError, got)
	}

	// A client without the handlers declares neither capability.
	plain := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	res = callTool(t, plain, "caps_sample", map[string]any{"params": samplingParams("hi")})
	if got := text(res); !res.IsError || !strings.Contains(got, "EUNSUPPORTED") || !strings.Contains(got, "the client did not declare the sampling capability") {
		t.Errorf("sample through a client that cannot: isError=%v %q; want EUNSUPPORTED naming the capability", res.IsError, got)
	}
	res = callTool(t, plain, "caps_elicit", map[string]any{"params": nameForm})
	if got := text(res); !res.IsError || !strings.Contains(got, "EUNSUPPORTED") || !strings.Contains(got, "the client did not declare the elicitation capability") {
		t.Errorf("elicit through a client that cannot: isError=%v %q; want EUNSUPPORTED naming the capability", res.IsError, got)
	}
}

// The client cancels a call (the go-sdk sends notifications/cancelled):
// the plugin is stopped, polling moat.Cancelled or waiting on a sample the
// client never answers, the call counts as cancelled, and the plugin
// serves the next call. A call past its deadline stops waiting on the
// client too. (Whether the plugin saw moat.Cancelled turn 1 before the
// sandbox stopped it is a race the sandbox's own tests look at.)
func TestCancellationReachesThePlugin(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	// The deadline is well under the wait tool's 30s, so a cancellation
	// that went unseen would end the call as a timeout, not a cancellation.
	writeFile(t, config, "plugins_dir: .\nplugins:\n  caps:\n    limits: {timeout: 3s}\n    grants: {sampling: true}\n")
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)

	waiting := make(chan struct{}, 1)  // the wait tool reported progress
	sampling := make(chan struct{}, 1) // a sampling request reached the client
	release := make(chan struct{})     // lets the client's handler go at the end
	client := mcp.NewClient(&mcp.Implementation{Name: "impatient"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
			select {
			case waiting <- struct{}{}:
			default:
			}
		},
		CreateMessageHandler: func(ctx context.Context, _ *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			sampling <- struct{}{}
			select { // a user who never answers
			case <-ctx.Done(): // withdrawn, which the go-sdk does as best it can
			case <-release:
			}
			return nil, errors.New("no answer")
		},
	})
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer close(release) // before Close, which waits for the handler

	// cancelWhen calls tool, cancels the call once ready fires, and checks
	// that CallTool reports the cancellation.
	cancelWhen := func(tool string, args map[string]any, ready <-chan struct{}) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		params := &mcp.CallToolParams{Name: tool, Arguments: args}
		params.SetProgressToken("wait-1")
		errc := make(chan error, 1)
		go func() {
			_, err := s.CallTool(ctx, params)
			errc <- err
		}()
		select {
		case <-ready:
		case err := <-errc:
			t.Fatalf("%s returned before it was cancelled: %v", tool, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s never got going", tool)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("%s after cancelling: %v; want context.Canceled", tool, err)
		}
	}
	// counted waits until moat counts one call of tool as outcome.
	counted := func(tool, outcome string) {
		t.Helper()
		series := fmt.Sprintf(`moat_tool_calls_total{outcome=%q,plugin="caps",tool=%q}`, outcome, tool)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, metrics := get(t, admin+"/metrics")
			if metricValue(t, metrics, series) == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("moat never counted %s = 1:\n%s", series, metrics)
			}
		}
	}

	cancelWhen("caps_wait", map[string]any{"max_ms": 30000}, waiting)
	counted("caps_wait", "fault:canceled")
	if res := callTool(t, s, "caps_steps", map[string]any{"n": 1}); res.IsError || text(res) != "done" {
		t.Fatalf("the next call after a cancellation: isError=%v %q", res.IsError, text(res))
	}

	cancelWhen("caps_sample", map[string]any{"params": samplingParams("Are you there?")}, sampling)
	counted("caps_sample", "fault:canceled")

	// Past the deadline the call stops waiting for the client, and its
	// error names the limit.
	res := callTool(t, s, "caps_sample", map[string]any{"params": samplingParams("Still there?")})
	if got := text(res); !res.IsError || !strings.Contains(got, "limits.timeout") {
		t.Fatalf("a sample past the deadline: isError=%v %q; want the deadline named", res.IsError, got)
	}
	select {
	case <-sampling:
	case <-time.After(30 * time.Second):
		t.Fatal("the sample that ran past the deadline never reached the client")
	}
	if res := callTool(t, s, "caps_steps", map[string]any{"n": 1}); res.IsError || text(res) != "done" {
		t.Fatalf("the next call after a timeout: isError=%v %q", res.IsError, text(res))
	}
}

// A client that set a log level receives the plugin's logs at and above
// it, and none below.
func TestClientLogLevel(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	srv := startHTTP(t, "--plugins", dir)

	var mu sync.Mutex
	var logs []string
	errorLine := make(chan struct{}, 1)
	client := mcp.NewClient(&mcp.Implementation{Name: "listener"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, fmt.Sprintf("%s %s %v", req.Params.Level, req.Params.Logger, req.Params.Data))
			if req.Params.Level == "error" {
				errorLine <- struct{}{}
			}
		},
	})
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, c := range []struct {
		level mcp.LoggingLevel
		want  []string
	}{
		{"warning", []string{"warning caps warn: one", "error caps error: one"}},
		{"debug", []string{"debug caps debug: two", "info caps info: two", "warning caps warn: two", "error caps error: two"}},
	} {
		if err := s.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: c.level}); err != nil {
			t.Fatal(err)
		}
		word := strings.Fields(c.want[0])[3]
		if res := callTool(t, s, "caps_say", map[string]any{"text": word}); res.IsError {
			t.Fatal(text(res))
		}
		// The plugin logs error last; notifications arrive in order.
		select {
		case <-errorLine:
		case <-time.After(30 * time.Second):
			t.Fatalf("level %s: no error line reached the client", c.level)
		}
		mu.Lock()
		got := strings.Join(logs, "|")
		logs = nil
		mu.Unlock()
		if want := strings.Join(c.want, "|"); got != want {
			t.Errorf("at level %s the client got %q; want %q", c.level, got, want)
		}
	}
}

// moat call runs a tool with no MCP client behind it: a granted sample
// has no one to ask, and says so.
func TestSampleWithoutAClient(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  caps:\n    grants: {sampling: true}\n")
	args, err := json.Marshal(map[string]any{"params": samplingParams("hi")})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runMoat(t, "call", "--config", config, "caps", "sample", string(args))
	if code != 1 || !strings.Contains(stdout, "EUNSUPPORTED") || !strings.Contains(stdout, "no client session to send sampling/createMessage to") {
		t.Fatalf("moat call of a sample: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
