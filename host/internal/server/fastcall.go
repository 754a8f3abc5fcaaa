//lint:file-ignore SA1019 MCP deprecates roots, sampling and logging from 2026-07-28 only; the 2025-11-25 sessions served here still declare them

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/moat-mcp/moat/host/config"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The direct path. Most requests of a 2025-11-25 session are tool calls
// whose answer is the only message the request ever gets: no progress was
// asked for, the tool's plugin can ask the client nothing (see
// nothingToAsk), and the client asked for no log messages. For
// those, moat runs the same receiving middleware and the same tool
// handler the go-sdk would, and writes the answer as one application/json
// body itself. What it spares is the go-sdk's JSON-RPC machinery around
// them: each message decoded again, up to four times, each time through a
// new 32 KiB stream buffer, a goroutine per request and the stream's
// bookkeeping; measured in docs/BENCHMARKS.md. Everything else, and any
// call whose request is in the least unusual, goes to the go-sdk, which
// also answers every error of the transport: the direct path declines
// rather than refuse.

// serveSession serves a request of a 2025-11-25 session (or one that opens
// it): it counts the request as the session's activity, answers a plain
// tool call itself, and sends everything else to the go-sdk's handler.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, sdk http.Handler) {
	e := s.book.entry(r.Header.Get("Mcp-Session-Id"))
	if e == nil {
		sdk.ServeHTTP(w, r)
		return
	}
	e.begin()
	defer e.end()
	if v := viewFrom(r.Context()); v != nil && r.Method == http.MethodPost && v.Request {
		switch v.Method {
		case "tools/call":
			if s.fastCall(w, r, v, e) {
				return
			}
		case "logging/setLevel":
			// Log messages go out on a call's own event stream, which
			// only the go-sdk keeps: this session's calls go to it from
			// now on.
			e.logs.Store(true)
		case "notifications/cancelled":
			e.cancel(r)
		}
	}
	sdk.ServeHTTP(w, r)
}

// fastCall answers a tools/call of session e itself, if nothing but its
// result can pass between moat and the client; it reports whether it did.
func (s *Server) fastCall(w http.ResponseWriter, r *http.Request, v *view, e *sessionEntry) bool {
	if v.ID == nil || v.Progress || !v.plain || v.Name == "" || e.logs.Load() || !e.opened.Load() {
		return false
	}
	ss := e.ss.Load()
	if ss == nil {
		return false
	}
	init := ss.InitializeParams()
	if init == nil {
		return false
	}
	t, ok := s.registry(r.Context()).Tool(v.Name)
	if !ok || !nothingToAsk(init.Capabilities, t.Plugin.Granted) {
		return false
	}
	if pv := r.Header.Get("Mcp-Protocol-Version"); pv != "" && pv != init.ProtocolVersion {
		return false
	}
	if !jsonBody(r.Header.Get("Content-Type")) || !acceptsBoth(r.Header.Values("Accept")) || rebinding(r) {
		return false
	}
	ti := sdkauth.TokenInfoFromContext(r.Context())
	if e.user != "" && (ti == nil || ti.UserID != e.user) {
		return false
	}
	raw := v.ID
	if n, ok := raw.(int64); ok {
		raw = float64(n) // the go-sdk makes ids of numbers read as float64; the edge holds them below 2^53
	}
	id, err := jsonrpc.MakeID(raw)
	if err != nil {
		return false
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	key := idKey(v.ID)
	if !e.started(key, cancel) {
		writeRPCError(w, http.StatusBadRequest, v.ID, &jsonrpc.Error{
			Code:    jsonrpc.CodeInvalidRequest,
			Message: fmt.Sprintf("duplicate in-flight request ID %v; give each request of a session an id of its own", v.ID),
		})
		return true
	}
	defer e.finished(key)

	req := &mcp.CallToolRequest{
		Session: ss,
		Params:  &mcp.CallToolParamsRaw{Name: v.Name, Arguments: v.Arguments},
		Extra:   &mcp.RequestExtra{TokenInfo: ti, Header: r.Header},
	}
	resp := &jsonrpc.Response{ID: id}
	res, err := s.direct(ctx, "tools/call", req)
	if err == nil {
		resp.Result, err = toolResult(res)
	}
	if err != nil {
		resp.Result, resp.Error = nil, wireError(err)
	}
	body, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		resp.Result, resp.Error = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "moat could not encode the result: " + err.Error()}
		body, _ = jsonrpc.EncodeMessage(resp)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return true
}

// nothingToAsk reports whether a plugin granted g can ask a client that
// declared c nothing during a call: then no request of moat's can come
// between the call and its answer. Sampling and elicitation need both the
// client's capability and the plugin's grant; any plugin may ask for the
// client's roots (ABI v1), so a client that declared roots is asked on
// the go-sdk's path.
func nothingToAsk(c *mcp.ClientCapabilities, g config.Grants) bool {
	return c != nil && c.RootsV2 == nil && !c.Roots.ListChanged &&
		(c.Sampling == nil || !g.Sampling) && (c.Elicitation == nil || !g.Elicitation)
}

// toolResult encodes a call's result as the go-sdk does: content is never
// null. A result that asks for input cannot reach a quiet client.
func toolResult(res mcp.Result) (json.RawMessage, error) {
	r, ok := res.(*mcp.CallToolResult)
	if !ok || r == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "moat's tool handler returned no result"}
	}
	if r.InputRequests != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest,
			Message: "the tool asks the client for input, and the client declared no capability to give it; declare sampling, elicitation or roots at initialize"}
	}
	if r.Content == nil {
		c := *r
		c.Content = []mcp.Content{}
		r = &c
	}
	return json.Marshal(r)
}

// wireError is err as a JSON-RPC error, as the go-sdk sends a handler's:
// its own code when it is (or wraps) a JSON-RPC error, else code 0.
func wireError(err error) *jsonrpc.Error {
	var w *jsonrpc.Error
	if errors.As(err, &w) {
		if w == err {
			return w
		}
		return &jsonrpc.Error{Code: w.Code, Message: err.Error()}
	}
	return &jsonrpc.Error{Message: err.Error()}
}

// idKey names a request id in a session's table of calls.
func idKey(id any) string {
	switch id := id.(type) {
	case string:
		return "s" + id
	case int64:
		return "n" + strconv.FormatInt(id, 10)
	}
	return ""
}

// started records a call moat answers itself, unless one with the same id
// is in flight.
func (e *sessionEntry) started(key string, cancel context.CancelFunc) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.calls[key]; dup {
		return false
	}
	if e.calls == nil {
		e.calls = map[string]context.CancelFunc{}
	}
	e.calls[key] = cancel
	return true
}

func (e *sessionEntry) finished(key string) {
	e.mu.Lock()
	delete(e.calls, key)
	e.mu.Unlock()
}

// cancel stops the call a notifications/cancelled names, if moat answers
// it itself; the go-sdk gets the notification as well, for its own.
func (e *sessionEntry) cancel(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return
	}
	var msg struct {
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return
	}
	var id any
	var s string
	var n int64
	switch {
	case json.Unmarshal(msg.Params.RequestID, &s) == nil:
		id = s
	case json.Unmarshal(msg.Params.RequestID, &n) == nil:
		id = n
	default:
		return
	}
	e.mu.Lock()
	stop := e.calls[idKey(id)]
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// jsonBody reports whether a Content-Type is application/json.
func jsonBody(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// acceptsBoth reports whether Accept names both application/json and
// text/event-stream, as a streamable HTTP client's POST must.
func acceptsBoth(values []string) bool {
	var js, sse bool
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			switch strings.TrimSpace(mt) {
			case "application/json":
				js = true
			case "text/event-stream":
				sse = true
			}
		}
	}
	return js && sse
}

// rebinding reports whether a request reached a loopback address under a
// name that is not loopback, which the go-sdk refuses (DNS rebinding).
func rebinding(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil || !loopback(local.String()) {
		return false
	}
	return !loopback(r.Host)
}

// loopback reports whether host[:port] names this machine's loopback.
func loopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
