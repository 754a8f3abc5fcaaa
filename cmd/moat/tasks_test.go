package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/moat-mcp/moat/internal/testplugin"
)

// taskClient speaks the 2026-07-28 wire by hand, as the go-sdk client has
// no tasks: one POST per request, with the routing headers and the
// per-request _meta.
type taskClient struct {
	t     testing.TB
	url   string
	key   string
	tasks bool // declare the tasks extension
	meta  map[string]any
	id    atomic.Int64
}

type rpcAnswer struct {
	Status int
	Result map[string]json.RawMessage
	Error  *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
}

func (c *taskClient) do(method, name string, params map[string]any) rpcAnswer {
	c.t.Helper()
	caps := map[string]any{"elicitation": map[string]any{}}
	if c.tasks {
		caps["extensions"] = map[string]any{"io.modelcontextprotocol/tasks": map[string]any{}}
	}
	meta := map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": caps}
	for k, v := range c.meta {
		meta[k] = v
	}
	params["_meta"] = meta
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.id.Add(1), "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if name != "" {
		req.Header.Set("Mcp-Name", name)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var out struct {
		Result map[string]json.RawMessage `json:"result"`
		Error  *struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	raw := new(bytes.Buffer)
	raw.ReadFrom(resp.Body)
	b := raw.Bytes()
	if i := bytes.Index(b, []byte("data: ")); i >= 0 { // an event stream of one message
		b = bytes.TrimSpace(bytes.SplitN(b[i+6:], []byte("\n"), 2)[0])
	}
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("%s: HTTP %d, body %q: %v", method, resp.StatusCode, raw, err)
	}
	return rpcAnswer{Status: resp.StatusCode, Result: out.Result, Error: out.Error}
}

func (a rpcAnswer) str(key string) string {
	var s string
	_ = json.Unmarshal(a.Result[key], &s)
	return s
}

// poll asks tasks/get until the task's status is one of want, within a
// generous bound.
func (c *taskClient) poll(id string, want ...string) rpcAnswer {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := c.do("tasks/get", id, map[string]any{"taskId": id})
		if a.Error != nil {
			c.t.Fatalf("tasks/get %s: %+v", id, a.Error)
		}
		for _, w := range want {
			if a.str("status") == w {
				return a
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("task %s is %q after a minute; want %v", id, a.str("status"), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A call to a tool that may run as a task, from a client that negotiated
// the extension, becomes a task when it outlasts a moment: polled to
// completion, cancelled, waiting for input and resumed through
// tasks/update. Another principal's task answers as an unknown one, and a
// client without the extension is told what it lacks.
func TestTasksOverHTTP(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "examples/conformance"), dir, "conformance")
	writeFile(t, filepath.Join(dir, "moat.yaml"), fmt.Sprintf(`
plugins_dir: .
data_dir: data
auth:
  api_keys:
    - {name: ada, sha256: %s, roles: [all]}
    - {name: bob, sha256: %s, roles: [all]}
roles:
  all: {allow: ["*"]}
plugins:
  conformance:
    prefix: ""
    grants: {elicitation: true, sampling: true}
`, digest("ada-key-0123456789"), digest("bob-key-0123456789")))
	srv := startHTTP(t, "--config", filepath.Join(dir, "moat.yaml"))
	ada := &taskClient{t: t, url: srv.url, key: "ada-key-0123456789", tasks: true}
	bob := &taskClient{t: t, url: srv.url, key: "bob-key-0123456789", tasks: true}

	created := ada.do("tools/call", "slow_compute", map[string]any{"name": "slow_compute", "arguments": map[string]any{"seconds": 1.5, "label": "x"}})
	id := created.str("taskId")
	if created.Error != nil || created.str("resultType") != "task" || id == "" || created.str("status") != "working" {
		t.Fatalf("a 1.5s call: %+v; want a task, working", created)
	}
	if a := bob.do("tasks/get", id, map[string]any{"taskId": id}); a.Error == nil || a.Error.Code != -32602 {
		t.Fatalf("another principal's tasks/get: %+v; want -32602, as for an unknown task", a)
	}
	done := ada.poll(id, "completed")
	var result struct {
		Content []struct{ Text string } `json:"content"`
	}
	if json.Unmarshal(done.Result["result"], &result) != nil || len(result.Content) == 0 || result.Content[0].Text != "computed x after 1.5s" {
		t.Fatalf("the completed task's result: %s", done.Result["result"])
	}

	long := ada.do("tools/call", "slow_compute", map[string]any{"name": "slow_compute", "arguments": map[string]any{"seconds": 60, "label": "y"}})
	longID := long.str("taskId")
	if ack := ada.do("tasks/cancel", longID, map[string]any{"taskId": longID}); ack.Error != nil || ack.str("resultType") != "complete" {
		t.Fatalf("tasks/cancel: %+v", ack)
	}
	ada.poll(longID, "cancelled")

	asks := ada.do("tools/call", "confirm_delete", map[string]any{"name": "confirm_delete", "arguments": map[string]any{}})
	askID := asks.str("taskId")
	waiting := ada.poll(askID, "input_required")
	if !strings.Contains(string(waiting.Result["inputRequests"]), `"confirm"`) {
		t.Fatalf("the waiting task's input requests: %s", waiting.Result["inputRequests"])
	}
	ada.do("tasks/update", askID, map[string]any{"taskId": askID, "inputResponses": map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"confirm": true}}}})
	resumed := ada.poll(askID, "completed", "failed")
	if !strings.Contains(string(resumed.Result["result"]), "deleted (confirm=true)") {
		t.Fatalf("the resumed task ended %s: %s", resumed.str("status"), resumed.Result["result"])
	}

	plain := &taskClient{t: t, url: srv.url, key: "ada-key-0123456789"}
	if a := plain.do("tasks/get", id, map[string]any{"taskId": id}); a.Status != http.StatusBadRequest || a.Error == nil || a.Error.Code != -32021 {
		t.Fatalf("tasks/get without the extension: %+v; want HTTP 400 and -32021", a)
	}
	if a := plain.do("tools/call", "slow_compute", map[string]any{"name": "slow_compute", "arguments": map[string]any{"seconds": 0.5, "label": "z"}}); a.Error != nil || a.str("resultType") == "task" {
		t.Fatalf("a call without the extension: %+v; want the result itself", a)
	}
}

// BenchmarkTaskOverhead measures what the tasks extension costs beside a
// plain call, over HTTP on loopback with the built binary and the
// conformance plugin: a sync tool's call; a call to a tool that may run as
// a task but ends within the grace (answered at once, after the task
// machinery); a tasks/get of a finished task; and a call that becomes a
// task (it outlasts the grace), counted from the call to its result read
// by tasks/get. Run: go test -run XXX -bench TaskOverhead ./cmd/moat/
func BenchmarkTaskOverhead(b *testing.B) {
	needBuild(b)
	dir := b.TempDir()
	copyFile(b, filepath.Join(filepath.Dir(moatBin), "conformance.wasm"), filepath.Join(dir, "conformance.wasm"))
	writeFile(b, filepath.Join(dir, "moat.yaml"), "plugins_dir: .\nplugins:\n  conformance:\n    prefix: \"\"\n")
	srv := startHTTP(b, "--config", filepath.Join(dir, "moat.yaml"))
	c := &taskClient{t: b, url: srv.url, tasks: true}
	call := func(tool string, args map[string]any) rpcAnswer {
		a := c.do("tools/call", tool, map[string]any{"name": tool, "arguments": args})
		if a.Error != nil {
			b.Fatalf("%s: %+v", tool, a.Error)
		}
		return a
	}
	b.Run("plain-call", func(b *testing.B) {
		for b.Loop() {
			call("greet", map[string]any{"name": "x"})
		}
	})
	b.Run("task-tool-within-grace", func(b *testing.B) {
		for b.Loop() {
			if a := call("slow_compute", map[string]any{"seconds": 0, "label": "x"}); a.str("resultType") == "task" {
				b.Fatal("a call of no time became a task")
			}
		}
	})
	done := call("slow_compute", map[string]any{"seconds": 0.4, "label": "x"}).str("taskId")
	c.poll(done, "completed")
	b.Run("tasks-get", func(b *testing.B) {
		for b.Loop() {
			c.do("tasks/get", done, map[string]any{"taskId": done})
		}
	})
}

// taskConfig writes a moat.yaml serving the conformance plugin's task
// tools to the API key ada, with extra appended, and returns its path.
func taskConfig(t *testing.T, extra string) string {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "examples/conformance"), dir, "conformance")
	path := filepath.Join(dir, "moat.yaml")
	writeFile(t, path, fmt.Sprintf(`
plugins_dir: .
shutdown_timeout: 1s
auth:
  api_keys:
    - {name: ada, sha256: %s, roles: [all]}
roles:
  all: {allow: ["*"]}
plugins:
  conformance:
    prefix: ""
    grants: {elicitation: true, sampling: true}
%s`, digest("ada-key-0123456789"), extra))
	return path
}

// stop sends moat SIGTERM and waits until it has exited.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatalf("moat still runs a minute after SIGTERM:\n%s", s.log)
	}
}

func (c *taskClient) call(tool string, args map[string]any) string {
	c.t.Helper()
	a := c.do("tools/call", tool, map[string]any{"name": tool, "arguments": args})
	id := a.str("taskId")
	if a.Error != nil || a.str("resultType") != "task" || id == "" {
		c.t.Fatalf("calling %s %v: %+v; want a task", tool, args, a)
	}
	return id
}

func resultText(t *testing.T, a rpcAnswer) string {
	t.Helper()
	var result struct {
		Content []struct{ Text string } `json:"content"`
	}
	if json.Unmarshal(a.Result["result"], &result) != nil || len(result.Content) == 0 {
		t.Fatalf("the task's result: %s", a.Result["result"])
	}
	return result.Content[0].Text
}

// Tasks are kept in data_dir (tasks.db): a finished task's result is read
// back after moat restarts, and a task that was running when moat was
// stopped (SIGTERM) or killed (SIGKILL) reads as failed, saying so.
func TestTasksSurviveRestart(t *testing.T) {
	needBuild(t)
	data := filepath.Join(t.TempDir(), "data")
	// A task's run has limits.task_timeout (10m by default), not
	// limits.timeout: the 1s task completes under a 500ms timeout.
	config := taskConfig(t, "data_dir: "+data+"\nlimits: {timeout: 500ms}\n")
	first := startHTTP(t, "--config", config)
	ada := &taskClient{t: t, url: first.url, key: "ada-key-0123456789", tasks: true}

	doneID := ada.call("slow_compute", map[string]any{"seconds": 1, "label": "kept"})
	ada.poll(doneID, "completed")
	longID := ada.call("slow_compute", map[string]any{"seconds": 300, "label": "cut"})
	ada.poll(longID, "working")
	info, err := os.Stat(filepath.Join(data, "tasks.db"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("tasks.db: %v, %v; want a file of mode 0600", info, err)
	}
	first.stop(t)

	second := startHTTP(t, "--config", config)
	ada.url = second.url
	done := ada.poll(doneID, "completed")
	if got := resultText(t, done); got != "computed kept after 1s" {
		t.Fatalf("the completed task's result after the restart: %q", got)
	}
	cut := ada.poll(longID, "failed", "completed", "cancelled")
	if cut.str("status") != "failed" || !strings.Contains(string(cut.Result["error"]), "moat stopped before the task finished") {
		t.Fatalf("a task running at SIGTERM, after the restart: %s %s; want failed, saying moat stopped", cut.str("status"), cut.Result["error"])
	}

	// A moat killed has no time to record anything: the next one finds
	// the task it ran unfinished, and fails it.
	killedID := ada.call("slow_compute", map[string]any{"seconds": 300, "label": "killed"})
	ada.poll(killedID, "working")
	second.cmd.Process.Kill()
	err = <-second.done
	second.done <- err
	third := startHTTP(t, "--config", config)
	ada.url = third.url
	killed := ada.poll(killedID, "failed", "completed", "cancelled")
	if killed.str("status") != "failed" || !strings.Contains(string(killed.Result["error"]), "moat stopped before the task finished") {
		t.Fatalf("a task running at SIGKILL, after the restart: %s %s; want failed, saying moat stopped", killed.str("status"), killed.Result["error"])
	}
	if got := resultText(t, ada.poll(doneID, "completed")); got != "computed kept after 1s" {
		t.Fatalf("the completed task's result after two restarts: %q", got)
	}
}

// Two moats sharing one Redis share their tasks: a task started through
// one is polled, answered (input) and cancelled through the other, while
// it runs on the first. With Redis gone, tasks/get answers an error that
// names the store.
func TestTasksAcrossReplicas(t *testing.T) {
	needBuild(t)
	redis := redistest.Start(t)
	config := taskConfig(t, "store:\n  redis: {url: \""+redis.URL()+"\"}\n")
	one, two := startHTTP(t, "--config", config), startHTTP(t, "--config", config)
	viaOne := &taskClient{t: t, url: one.url, key: "ada-key-0123456789", tasks: true}
	viaTwo := &taskClient{t: t, url: two.url, key: "ada-key-0123456789", tasks: true}

	id := viaOne.call("slow_compute", map[string]any{"seconds": 1, "label": "shared"})
	if got := resultText(t, viaTwo.poll(id, "completed")); got != "computed shared after 1s" {
		t.Fatalf("a task of replica one, read through replica two: %q", got)
	}

	asks := viaOne.call("confirm_delete", map[string]any{})
	waiting := viaTwo.poll(asks, "input_required")
	if !strings.Contains(string(waiting.Result["inputRequests"]), `"confirm"`) {
		t.Fatalf("the waiting task's input requests, through replica two: %s", waiting.Result["inputRequests"])
	}
	if a := viaTwo.do("tasks/update", asks, map[string]any{"taskId": asks, "inputResponses": map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"confirm": true}}}}); a.Error != nil {
		t.Fatalf("tasks/update through replica two: %+v", a.Error)
	}
	resumed := viaOne.poll(asks, "completed", "failed")
	if !strings.Contains(string(resumed.Result["result"]), "deleted (confirm=true)") {
		t.Fatalf("the task answered through replica two ended %s: %s", resumed.str("status"), resumed.Result["result"])
	}

	long := viaOne.call("slow_compute", map[string]any{"seconds": 300, "label": "stop"})
	viaTwo.poll(long, "working")
	if a := viaTwo.do("tasks/cancel", long, map[string]any{"taskId": long}); a.Error != nil {
		t.Fatalf("tasks/cancel through replica two: %+v", a.Error)
	}
	viaOne.poll(long, "cancelled")
	// The run itself stops on replica one, which counts it cancelled.
	waitMetric(t, adminURL(t, one.log), `moat_tool_calls_total{outcome="cancelled",plugin="conformance",tool="slow_compute"}`, 1)

	redis.Stop()
	a := viaTwo.do("tasks/get", long, map[string]any{"taskId": long})
	if a.Error == nil || !strings.Contains(a.Error.Message, "the task store (redis at "+redis.Addr()) {
		t.Fatalf("tasks/get with Redis stopped: %+v; want an error naming the store", a)
	}
}

// The operator decides over the plugin's description, tool by tool
// (plugins.NAME.task_support): a tool the plugin never offered as a task
// can be required to run as one, and one it requires can be kept from it.
func TestOperatorSetsTaskSupport(t *testing.T) {
	needBuild(t)
	config := taskConfig(t, "    task_support: {test_simple_text: required, failing_job: forbidden}\n")
	srv := startHTTP(t, "--config", config)
	ada := &taskClient{t: t, url: srv.url, key: "ada-key-0123456789", tasks: true}
	id := ada.call("test_simple_text", map[string]any{})
	if got := resultText(t, ada.poll(id, "completed")); !strings.Contains(got, "simple text") {
		t.Fatalf("the task's result: %q", got)
	}
	plain := &taskClient{t: t, url: srv.url, key: "ada-key-0123456789"}
	a := plain.do("tools/call", "failing_job", map[string]any{"name": "failing_job", "arguments": map[string]any{}})
	if a.Error != nil || a.str("resultType") == "task" || !strings.Contains(string(a.Result["content"]), "the job failed") {
		t.Fatalf("a required tool the operator forbids to run as a task, without the extension: %+v; want its result", a)
	}
}
