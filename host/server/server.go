package server

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/plugin"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Server serves a registry's tools over MCP.
type Server struct {
	mcp *mcp.Server
	log hclog.Logger

	calls calls // tool calls in flight
	posts calls // HTTP POST requests in flight, which carry the calls' answers
}

// New registers every tool of reg with a new MCP server.
func New(reg *plugin.Registry, log hclog.Logger, version string) *Server {
	s := &Server{log: log}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "moat", Title: "moat", Version: version}, &mcp.ServerOptions{
		Instructions: "Tools served by moat from sandboxed WebAssembly plugins.",
	})
	for _, p := range reg.Plugins() {
		for _, t := range p.Tools {
			s.mcp.AddTool(mcpTool(t), s.handler(t))
		}
	}
	return s
}

// MCP is the underlying go-sdk server.
func (s *Server) MCP() *mcp.Server { return s.mcp }

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

func (s *Server) handler(t *plugin.Tool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if !s.calls.start() {
			return toolError(errDraining), nil
		}
		defer s.calls.done()
		if session := req.Session; session != nil {
			ctx = plugin.WithClientLog(ctx, func(level abi.LogLevel, name, msg string) {
				// ABI v1 promises plugin logs to clients that asked for them;
				// MCP deprecates logging only from 2026-07-28, for which the
				// SDK sends nothing.
				//lint:ignore SA1019 see above
				_ = session.Log(ctx, &mcp.LoggingMessageParams{Level: mcpLevel(level), Logger: name, Data: msg})
			})
		}
		var meta map[string]any
		if tok := req.Params.GetProgressToken(); tok != nil {
			meta = map[string]any{"progressToken": tok}
		}
		start := time.Now()
		out, err := t.Call(ctx, req.Params.Arguments, meta)
		elapsed := time.Since(start)
		if err != nil {
			return s.failed(t, err, elapsed)
		}
		var res mcp.CallToolResult
		if err := json.Unmarshal(out, &res); err != nil {
			// The plugin package checked the shape; what the SDK still
			// refuses (an unknown content type, say) is the plugin's fault.
			s.log.Warn("plugin result refused", "plugin", t.Plugin.Name, "tool", t.Name, "error", err)
			return toolError((&plugin.OutputError{Plugin: t.Plugin.Name, Tool: t.Name, Problem: err.Error()}).Error()), nil
		}
		s.log.Debug("tool call", "tool", t.Name, "duration", elapsed, "is_error", res.IsError)
		return &res, nil
	}
}

// failed turns a failed call into what the client sees: a tool error the
// model can read, or a protocol error when the plugin returned one.
func (s *Server) failed(t *plugin.Tool, err error, elapsed time.Duration) (*mcp.CallToolResult, error) {
	var proto *plugin.ProtocolError
	if errors.As(err, &proto) {
		return nil, &jsonrpc.Error{Code: int64(proto.Code), Message: proto.Message}
	}
	var argErr *plugin.ArgumentError
	if errors.As(err, &argErr) {
		s.log.Debug("tool call refused", "tool", t.Name, "error", err)
		return toolError(err.Error()), nil
	}
	if kind := sandbox.KindName(err); kind != "" {
		s.log.Warn("plugin fault", "plugin", t.Plugin.Name, "tool", t.Name, "kind", kind, "duration", elapsed, "error", err)
	} else {
		s.log.Warn("tool call failed", "plugin", t.Plugin.Name, "tool", t.Name, "duration", elapsed, "error", err)
	}
	return toolError(err.Error()), nil
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
func (s *Server) InFlight() int {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.n
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
