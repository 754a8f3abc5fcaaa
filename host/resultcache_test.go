package host_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/moat-mcp/moat/internal/testplugin"
)

// counterCache is the configuration of the counter plugin with every tool
// opted into the cache; plain declares no hints, so it stays uncached.
const counterCache = `plugins:
  counter:
    grants: {kv: {}}
    cache: {ttl: 60s, tools: {plain: {ttl: 30s}}}
`

// callWithMeta is rawCall with members added to the request's _meta.
func callWithMeta(t *testing.T, url, tool, args, meta string) string {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `,` +
		`"_meta":{` + meta + `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", tool)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("calling %s: %v", tool, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// With a progress token the answer may come as an event stream; the
	// test needs only the text of the result.
	i := strings.Index(string(raw), `"text":"`)
	if i < 0 {
		t.Fatalf("%s answered %d with %q", tool, resp.StatusCode, raw)
	}
	rest := string(raw)[i+len(`"text":"`):]
	return rest[:strings.Index(rest, `"`)]
}

// text calls tool with args on h and returns its text, failing on a
// protocol error.
func text(t *testing.T, h *chaosHost, tool, args string) string {
	t.Helper()
	st, txt, _ := rawCall(t, h.mcpURL, tool, args)
	if st != 200 {
		t.Fatalf("%s %s: HTTP %d %s", tool, args, st, txt)
	}
	return txt
}

// A read-only, idempotent tool opted into the cache runs once for two
// calls with the same arguments, however they are written; what must not
// be kept (errors, results of a plugin that reported progress or asked
// to sample, results over the size cap, calls with a progress token, a
// tool without the hints) runs every time. The audit line and the metrics
// say which calls the cache answered.
func TestResultCacheServesRepeatedCalls(t *testing.T) {
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	h := startHost(t, counterCache+"audit: {path: "+auditPath+"}\n", map[string][]byte{"counter": testplugin.GoPlugin(t, "host/testdata/counter")})

	for i, args := range []string{`{"key":"a"}`, `{"key":"a"}`, ` { "key" : "a" } `} {
		if got := text(t, h, "counter_count", args); got != "run 1 of a" {
			t.Fatalf("call %d of counter_count %s: %q; want the first run's result, from the cache", i+1, args, got)
		}
	}
	if got := text(t, h, "counter_count", `{"key":"b"}`); got != "run 1 of b" {
		t.Fatalf("counter_count with other arguments: %q; want a run of its own", got)
	}
	for _, tc := range []struct{ tool, want1, want2 string }{
		{"counter_plain", "run 1 of a", "run 2 of a"},
		{"counter_fail", "run 1 of a failed", "run 2 of a failed"},
		{"counter_progress", "run 1 of a", "run 2 of a"},
		{"counter_sample", "run 1 of a", "run 2 of a"},
	} {
		if got := text(t, h, tc.tool, `{"key":"a"}`); got != tc.want1 {
			t.Fatalf("%s: %q; want %q", tc.tool, got, tc.want1)
		}
		if got := text(t, h, tc.tool, `{"key":"a"}`); got != tc.want2 {
			t.Fatalf("%s again: %q; want %q (a result that must not be cached)", tc.tool, got, tc.want2)
		}
	}
	for i := 1; i <= 2; i++ {
		if got := text(t, h, "counter_big", `{"key":"a"}`); !strings.HasPrefix(got, fmt.Sprintf("run %d of a ", i)) {
			t.Fatalf("counter_big, call %d: %.20q…; want run %d (a result over 256KiB is not kept)", i, got, i)
		}
	}
	// A client that asks for progress gets a run of the plugin, and its
	// result is not kept either.
	for i := 1; i <= 2; i++ {
		if got := callWithMeta(t, h.mcpURL, "counter_count", `{"key":"c"}`, `"progressToken":"p1",`); got != fmt.Sprintf("run %d of c", i) {
			t.Fatalf("counter_count with a progress token, call %d: %q; want run %d", i, got, i)
		}
	}
	if got := text(t, h, "counter_count", `{"key":"c"}`); got != "run 3 of c" {
		t.Fatalf("counter_count after the calls with a progress token: %q; want run 3 (they kept nothing)", got)
	}
	if !strings.Contains(h.log.tail(), "plugins.counter.cache.tools.plain: tool \"plain\" does not declare both readOnlyHint and idempotentHint") {
		t.Errorf("no notice that plain, named in the cache settings, is not cached; log:\n%s", h.log.tail())
	}

	if got := h.metric(t, `moat_tool_cache_total{plugin="counter",result="l1_hit",tool="counter_count"}`); got != 2 {
		t.Errorf("moat_tool_cache_total l1_hit of counter_count: %v; want 2", got)
	}
	if got := h.metric(t, `moat_tool_cache_total{plugin="counter",result="miss",tool="counter_count"}`); got != 3 {
		t.Errorf("moat_tool_cache_total miss of counter_count: %v; want 3 (a, b, c)", got)
	}
	if got := h.metric(t, `moat_tool_calls_total{outcome="ok",plugin="counter",tool="counter_count"}`); got != 7 {
		t.Errorf("moat_tool_calls_total ok of counter_count: %v; want 7, hits included", got)
	}
	// The audit log is written behind the calls: poll for the lines.
	var cached, plain int
	deadline := time.Now().Add(30 * time.Second)
	for {
		cached, plain = auditCounts(t, auditPath, "counter_count")
		if cached+plain >= 7 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cached != 2 || plain != 5 {
		t.Fatalf("audit lines of counter_count: %d cached, %d not; want 2 and 5", cached, plain)
	}
}

// auditCounts counts the ok audit lines of tool, cached and not.
func auditCounts(t *testing.T, path, tool string) (cached, plain int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Tool    string `json:"tool"`
			Outcome string `json:"outcome"`
			Cached  bool   `json:"cached"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Tool != tool || r.Outcome != "ok" {
			continue
		}
		if r.Cached {
			cached++
		} else {
			plain++
		}
	}
	return cached, plain
}

// Two moats on one Redis share the cache: a result computed through one
// is served through the other from Redis, and the plugin runs once (its
// count is in kv, on the same Redis, so a second run would say run 2).
func TestResultCacheSharedOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	plugins := map[string][]byte{"counter": testplugin.GoPlugin(t, "host/testdata/counter")}
	doc := fmt.Sprintf("store: {redis: {url: %q}}\n%s", srv.URL(), counterCache)
	a, b := startHost(t, doc, plugins), startHost(t, doc, plugins)

	if got := text(t, a, "counter_count", `{"key":"shared"}`); got != "run 1 of shared" {
		t.Fatalf("through the first replica: %q", got)
	}
	if got := text(t, b, "counter_count", `{"key":"shared"}`); got != "run 1 of shared" {
		t.Fatalf("through the second replica: %q; want the first replica's result, from Redis", got)
	}
	if got := b.metric(t, `moat_tool_cache_total{plugin="counter",result="l2_hit",tool="counter_count"}`); got != 1 {
		t.Errorf("l2_hit on the second replica: %v; want 1", got)
	}
	// With Redis stopped the cache keeps serving from memory, and a call
	// it cannot answer fails only for want of kv, as without a cache.
	srv.Stop()
	if got := text(t, b, "counter_count", `{"key":"shared"}`); got != "run 1 of shared" {
		t.Fatalf("with Redis stopped, a result in memory: %q; want it served", got)
	}
}

// A plugin replaced by a changed module answers anew: its old results are
// not served.
func TestResultCacheReloadInvalidates(t *testing.T) {
	wasm := testplugin.GoPlugin(t, "host/testdata/counter")
	h := startHost(t, counterCache, map[string][]byte{"counter": wasm})
	for range 2 {
		if got := text(t, h, "counter_count", `{"key":"r"}`); got != "run 1 of r" {
			t.Fatalf("before the reload: %q; want run 1 twice", got)
		}
	}
	// The same plugin with a custom section added: other bytes, another
	// digest, the same behaviour.
	changed := append(append([]byte(nil), wasm...), 0x00, 0x07, 0x05, 'm', 'o', 'a', 't', '2', 'x')
	testplugin.WriteTo(t, changed, filepath.Join(h.dir, "plugins"), "counter")
	deadline := time.Now().Add(60 * time.Second)
	for h.log.replaced.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the changed module was not loaded within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := text(t, h, "counter_count", `{"key":"r"}`); got != "run 2 of r" {
		t.Fatalf("after the module changed: %q; want run 2 (a new run, not the old result)", got)
	}
	if got := text(t, h, "counter_count", `{"key":"r"}`); got != "run 2 of r" {
		t.Fatalf("after the module changed, again: %q; want run 2 from the cache", got)
	}
}
