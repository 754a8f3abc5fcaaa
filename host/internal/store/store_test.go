package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/moat-mcp/moat/internal/redistest"
	"golang.org/x/time/rate"
)

var bg = context.Background()

func open(t testing.TB, srv *redistest.Server, extra string) (*Redis, *bytes.Buffer) {
	t.Helper()
	cfg, err := config.Parse([]byte("store: {redis: {url: "+srv.URL()+"}}\n"+extra), "test", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r, err := OpenRedis(bg, cfg, hclog.New(&hclog.LoggerOptions{Output: &log}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, &log
}

func limit(perHour float64, burst int) policy.Limit {
	return policy.Limit{Rate: rate.Limit(perHour / 3600), Burst: burst}
}

// Two moats' buckets are one: a burst of 3 admits 3 requests across both.
// A refusal takes nothing from any bucket, and names the one that refills
// last with how long until it holds a token.
func TestBucketsAreSharedAndAllOrNothing(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := open(t, srv, "")
	b, _ := open(t, srv, "")
	global := policy.SharedBucket{Scope: policy.ScopeGlobal, Limit: limit(3, 3)}
	admitted := 0
	for i := range 6 {
		r := a
		if i%2 == 1 {
			r = b
		}
		d, err := r.Buckets().Take(bg, []policy.SharedBucket{global})
		if err != nil {
			t.Fatal(err)
		}
		if d.OK {
			admitted++
		} else if d.Scope != policy.ScopeGlobal || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Minute {
			t.Fatalf("refusal %+v; want the global scope, within the 20 minutes one token takes", d)
		}
	}
	if admitted != 3 {
		t.Fatalf("%d of 6 admitted across two moats under a burst of 3", admitted)
	}

	// A tool bucket with room and a principal bucket without: refused,
	// naming the principal, and the tool bucket keeps its token.
	tool := policy.SharedBucket{Scope: policy.ScopeTool, Key: "echo", Limit: limit(1, 1)}
	dry := policy.SharedBucket{Scope: policy.ScopePrincipal, Key: "alice", Limit: limit(1, 1)}
	if d, err := a.Buckets().Take(bg, []policy.SharedBucket{dry}); err != nil || !d.OK {
		t.Fatalf("alice's first request: %+v, %v", d, err)
	}
	if d, err := a.Buckets().Take(bg, []policy.SharedBucket{dry, tool}); err != nil || d.OK || d.Scope != policy.ScopePrincipal {
		t.Fatalf("alice's second, with the tool's bucket full: %+v, %v; want refused naming principal", d, err)
	}
	if d, err := b.Buckets().Take(bg, []policy.SharedBucket{tool}); err != nil || !d.OK {
		t.Fatalf("the tool's bucket after a refusal that involved it: %+v, %v; want its token still there", d, err)
	}
	// Two dry buckets: the one that refills last (an hour, not a minute)
	// is named.
	slow := policy.SharedBucket{Scope: policy.ScopePrincipalTool, Key: "alice\x00echo", Limit: limit(1, 1)}
	fast := policy.SharedBucket{Scope: policy.ScopeTool, Key: "other", Limit: limit(60, 1)}
	a.Buckets().Take(bg, []policy.SharedBucket{slow, fast})
	d, err := a.Buckets().Take(bg, []policy.SharedBucket{fast, slow})
	if err != nil || d.OK || d.Scope != policy.ScopePrincipalTool || d.RetryAfter < 50*time.Minute {
		t.Fatalf("two dry buckets: %+v, %v; want the hour-long one named", d, err)
	}
}

// A bucket's key expires once it would be full again, so idle buckets
// take no room in Redis.
func TestBucketsExpire(t *testing.T) {
	srv := redistest.Start(t)
	r, _ := open(t, srv, "")
	if _, err := r.Buckets().Take(bg, []policy.SharedBucket{{Scope: policy.ScopeTool, Key: "t", Limit: policy.Limit{Rate: 10, Burst: 1}}}); err != nil {
		t.Fatal(err)
	}
	ttl, err := srv.Client().PTTL(bg, "moat:rl:{rl}:tool:t").Result()
	if err != nil || ttl <= 0 || ttl > time.Second {
		t.Fatalf("the bucket key's TTL: %v, %v; want set, about the 100ms a token takes", ttl, err)
	}
}

// moat says at start what Redis's persistence keeps of acknowledged
// writes, warning when a restart of Redis would lose them.
func TestPersistenceWarning(t *testing.T) {
	for _, c := range []struct {
		args    []string
		want    string
		warning bool
	}{
		{nil, "persists nothing", true},
		{[]string{"--save", "900 1"}, "only RDB snapshots", true},
		{[]string{"--appendonly", "yes", "--appendfsync", "everysec"}, "up to a second", false},
		{[]string{"--appendonly", "yes", "--appendfsync", "always"}, "before answering", false},
		{[]string{"--appendonly", "yes", "--appendfsync", "no"}, "about 30 seconds", true},
	} {
		srv := redistest.Start(t, c.args...)
		_, log := open(t, srv, "")
		line := ""
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, "shared store") && strings.Contains(l, "appendonly") {
				line = l
			}
		}
		if !strings.Contains(line, c.want) || strings.Contains(line, "[WARN]") != c.warning {
			t.Errorf("redis-server %v: the persistence line is %q; want %q, warning %v", c.args, line, c.want, c.warning)
		}
	}
}

// A Redis that is not there at start does not stop moat: the store opens,
// says so, reports degraded, and serves once Redis answers.
func TestOpenWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	r, log := open(t, srv, "")
	if !strings.Contains(log.String(), "does not answer") {
		t.Fatalf("the log of a start without Redis: %s", log)
	}
	if h := r.Health(bg); h.Status != "degraded" || !strings.Contains(h.Error, srv.Addr()) {
		t.Fatalf("health without Redis: %+v", h)
	}
	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for h := r.Health(bg); h.Status != "ok"; h = r.Health(bg) {
		if time.Now().After(deadline) {
			t.Fatalf("health 30s after Redis came: %+v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.KV().Set(bg, "p", []byte("k"), []byte("v"), 100); err != nil {
		t.Fatalf("kv once Redis came: %v", err)
	}
	// The persistence it could not check at start is checked once Redis
	// answers; the outage was logged.
	if !strings.Contains(log.String(), "persists nothing") || !strings.Contains(log.String(), "kv calls fail with EIO") {
		t.Fatalf("the log after Redis came:\n%s", log)
	}
}

// BenchmarkTake measures one rate check of a tool call under all four
// scopes, on Redis and, for comparison, in the process.
func BenchmarkTake(b *testing.B) {
	srv := redistest.Start(b)
	r, _ := open(b, srv, "")
	l := policy.Limit{Rate: 1e9, Burst: 1 << 30}
	limits := policy.Limits{Global: &l, PerPrincipal: &l, PerTool: &l, PerPrincipalTool: &l}
	s := policy.Subject{ID: "alice"}
	for _, c := range []struct {
		name   string
		shared policy.Shared
	}{{"redis", r.Buckets()}, {"in-process", nil}} {
		p, err := policy.New(nil, limits, policy.Options{Shared: c.shared})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if d := p.TakeContext(bg, s, "echo", true); !d.OK {
						b.Fatalf("refused: %+v", d)
					}
				}
			})
		})
	}
}
