package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/host/internal/store"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/time/rate"
)

const benchKey = "moat_bench_key_0123456789abcdefghij"

// bearer adds the benchmark's key to every request.
type bearer struct{ base http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+benchKey)
	return b.base.RoundTrip(r)
}

// BenchmarkToolCallHTTP is one tools/call of a WAT echo over streamable HTTP
// on loopback, from the go-sdk client, with the front door off (anonymous,
// no policy, no audit) and on (API key, roles, four rate-limit scopes,
// audit, secret scrubbing): the difference is what the chain costs a call.
// on-redis keeps the four buckets on a redis-server the benchmark starts.
func BenchmarkToolCallHTTP(b *testing.B) {
	reg := echoRegistry(b)

	for _, chain := range []string{"off", "on", "on-redis"} {
		b.Run("front-door-"+chain, func(b *testing.B) {
			opts := server.Options{HTTP: config.HTTP{MaxBody: config.DefaultMaxBody}, Fallback: auth.Anonymous(nil)}
			client := http.DefaultClient
			if chain != "off" {
				sum := sha256.Sum256([]byte(benchKey))
				a, err := auth.New(context.Background(), auth.Config{APIKeys: []auth.APIKey{{Name: "bench", SHA256: hex.EncodeToString(sum[:]), Roles: []string{"ops"}}}})
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close()
				high := &policy.Limit{Rate: rate.Limit(1e9), Burst: 1 << 30}
				var popts policy.Options
				if chain == "on-redis" {
					popts.Shared = redisBuckets(b)
				}
				p, err := policy.New(map[string]policy.Role{"ops": {Tools: policy.Rules{Allow: []string{"echo_*"}, Deny: []string{"admin_*"}}}},
					policy.Limits{Global: high, PerPrincipal: high, PerTool: high, PerPrincipalTool: high}, popts)
				if err != nil {
					b.Fatal(err)
				}
				secrets := observe.NewSecrets()
				secrets.Add("a-granted-secret-value", "another-granted-secret")
				audit := observe.NewAudit(io.Discard, observe.AuditOptions{})
				defer audit.Close()
				opts.Auth, opts.Policy, opts.Audit, opts.Secrets = a, p, audit, secrets
				client = &http.Client{Transport: bearer{base: http.DefaultTransport}}
			}
			srv := server.New(reg, hclog.NewNullLogger(), opts)
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			session, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(context.Background(),
				&mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: client}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				b.Fatal(err)
			}
			defer session.Close()
			params := &mcp.CallToolParams{Name: "echo_echo", Arguments: map[string]any{"text": strings.Repeat("a", 100)}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := session.CallTool(context.Background(), params)
				if err != nil || res.IsError {
					b.Fatalf("%v %v", res, err)
				}
			}
		})
	}
}

// redisBuckets are rate buckets on a redis-server started for b.
func redisBuckets(b *testing.B) policy.Shared {
	srv := redistest.Start(b)
	cfg, err := config.Parse([]byte("store: {redis: {url: "+srv.URL()+"}}"), "bench", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	r, err := store.OpenRedis(context.Background(), cfg, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r.Buckets()
}
