package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/internal/redistest"
)

// moat store copy moves every plugin's notes from kv.db to Redis, whole:
// the same keys, values and bytes against each quota. A second copy into
// namespaces Redis already holds is refused unless asked to overwrite,
// which keeps what only Redis holds.
func TestCopyStoreToRedis(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := redistest.Start(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf("data_dir: data\nstore: {redis: {url: %q}}\n", srv.URL())), "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := host.CopyStore(ctx, cfg, host.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "no embedded store to copy") {
		t.Fatalf("a copy without kv.db: %v", err)
	}

	kv, err := capability.OpenKV(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]map[string]string{
		"memory": {"deadline": "friday", "bin\xff\x00key": "v", "empty": ""},
		"notes":  {"a": strings.Repeat("x", 5000)},
	}
	for plugin, kvs := range entries {
		for k, v := range kvs {
			if err := kv.Set(ctx, plugin, []byte(k), []byte(v), 1<<20); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := host.CopyStore(ctx, cfg, host.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a copy while moat holds kv.db: %v; want it refused", err)
	}
	kv.Close()

	copied, err := host.CopyStore(ctx, cfg, host.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(copied) != 2 || copied[0] != (host.CopiedPlugin{Name: "memory", Keys: 3, Bytes: 8 + 6 + 8 + 1 + 5}) || copied[1].Keys != 1 {
		t.Fatalf("copied %+v", copied)
	}
	dst := capability.NewRedisKV(srv.Client(), "redis")
	for plugin, kvs := range entries {
		for k, v := range kvs {
			if got, err := dst.Get(ctx, plugin, []byte(k)); err != nil || string(got) != v {
				t.Errorf("%s %q on Redis: %q, %v; want %q", plugin, k, got, err, v)
			}
		}
	}
	if used, _ := dst.Used(ctx, "notes"); used != 5001 {
		t.Errorf("notes uses %d bytes on Redis; want 5001", used)
	}

	// Written on Redis since; a second copy must not mix silently.
	if err := dst.Set(ctx, "memory", []byte("new"), []byte("on redis"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := host.CopyStore(ctx, cfg, host.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "memory, notes") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("a second copy: %v; want it refused naming the plugins and --overwrite", err)
	}
	if _, err := host.CopyStore(ctx, cfg, host.CopyOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.Get(ctx, "memory", []byte("new")); err != nil || string(got) != "on redis" {
		t.Fatalf("a key only Redis held, after --overwrite: %q, %v", got, err)
	}
}
