package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/redistest"
)

// moat store copy moves a plugin's kv entries from data_dir to Redis: a
// value remembered on the embedded store is recalled from Redis after the
// copy, with kv.db gone; a second copy is refused, naming --overwrite.
func TestStoreCopyMovesKVToRedis(t *testing.T) {
	needBuild(t)
	srv := redistest.Start(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "caps.wasm"), filepath.Join(dir, "caps.wasm"))
	data := filepath.Join(dir, "data")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\ndata_dir: "+data+"\nplugins:\n  caps: {grants: {kv: {}}}\n")
	onRedis := []string{"MOAT_STORE_REDIS_URL=" + srv.URL()}

	if out, stderr, code := runMoat(t, "call", "--config", config, "caps", "remember", `{"key":"color","value":"teal"}`); code != 0 {
		t.Fatalf("remember on the embedded store: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code := runMoatEnv(t, onRedis, "store", "copy", "--config", config)
	if code != 0 || !strings.Contains(out, "caps: 1 keys") || !strings.Contains(out, "copied 1 keys of 1 plugins to redis at "+srv.Addr()) {
		t.Fatalf("store copy: exit %d\n%s\n%s", code, out, stderr)
	}
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runMoatEnv(t, onRedis, "call", "--config", config, "caps", "recall", `{"key":"color"}`)
	if code != 0 || !strings.Contains(out, "teal") {
		t.Fatalf("recall from Redis after the copy: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(data); err == nil {
		t.Fatalf("a call on the Redis store made data_dir %s", data)
	}

	// kv.db is gone; a new one with the same key, copied again, is refused.
	runMoat(t, "call", "--config", config, "caps", "remember", `{"key":"color","value":"red"}`)
	_, stderr, code = runMoatEnv(t, onRedis, "store", "copy", "--config", config)
	if code != 1 || !strings.Contains(stderr, "already holds kv entries of plugin caps") || !strings.Contains(stderr, "--overwrite") {
		t.Fatalf("a second copy: exit %d\n%s", code, stderr)
	}
}
