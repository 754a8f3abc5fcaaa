package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/internal/redistest"
)

// traffic is healthy calls made while something attacks the host: echoes
// that must come back unchanged, and kv writes that must all be kept. It
// counts every call and every failure.
type traffic struct {
	total  atomic.Int64
	failed atomic.Int64

	mu       sync.Mutex
	failures []string // the first few, to show
	keys     []string // kv keys whose write moat acknowledged
	wg       sync.WaitGroup

	// connected counts the workers that have connected (or failed to);
	// start, when not nil, holds them back until it is closed.
	connected sync.WaitGroup
	start     chan struct{}
}

// healthyTraffic starts workers that each connect and call in a loop until
// ctx ends: echo_echo, then kvstore_put of a key of their own, in turn.
// tag keeps the keys of two runs apart.
func healthyTraffic(ctx context.Context, url string, workers int, tag string) *traffic {
	return startTraffic(ctx, url, workers, tag, nil)
}

// startTraffic is healthyTraffic whose workers, once connected, wait for
// start to close before they call (nil: they start at once).
func startTraffic(ctx context.Context, url string, workers int, tag string, start chan struct{}) *traffic {
	tr := &traffic{start: start}
	tr.connected.Add(workers)
	for w := range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tr.worker(ctx, url, fmt.Sprintf("%s-%d", tag, w))
		}()
	}
	return tr
}

func (tr *traffic) fail(format string, args ...any) {
	tr.failed.Add(1)
	tr.mu.Lock()
	if len(tr.failures) < 10 {
		tr.failures = append(tr.failures, fmt.Sprintf(format, args...))
	}
	tr.mu.Unlock()
}

func (tr *traffic) worker(ctx context.Context, url, name string) {
	// A call in progress when ctx ends is finished, not abandoned: only
	// starting new calls stops.
	c, err := connectClient(context.Background(), url)
	tr.connected.Done()
	tr.total.Add(1)
	if err != nil {
		tr.fail("%s: connecting: %v", name, err)
		return
	}
	defer c.close()
	if tr.start != nil {
		<-tr.start
	}
	for i := 0; ctx.Err() == nil; i++ {
		tr.total.Add(1)
		if i%2 == 0 {
			want := fmt.Sprintf("%s says %d", name, i)
			text, isErr, err := c.call(context.Background(), "echo_echo", map[string]any{"text": want})
			if err != nil || isErr || text != want {
				tr.fail("%s: echo_echo: %q isError=%v err=%v", name, text, isErr, err)
			}
			continue
		}
		key := fmt.Sprintf("%s-%d", name, i)
		text, isErr, err := c.call(context.Background(), "kvstore_put", map[string]any{"key": key})
		if err != nil || isErr || text != "stored" {
			tr.fail("%s: kvstore_put %s: %q isError=%v err=%v", name, key, text, isErr, err)
			continue
		}
		tr.mu.Lock()
		tr.keys = append(tr.keys, key)
		tr.mu.Unlock()
	}
}

// wait waits for the workers to stop, and checks the error rate: under
// 0.01% of the calls, which below 10,000 calls means none.
func (tr *traffic) wait(t *testing.T, during string) {
	t.Helper()
	tr.wg.Wait()
	total, failed := tr.total.Load(), tr.failed.Load()
	t.Logf("healthy traffic during %s: %d calls, %d failed, %d kv writes acknowledged", during, total, failed, len(tr.keys))
	if total == 0 {
		t.Fatalf("no healthy call was made during %s", during)
	}
	if failed > 0 && failed*10000 >= total {
		t.Fatalf("%d of %d healthy calls failed during %s (%.4f%%, over the 0.01%% allowed); the first: %q",
			failed, total, during, 100*float64(failed)/float64(total), tr.failures)
	}
}

// keysAreServed reads every acknowledged key back through the plugin, over
// MCP, with a few clients at once.
func keysAreServed(t *testing.T, h *chaosHost, keys []string) {
	t.Helper()
	const readers = 8
	var wg sync.WaitGroup
	var lost atomic.Int64
	var mu sync.Mutex
	var examples []string
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := connectClient(context.Background(), h.mcpURL)
			if err != nil {
				t.Errorf("connecting to read kv back: %v", err)
				return
			}
			defer c.close()
			for i := r; i < len(keys); i += readers {
				text, isErr, err := c.call(context.Background(), "kvstore_get", map[string]any{"key": keys[i]})
				if want := "v=" + keys[i]; err != nil || isErr || text != want {
					lost.Add(1)
					mu.Lock()
					if len(examples) < 5 {
						examples = append(examples, fmt.Sprintf("%s: %q isError=%v err=%v", keys[i], text, isErr, err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if n := lost.Load(); n > 0 {
		t.Fatalf("%d of %d acknowledged kv writes do not read back through the plugin; for example %q", n, len(keys), examples)
	}
}

// chaosStore is the store the soak runs on: the embedded one, or with
// MOAT_CHAOS_STORE=redis a redis-server that syncs every write before it
// answers (appendfsync always), and the configuration that names it.
func chaosStore(t *testing.T) (string, *redistest.Server) {
	switch store := os.Getenv("MOAT_CHAOS_STORE"); store {
	case "", "embedded":
		return "", nil
	case "redis":
		srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
		return fmt.Sprintf("store: {redis: {url: %q}}\n", srv.URL()), srv
	default:
		t.Fatalf("MOAT_CHAOS_STORE=%q: give embedded or redis", store)
		return "", nil
	}
}

// keysAreStored checks every acknowledged key in the stopped host's store:
// what kv_set acknowledged must be durable. The embedded store is opened
// from its file; a Redis store is killed (SIGKILL) and started again from
// its append-only file first.
func keysAreStored(t *testing.T, h *chaosHost, redisStore *redistest.Server, keys []string) {
	t.Helper()
	var kv capability.Store
	if redisStore != nil {
		redisStore.Stop()
		redisStore.Restart()
		kv = capability.NewRedisKV(redisStore.Client(), "redis")
	} else {
		bolt, err := capability.OpenKV(filepath.Join(h.dir, "data"))
		if err != nil {
			t.Fatalf("opening the store moat left: %v", err)
		}
		kv = bolt
	}
	defer kv.Close()
	lost := 0
	for _, key := range keys {
		v, err := kv.Get(context.Background(), "kvstore", []byte(key))
		if err != nil || string(v) != "v="+key {
			if lost < 5 {
				t.Errorf("key %s after shutdown: %q, %v", key, v, err)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged kv writes are not in the store after shutdown", lost, len(keys))
	}
}

// baseline measures the process once the load of a warm-up has wound down:
// pools are as full as the traffic makes them, and the clients are gone.
func baseline(t *testing.T) footprint {
	t.Helper()
	prev := measure()
	for range 40 {
		time.Sleep(250 * time.Millisecond)
		now := measure()
		if now.goroutines == prev.goroutines {
			return now
		}
		prev = now
	}
	return prev
}

// acknowledged is how many kv writes moat has acknowledged so far.
func (tr *traffic) acknowledged() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.keys)
}

// ackedKeys is a copy of the keys whose writes moat acknowledged.
func (tr *traffic) ackedKeys() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.keys...)
}
