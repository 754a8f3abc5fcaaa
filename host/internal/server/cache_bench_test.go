package server_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/resultcache"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	dto "github.com/prometheus/client_model/go"
)

// BenchmarkCachedToolCall is one tools/call of the time plugin's
// convert_time (a Go plugin, read-only and idempotent) over streamable
// HTTP on loopback from the go-sdk client: run by the plugin every time
// (no cache), answered from moat's memory (l1), and answered from Redis
// (l2, with an L1 too small to keep anything). The difference between
// plugin and l1 is what a hit saves; l2 is what a replica pays for a
// result another computed.
func BenchmarkCachedToolCall(b *testing.B) {
	dir := b.TempDir()
	testplugin.WriteTo(b, testplugin.GoPlugin(b, "plugins/time"), dir, "time")
	cfg, err := config.Parse([]byte("plugins: {time: {cache: {ttl: 1h}}}"), "bench", dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close(context.Background())
	reg, errs := plugin.Load(context.Background(), cfg, engine, plugin.Options{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	defer reg.Close(context.Background())

	for _, mode := range []string{"plugin", "l1", "l2"} {
		b.Run(mode, func(b *testing.B) {
			metrics := observe.NewMetrics("bench", nil, nil)
			opts := server.Options{HTTP: config.HTTP{MaxBody: config.DefaultMaxBody}, Fallback: auth.Anonymous(nil), Metrics: metrics}
			switch mode {
			case "l1":
				opts.Cache = resultcache.New(resultcache.Options{Memory: 64 << 20, MaxResult: 256 << 10})
			case "l2":
				opts.Cache = resultcache.New(resultcache.Options{Memory: 1, MaxResult: 256 << 10, Redis: redistest.Start(b).Client()})
			}
			srv := server.New(reg, hclog.NewNullLogger(), opts)
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			session, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(context.Background(),
				&mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				b.Fatal(err)
			}
			defer session.Close()
			params := &mcp.CallToolParams{Name: "time_convert_time", Arguments: map[string]any{
				"source_timezone": "Europe/Oslo", "time": "14:30", "target_timezone": "Asia/Tokyo"}}
			first, err := session.CallTool(context.Background(), params)
			if err != nil || first.IsError {
				b.Fatalf("%v %v", first, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := session.CallTool(context.Background(), params)
				if err != nil || res.IsError {
					b.Fatalf("%v %v", res, err)
				}
			}
			b.StopTimer()
			// The cache answered every call but the first.
			if mode != "plugin" {
				var m dto.Metric
				if err := metrics.ToolCache.WithLabelValues("time", "time_convert_time", mode+"_hit").Write(&m); err != nil {
					b.Fatal(err)
				}
				if hits := m.GetCounter().GetValue(); int(hits) != b.N {
					b.Fatalf("%s hits: %v of %d calls", mode, hits, b.N)
				}
			}
		})
	}
}
