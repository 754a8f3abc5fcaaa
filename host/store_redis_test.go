package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/moat-mcp/moat/internal/testplugin"
)

// rawCall sends one sessionless (2026-07-28) tools/call, as a client that
// may land on any replica does, and returns the HTTP status, the tool's
// text and whether it was a tool error; for a JSON-RPC error, its message.
func rawCall(t *testing.T, url, tool, args string) (status int, text string, isError bool) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `,` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
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
	var msg struct {
		Result struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			IsError bool `json:"isError"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatalf("%s answered %d with %q, not one JSON-RPC message: %v", tool, resp.StatusCode, raw, err)
	}
	if msg.Error != nil {
		return resp.StatusCode, msg.Error.Message, false
	}
	var parts []string
	for _, c := range msg.Result.Content {
		parts = append(parts, c.Text)
	}
	return resp.StatusCode, strings.Join(parts, "\n"), msg.Result.IsError
}

type storeHealth struct {
	Status string `json:"status"`
	Store  struct {
		Engine string `json:"engine"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"store"`
}

func (h *chaosHost) storeHealth(t *testing.T) storeHealth {
	t.Helper()
	_, body := h.get(t, "/health")
	var rep storeHealth
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/health is not JSON: %v\n%s", err, body)
	}
	return rep
}

// twoReplicas starts two moats on one Redis, serving memory (granted kv)
// and echo, with yaml added to their configuration.
func twoReplicas(t *testing.T, srv *redistest.Server, yaml string) (a, b *chaosHost) {
	t.Helper()
	plugins := map[string][]byte{
		"memory": testplugin.GoPlugin(t, "plugins/memory"),
		"echo":   fixture(t, "sandbox/testdata/echo.wat"),
	}
	doc := fmt.Sprintf("store: {redis: {url: %q}}\nplugins:\n  memory: {grants: {kv: {}}}\n%s", srv.URL(), yaml)
	return startHost(t, doc, plugins), startHost(t, doc, plugins)
}

// Two moats sharing one Redis are one store to their plugins: a note
// remembered through one is recalled through the other. With Redis
// stopped, the calls that need it fail at once with EIO naming the store,
// the others still work, /health says degraded while /readyz stays ready;
// with Redis back, everything serves again without a restart.
func TestReplicasShareKVOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := twoReplicas(t, srv, "")

	if st, text, isErr := rawCall(t, a.mcpURL, "memory_remember", `{"key":"deadline","text":"ship on friday"}`); st != 200 || isErr {
		t.Fatalf("remember through the first replica: %d %s", st, text)
	}
	if st, text, isErr := rawCall(t, b.mcpURL, "memory_recall", `{"key":"deadline"}`); st != 200 || isErr || !strings.Contains(text, "ship on friday") {
		t.Fatalf("recall through the second replica: %d %q (error %v); want the note the first stored", st, text, isErr)
	}
	if rep := b.storeHealth(t); rep.Status != "healthy" || rep.Store.Engine != "redis" || rep.Store.Status != "ok" {
		t.Fatalf("/health with Redis up: %+v", rep)
	}

	srv.Stop()
	start := time.Now()
	_, text, isErr := rawCall(t, a.mcpURL, "memory_recall", `{"key":"deadline"}`)
	took := time.Since(start)
	if !isErr || !strings.Contains(text, "the kv store (redis at "+srv.Addr()+"/0) failed") {
		t.Fatalf("recall with Redis stopped: %q (error %v); want a tool error saying the store named failed", text, isErr)
	}
	// Far below the plugin's 10s deadline: the call fails on the refused
	// connection, it does not wait for a timeout.
	if took > 8*time.Second {
		t.Fatalf("recall with Redis stopped took %v; want it to fail fast", took)
	}
	if st, text, isErr := rawCall(t, a.mcpURL, "echo_echo", `{"text":"still here"}`); st != 200 || isErr || !strings.Contains(text, "still here") {
		t.Fatalf("a tool that needs no store, with Redis stopped: %d %q", st, text)
	}
	rep := a.storeHealth(t)
	if rep.Status != "degraded" || rep.Store.Status != "degraded" || !strings.Contains(rep.Store.Error, srv.Addr()) {
		t.Fatalf("/health with Redis stopped: %+v; want degraded naming the store", rep)
	}
	if code, body := a.get(t, "/readyz"); code != 200 {
		t.Fatalf("/readyz with only the store down: %d %s; want ready", code, body)
	}

	srv.Restart() // no persistence: the note is gone, the store serves
	if st, text, isErr := rawCall(t, b.mcpURL, "memory_remember", `{"key":"again","text":"back"}`); st != 200 || isErr {
		t.Fatalf("remember once Redis is back: %d %s", st, text)
	}
	if st, text, isErr := rawCall(t, a.mcpURL, "memory_recall", `{"key":"again"}`); st != 200 || isErr || !strings.Contains(text, "back") {
		t.Fatalf("recall once Redis is back: %d %q (error %v)", st, text, isErr)
	}
	// The health check's outcome stands for a second; poll for the new one.
	deadline := time.Now().Add(30 * time.Second)
	for rep := a.storeHealth(t); rep.Status != "healthy" || rep.Store.Status != "ok"; rep = a.storeHealth(t) {
		if time.Now().After(deadline) {
			t.Fatalf("/health 30s after Redis came back: %+v", rep)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A global limit of N admits N calls across both replicas, not N each.
func TestReplicasShareRateLimitsOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	// 6 an hour: no token comes back while the test runs.
	a, b := twoReplicas(t, srv, "rate_limits: {global: {rate: 6/h, burst: 6}}\n")
	admitted, refused := 0, 0
	for i := range 12 {
		h := a
		if i%2 == 1 {
			h = b
		}
		st, text, _ := rawCall(t, h.mcpURL, "echo_echo", `{"text":"hi"}`)
		switch st {
		case 200:
			admitted++
		case http.StatusTooManyRequests:
			refused++
			if !strings.Contains(text, "global") {
				t.Fatalf("a refusal: %q; want it to name the global scope", text)
			}
		default:
			t.Fatalf("call %d: %d %s", i, st, text)
		}
	}
	if admitted != 6 || refused != 6 {
		t.Fatalf("12 calls across two replicas under a global limit of 6: %d admitted, %d refused; want 6 and 6", admitted, refused)
	}
}

// With Redis stopped, rate_limit_on_error decides: local (the default)
// falls back to the replica's own buckets, which still limit; deny refuses
// the calls a limit governs, naming the store.
func TestRateLimitsWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	plugins := map[string][]byte{"echo": fixture(t, "sandbox/testdata/echo.wat")}
	limits := "rate_limits: {per_tool: {rate: 2/h, burst: 2}}\n"
	local := startHost(t, fmt.Sprintf("store: {redis: {url: %q}}\n%s", srv.URL(), limits), plugins)
	deny := startHost(t, fmt.Sprintf("store: {redis: {url: %q, rate_limit_on_error: deny}}\n%s", srv.URL(), limits), plugins)
	srv.Stop()

	var got []int
	for range 3 {
		st, _, _ := rawCall(t, local.mcpURL, "echo_echo", `{"text":"hi"}`)
		got = append(got, st)
	}
	if got[0] != 200 || got[1] != 200 || got[2] != http.StatusTooManyRequests {
		t.Fatalf("3 calls under a per-tool limit of 2, Redis down, local: %v; want 200 200 429", got)
	}
	st, text, _ := rawCall(t, deny.mcpURL, "echo_echo", `{"text":"hi"}`)
	if st != http.StatusTooManyRequests || !strings.Contains(text, "store") {
		t.Fatalf("a call with Redis down under deny: %d %q; want 429 naming the store", st, text)
	}
}

// store is read at start only: a reload that names another Redis is
// applied in everything else, logs that store needs a restart, and kv stays
// on the Redis moat started with. On the shared store, a reload may grant
// kv to a plugin that had no grant at start.
func TestReloadKeepsTheStore(t *testing.T) {
	first, second := redistest.Start(t), redistest.Start(t)
	plugins := map[string][]byte{"memory": testplugin.GoPlugin(t, "plugins/memory")}
	reloads := make(chan struct{})
	h := startHostReloading(t, fmt.Sprintf("store: {redis: {url: %q}}\n", first.URL()), plugins, func(dir string) (*config.Config, error) {
		doc := fmt.Sprintf("store: {redis: {url: %q}}\nplugins:\n  memory: {grants: {kv: {}}}\n", second.URL())
		return config.Parse([]byte(chaosDoc(doc)), "reloaded", dir)
	}, reloads)
	if _, text, isErr := rawCall(t, h.mcpURL, "memory_remember", `{"key":"k","text":"where"}`); !isErr || !strings.Contains(text, "grants.kv") {
		t.Fatalf("remember before kv is granted: %q; want a tool error naming the grant", text)
	}
	reloads <- struct{}{}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(h.log.tail(), "restart moat to apply it: key=store") {
		if time.Now().After(deadline) {
			t.Fatalf("no restart warning for store within a minute of the reload:\n%s", h.log.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		st, text, isErr := rawCall(t, h.mcpURL, "memory_remember", `{"key":"k","text":"where"}`)
		if st == 200 && !isErr {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remember after the reload granted kv: %d %s", st, text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, err := first.Client().Exists(context.Background(), "moat:kv:{memory}:v").Result(); err != nil || n != 1 {
		t.Fatalf("the note is not on the Redis moat started with: %d, %v", n, err)
	}
	if n, err := second.Client().Exists(context.Background(), "moat:kv:{memory}:v").Result(); err != nil || n != 0 {
		t.Fatalf("the note went to the Redis a reload named: %d, %v", n, err)
	}
}
