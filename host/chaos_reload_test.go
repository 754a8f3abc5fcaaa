package host_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
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
