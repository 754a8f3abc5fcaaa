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
	"strings"
	"sync"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/taskstore"
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

// task is a task this process runs: what its run waits on. Its record
// (status, result, pending input, answers) is in the task store, where
// tasks/get, tasks/update and tasks/cancel read and write it, through this
// moat or, on the shared store, another.
type task struct {
	id, principal, tool, plugin string
	created                     time.Time
	// quiet: a call to an optional tool that ends before it is revealed is
	// the call's own answer, and its record is deleted: its end need not
	// be written.
	quiet bool

	mu       sync.Mutex
	cancel   context.CancelFunc
	stopped  bool          // cancelled, or ended by another (its record says so)
	wake     chan struct{} // poked when answers may have arrived
	revealed bool
	settled  chan struct{} // closed at the first outcome before revealed
	sync     *taskOutcome
}

// taskOutcome is how a run ended before the task was revealed.
type taskOutcome struct {
	result *mcp.CallToolResult // a final result, or an input-required one
	rpcErr *jsonrpc.Error
}

// liveTasks are the tasks this process runs, by id.
type liveTasks struct {
	mu    sync.Mutex
	tasks map[string]*task
}

func (l *liveTasks) add(t *task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tasks == nil {
		l.tasks = map[string]*task{}
	}
	l.tasks[t.id] = t
}

func (l *liveTasks) get(id string) *task {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tasks[id]
}

func (l *liveTasks) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tasks, id)
}

// storeTimeout bounds one operation on the task store made outside a
// request (the run's own writes), so that a store that does not answer
// cannot hold a run for ever.
const storeTimeout = 5 * time.Second

// taskWatch is how often the run of a task on the shared store reads its
// record, to see a cancel or answers delivered through another replica.
var taskWatch = 250 * time.Millisecond

func storeError(err error) *jsonrpc.Error {
	var ce *taskstore.CapError
	if errors.As(err, &ce) {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: ce.Msg}
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error() + "; try again once the store answers"}
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
	id, who := req.Params.TaskID, principalID(p)
	unknown := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("no task %q: it never existed, expired, or is not yours", id)}
	ctx := r.Context()
	rec, err := s.taskStore.Get(ctx, id)
	switch {
	case err != nil:
		writeRPCResponse(w, v.ID, nil, storeError(err))
		return true
	case rec == nil || rec.Principal != who:
		writeRPCResponse(w, v.ID, nil, unknown) // another's task answers as an unknown one
		return true
	}
	switch v.Method {
	case "tasks/get":
		writeRPCResponse(w, v.ID, detailed(rec), nil)
		return true
	case "tasks/update":
		rec, err = s.taskStore.Update(ctx, id, func(r *taskstore.Record) bool { return deliver(r, req.Params.InputResponses) })
		if err == nil && rec != nil && rec.Status == taskstore.InputRequired && len(rec.Pending) == 0 {
			if tk := s.live.get(id); tk != nil {
				tk.poke()
			}
		}
	case "tasks/cancel":
		rec, err = s.taskStore.Update(ctx, id, func(r *taskstore.Record) bool {
			if r.Terminal() {
				return false
			}
			r.Status, r.Message, r.Updated, r.Pending, r.Answers = taskstore.Cancelled, "cancelled by the client", time.Now(), nil, nil
			return true
		})
		if err == nil && rec != nil {
			if tk := s.live.get(id); tk != nil {
				tk.stop()
			}
			s.auditTask(f, p, rec.Tool, rec.Plugin, id, "cancel", "cancelled", 0)
		}
	}
	switch {
	case err != nil:
		writeRPCResponse(w, v.ID, nil, storeError(err))
	case rec == nil:
		writeRPCResponse(w, v.ID, nil, unknown) // expired meanwhile
	default:
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
	tk := &task{id: newTaskID(), principal: principalID(p), tool: name, plugin: t.Plugin.Name, created: now,
		quiet: mode == abi.TaskSupportOptional, settled: make(chan struct{}), wake: make(chan struct{}, 1)}
	rec := &taskstore.Record{ID: tk.id, Principal: tk.principal, Tool: name, Plugin: t.Plugin.Name, Status: taskstore.Working,
		Created: now, Updated: now, Expires: now.Add(TaskTTL), Owner: s.taskStore.Owner()}
	if err := s.taskStore.Create(ctx, rec, MaxTasksRunning, MaxTasksKept); err != nil {
		t.Plugin.Leave()
		writeRPCResponse(w, v.ID, nil, storeError(err))
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
		s.forget(tk)
		writeRPCResponse(w, v.ID, toolError(errDraining), nil)
		return true
	}
	meta := map[string]any{}
	for _, k := range metaPassed {
		if raw, ok := req.Params.Meta[k]; ok {
			meta[k] = raw
		}
	}
	s.live.add(tk)
	// The run outlives this request: it keeps the Front it was admitted
	// under (its audit log, its secrets) until it ends, as a call does.
	f.hold()
	go func() {
		defer f.release()
		defer s.calls.done(run)
		defer t.Plugin.Leave()
		defer s.live.remove(tk.id)
		defer cancel()
		if s.taskStore.Shared() {
			go s.watchTask(runCtx, tk)
		}
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
			s.forget(tk)
			writeRPCResponse(w, v.ID, nil, out.rpcErr)
			return true
		case out.result != nil && out.result.InputRequests != nil:
			// Input asked before the work began: the call's own
			// input-required result, as without tasks.
			s.forget(tk)
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
			s.forget(tk)
			writeRPCResponse(w, v.ID, withResultType(out.result, "complete"), nil)
			return true
		}
	}
	s.auditTask(f, p, name, tk.plugin, tk.id, "create", "task", 0)
	if now, err := s.taskStore.Get(ctx, tk.id); err == nil && now != nil {
		rec = now
	}
	writeRPCResponse(w, v.ID, createdResult(rec), nil)
	return true
}

// forget deletes the record of a call that did not become a task.
func (s *Server) forget(tk *task) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.taskStore.Delete(ctx, tk.id, tk.principal); err != nil {
		s.log.Warn("a call that did not become a task left its record", "task", tk.id, "error", err)
	}
}

// watchTask follows the record of a task this process runs on the shared
// store, until the run ends: a cancel through another replica stops the
// run, and answers delivered through another wake it.
func (s *Server) watchTask(ctx context.Context, tk *task) {
	t := time.NewTicker(taskWatch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		rec, err := s.taskStore.Get(rctx, tk.id)
		cancel()
		switch {
		case err != nil:
			continue // the store is away: try again
		case rec == nil || rec.Terminal():
			tk.stop()
			return
		case rec.Status == taskstore.InputRequired && len(rec.Pending) == 0:
			tk.poke()
		}
	}
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
// result asks for, and records how it ends. Each call has the plugin's
// limits.task_timeout rather than its limits.timeout.
func (s *Server) runTask(ctx context.Context, f *Front, p *auth.Principal, tk *task, t *plugin.Tool, args json.RawMessage, meta map[string]any, round *plugin.Round, caps clientCaps, secrets *observe.Secrets) {
	ctx = sandbox.WithCallTimeout(ctx, t.Plugin.TaskTimeout(), "limits.task_timeout")
	ctx = plugin.WithClientRequest(ctx, s.taskClientRequest(tk, caps, secrets))
	start := time.Now()
	for {
		out, decoded, err := t.CallRound(ctx, args, meta, round)
		if tk.wasStopped() {
			s.finishTask(f, p, tk, start, "cancelled")
			return
		}
		if err != nil {
			var proto *plugin.ProtocolError
			if errors.As(err, &proto) {
				s.endTask(tk, &taskOutcome{rpcErr: &jsonrpc.Error{Code: int64(proto.Code), Message: scrub(secrets, proto.Message)}})
				s.finishTask(f, p, tk, start, "protocol_error")
				return
			}
			if ctx.Err() != nil && !tk.wasStopped() {
				s.endTask(tk, &taskOutcome{rpcErr: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: taskstore.StoppedMessage}})
				s.finishTask(f, p, tk, start, "fault:canceled")
				return
			}
			outcome := "tool_error"
			if kind := sandbox.KindName(err); kind != "" {
				outcome = "fault:" + kind
			}
			s.endTask(tk, &taskOutcome{result: toolError(scrub(secrets, err.Error()))})
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
			s.endTask(tk, &taskOutcome{result: decoded})
			outcome := "ok"
			if decoded.IsError {
				outcome = "tool_error"
			}
			s.finishTask(f, p, tk, start, outcome)
			return
		}
		// The plugin's result asks for input: the call's answer if the
		// task is not revealed yet, else the task waits for it.
		if !tk.settle(&taskOutcome{result: decoded}) {
			return
		}
		if err := answerable(caps.capability, decoded.InputRequests); err != nil {
			s.endTask(tk, &taskOutcome{rpcErr: err.(*jsonrpc.Error)})
			s.finishTask(f, p, tk, start, "missing_capability")
			return
		}
		pending := map[string]json.RawMessage{}
		for key, ir := range decoded.InputRequests {
			b, err := json.Marshal(mcp.InputRequestMap{key: ir})
			if err != nil {
				continue
			}
			var one map[string]json.RawMessage
			_ = json.Unmarshal(b, &one)
			pending[key] = one[key]
		}
		answers, ok := s.askTask(ctx, tk, pending)
		if !ok {
			if tk.wasStopped() {
				s.finishTask(f, p, tk, start, "cancelled")
			} else {
				s.endTask(tk, &taskOutcome{rpcErr: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the task ended while it waited for input: " + taskstore.StoppedMessage}})
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
	s.auditTask(f, p, tk.tool, tk.plugin, tk.id, "end", outcome, d)
}

func (s *Server) auditTask(f *Front, p *auth.Principal, tool, plugin, id, what, outcome string, d time.Duration) {
	if f.Audit == nil {
		return
	}
	f.Audit.Record(observe.Record{
		Time: time.Now(), Principal: principalID(p), Transport: s.transport, Method: "tasks/" + what, Tool: tool, Plugin: plugin,
		Outcome: outcome, Reason: "task " + id, DurationMS: float64(d.Microseconds()) / 1000,
	}, nil)
}

// settle hands a run's outcome to the call that started it, if the task
// is not revealed yet, and reports whether it was revealed: the outcome is
// then the task's.
func (tk *task) settle(o *taskOutcome) bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.revealed {
		return true
	}
	if tk.sync == nil {
		tk.sync = o
		close(tk.settled)
	}
	return false
}

// endTask records a task's final outcome in its record, unless the record
// has ended already (cancelled, or failed by a replica that found this one
// gone); before the task is revealed the outcome is also the call's.
func (s *Server) endTask(tk *task, o *taskOutcome) {
	// A call to an optional tool that ends before it is revealed is
	// answered as a call: its record is deleted, not ended.
	tk.mu.Lock()
	if tk.quiet && !tk.revealed {
		if tk.sync == nil {
			tk.sync = o
			close(tk.settled)
		}
		tk.mu.Unlock()
		return
	}
	tk.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	_, err := s.taskStore.Update(ctx, tk.id, func(r *taskstore.Record) bool {
		if r.Terminal() {
			return false
		}
		if o.rpcErr != nil {
			data := o.rpcErr.Data
			r.Status, r.Error = taskstore.Failed, &taskstore.Error{Code: o.rpcErr.Code, Message: o.rpcErr.Message, Data: data}
		} else {
			r.Status, r.Result = taskstore.Completed, withResultType(o.result, "complete")
		}
		r.Pending, r.Answers, r.Updated = nil, nil, time.Now()
		return true
	})
	cancel()
	if err != nil {
		s.log.Error("a task ended but its end could not be recorded; it reads as running until it expires", "task", tk.id, "tool", tk.tool, "error", err)
	}
	tk.settle(o)
}

// askTask makes the task wait for input: its record input_required with
// the pending requests, until tasks/update (here or on another replica)
// has answered every one. It returns the answers, or false if the task
// ended first (cancelled, moat stopping, expired).
func (s *Server) askTask(ctx context.Context, tk *task, pending map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	wctx, cancel := context.WithTimeout(ctx, storeTimeout)
	rec, err := s.taskStore.Update(wctx, tk.id, func(r *taskstore.Record) bool {
		if r.Terminal() {
			return false
		}
		r.Status, r.Pending, r.Answers, r.Updated = taskstore.InputRequired, pending, map[string]json.RawMessage{}, time.Now()
		return true
	})
	cancel()
	if err != nil {
		s.log.Error("a task that waits for input could not record it", "task", tk.id, "tool", tk.tool, "error", err)
		return nil, false
	}
	if rec == nil || rec.Terminal() {
		tk.stop()
		return nil, false
	}
	expiry := time.NewTimer(time.Until(rec.Expires))
	defer expiry.Stop()
	for {
		select {
		case <-tk.wake:
		case <-ctx.Done():
			return nil, false
		case <-expiry.C:
			return nil, false
		}
		var answers map[string]json.RawMessage
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		rec, err := s.taskStore.Update(wctx, tk.id, func(r *taskstore.Record) bool {
			if r.Terminal() || r.Status != taskstore.InputRequired || len(r.Pending) > 0 {
				return false
			}
			answers = r.Answers
			r.Status, r.Answers, r.Pending, r.Updated = taskstore.Working, nil, nil, time.Now()
			return true
		})
		cancel()
		switch {
		case err != nil:
			continue // the store is away; the watcher wakes the run again
		case rec == nil || rec.Terminal():
			tk.stop()
			return nil, false
		case answers != nil:
			return answers, true
		}
	}
}

// deliver takes the client's answers to a record's pending requests, and
// reports whether it took any. Answers to nothing pending are ignored.
func deliver(r *taskstore.Record, responses map[string]json.RawMessage) bool {
	if r.Status != taskstore.InputRequired {
		return false
	}
	took := false
	for key, resp := range responses {
		if _, ok := r.Pending[key]; ok {
			if r.Answers == nil {
				r.Answers = map[string]json.RawMessage{}
			}
			r.Answers[key] = resp
			delete(r.Pending, key)
			took = true
		}
	}
	if took {
		r.Updated = time.Now()
	}
	return took
}

// poke wakes a run that waits for answers, to look at its record.
func (tk *task) poke() {
	select {
	case tk.wake <- struct{}{}:
	default:
	}
}

// stop ends the run of a task whose record has ended (cancelled through
// this moat or another).
func (tk *task) stop() {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.stopped = true
	if tk.cancel != nil {
		tk.cancel()
	}
}

func (tk *task) wasStopped() bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.stopped
}

// taskClientRequest serves a task's blocking sample and elicit: the task
// reports input_required with the request, and the plugin waits for the
// client's answer through tasks/update.
func (s *Server) taskClientRequest(tk *task, caps clientCaps, secrets *observe.Secrets) plugin.ClientRequest {
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
		tk.mu.Unlock()
		wire, _ := json.Marshal(map[string]any{"method": method, "params": json.RawMessage(params)})
		answers, ok := s.askTask(ctx, tk, map[string]json.RawMessage{key: wire})
		if !ok {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errors.New("the task ended while it waited for the client's answer")
		}
		return answers[key], nil
	}
}

// createdResult is the CreateTaskResult of a task.
func createdResult(rec *taskstore.Record) map[string]any {
	m := envelope(rec)
	m["resultType"] = "task"
	// The answer to a tools/call: an empty content array keeps it a
	// CallToolResult to a reader that knows nothing of tasks (the 2026-07-28
	// schema requires content), and a reader that does looks at resultType.
	m["content"] = []any{}
	return m
}

// detailed is the tasks/get answer of a task.
func detailed(rec *taskstore.Record) map[string]any {
	m := envelope(rec)
	m["resultType"] = "complete"
	switch rec.Status {
	case taskstore.Completed:
		m["result"] = rec.Result
	case taskstore.Failed:
		m["error"] = rec.Error
	case taskstore.InputRequired:
		pending := rec.Pending
		if pending == nil {
			pending = map[string]json.RawMessage{}
		}
		m["inputRequests"] = pending // encoding/json sorts the keys
	}
	return m
}

func envelope(rec *taskstore.Record) map[string]any {
	m := map[string]any{
		"taskId":         rec.ID,
		"status":         rec.Status,
		"createdAt":      rec.Created.UTC().Format(time.RFC3339Nano),
		"lastUpdatedAt":  rec.Updated.UTC().Format(time.RFC3339Nano),
		"ttlMs":          rec.Expires.Sub(rec.Created).Milliseconds(),
		"pollIntervalMs": TaskPollInterval.Milliseconds(),
	}
	if rec.Message != "" {
		m["statusMessage"] = rec.Message
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
