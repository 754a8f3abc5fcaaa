package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// cacheKey is the result cache's key of a call, or "" when the call may
// not be answered from the cache nor kept in it: the tool is not cached
// (see plugin.Tool.CacheTTL), the client asked for progress, or the call
// comes back with answers to an input-required result.
//
// The handler asks only once the call got past the front door: a cached
// answer is served under the same authentication, roles and rate limits as
// any other.
func (s *Server) cacheKey(t *plugin.Tool, req *mcp.CallToolRequest, meta map[string]any) string {
	if s.opts.Cache == nil || t.CacheTTL() <= 0 || req.Params.GetProgressToken() != nil ||
		req.Params.RequestState != "" || len(req.Params.InputResponses) > 0 {
		return ""
	}
	key, _ := t.CacheKey(req.Params.Arguments, meta)
	return key
}

// fromCache answers a call from the cache, when it holds the call's key,
// and records it: audit outcome ok with cached set, and the hit in the
// metrics.
func (s *Server) fromCache(ctx context.Context, p *auth.Principal, t *plugin.Tool, key string, secrets *observe.Secrets, args json.RawMessage) (*mcp.CallToolResult, bool) {
	start := time.Now()
	val, level := s.opts.Cache.Get(ctx, key)
	if val == nil {
		s.opts.Metrics.ObserveCacheMiss(t.Plugin.Name, t.Name)
		return nil, false
	}
	if secrets != nil {
		// Scrubbed before it was kept; scrubbed again of what the
		// secrets hold now (a reload may have added some).
		val = secrets.ScrubJSON(val)
	}
	res, err := decodeCached(val)
	if err != nil {
		s.log.Warn("a cached result does not decode; calling the plugin", "plugin", t.Plugin.Name, "tool", t.Name, "error", err)
		s.opts.Metrics.ObserveCacheMiss(t.Plugin.Name, t.Name)
		return nil, false
	}
	if f := frontFrom(ctx); f != nil && f.Audit != nil {
		f.Audit.Record(observe.Record{
			Time: time.Now(), Principal: principalID(p), Transport: s.transport, Method: "tools/call", Tool: t.Name, Plugin: t.Plugin.Name,
			Outcome: "ok", Cached: true, DurationMS: float64(time.Since(start).Microseconds()) / 1000,
		}, args)
	}
	s.opts.Metrics.ObserveCacheHit(t.Plugin.Name, t.Name, string(level))
	return res, true
}

// keep puts a successful result in the cache, unless the plugin reported
// progress or asked the client to sample or elicit while making it, or it
// is larger than result_cache.max_result (Put refuses it).
func (s *Server) keep(ctx context.Context, t *plugin.Tool, key string, res *mcp.CallToolResult, used *plugin.Usage) {
	if used.Interactive() || res.IsError || res.InputRequests != nil {
		return
	}
	val, err := json.Marshal(res)
	if err != nil {
		return
	}
	s.opts.Cache.Put(context.WithoutCancel(ctx), key, val, t.CacheTTL())
}

// decodeCached reads a result the cache kept, structuredContent as it was
// written (the go-sdk would make its numbers float64).
func decodeCached(val []byte) (*mcp.CallToolResult, error) {
	res := new(mcp.CallToolResult)
	if err := json.Unmarshal(val, res); err != nil {
		return nil, err
	}
	var raw struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
	}
	if err := json.Unmarshal(val, &raw); err == nil && len(raw.StructuredContent) > 0 && string(raw.StructuredContent) != "null" {
		res.StructuredContent = raw.StructuredContent
	}
	return res, nil
}
