package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Plugins and plugins_dir contents that try to hurt the host: a plugin
// that gets a granted secret into the host's own messages, files in
// plugins_dir that are not modules, and a plugin kept busy by one client.

// hostileWasm builds testdata/hostile once for the test binary.
var hostileWasm = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(moatBin), "hostile.wasm")
	cmd := wasip1(exec.Command(testplugin.Go(), "build", "-buildmode=c-shared", "-o", out, "./testdata/hostile"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(err.Error() + "\n" + string(b))
	}
	return out, nil
})

// forgedLine is the log line testdata/hostile tries to plant.
const forgedLine = `2026-01-01T00:00:00.000Z [ERROR] moat: forged line: plugin="time"`

// The secret granted to a plugin never leaves moat, whatever the plugin
// does with it: a bad result that quotes it (an unknown content type, a
// property its outputSchema forbids) is refused with an error the client,
// /health, /metrics, the log and the audit all show without it. /health
// served it in clear.
func TestPluginTextCannotCarryASecretOut(t *testing.T) {
	needBuild(t)
	wasm, err := hostileWasm()
	if err != nil {
		t.Fatalf("building the hostile plugin: %v", err)
	}
	const secret, number = "hk-7Qv2-Zp9x-Lm4w", "918000000"
	dir := t.TempDir()
	copyFile(t, wasm, filepath.Join(dir, "hostile.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	audit := filepath.Join(dir, "audit.jsonl")
	writeFile(t, config, "plugins_dir: .\naudit: {path: "+audit+"}\nbreaker: {failures: 100}\n"+
		"plugins:\n  hostile:\n    grants:\n      config: {TOKEN: "+secret+", NUMBER: \""+number+"\"}\n")
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	for _, c := range []struct{ tool, says string }{
		{"hostile_badtype", "unrecognized content type"},
		{"hostile_badschema", "outputSchema"},
		{"hostile_forge", "unrecognized content type"},
	} {
		got := toolError(t, s, c.tool, map[string]any{})
		if strings.Contains(got, secret) || !strings.Contains(got, c.says) {
			t.Errorf("%s: the client sees %q; want the refusal (%q) without the secret", c.tool, got, c.says)
		}
		if c.tool != "hostile_forge" && !strings.Contains(got, "[redacted]") {
			t.Errorf("%s: the client sees %q; want the secret shown as [redacted]", c.tool, got)
		}
		// /health reports each as the last fault.
		_, body := get(t, admin+"/health")
		var health struct {
			Plugins []struct {
				Name      string `json:"name"`
				LastFault string `json:"last_fault"`
			} `json:"plugins"`
		}
		if err := json.Unmarshal([]byte(body), &health); err != nil {
			t.Fatalf("/health is not JSON (%v): %s", err, body)
		}
		if len(health.Plugins) != 1 || !strings.Contains(health.Plugins[0].LastFault, c.says) {
			t.Errorf("/health after %s: %s; want its refusal as the last fault", c.tool, body)
		}
		if strings.Contains(body, secret) {
			t.Errorf("/health after %s shows the secret:\n%s", c.tool, body)
		}
	}

	// A numeric secret the plugin writes as 9.18e+08: the MCP library
	// writes the number again in its shortest form, the secret.
	res := callTool(t, s, "hostile_number", map[string]any{})
	sc, _ := json.Marshal(res.StructuredContent)
	if strings.Contains(string(sc), number) || !strings.Contains(string(sc), "[redacted]") {
		t.Errorf("hostile_number: the client receives structuredContent %s; want the number redacted", sc)
	}

	_, metrics := get(t, admin+"/metrics")
	if strings.Contains(metrics, secret) {
		t.Errorf("/metrics shows the secret")
	}
	if got := metricValue(t, metrics, `moat_plugin_faults_total{kind="bad_output",plugin="hostile"}`); got != 3 {
		t.Errorf("bad_output faults counted: %v, want 3", got)
	}
	stop(t, srv) // flushes the audit log
	if log := srv.log.String(); strings.Contains(log, secret) {
		t.Errorf("the log shows the secret:\n%s", log)
	}
	for _, line := range strings.Split(srv.log.String(), "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " |"), forgedLine) {
			t.Errorf("a plugin's content type forged a log line: %q", line)
		}
	}
	records, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(records), "hostile_badtype") {
		t.Errorf("the audit log lacks the calls:\n%s", records)
	}
	if strings.Contains(string(records), secret) {
		t.Errorf("the audit log shows the secret:\n%s", records)
	}
}

// A value granted by a configuration that SIGHUP loaded is a secret like
// one granted at start: the plugin that gets it cannot show it to the
// client or /health. Only the values known at start were scrubbed.
func TestSecretGrantedOnReloadIsScrubbed(t *testing.T) {
	needBuild(t)
	wasm, err := hostileWasm()
	if err != nil {
		t.Fatalf("building the hostile plugin: %v", err)
	}
	const first, second = "hk-first-Aq81-Wz", "hk-second-Pc52-Rt"
	dir := t.TempDir()
	copyFile(t, wasm, filepath.Join(dir, "hostile.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	grant := func(v string) string {
		return "plugins_dir: .\nplugins:\n  hostile:\n    grants:\n      config: {TOKEN: " + v + "}\n"
	}
	writeFile(t, config, grant(first))
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	if got := toolError(t, s, "hostile_badtype", map[string]any{}); strings.Contains(got, first) {
		t.Fatalf("the secret granted at start reaches the client: %q", got)
	}

	writeFile(t, config, grant(second))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, srv, "plugin replaced: plugin=hostile")
	got := toolError(t, s, "hostile_badtype", map[string]any{})
	if strings.Contains(got, second) || !strings.Contains(got, "[redacted]") {
		t.Errorf("the secret granted on reload: the client sees %q; want it as [redacted]", got)
	}
	if _, body := get(t, admin+"/health"); strings.Contains(body, second) {
		t.Errorf("/health shows the secret granted on reload:\n%s", body)
	}
	// The plugin logs the secret: the host's log scrubs it too.
	if res := callTool(t, s, "hostile_say", map[string]any{}); res.IsError || text(res) != "said" {
		t.Fatalf("hostile_say: isError=%v %q", res.IsError, text(res))
	}
	waitLog(t, srv, "the token is [redacted]")
	stop(t, srv)
	if log := srv.log.String(); strings.Contains(log, second) || strings.Contains(log, first) {
		t.Errorf("the log shows a secret:\n%s", log)
	}
}

// A named pipe called x.wasm and a link to /dev/zero in plugins_dir, beside
// a good plugin: the pipe blocked the loader for ever (moat never became
// ready, and neither SIGHUP nor SIGTERM was acted on) and the link was read
// until memory ran out. Now moat serves the good plugin, names the bad
// files, and reloads and stops as usual.
func TestBadFilesInPluginsDirStallNothing(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	if err := syscall.Mkfifo(filepath.Join(dir, "x.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.wasm")); err != nil {
		t.Fatal(err)
	}
	srv := startHTTP(t, "--plugins", dir)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	if got := toolText(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); !strings.Contains(got, "UTC") {
		t.Fatalf("the good plugin: %q", got)
	}
	log := srv.log.String()
	for _, want := range []string{"x.wasm is a named pipe (FIFO), not a regular file", "zero.wasm is a character device, not a regular file", "move it out of plugins_dir"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	_, body := get(t, admin+"/health")
	var health struct {
		Status       string `json:"status"`
		FailedToLoad int    `json:"failed_to_load"`
	}
	json.Unmarshal([]byte(body), &health)
	if health.Status != "degraded" || health.FailedToLoad != 2 {
		t.Errorf("/health: %s; want degraded with 2 failed to load", body)
	}

	// A plugin added to the watched folder is loaded past the bad files.
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "clock.wasm"))
	waitLog(t, srv, `plugin loaded: plugin=clock`)
	if got := toolText(t, s, "clock_get_current_time", map[string]any{"timezone": "UTC"}); !strings.Contains(got, "UTC") {
		t.Fatalf("the plugin added while serving: %q", got)
	}
	// SIGHUP rescans every plugin in name order, one rescan at a time:
	// zero.wasm, the last, named after the SIGHUP line means the rescan
	// went past the pipe.
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !namedAfter(srv.log, "reload: re-reading", "zero.wasm is a character device"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the rescan on SIGHUP never reached zero.wasm:\n%s", srv.log)
		}
	}

	// SIGTERM drains and exits.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("moat exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("moat did not exit within 30s of SIGTERM:\n%s", srv.log)
	}
}

// namedAfter reports whether a line of the log holds second after a line
// that holds first.
func namedAfter(log *stderrLog, first, second string) bool {
	log.mu.Lock()
	defer log.mu.Unlock()
	seen := false
	for _, line := range log.lines {
		if seen && strings.Contains(line, second) {
			return true
		}
		seen = seen || strings.Contains(line, first)
	}
	return false
}

// waitLog waits until moat's log holds want.
func waitLog(t *testing.T, srv *server, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(srv.log.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, srv.log)
		}
	}
}

// One client holding a plugin's only instance makes the others' calls
// wait out queue_timeout and come back busy; that is load, not a fault of
// the plugin, so the breaker stays closed and the plugin keeps serving
// everyone once the instance is free. Busy answers used to open the
// breaker, so one client could get a plugin quarantined for all.
func TestBusyDoesNotQuarantine(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "slow.wasm"), filepath.Join(dir, "slow.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  slow:\n    limits: {instances: 1, queue_timeout: 50ms, timeout: 120s}\n    breaker: {failures: 2}\n")
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	// The hog holds the one instance until it is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hog := make(chan error, 1)
	go func() {
		_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "slow_sleep", Arguments: map[string]any{"ms": 100000}})
		hog <- err
	}()
	busySeries := `moat_plugin_instances{plugin="slow",state="busy"}`
	waitMetric(t, admin, busySeries, 1)

	other := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	for i := range 5 {
		got := toolError(t, other, "slow_sleep", map[string]any{"ms": 1})
		if !strings.Contains(got, "busy") || !strings.Contains(got, "limits.instances") || !strings.Contains(got, "limits.queue_timeout") {
			t.Fatalf("call %d while the instance is held: %q; want busy, naming limits.instances and limits.queue_timeout", i+1, got)
		}
	}
	_, body := get(t, admin+"/health")
	if !strings.Contains(body, `"breaker": "closed"`) || !strings.Contains(body, `"status": "serving"`) {
		t.Fatalf("/health after 5 busy answers with breaker.failures 2: %s; want the breaker closed", body)
	}
	_, metrics := get(t, admin+"/metrics")
	if got := metricValue(t, metrics, `moat_breaker_state{plugin="slow"}`); got != 0 {
		t.Errorf("moat_breaker_state = %v after busy answers; want 0 (closed)", got)
	}

	cancel()
	if err := <-hog; !errors.Is(err, context.Canceled) {
		t.Fatalf("the hog after cancelling: %v; want context.Canceled", err)
	}
	waitMetric(t, admin, busySeries, 0)
	if got := toolText(t, other, "slow_sleep", map[string]any{"ms": 1}); got != "slept 1ms" {
		t.Fatalf("a call once the instance is free: %q", got)
	}
}

// waitMetric waits until the series reads want on /metrics.
func waitMetric(t *testing.T, admin, series string, want float64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, metrics := get(t, admin+"/metrics")
		if metricValue(t, metrics, series) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never read %v:\n%s", series, want, metrics)
		}
	}
}
