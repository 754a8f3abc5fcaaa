//lint:file-ignore SA1019 MCP deprecates sampling and roots from protocol 2026-07-28 only; a task's input requests still carry them

package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tasks (MCP's io.modelcontextprotocol/tasks extension, 2026-07-28): a
// call to a tool that supports tasks, from a client that negotiated the
// extension, runs in the background when it outlasts TaskGrace; the client
// gets a task at once and polls tasks/get for its status and, once done,
// its result. A task that needs input reports input_required with the
// requests, and tasks/update delivers the answers. The go-sdk serves none
// of this, so moat answers these requests itself, after the edge,
// authentication and the rate limits, before the go-sdk.

// TasksExtension names the extension in capabilities.
const TasksExtension = "io.modelcontextprotocol/tasks"

// Task timing and caps.
const (
	// TaskGrace is how long a call to a tool that supports tasks runs
	// before it becomes a task: one that ends sooner is answered at once
	// (or, for a tool that requires tasks, as a task already done).
	TaskGrace = 300 * time.Millisecond
	// TaskTTL is how long a task is kept after it was created.
	TaskTTL = time.Hour
	// TaskPollInterval is the polling interval moat suggests.
	TaskPollInterval = 500 * time.Millisecond
	// MaxTasksRunning and MaxTasksKept cap one principal's tasks: running
	// (or waiting for input) at once, and kept in all.
	MaxTasksRunning = 16
	MaxTasksKept    = 1000
)

// Task statuses.
const (
	taskWorking       = "working"
	taskInputRequired = "input_required"
	taskCompleted     = "completed"
	taskFailed        = "failed"
	taskCancelled     = "cancelled"
)

// task is one task: its record, and what its run waits on.
type task struct {
	id, principal, tool, plugin string

	mu       sync.Mutex
	status   string
	message  string
	created  time.Time
	updated  time.Time
	result   json.RawMessage // the CallToolResult of a completed task
	rpcErr   *jsonrpc.Error  // the error of a failed task
	pending  map[string]json.RawMessage
	answers  map[string]json.RawMessage
	answered chan struct{} // closed when every pending request is answered
	cancel   context.CancelFunc

	// Until the call's answer is written, the run's first outcome may
	// be the call's own answer rather than a task's.
	revealed bool
	settled  chan struct{} // closed at the first outcome before revealed
	sync     *taskOutcome
}

// taskOutcome is how a run ended before the task was revealed.
type taskOutcome struct {
	result *mcp.CallToolResult // a final result, or an input-required one
	rpcErr *jsonrpc.Error
}

func (t *task) terminal() bool {
	return t.status == taskCompleted || t.status == taskFailed || t.status == taskCancelled
}

// taskTable holds every task of this moat.
type taskTable struct {
	mu    sync.Mutex
	tasks map[string]*task
}

func (tt *taskTable) get(id, principal string) *task {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	t := tt.tasks[id]
	if t == nil || t.principal != principal {
		return nil // another's task answers as an unknown one
	}
	if time.Since(t.created) > TaskTTL {
		delete(tt.tasks, id)
		return nil
	}
	return t
}

// add stores a new task for principal, within the caps.
func (tt *taskTable) add(t *task) error {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.tasks == nil {
		tt.tasks = map[string]*task{}
	}
	running, kept := 0, 0
	for id, o := range tt.tasks {
		if time.Since(o.created) > TaskTTL {
			delete(tt.tasks, id)
			continue
		}
		if o.principal != t.principal {
			continue
		}
		kept++
		o.mu.Lock()
		if !o.terminal() {
			running++
		}
		o.mu.Unlock()
	}
	switch {
	case running >= MaxTasksRunning:
		return fmt.Errorf("you have %d tasks running, the most moat runs for one caller; wait for one to finish, or cancel one with tasks/cancel", running)
	case kept >= MaxTasksKept:
		return fmt.Errorf("moat keeps %d tasks of yours, the most it keeps for one caller; they expire %s after they were created", kept, TaskTTL)
	}
	tt.tasks[t.id] = t
	return nil
}

func (tt *taskTable) remove(id string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	delete(tt.tasks, id)
}

// taskRequest is the part of a request body the task methods read. The
// edge has refused every body two readers could read apart.
type taskRequest struct {
	Method string `json:"method"`
	Params struct {
		Name           string                     `json:"name"`
		Arguments      json.RawMessage            `json:"arguments"`
		TaskID         string                     `json:"taskId"`
		InputResponses map[string]json.RawMessage `json:"inputResponses"`
		RequestState   string                     `json:"requestState"`
		Meta           map[string]json.RawMessage `json:"_meta"`
	} `json:"params"`
}

// clientCaps is what a request's _meta says the client can do.
type clientCaps struct {
	declared   bool
	tasks      bool
	capability *mcp.ClientCapabilities
}

func readClientCaps(meta map[string]json.RawMessage) clientCaps {
	raw, ok := meta[mcp.MetaKeyClientCapabilities]
	if !ok {
		return clientCaps{}
	}
	var wire struct {
		Extensions map[string]json.RawMessage `json:"extensions"`
		Roots      json.RawMessage            `json:"roots"`
	}
	c := clientCaps{declared: true, capability: &mcp.ClientCapabilities{}}
	_ = json.Unmarshal(raw, &wire)
	_ = json.Unmarshal(raw, c.capability)
	_, c.tasks = wire.Extensions[TasksExtension]
	if len(wire.Roots) > 0 && string(wire.Roots) != "null" {
		c.capability.RootsV2 = &mcp.RootCapabilities{}
	}
	return c
}

// serveTasks answers the requests of the tasks extension: tasks/get,
// tasks/update and tasks/cancel, and a tools/call that may become a task.
// It reports whether it answered; a call it leaves (to a tool without
// task support, or from a client that did not negotiate the extension)
// goes on to the go-sdk.
func (s *Server) serveTasks(w http.ResponseWriter, r *http.Request, v *view) bool {
	switch v.Method {
	case "tasks/get", "tasks/update", "tasks/cancel":
	case "tools/call":
		// Most calls are to tools that never run as tasks: they go on
		// without a second reading of the body.
		if t, ok := s.registry(r.Context()).Tool(v.Name); !ok || t.TaskSupport() == "" {
			return false
		}
	default:
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var req taskRequest
	if json.Unmarshal(body, &req) != nil {
		return false // the go-sdk answers what does not decode
	}
	caps := readClientCaps(req.Params.Meta)
	f := frontFrom(r.Context())
	p := auth.PrincipalFrom(r.Context())
	if p == nil {
		p = f.Fallback
	}
	if v.Method == "tools/call" {
		return s.taskCall(w, r, v, &req, caps, p)
	}
	if e := routingHeaders(r, v.Method, req.Params.TaskID); e != nil {
		writeRPCError(w, http.StatusBadRequest, v.ID, e)
		return true
	}
	if !caps.tasks {
		writeRPCError(w, http.StatusBadRequest, v.ID, needTasks(v.Method))
		return true
	}
	t := s.tasks.get(req.Params.TaskID, principalID(p))
	if t == nil {
		writeRPCResponse(w, v.ID, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("no task %q: it never existed, expired, or is not yours", req.Params.TaskID)})
		return true
	}
	switch v.Method {
	case "tasks/get":
		writeRPCResponse(w, v.ID, t.detailed(), nil)
	case "tasks/update":
		t.deliver(req.Params.InputResponses)
		writeRPCResponse(w, v.ID, map[string]string{"resultType": "complete"}, nil)
	case "tasks/cancel":
		t.cancelTask()
		s.auditTask(f, p, t, "cancel", "cancelled", 0)
		writeRPCResponse(w, v.ID, map[string]string{"resultType": "complete"}, nil)
	}
	return true
}

// needTasks is MCP's MissingRequiredClientCapability for the extension.
func needTasks(what string) *jsonrpc.Error {
	data, _ := json.Marshal(map[string]any{"requiredCapabilities": map[string]any{"extensions": map[string]any{TasksExtension: map[string]any{}}}})
	return &jsonrpc.Error{Code: mcp.CodeMissingRequiredClientCapabilities, Data: data,
		Message: fmt.Sprintf("%s needs the client to declare the %s extension in _meta %q", what, TasksExtension, mcp.MetaKeyClientCapabilities)}
}

// routingHeaders checks the Mcp-Method and Mcp-Name headers against the
// body, as SEP-2243 has servers do: both present, both the same.
func routingHeaders(r *http.Request, method, name string) *jsonrpc.Error {
	mismatch := func(format string, args ...any) *jsonrpc.Error {
		return &jsonrpc.Error{Code: -32020, Message: fmt.Sprintf(format, args...)}
	}
	if got := r.Header.Get("Mcp-Method"); got != method {
		return mismatch("the Mcp-Method header is %q and the body's method %q; send the header, equal to the method", got, method)
	}
	got, ok := headerValue(r.Header.Get("Mcp-Name"))
	if !ok || got != name {
		return mismatch("the Mcp-Name header does not match the body's %q; send the header, equal to it", name)
	}
	return nil
}

// headerValue decodes a header value that may be written =?base64?...?=.
func headerValue(v string) (string, bool) {
	if inner, ok := strings.CutPrefix(v, "=?base64?"); ok {
		if inner, ok = strings.CutSuffix(inner, "?="); ok {
			b, err := base64.StdEncoding.DecodeString(inner)
			return string(b), err == nil
		}
	}
	return v, v != ""
}

// taskCall serves a tools/call to a tool that supports tasks, from a
// client that negotiated the extension; it leaves every other call.
func (s *Server) taskCall(w http.ResponseWriter, r *http.Request, v *view, req *taskRequest, caps clientCaps, p *auth.Principal) bool {
	ctx := r.Context()
	f := frontFrom(ctx)
	name := req.Params.Name
	if f.Policy != nil && !f.Policy.Allowed(subject(p), policy.Tool, name) {
		return false // refused as an unknown tool by the go-sdk layer
	}
	t, ok := s.route(ctx, name)
	if !ok {
		return false
	}
	mode := t.TaskSupport()
	if mode == "" || (!caps.tasks && mode != abi.TaskSupportRequired) {
		t.Plugin.Leave()
		return false
	}
	if e := routingHeaders(r, "tools/call", name); e != nil {
		t.Plugin.Leave()
		writeRPCError(w, http.StatusBadRequest, v.ID, e)
		return true
	}
	if !caps.tasks {
		t.Plugin.Leave()
		s.audit(ctx, p, "tools/call", name, t.Plugin.Name, "missing_capability", "", 0, req.Params.Arguments)
		writeRPCError(w, http.StatusBadRequest, v.ID, needTasks(fmt.Sprintf("tool %q runs only as a task, which", name)))
		return true
	}
	// A call that comes back with answers to an input-required result
	// (input gathered before the call became a task) carries moat's
	// signed state.
	digest := argumentsDigest(req.Params.Arguments)
	st, err := openRound(f.StateKey, principalID(p), "tools/call", name, digest, req.Params.RequestState)
	if err != nil {
		t.Plugin.Leave()
		writeRPCResponse(w, v.ID, nil, err.(*jsonrpc.Error))
		return true
	}
	var round *plugin.Round
	if st != nil || len(req.Params.InputResponses) > 0 {
		round = &plugin.Round{}
		if st != nil {
			round.RequestState = st.Plugin
		}
		if len(req.Params.InputResponses) > 0 {
			round.InputResponses, _ = json.Marshal(req.Params.InputResponses)
		}
	}
	now := time.Now()
	tk := &task{id: newTaskID(), principal: principalID(p), tool: name, plugin: t.Plugin.Name,
		status: taskWorking, created: now, updated: now, settled: make(chan struct{})}
	if err := s.tasks.add(tk); err != nil {
		t.Plugin.Leave()
		writeRPCResponse(w, v.ID, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: err.Error()})
		return true
	}
	secrets := f.Secrets
	if secrets != nil && p != nil && p.Token != "" {
		secrets = secrets.WithExtra(p.Token)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	tk.cancel = cancel
	run := &running{tool: name, plugin: t.Plugin.Name, principal: principalID(p), since: now, cancel: cancel}
	if !s.calls.start(run) {
		cancel()
		t.Plugin.Leave()
		s.tasks.remove(tk.id)
		writeRPCResponse(w, v.ID, toolError(errDraining), nil)
		return true
	}
	meta := map[string]any{}
	for _, k := range metaPassed {
		if raw, ok := req.Params.Meta[k]; ok {
			meta[k] = raw
		}
	}
	go func() {
		defer s.calls.done(run)
		defer t.Plugin.Leave()
		defer cancel()
		s.runTask(runCtx, f, p, tk, t, req.Params.Arguments, meta, round, caps, secrets)
	}()

	timer := time.NewTimer(TaskGrace)
	defer timer.Stop()
	select {
	case <-tk.settled:
	case <-timer.C:
	}
	tk.mu.Lock()
	out := tk.sync
	tk.revealed = true
	tk.mu.Unlock()
	if out != nil {
		switch {
		case out.rpcErr != nil && mode == abi.TaskSupportOptional:
			s.tasks.remove(tk.id)
			writeRPCResponse(w, v.ID, nil, out.rpcErr)
			return true
		case out.result != nil && out.result.InputRequests != nil:
			// Input asked before the work began: the call's own
			// input-required result, as without tasks.
			s.tasks.remove(tk.id)
			if err := answerable(caps.capability, out.result.InputRequests); err != nil {
				writeRPCError(w, http.StatusBadRequest, v.ID, err.(*jsonrpc.Error))
				return true
			}
			state, err := seal(f.StateKey, principalID(p), "tools/call", name, digest, nil, out.result.RequestState)
			if err != nil {
				writeRPCResponse(w, v.ID, toolError(fmt.Sprintf("moat could not end the round with the plugin's input requests: %v", err)), nil)
				return true
			}
			out.result.RequestState = state
			writeRPCResponse(w, v.ID, withResultType(out.result, "input_required"), nil)
			return true
		case out.result != nil && mode == abi.TaskSupportOptional:
			s.tasks.remove(tk.id)
			writeRPCResponse(w, v.ID, withResultType(out.result, "complete"), nil)
			return true
		}
	}
	s.auditTask(f, p, tk, "create", "task", 0)
	writeRPCResponse(w, v.ID, tk.created2(), nil)
	return true
}

// withResultType is a result as JSON with its resultType.
func withResultType(res *mcp.CallToolResult, resultType string) json.RawMessage {
	b, err := json.Marshal(res)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	m["resultType"], _ = json.Marshal(resultType)
	out, _ := json.Marshal(m)
	return out
}

// runTask runs a task's call, again for each round of input the plugin's
// result asks for, and records how it ends.
func (s *Server) runTask(ctx context.Context, f *Front, p *auth.Principal, tk *task, t *plugin.Tool, args json.RawMessage, meta map[string]any, round *plugin.Round, caps clientCaps, secrets *observe.Secrets) {
	ctx = plugin.WithClientRequest(ctx, tk.clientRequest(caps, secrets))
	start := time.Now()
	for {
		out, decoded, err := t.CallRound(ctx, args, meta, round)
		if tk.wasCancelled() {
			s.finishTask(f, p, tk, start, "cancelled")
			return
		}
		if err != nil {
			var proto *plugin.ProtocolError
			if errors.As(err, &proto) {
				tk.end(&taskOutcome{rpcErr: &jsonrpc.Error{Code: int64(proto.Code), Message: scrub(secrets, proto.Message)}})
				s.finishTask(f, p, tk, start, "protocol_error")
				return
			}
			if ctx.Err() != nil && !tk.wasCancelled() {
				tk.end(&taskOutcome{rpcErr: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "moat stopped before the task finished"}})
				s.finishTask(f, p, tk, start, "fault:canceled")
				return
			}
			outcome := "tool_error"
			if kind := sandbox.KindName(err); kind != "" {
				outcome = "fault:" + kind
			}
			tk.end(&taskOutcome{result: toolError(scrub(secrets, err.Error()))})
			s.finishTask(f, p, tk, start, outcome)
			return
		}
		if secrets != nil {
			if scrubbed := secrets.ScrubJSON(out); !bytes.Equal(scrubbed, out) {
				decoded = new(mcp.CallToolResult)
				if json.Unmarshal(scrubbed, decoded) != nil {
					decoded = toolError("the plugin's result could not be scrubbed of secrets")
				}
			}
		}
		if decoded.InputRequests == nil {
			tk.end(&taskOutcome{result: decoded})
			outcome := "ok"
			if decoded.IsError {
				outcome = "tool_error"
			}
			s.finishTask(f, p, tk, start, outcome)
			return
		}
		// The plugin's result asks for input: the call's answer if the
		// task is not revealed yet, else the task waits for it.
		if !tk.ask(decoded) {
			return
		}
		if err := answerable(caps.capability, decoded.InputRequests); err != nil {
			tk.end(&taskOutcome{rpcErr: err.(*jsonrpc.Error)})
			s.finishTask(f, p, tk, start, "missing_capability")
			return
		}
		answers, ok := tk.await(ctx)
		if !ok {
			if tk.wasCancelled() {
				s.finishTask(f, p, tk, start, "cancelled")
			} else {
				tk.end(&taskOutcome{rpcErr: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the task ended while it waited for input"}})
				s.finishTask(f, p, tk, start, "fault:canceled")
			}
			return
		}
		round = &plugin.Round{RequestState: decoded.RequestState}
		round.InputResponses, _ = json.Marshal(answers)
	}
}

func scrub(secrets *observe.Secrets, s string) string {
	if secrets == nil {
		return s
	}
	return secrets.Scrub(s)
}

// finishTask records a task's end in the audit log and the metrics.
func (s *Server) finishTask(f *Front, p *auth.Principal, tk *task, start time.Time, outcome string) {
	d := time.Since(start)
	s.opts.Metrics.ObserveToolCall(tk.plugin, tk.tool, outcome, d.Seconds())
	s.auditTask(f, p, tk, "end", outcome, d)
}

func (s *Server) auditTask(f *Front, p *auth.Principal, tk *task, what, outcome string, d time.Duration) {
	if f.Audit == nil {
		return
	}
	f.Audit.Record(observe.Record{
		Time: time.Now(), Principal: principalID(p), Transport: s.transport, Method: "tasks/" + what, Tool: tk.tool, Plugin: tk.plugin,
		Outcome: outcome, Reason: "task " + tk.id, DurationMS: float64(d.Microseconds()) / 1000,
	}, nil)
}

// end records a task's final outcome.
func (tk *task) end(o *taskOutcome) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.status == taskCancelled {
		return
	}
	if o.rpcErr != nil {
		tk.status, tk.rpcErr = taskFailed, o.rpcErr
	} else {
		tk.status = taskCompleted
		tk.result = withResultType(o.result, "complete")
	}
	tk.pending, tk.updated = nil, time.Now()
	if !tk.revealed && tk.sync == nil {
		tk.sync = o
		close(tk.settled)
	}
}

// ask turns a result that asks for input into the task's pending
// requests. Before the task is revealed it is the call's answer instead,
// and ask reports false: the run ends there.
func (tk *task) ask(res *mcp.CallToolResult) bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if !tk.revealed {
		if tk.sync == nil {
			tk.sync = &taskOutcome{result: res}
			close(tk.settled)
		}
		return false
	}
	tk.pending = map[string]json.RawMessage{}
	for key, ir := range res.InputRequests {
		b, err := json.Marshal(mcp.InputRequestMap{key: ir})
		if err != nil {
			continue
		}
		var one map[string]json.RawMessage
		_ = json.Unmarshal(b, &one)
		tk.pending[key] = one[key]
	}
	tk.answers = map[string]json.RawMessage{}
	tk.answered = make(chan struct{})
	tk.status, tk.updated = taskInputRequired, time.Now()
	return true
}

// await waits until every pending request is answered, and returns the
// answers; false if the task ended first.
func (tk *task) await(ctx context.Context) (map[string]json.RawMessage, bool) {
	tk.mu.Lock()
	ch := tk.answered
	tk.mu.Unlock()
	timer := time.NewTimer(TaskTTL)
	defer timer.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, false
	case <-timer.C:
		return nil, false
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.status == taskCancelled {
		return nil, false
	}
	answers := tk.answers
	tk.answers, tk.status, tk.updated = nil, taskWorking, time.Now()
	return answers, true
}

// deliver takes the client's answers to pending requests; the task goes
// on once every one is answered. Answers to nothing pending are ignored.
func (tk *task) deliver(responses map[string]json.RawMessage) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.status != taskInputRequired {
		return
	}
	for key, r := range responses {
		if _, ok := tk.pending[key]; ok {
			tk.answers[key] = r
			delete(tk.pending, key)
		}
	}
	tk.updated = time.Now()
	if len(tk.pending) == 0 && tk.answered != nil {
		close(tk.answered)
		tk.answered = nil
	}
}

func (tk *task) cancelTask() {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.terminal() {
		return
	}
	tk.status, tk.message, tk.updated, tk.pending = taskCancelled, "cancelled by the client", time.Now(), nil
	if tk.cancel != nil {
		tk.cancel()
	}
}

func (tk *task) wasCancelled() bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.status == taskCancelled
}

// clientRequest serves a task's blocking sample and elicit: the task
// reports input_required with the request, and the plugin waits for the
// client's answer through tasks/update.
func (tk *task) clientRequest(caps clientCaps, secrets *observe.Secrets) plugin.ClientRequest {
	n := 0
	return func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
		if secrets != nil {
			params = secrets.ScrubJSON(params)
		}
		ir, err := inputRequest(method, params)
		if err != nil {
			return nil, err
		}
		if err := answerable(caps.capability, mcp.InputRequestMap{"": ir}); err != nil {
			return nil, unsupported("%s", err.(*jsonrpc.Error).Message)
		}
		n++
		key := fmt.Sprintf("moat-%d", n)
		tk.mu.Lock()
		tk.revealed = true // a task that waits for input is a task
		wire, _ := json.Marshal(map[string]any{"method": method, "params": json.RawMessage(params)})
		tk.pending = map[string]json.RawMessage{key: wire}
		tk.answers = map[string]json.RawMessage{}
		tk.answered = make(chan struct{})
		tk.status, tk.updated = taskInputRequired, time.Now()
		tk.mu.Unlock()
		answers, ok := tk.await(ctx)
		if !ok {
			return nil, ctx.Err()
		}
		return answers[key], nil
	}
}

// created2 is the CreateTaskResult of a task.
func (tk *task) created2() map[string]any {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	m := tk.envelope()
	m["resultType"] = "task"
	// The answer to a tools/call: an empty content array keeps it a
	// CallToolResult to a reader that knows nothing of tasks (the 2026-07-28
	// schema requires content), and a reader that does looks at resultType.
	m["content"] = []any{}
	return m
}

// detailed is the tasks/get answer of a task.
func (tk *task) detailed() map[string]any {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	m := tk.envelope()
	m["resultType"] = "complete"
	switch tk.status {
	case taskCompleted:
		m["result"] = tk.result
	case taskFailed:
		m["error"] = tk.rpcErr
	case taskInputRequired:
		keys := make([]string, 0, len(tk.pending))
		for k := range tk.pending {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pending := make(map[string]json.RawMessage, len(keys))
		for _, k := range keys {
			pending[k] = tk.pending[k]
		}
		m["inputRequests"] = pending
	}
	return m
}

func (tk *task) envelope() map[string]any {
	m := map[string]any{
		"taskId":         tk.id,
		"status":         tk.status,
		"createdAt":      tk.created.UTC().Format(time.RFC3339Nano),
		"lastUpdatedAt":  tk.updated.UTC().Format(time.RFC3339Nano),
		"ttlMs":          TaskTTL.Milliseconds(),
		"pollIntervalMs": TaskPollInterval.Milliseconds(),
	}
	if tk.message != "" {
		m["statusMessage"] = tk.message
	}
	return m
}

func newTaskID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeRPCResponse answers a request with a result or an error, as one
// application/json body.
func writeRPCResponse(w http.ResponseWriter, id any, result any, e *jsonrpc.Error) {
	msg := map[string]any{"jsonrpc": "2.0", "id": id}
	if e != nil {
		msg["error"] = e
	} else {
		msg["result"] = result
	}
	b, err := json.Marshal(msg)
	if err != nil {
		http.Error(w, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
