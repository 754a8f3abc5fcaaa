package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/resultcache"
	"github.com/moat-mcp/moat/host/internal/taskstore"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options are the parts of the front door a Server uses. Nil ones are off.
type Options struct {
	Version string
	HTTP    config.HTTP
	TLS     config.TLS
	// Auth authenticates HTTP requests; nil serves everyone as Fallback.
	Auth *auth.Authenticator
	// Policy decides what each principal may see and call, and how often;
	// nil allows everything without limits.
	Policy *policy.Policy
	// Audit receives one record per call and per refusal.
	Audit *observe.Audit
	// Secrets are scrubbed from results and error messages.
	Secrets *observe.Secrets
	// Fallback is who calls when no token names anyone: the anonymous
	// principal over HTTP without auth, the local user over stdio.
	Fallback *auth.Principal
	// Metrics count requests, calls, faults and refusals; nil counts nothing.
	Metrics *observe.Metrics
	// MaxInflight caps concurrent tool calls; past it a call is refused at
	// once with a retryable error. Zero means no cap.
	MaxInflight int
	// StateKey signs the requestState of input-required rounds.
	StateKey *StateKey
	// Cache keeps the results of the tools plugins.NAME.cache opts in;
	// nil keeps none.
	Cache *resultcache.Cache
	// Tasks keeps the records of tasks; nil keeps them in memory.
	Tasks *taskstore.Store
}

// Server serves a registry's tools over MCP.
type Server struct {
	mcp  *mcp.Server
	reg  *plugin.Registry
	log  hclog.Logger
	opts Options
	// transport is "http" or "stdio", set when serving starts.
	transport string

	calls    callSet      // tool calls in flight, for the drain
	inflight atomic.Int64 // the same, for max_inflight
	posts    calls        // HTTP POST requests in flight, which carry the calls' answers

	sessions *tally // 2025-11-25 sessions open, for http.max_sessions
	book     sessionBook
	streams  *tally // event streams held open, for http.max_streams

	frontState
	inner http.Handler // the chain after the front door, shared by every Front

	// direct is the receiving middleware around callTool, for the calls
	// moat answers without the go-sdk (fastCall).
	direct mcp.MethodHandler

	taskStore *taskstore.Store // the records of the tasks extension
	live      liveTasks        // the tasks this process runs
}

// New registers every tool of reg with a new MCP server.
func New(reg *plugin.Registry, log hclog.Logger, opts Options) *Server {
	opts.HTTP = opts.HTTP.WithDefaults()
	s := &Server{log: log, opts: opts, reg: reg, taskStore: opts.Tasks,
		sessions: newTally("sessions", "http.max_sessions", opts.HTTP.MaxSessions, opts.HTTP.MaxSessionsPerPrincipal),
		streams:  newTally("event streams", "http.max_streams", opts.HTTP.MaxStreams, opts.HTTP.MaxStreamsPerPrincipal),
	}
	if s.taskStore == nil {
		s.taskStore = taskstore.NewMemory()
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "moat", Title: "moat", Version: opts.Version}, &mcp.ServerOptions{
		Instructions: "Tools, resources and prompts served by moat from sandboxed WebAssembly plugins.",
		// What moat serves whatever its plugins: a reload may add tools,
		// resources and prompts where there were none, and the lists are
		// answered (empty) either way.
		Capabilities: &mcp.ServerCapabilities{
			//lint:ignore SA1019 ABI v1 sends plugin logs to the clients of 2025-11-25, which ask for them
			Logging:     &mcp.LoggingCapabilities{},
			Tools:       &mcp.ToolCapabilities{ListChanged: true},
			Prompts:     &mcp.PromptCapabilities{ListChanged: true},
			Resources:   &mcp.ResourceCapabilities{ListChanged: true, Subscribe: true},
			Completions: &mcp.CompletionCapabilities{},
			Extensions:  map[string]any{TasksExtension: map[string]any{}},
		},
		// Cache hints of discovery, the lists and resources/read: what
		// they answer depends on who asks (roles filter lists and reads)
		// and changes with any reload, so only the caller's own client may
		// keep it (private), and it is stale at once (ttlMs 0): a client
		// asks again rather than serve a list a reload has changed.
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) {
			c.TTLMs, c.CacheScope = 0, "private"
		},
		InitializedHandler: func(_ context.Context, req *mcp.InitializedRequest) { s.book.initialized(s, req.Session) },
		CompletionHandler:  s.complete,
		SubscribeHandler:   s.subscribe,
		UnsubscribeHandler: s.unsubscribe,
	})
	s.SetFront(&Front{Auth: opts.Auth, Policy: opts.Policy, Audit: opts.Audit, Secrets: opts.Secrets, Fallback: opts.Fallback,
		AllowedOrigins: opts.HTTP.AllowedOrigins, MaxBody: opts.HTTP.MaxBody, MaxInflight: opts.MaxInflight, StateKey: opts.StateKey, Registry: reg})
	s.mcp.AddReceivingMiddleware(s.pinFront, s.frontDoor, s.filterFeatures)
	s.direct = s.pinFront(s.frontDoor(s.filterFeatures(s.callToolMethod)))
	for _, p := range reg.Plugins() {
		for _, t := range p.Tools {
			s.mcp.AddTool(mcpTool(t), s.handler(t))
		}
		s.addFeatures(p)
	}
	return s
}

func mcpTool(t *plugin.Tool) *mcp.Tool {
	tool := &mcp.Tool{
		Name:        t.Name,
		Title:       t.Def.Title,
		Description: t.Def.Description,
		InputSchema: t.Def.InputSchema,
	}
	if len(t.Def.OutputSchema) > 0 {
		tool.OutputSchema = t.Def.OutputSchema
	}
	if a := t.Def.Annotations; a != nil {
		tool.Annotations = &mcp.ToolAnnotations{
			Title:           a.Title,
			ReadOnlyHint:    a.ReadOnlyHint,
			DestructiveHint: a.DestructiveHint,
			IdempotentHint:  a.IdempotentHint,
			OpenWorldHint:   a.OpenWorldHint,
		}
	}
	return tool
}

// errDraining is the answer to a call that arrives during shutdown.
const errDraining = "moat is shutting down and takes no new calls; retry against another instance or after it restarts"

// route finds the tool clients call name, in the registry of the request's
// Front, and counts the call as in flight on its plugin (see enter).
func (s *Server) route(ctx context.Context, name string) (*plugin.Tool, bool) {
	return enter(s, ctx, func(reg *plugin.Registry) (*plugin.Tool, *plugin.Plugin, bool) {
		t, ok := reg.Tool(name)
		if !ok {
			return nil, nil, false
		}
		return t, t.Plugin, true
	})
}

// enter looks an item up with find in the registry of the request's Front
// and counts the request as in flight on the plugin that serves it, from
// this moment until that plugin's Leave: a plugin being replaced is closed
// only after every request routed to it. A plugin that began retiring
// between the lookup and the count sends the request on to the plugin
// that serves the item now.
func enter[T any](s *Server, ctx context.Context, find func(*plugin.Registry) (T, *plugin.Plugin, bool)) (T, bool) {
	reg := s.registry(ctx)
	for range 3 {
		item, p, ok := find(reg)
		if !ok {
			break
		}
		if p.Enter() {
			return item, true
		}
		reg = s.current()
	}
	var zero T
	return zero, false
}

// handler is the go-sdk's handler of the tool registered.
func (s *Server) handler(registered *plugin.Tool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return s.callTool(ctx, registered.Name, req)
	}
}

// callToolMethod ends the receiving middleware for the calls moat answers
// without the go-sdk (fastCall), as the go-sdk's dispatch ends it for the
// others: it runs the tool req names.
func (s *Server) callToolMethod(ctx context.Context, _ string, req mcp.Request) (mcp.Result, error) {
	call := req.(*mcp.CallToolRequest)
	return s.callTool(ctx, call.Params.Name, call)
}

// callTool runs tool name for req.
func (s *Server) callTool(ctx context.Context, name string, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	t, ok := s.route(ctx, name)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
	}
	defer t.Plugin.Leave()
	f := frontFrom(ctx)
	p := s.principal(ctx, req.GetExtra())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := &running{tool: t.Name, plugin: t.Plugin.Name, principal: principalID(p), since: time.Now(), cancel: cancel}
	if !s.calls.start(run) {
		s.opts.Metrics.Reject("draining")
		return toolError(errDraining), nil
	}
	defer s.calls.done(run)
	if n := s.inflight.Add(1); f.MaxInflight > 0 && n > int64(f.MaxInflight) {
		s.inflight.Add(-1)
		s.opts.Metrics.Reject("max_inflight")
		return toolError(fmt.Sprintf("moat is running its limit of %d calls at once (max_inflight); retry in a moment", f.MaxInflight)), nil
	}
	defer s.inflight.Add(-1)
	s.opts.Metrics.InflightAdd(1)
	defer s.opts.Metrics.InflightAdd(-1)

	secrets := f.Secrets
	if secrets != nil && p != nil && p.Token != "" {
		secrets = secrets.WithExtra(p.Token)
	}
	if session := req.Session; session != nil {
		ctx = plugin.WithClientRequest(ctx, clientRequest(session, secrets))
		ctx = plugin.WithClientLog(ctx, func(level abi.LogLevel, name, msg string) {
			// ABI v1 promises plugin logs to clients that asked for them;
			// MCP deprecates logging only from 2026-07-28, for which the
			// SDK sends nothing.
			if secrets != nil {
				msg = secrets.Scrub(msg)
			}
			//lint:ignore SA1019 see above
			_ = session.Log(ctx, &mcp.LoggingMessageParams{Level: mcpLevel(level), Logger: name, Data: msg})
		})
	}
	// A call that comes back with answers to an input-required result
	// carries the requestState moat signed: the plugin's own state, and
	// the answers its blocking sample and elicit have had.
	// The digest binds a round's state to the call's arguments. Most
	// calls carry no state and end no round, so it is made only when
	// one does: canonicalising the arguments cost 2.5% of moat's CPU.
	var digest string
	argsDigest := func() string {
		if digest == "" {
			digest = argumentsDigest(req.Params.Arguments)
		}
		return digest
	}
	if req.Params.RequestState != "" {
		argsDigest()
	}
	st, err := openRound(f.StateKey, principalID(p), "tools/call", t.Name, digest, req.Params.RequestState)
	if err != nil {
		s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, "invalid_request_state", "", 0, req.Params.Arguments)
		return nil, err
	}
	round, err := pluginRound(st, req.Params.InputResponses)
	if err != nil {
		return nil, err
	}
	var rr *rounds
	if sessionless(req.Session) {
		rr = replay(st, req.Params.InputResponses)
		rr.caps = req.ClientCapabilities()
		var end context.CancelCauseFunc
		ctx, end = context.WithCancelCause(ctx)
		defer end(nil)
		rr.end, rr.secrets = end, secrets
		ctx = plugin.WithClientRequest(ctx, rr.request)
	}
	meta := pluginMeta(req.Params.Meta)
	var used *plugin.Usage
	cacheKey := s.cacheKey(t, req, meta)
	if cacheKey != "" {
		if res, ok := s.fromCache(ctx, p, t, cacheKey, secrets, req.Params.Arguments); ok {
			return res, nil
		}
		ctx, used = plugin.WithUsage(ctx)
	}
	if tok := req.Params.GetProgressToken(); tok != nil {
		if meta == nil {
			meta = map[string]any{}
		}
		meta["progressToken"] = tok
		if session := req.Session; session != nil {
			ctx = plugin.WithClientProgress(ctx, func(progress, total float64, msg string) {
				if secrets != nil {
					msg = secrets.Scrub(msg)
				}
				_ = session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: progress, Total: total, Message: msg})
			})
		}
	}
	start := time.Now()
	out, decoded, err := t.CallRound(ctx, req.Params.Arguments, meta, round)
	elapsed := time.Since(start)
	if rr != nil && rr.asked != "" {
		// The plugin asked for an input it has no answer to yet: the
		// round ends with the request, whatever the run did after.
		res, ierr := inputRequired(f.StateKey, rr, principalID(p), "tools/call", t.Name, argsDigest())
		outcome := "input_required"
		if ierr != nil {
			outcome, res = "tool_error", toolError(fmt.Sprintf("moat could not end the round with the plugin's %s: %v", rr.asked, ierr))
		}
		s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, outcome, "", elapsed, req.Params.Arguments)
		s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, outcome, elapsed.Seconds())
		return res, nil
	}
	if err != nil {
		res, outcome, err := s.failed(t, err, elapsed, secrets)
		s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, outcome, "", elapsed, req.Params.Arguments)
		s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, outcome, elapsed.Seconds())
		return res, err
	}
	if secrets != nil {
		if scrubbed := secrets.ScrubJSON(out); !bytes.Equal(scrubbed, out) {
			out, decoded = scrubbed, nil
		}
	}
	// The plugin package decoded the result while checking it; only a
	// result the scrubbing changed is decoded again.
	if decoded == nil {
		decoded = new(mcp.CallToolResult)
		err = json.Unmarshal(out, decoded)
	}
	res := decoded
	if err != nil {
		// The plugin package checked the shape; what the SDK still
		// refuses (an unknown content type, say) is the plugin's fault.
		s.log.Warn("plugin result refused", "plugin", t.Plugin.Name, "tool", t.Name, "error", err)
		s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, "fault:bad_output", "", elapsed, req.Params.Arguments)
		s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, "fault:bad_output", elapsed.Seconds())
		return toolError((&plugin.OutputError{Plugin: t.Plugin.Name, Tool: t.Name, Problem: err.Error()}).Error()), nil
	}
	if res.InputRequests != nil {
		// The plugin's result asks for input itself: its own state goes
		// inside moat's, which the client cannot alter.
		var answers []answer
		if rr != nil {
			answers = rr.answers
		}
		if err := answerable(req.ClientCapabilities(), res.InputRequests); err != nil {
			s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, "missing_capability", "", elapsed, req.Params.Arguments)
			s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, "missing_capability", elapsed.Seconds())
			return nil, err
		}
		outcome := "input_required"
		if res.RequestState, err = seal(f.StateKey, principalID(p), "tools/call", t.Name, argsDigest(), answers, res.RequestState); err != nil {
			outcome, res = "tool_error", toolError(fmt.Sprintf("moat could not end the round with the plugin's input requests: %v", err))
		}
		s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, outcome, "", elapsed, req.Params.Arguments)
		s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, outcome, elapsed.Seconds())
		return res, nil
	}
	outcome := "ok"
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		// The client gave up on the call (notifications/cancelled) and
		// the plugin returned before the sandbox stopped it: the
		// result reaches no one, so the call counts as cancelled, as
		// it does when the sandbox stops the plugin.
		outcome = "fault:canceled"
	case res.IsError:
		outcome = "tool_error"
	case cacheKey != "":
		s.keep(ctx, t, cacheKey, res, used)
	}
	s.audit(ctx, p, "tools/call", t.Name, t.Plugin.Name, outcome, "", elapsed, req.Params.Arguments)
	s.opts.Metrics.ObserveToolCall(t.Plugin.Name, t.Name, outcome, elapsed.Seconds())
	s.log.Debug("tool call", "tool", t.Name, "duration", elapsed, "is_error", res.IsError)
	return res, nil
}

// failed turns a failed call into what the client sees: a tool error the
// model can read, or a protocol error when the plugin returned one.
// It also names the outcome for the audit log.
func (s *Server) failed(t *plugin.Tool, err error, elapsed time.Duration, secrets *observe.Secrets) (*mcp.CallToolResult, string, error) {
	msg := err.Error()
	if secrets != nil {
		msg = secrets.Scrub(msg)
	}
	var proto *plugin.ProtocolError
	if errors.As(err, &proto) {
		return nil, "protocol_error", &jsonrpc.Error{Code: int64(proto.Code), Message: msg}
	}
	if errors.Is(err, plugin.ErrQuarantined) {
		return toolError(msg), "quarantined", nil
	}
	var argErr *plugin.ArgumentError
	if errors.As(err, &argErr) {
		s.log.Debug("tool call refused", "tool", t.Name, "error", msg)
		return toolError(msg), "invalid_arguments", nil
	}
	outcome := "fault:bad_output"
	if kind := sandbox.KindName(err); kind != "" {
		outcome = "fault:" + kind
		s.log.Warn("plugin fault", "plugin", t.Plugin.Name, "tool", t.Name, "kind", kind, "duration", elapsed, "error", msg)
	} else {
		s.log.Warn("tool call failed", "plugin", t.Plugin.Name, "tool", t.Name, "duration", elapsed, "error", msg)
	}
	return toolError(msg), outcome, nil
}

func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

//lint:ignore SA1019 the level type of the logging above
func mcpLevel(l abi.LogLevel) mcp.LoggingLevel {
	switch l {
	case abi.LogDebug:
		return "debug"
	case abi.LogWarn:
		return "warning"
	case abi.LogError:
		return "error"
	}
	return "info"
}

// Drain refuses new calls and waits, at most until ctx ends, for the calls
// in flight to finish. It reports whether they all did.
func (s *Server) Drain(ctx context.Context) bool {
	return s.calls.drain(ctx)
}

// InFlight is the number of tool calls running now.
func (s *Server) InFlight() int { return s.calls.len() }

// principalID names a principal in logs and audit records.
func principalID(p *auth.Principal) string {
	if p == nil {
		return "anonymous"
	}
	return p.ID
}

// calls counts the tool calls in flight, and refuses new ones once a drain
// has begun. (A sync.WaitGroup may not be added to while it is waited on.)
type calls struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{} // closed when n drops to 0 during a drain
}

func (c *calls) start() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.n++
	return true
}

func (c *calls) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

func (c *calls) drain(ctx context.Context) bool {
	c.mu.Lock()
	c.draining = true
	if c.n == 0 {
		c.mu.Unlock()
		return true
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}
