package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/resultcache"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// cachedTime loads the time plugin with convert_time cached, and returns
// that tool and get_current_time (read-only but not idempotent).
func cachedTime(t *testing.T) (convert, current *plugin.Tool) {
	t.Helper()
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "plugins/time"), dir, "time")
	cfg, err := config.Parse([]byte("plugins: {time: {cache: {ttl: 1h}}}"), "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	reg, errs := plugin.Load(context.Background(), cfg, engine, plugin.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	t.Cleanup(func() { reg.Close(context.Background()) })
	convert, _ = reg.Tool("time_convert_time")
	current, _ = reg.Tool("time_get_current_time")
	return convert, current
}

func callRequest(args string, edit func(p *mcp.CallToolParamsRaw)) *mcp.CallToolRequest {
	p := &mcp.CallToolParamsRaw{Name: "time_convert_time", Arguments: json.RawMessage(args)}
	if edit != nil {
		edit(p)
	}
	return &mcp.CallToolRequest{Params: p}
}

// Which calls the cache may answer and keep, and which it may not.
func TestCacheKeyRules(t *testing.T) {
	convert, current := cachedTime(t)
	s := &Server{opts: Options{Cache: resultcache.New(resultcache.Options{Memory: 1 << 20, MaxResult: 1 << 10})}, log: hclog.NewNullLogger()}
	args := `{"source_timezone":"Europe/Oslo","time":"14:30","target_timezone":"Asia/Tokyo"}`
	base := s.cacheKey(convert, callRequest(args, nil), nil)
	if base == "" {
		t.Fatal("convert_time, read-only, idempotent and opted in, has no key")
	}
	caps := map[string]any{mcp.MetaKeyClientCapabilities: map[string]any{"elicitation": map[string]any{}}}
	if got := s.cacheKey(convert, callRequest(args, nil), map[string]any{"traceparent": "00-abc-def-01"}); got != base {
		t.Error("the trace context changed the key")
	}
	if got := s.cacheKey(convert, callRequest(args, nil), caps); got == base || got == "" {
		t.Error("the client's capabilities, which the plugin is given, did not change the key")
	}
	for name, req := range map[string]*mcp.CallToolRequest{
		"a progress token":            callRequest(args, func(p *mcp.CallToolParamsRaw) { p.SetProgressToken("tok") }),
		"a request state":             callRequest(args, func(p *mcp.CallToolParamsRaw) { p.RequestState = "state" }),
		"answers to input requests":   callRequest(args, func(p *mcp.CallToolParamsRaw) { p.InputResponses = mcp.InputResponseMap{"a": nil} }),
		"arguments that are not JSON": callRequest(`{"a":`, nil),
	} {
		if got := s.cacheKey(convert, req, nil); got != "" {
			t.Errorf("a call with %s has a key", name)
		}
	}
	if got := s.cacheKey(current, callRequest(`{"timezone":"UTC"}`, nil), nil); got != "" {
		t.Error("get_current_time, which does not declare idempotentHint, has a key")
	}
	if got := (&Server{}).cacheKey(convert, callRequest(args, nil), nil); got != "" {
		t.Error("a server without a cache made a key")
	}

	ctx := context.Background()
	ok := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "14:30 in Oslo is 22:30 in Tokyo"}}, StructuredContent: json.RawMessage(`{"n":9007199254740993}`)}
	for name, tc := range map[string]struct {
		res         *mcp.CallToolResult
		interactive bool
	}{
		"a tool error":                          {&mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "bad zone"}}}, false},
		"an input-required result":              {&mcp.CallToolResult{InputRequests: mcp.InputRequestMap{}}, false},
		"a result made with sample or progress": {ok, true},
		"a result over max_result":              {&mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(make([]byte, 2<<10))}}}, false},
	} {
		key := s.cacheKey(convert, callRequest(`{"case":"`+name+`"}`, nil), nil)
		uctx, used := plugin.WithUsage(ctx)
		if tc.interactive {
			plugin.Interacted(uctx)
		}
		s.keep(uctx, convert, key, tc.res, used)
		if v, _ := s.opts.Cache.Get(ctx, key); v != nil {
			t.Errorf("%s was kept", name)
		}
	}
	_, used := plugin.WithUsage(ctx)
	s.keep(ctx, convert, base, ok, used)
	got, hit := s.fromCache(ctx, nil, convert, base, nil, json.RawMessage(args))
	if !hit {
		t.Fatal("a successful result was not kept")
	}
	if sc, _ := got.StructuredContent.(json.RawMessage); string(sc) != `{"n":9007199254740993}` {
		t.Errorf("structuredContent from the cache: %v; want it as the plugin wrote it", got.StructuredContent)
	}
	if v, _ := s.opts.Cache.Get(ctx, base); v == nil {
		t.Fatal("the entry is gone")
	}
}
