package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The front door on the MCP side: who is calling, whether they may see and
// call a tool, and whether they are within their rate.

// principal is who sent an MCP request: the one its token names, or the
// transport's fallback (anonymous over HTTP without auth, local over stdio).
func (s *Server) principal(ctx context.Context, extra *mcp.RequestExtra) *auth.Principal {
	if extra != nil {
		if p := auth.FromTokenInfo(extra.TokenInfo); p != nil {
			return p
		}
	}
	return frontFrom(ctx).Fallback
}

// pinFront is the outermost receiving middleware: it serves the request
// under the Front its HTTP request was admitted under, or over stdio under
// the current one, held until the request is answered.
func (s *Server) pinFront(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if reachesPlugin(method) {
			reserveStack()
		}
		f := s.frontOf(req)
		if f == nil {
			f = s.acquire()
			defer f.release()
		}
		return next(withFront(ctx, f), method, req)
	}
}

// subject is what the policy knows of a principal.
func subject(p *auth.Principal) policy.Subject {
	if p == nil {
		return policy.Subject{ID: "anonymous", All: true}
	}
	all := p.Method == auth.MethodAnonymous || (p.Method == auth.MethodLocal && len(p.Roles) == 0)
	return policy.Subject{ID: p.ID, Roles: p.Roles, All: all}
}

// runsPlugin are the methods that run plugin code, which the rate limits
// govern; everything else counts only against the global bucket.
var runsPlugin = map[string]bool{
	"tools/call": true, "resources/read": true, "prompts/get": true, "completion/complete": true,
}

// frontDoor is the receiving middleware of the MCP server: lists filtered
// to what the caller may call, calls it may not make answered exactly as an
// unknown tool is, and, over stdio, the rate limits.
func (s *Server) frontDoor(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
		if params := req.GetParams(); params != nil && !reflect.ValueOf(params).IsNil() {
			if tp, ok := params.GetMeta()["traceparent"].(string); ok && traceParent.MatchString(tp) {
				ctx = context.WithValue(ctx, traceKey{}, tp)
			}
		}
		if s.opts.Metrics != nil {
			start := time.Now()
			defer func() {
				outcome := "ok"
				if err != nil {
					outcome = "error"
				}
				s.opts.Metrics.Request(methodLabel(method), outcome, time.Since(start).Seconds())
			}()
		}
		f := frontFrom(ctx)
		if f.Policy == nil {
			return next(ctx, method, req)
		}
		p := s.principal(ctx, req.GetExtra())
		sub := subject(p)
		switch r := req.(type) {
		case *mcp.CallToolRequest:
			name := r.Params.Name
			if !f.Policy.Allowed(sub, policy.Tool, name) {
				s.audit(ctx, p, "tools/call", name, "", "denied", "", 0, r.Params.Arguments)
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
			}
			if s.transport == "stdio" {
				if d := f.Policy.TakeContext(ctx, sub, name, true); !d.OK {
					s.opts.Metrics.Limited(d.Scope)
					s.audit(ctx, p, "tools/call", name, "", "rate_limited", d.Scope, 0, r.Params.Arguments)
					return nil, rateLimitedError(d)
				}
			}
		default:
			if s.transport == "stdio" {
				if d := f.Policy.TakeContext(ctx, sub, "", runsPlugin[method]); !d.OK {
					s.opts.Metrics.Limited(d.Scope)
					return nil, rateLimitedError(d)
				}
			}
		}
		res, err = next(ctx, method, req)
		if err != nil {
			return res, err
		}
		if list, ok := res.(*mcp.ListToolsResult); ok {
			visible := list.Tools[:0:0]
			for _, t := range list.Tools {
				if f.Policy.Allowed(sub, policy.Tool, t.Name) {
					visible = append(visible, t)
				}
			}
			filtered := *list
			filtered.Tools = visible
			return &filtered, nil
		}
		return res, nil
	}
}

// rateLimitedError is the JSON-RPC answer to a request over its rate.
func rateLimitedError(d policy.Decision) *jsonrpc.Error {
	ms := retryMillis(d.RetryAfter)
	data, _ := json.Marshal(map[string]any{"retryAfterMs": ms, "scope": d.Scope})
	return &jsonrpc.Error{Code: codeRateLimited, Message: fmt.Sprintf("rate limited (%s): retry after %dms", d.Scope, ms), Data: data}
}

// codeRateLimited is the JSON-RPC error code of a refused request: in the
// range JSON-RPC leaves to servers.
const codeRateLimited = -32029

func retryMillis(d time.Duration) int64 {
	return max(1, int64(math.Ceil(float64(d)/float64(time.Millisecond))))
}

// rateLimitHTTP applies the rate limits to HTTP requests before the MCP
// layer, so that a refusal is a 429 with Retry-After.
func (s *Server) rateLimitHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := frontFrom(r.Context())
		if f.Policy == nil || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		p := auth.PrincipalFrom(r.Context())
		if p == nil {
			p = f.Fallback
		}
		sub := subject(p)
		msg := viewFrom(r.Context())
		if msg == nil || !msg.Request {
			next.ServeHTTP(w, r) // a response the client sends back spends no tokens
			return
		}
		if msg.Method == "tools/call" && !f.Policy.Allowed(sub, policy.Tool, msg.Name) {
			next.ServeHTTP(w, r) // the MCP layer refuses it as an unknown tool; it spends no tokens
			return
		}
		d := f.Policy.TakeContext(r.Context(), sub, msg.Name, runsPlugin[msg.Method])
		if !d.OK {
			s.opts.Metrics.Limited(d.Scope)
			if msg.Method == "tools/call" {
				s.auditHTTP(r, p, msg.Name, "rate_limited", d.Scope, msg.Arguments)
			}
			secs := int64(math.Ceil(d.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			writeRPCError(w, http.StatusTooManyRequests, msg.ID, rateLimitedError(d))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// audit records one call or refusal seen at the MCP layer.
func (s *Server) audit(ctx context.Context, p *auth.Principal, method, tool, plugin, outcome, reason string, d time.Duration, args json.RawMessage) {
	a := frontFrom(ctx).Audit
	if a == nil {
		return
	}
	id := "anonymous"
	if p != nil {
		id = p.ID
	}
	tp, _ := ctx.Value(traceKey{}).(string)
	a.Record(observe.Record{
		Time: time.Now(), Principal: id, Transport: s.transport, Method: method, Tool: tool, Plugin: plugin,
		Outcome: outcome, Reason: reason, DurationMS: float64(d.Microseconds()) / 1000, TraceParent: tp,
	}, args)
}

// traceKey holds a request's W3C traceparent in its context.
type traceKey struct{}

// traceParent is the form of a W3C traceparent (version 00 and later
// versions' first four fields); anything else is not written to the audit
// log, where a client could otherwise put any text.
var traceParent = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

// auditHTTP records a refusal at the HTTP layer, with the client's address.
func (s *Server) auditHTTP(r *http.Request, p *auth.Principal, tool, outcome, reason string, args json.RawMessage) {
	a := frontFrom(r.Context()).Audit
	if a == nil {
		return
	}
	id := "anonymous"
	if p != nil {
		id = p.ID
	}
	a.Record(observe.Record{
		Time: time.Now(), Principal: id, Transport: "http", Method: "tools/call", Tool: tool,
		Outcome: outcome, Reason: reason, Remote: r.RemoteAddr,
	}, args)
}

// methods are the MCP methods metrics name; anything else a client sends is
// counted as "other", so a client cannot make new series.
var methods = map[string]bool{
	"initialize": true, "ping": true, "tools/list": true, "tools/call": true,
	"resources/list": true, "resources/read": true, "resources/templates/list": true,
	"resources/subscribe": true, "resources/unsubscribe": true, "prompts/list": true, "prompts/get": true,
	"completion/complete": true, "logging/setLevel": true, "server/discover": true,
	"notifications/initialized": true, "notifications/cancelled": true, "notifications/progress": true,
	"notifications/roots/list_changed": true, "subscriptions/listen": true,
}

func methodLabel(m string) string {
	if methods[m] {
		return m
	}
	return "other"
}
