package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// The chaos suite: hostile plugins and hostile clients while healthy
// traffic runs. Each test checks what an operator would: the host stays
// up, healthy calls succeed, a faulty plugin is quarantined, nothing
// acknowledged is lost, and the process returns to its footprint.
// docs/RELIABILITY.md tables the cases.

// chaosPlugins are the modules the suite serves, by plugin name: the
// healthy echo and kvstore, and one plugin per way of misbehaving, each
// with a breaker of its own.
func chaosPlugins(t *testing.T) map[string][]byte {
	faulty := fixture(t, "sandbox/testdata/faulty.wat")
	hostile := fixture(t, "host/testdata/chaos/hostile.wat")
	return map[string][]byte{
		"echo":         fixture(t, "sandbox/testdata/echo.wat"),
		"kvstore":      fixture(t, "host/testdata/chaos/kvstore.wat"),
		"loop":         faulty,
		"grow":         faulty,
		"recurse":      faulty,
		"huge":         faulty,
		"oob":          faulty,
		"badjson":      faulty,
		"trap":         faulty,
		"logflood":     hostile,
		"stdoutflood":  hostile,
		"notresult":    hostile,
		"badptrs":      hostile,
		"inithang":     fixture(t, "host/testdata/chaos/inithang.wat"),
		"initloop":     fixture(t, "sandbox/testdata/init_loop.wat"),
		"describeloop": fixture(t, "sandbox/testdata/describe_loop.wat"),
	}
}

// chaosConfig gives the healthy plugins room (no call of theirs should wait
// out a queue or a deadline, however loaded the machine), the faulty ones
// short deadlines where a deadline is what they test, and every breaker
// three faults and an open time longer than the test. The deadline of the
// rest is long: recursing to a stack overflow under the race detector on a
// busy machine can take longer than ten seconds, and the test is of the
// overflow, not of the clock.
const chaosConfig = `
max_inflight: 4096
limits: {timeout: 2m, instances: 8, queue_timeout: 30s}
breaker: {failures: 3, open_for: 10m}
http: {max_connections: 8192}
plugins:
  kvstore: {grants: {kv: {}}}
  inithang: {grants: {kv: {}}, limits: {timeout: 500ms}}
  loop: {limits: {timeout: 500ms}}
  grow: {limits: {memory: 4MiB}}
  logflood: {limits: {timeout: 500ms}}
  stdoutflood: {limits: {timeout: 500ms}}
  initloop: {limits: {timeout: 500ms}}
  describeloop: {limits: {timeout: 500ms}}
`

// hostileCase is a plugin attacked through its tools: the calls made in
// order, what each answers, and whether the breaker ends open.
type hostileCase struct {
	plugin string
	calls  []string // tools, in order; the last is repeated until quarantined
	says   string   // in the tool error of each faulting call
	opens  bool     // the breaker ends open; otherwise every call answers says
}

var hostileCases = []hostileCase{
	{plugin: "loop", calls: []string{"loop_loop"}, says: "exceeded its 500ms deadline", opens: true},
	{plugin: "grow", calls: []string{"grow_grow"}, says: "ran out of memory at its ceiling of 4MiB", opens: true},
	{plugin: "recurse", calls: []string{"recurse_recurse"}, says: "stack overflow", opens: true},
	{plugin: "huge", calls: []string{"huge_huge"}, says: "more than its output cap of 1MiB", opens: true},
	{plugin: "oob", calls: []string{"oob_oob"}, says: "outside the plugin's", opens: true},
	{plugin: "badjson", calls: []string{"badjson_badjson"}, says: "not valid JSON", opens: true},
	{plugin: "trap", calls: []string{"trap_trap"}, says: "unreachable", opens: true},
	{plugin: "logflood", calls: []string{"logflood_logflood"}, says: "exceeded its 500ms deadline", opens: true},
	{plugin: "stdoutflood", calls: []string{"stdoutflood_stdoutflood"}, says: "exceeded its 500ms deadline", opens: true},
	{plugin: "notresult", calls: []string{"notresult_notresult"}, says: "returned a bad result", opens: true},
	{plugin: "inithang", calls: []string{"inithang_arm", "inithang_ok"}, says: "", opens: true},
	// Bad pointers are answered with error codes, not trusted and not
	// faults: the plugin keeps serving, and its breaker stays closed.
	{plugin: "badptrs", calls: []string{"badptrs_badptrs"}, says: "refused", opens: false},
}

// attack makes the calls of one case and checks each answer.
func (hc hostileCase) attack(t *testing.T, h *chaosHost, failures int) {
	c := h.connect(t)
	defer c.close()
	calls := append([]string(nil), hc.calls...)
	for len(calls) < failures+1 {
		calls = append(calls, hc.calls[len(hc.calls)-1])
	}
	for i, tool := range calls {
		text, isErr, err := c.call(context.Background(), tool, map[string]any{})
		switch {
		case err != nil:
			t.Errorf("%s: call %d (%s) failed outright, where a tool error was due: %v", hc.plugin, i+1, tool, err)
		case !hc.opens:
			if isErr || !strings.Contains(text, hc.says) {
				t.Errorf("%s: call %d (%s) = %q isError=%v, want %q", hc.plugin, i+1, tool, text, isErr, hc.says)
			}
		case i < failures:
			if !isErr || !strings.Contains(text, hc.says) || !strings.Contains(text, fmt.Sprintf("plugin %q", hc.plugin)) {
				t.Errorf("%s: call %d (%s) = %q isError=%v; want a tool error naming the plugin and saying %q", hc.plugin, i+1, tool, text, isErr, hc.says)
			}
		default:
			if !isErr || !strings.Contains(text, "is quarantined after") {
				t.Errorf("%s: call %d (%s), after %d faults, = %q isError=%v; want it refused as quarantined", hc.plugin, i+1, tool, failures, text, isErr)
			}
		}
	}
}

func TestChaosHostilePlugins(t *testing.T) {
	const failures = 3 // breaker.failures in chaosConfig
	plugins := chaosPlugins(t)
	before := measure()
	h := startHost(t, chaosConfig, plugins)

	// What failed to load is reported, and the rest serve.
	rep := h.health(t)
	if rep.FailedToLoad != 2 || rep.Status != "degraded" {
		t.Fatalf("/health with two plugins stuck at load: status %q, failed_to_load %d; want degraded and 2", rep.Status, rep.FailedToLoad)
	}
	for _, name := range []string{"initloop", "describeloop"} {
		if _, ok := rep.plugin(name); ok {
			t.Errorf("%s, whose load never returns, is served", name)
		}
	}
	if want := len(plugins) - 2; len(rep.Plugins) != want {
		t.Fatalf("/health lists %d plugins, want %d", len(rep.Plugins), want)
	}

	// A warm-up fills the healthy pools, so that the baseline holds them.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	warm := healthyTraffic(ctx, h.mcpURL, 8, "warm")
	warm.wait(t, "the warm-up")
	cancel()
	base := baseline(t)

	ctx, stopTraffic := context.WithCancel(context.Background())
	tr := healthyTraffic(ctx, h.mcpURL, 8, "plugins")
	logBefore := h.log.bytes.Load()
	var wg sync.WaitGroup
	for _, hc := range hostileCases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc.attack(t, h, failures)
		}()
	}
	wg.Wait()
	stopTraffic()
	tr.wait(t, "the hostile plugins")
	t.Logf("moat logged %.1f MiB during the attacks", float64(h.log.bytes.Load()-logBefore)/(1<<20))

	rep = h.health(t)
	for _, hc := range hostileCases {
		p, ok := rep.plugin(hc.plugin)
		state := h.metric(t, fmt.Sprintf(`moat_breaker_state{plugin=%q}`, hc.plugin))
		switch {
		case !ok:
			t.Errorf("%s is missing from /health", hc.plugin)
		case hc.opens && (p.Status != "quarantined" || state != 2):
			t.Errorf("%s: /health %+v, moat_breaker_state %v; want quarantined and 2", hc.plugin, p, state)
		case !hc.opens && (p.Status != "serving" || state != 0 || p.Faults != 0):
			t.Errorf("%s: /health %+v, moat_breaker_state %v; want serving, no faults, and 0", hc.plugin, p, state)
		}
	}
	for _, name := range []string{"echo", "kvstore"} {
		if p, _ := rep.plugin(name); p.Status != "serving" || p.Faults != 0 {
			t.Errorf("healthy plugin %s after the attacks: %+v", name, p)
		}
	}
	if rep.Status != "degraded" || !rep.Ready {
		t.Errorf("/health after the attacks: status %q ready %v; want degraded and ready", rep.Status, rep.Ready)
	}
	h.alive(t)
	keys := append(warm.keys, tr.keys...)
	keysAreServed(t, h, keys)
	// wazero keeps the stack a call grew until it overflowed (some 80 MiB)
	// until that plugin's next call, and the breaker keeps recurse from
	// having one: allowed for here, and gone once moat stops.
	settles(t, "after the hostile plugins", base, 10, (32+96)<<20)

	h.shutdown()
	keysAreStored(t, h, nil, keys)
	settles(t, "after moat stopped", before, 5, 32<<20)
}

// TestChaosSleepingPlugin: a plugin that sleeps through WASI (poll_oneoff,
// which the ABI allows) for an hour under a 1s deadline. The deadline check
// moat instruments into a module stops running wasm code but not a blocked
// host function, so moat's WASI sleep ends with the call itself; the call must
// end at its deadline, freeing its instance and its caller.
func TestChaosSleepingPlugin(t *testing.T) {
	h := startHost(t, "plugins:\n  sleeper: {limits: {timeout: 1s}}\n", map[string][]byte{
		"echo":    fixture(t, "sandbox/testdata/echo.wat"),
		"sleeper": fixture(t, "host/testdata/chaos/sleeper.wat"),
	})
	c := h.connect(t)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	text, isErr, err := c.call(ctx, "sleeper_hibernate", map[string]any{})
	if err != nil || !isErr || !strings.Contains(text, "exceeded its 1s deadline") {
		t.Fatalf("an hour's sleep under a 1s deadline: %q isError=%v err=%v; want the call ended at its deadline", text, isErr, err)
	}
	h.alive(t)
}

// TestChaosPluginTheServerCannotServe: a plugin whose schema the go-sdk
// panics on when its tool is added. It used to take the host down at
// start, and a running host when the file appeared in plugins_dir; it
// must be refused at load, both ways, while the rest serve.
func TestChaosPluginTheServerCannotServe(t *testing.T) {
	bad := fixture(t, "host/testdata/chaos/badschema.wat")
	h := startHost(t, "", map[string][]byte{"echo": fixture(t, "sandbox/testdata/echo.wat"), "badschema": bad})
	if rep := h.health(t); rep.FailedToLoad != 1 || len(rep.Plugins) != 1 {
		t.Fatalf("/health with badschema at start: %+v; want echo serving and one plugin refused", rep)
	}
	h.alive(t)

	// The same module dropped into the watched folder of a running moat.
	testplugin.WriteTo(t, bad, filepath.Join(h.dir, "plugins"), "latecomer")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(h.log.tail(), "plugin not loaded: plugin=latecomer") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal of latecomer.wasm in moat's log within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(h.log.tail(), "the MCP server cannot serve it") {
		t.Errorf("the refusal does not say why")
	}
	h.alive(t)
}
