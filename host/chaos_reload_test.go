package host_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/moat-mcp/moat/host/config"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestChaosHotReloadUnderCalls replaces a plugin again and again while
// clients call it without pause: every call is answered by the old version
// or the new one, and none fails because the plugin it was routed to was
// unloaded under it.
func TestChaosHotReloadUnderCalls(t *testing.T) {
	v1 := fixture(t, "sandbox/testdata/echo.wat")
	v2 := bytes.Replace(v1, []byte(`"version":"1.0.0"`), []byte(`"version":"2.0.0"`), 1)
	if bytes.Equal(v1, v2) {
		t.Fatal("the echo fixture has no version 1.0.0 to change")
	}
	h := startHost(t, "limits: {instances: 2, queue_timeout: 30s}\nplugins:\n  kvstore: {grants: {kv: {}}}\n", map[string][]byte{
		"echo":    v1,
		"kvstore": fixture(t, "host/testdata/chaos/kvstore.wat"),
	})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tr := healthyTraffic(ctx, h.mcpURL, 8, "reload")

	const replacements = 20
	path := filepath.Join(h.dir, "plugins", "echo.wasm")
	for i := range replacements {
		next := v2
		if i%2 == 1 {
			next = v1
		}
		// Written aside and renamed, as a deployment would, so the watcher
		// never loads half a file.
		tmp := path + ".new"
		if err := os.WriteFile(tmp, next, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		want := int64(i + 1)
		deadline := time.Now().Add(time.Minute)
		for h.log.replaced.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("replacement %d was not applied within a minute", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop()
	tr.wait(t, fmt.Sprintf("%d replacements of the plugin being called", replacements))
	if n := tr.failed.Load(); n > 0 {
		t.Fatalf("%d calls failed while their plugin was replaced; the first: %q", n, tr.failures)
	}
}

// TestChaosReloadTheFrontDoorUnderTraffic reloads the configuration again
// and again while clients call without pause, each time with other rate
// limits, roles and audit settings: no call is lost, and the swap adds
// no pause the traffic can see.
func TestChaosReloadTheFrontDoorUnderTraffic(t *testing.T) {
	configs := []string{
		"rate_limits: {global: {rate: 100000/s, burst: 100000}}\nplugins:\n  kvstore: {grants: {kv: {}}}\n",
		"rate_limits: {global: {rate: 50000/s, burst: 50000}}\nroles: {ops: {allow: [\"*\"]}}\nplugins:\n  kvstore: {grants: {kv: {}}}\n",
	}
	reloads := make(chan struct{})
	var next atomic.Int64
	reload := func(dir string) (*config.Config, error) {
		return config.Parse([]byte(chaosDoc(configs[next.Add(1)%2])), "reloaded configuration", dir)
	}
	h := startHostReloading(t, configs[0], map[string][]byte{
		"echo":    fixture(t, "sandbox/testdata/echo.wat"),
		"kvstore": fixture(t, "host/testdata/chaos/kvstore.wat"),
	}, reload, reloads)

	// The same traffic for the same time, first quiet, then with reloads.
	measure := func(during string, work func()) (int64, time.Duration) {
		ctx, stop := context.WithCancel(context.Background())
		tr := healthyTraffic(ctx, h.mcpURL, 8, during)
		start := time.Now()
		work()
		stop()
		tr.wait(t, during)
		if n := tr.failed.Load(); n > 0 {
			t.Fatalf("%d calls failed %s; the first: %q", n, during, tr.failures)
		}
		return tr.total.Load(), time.Since(start)
	}
	const rounds = 20
	var quiet time.Duration
	quietCalls, _ := measure("quiet", func() {
		// As long as the reloads take below, so the rates compare.
		start := time.Now()
		for range rounds {
			time.Sleep(50 * time.Millisecond)
		}
		quiet = time.Since(start)
	})
	reloadCalls, took := measure("reloading", func() {
		for i := int64(1); i <= rounds; i++ {
			reloads <- struct{}{}
			deadline := time.Now().Add(time.Minute)
			for h.log.frontReloads.Load() < i {
				if time.Now().After(deadline) {
					t.Fatalf("reload %d was not applied within a minute", i)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Logf("%d reloads of the front door under 8 clients: 0 calls lost; %.0f calls/s during them against %.0f calls/s without",
		rounds, float64(reloadCalls)/took.Seconds(), float64(quietCalls)/quiet.Seconds())
}
