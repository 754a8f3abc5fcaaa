package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var adminLine = regexp.MustCompile(`url=(http://\S+)/metrics`)

// adminURL finds where a moat serves its admin endpoints, from its log.
func adminURL(t *testing.T, log *stderrLog) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		log.mu.Lock()
		for _, line := range log.lines {
			if m := adminLine.FindStringSubmatch(line); m != nil {
				log.mu.Unlock()
				return m[1]
			}
		}
		log.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no admin listener in the log:\n%s", log)
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &v)
			return v
		}
	}
	return -1
}

func TestBreakerMetricsAndHealth(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	watPlugin(t, "faulty", dir, "faulty")
	config := filepath.Join(dir, "moat.yaml")
	// open_for is long enough that the call made while the breaker is open
	// finds it open even on a slow machine; the trial after it is awaited.
	writeFile(t, config, "plugins_dir: .\nplugins:\n  faulty:\n    breaker: {failures: 2, open_for: 4s}\n")
	srv := startHTTP(t, "--config", config)
	admin := adminURL(t, srv.log)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	for range 3 {
		if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
			t.Fatal(text(res))
		}
	}
	for range 2 {
		if res := callTool(t, s, "faulty_trap", map[string]any{}); !res.IsError || !strings.Contains(text(res), "trapped") {
			t.Fatalf("trap: %q", text(res))
		}
	}
	res := callTool(t, s, "faulty_ok", map[string]any{})
	if !res.IsError || !strings.Contains(text(res), `plugin "faulty" is quarantined after 2 faults in a row`) || !strings.Contains(text(res), "tried again") {
		t.Fatalf("a call while the breaker is open: isError=%v %q", res.IsError, text(res))
	}
	if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatalf("another plugin while faulty is quarantined: %q", text(res))
	}

	_, metrics := get(t, admin+"/metrics")
	checks := map[string]float64{
		`moat_tool_calls_total{outcome="ok",plugin="time",tool="time_get_current_time"}`: 4,
		`moat_tool_calls_total{outcome="fault:trap",plugin="faulty",tool="faulty_trap"}`: 2,
		`moat_tool_calls_total{outcome="quarantined",plugin="faulty",tool="faulty_ok"}`:  1,
		`moat_plugin_faults_total{kind="trap",plugin="faulty"}`:                          2,
		`moat_breaker_state{plugin="faulty"}`:                                            2,
		`moat_breaker_state{plugin="time"}`:                                              0,
		`moat_plugins_loaded`:                                                            2,
		`moat_requests_total{method="tools/call",outcome="ok"}`:                          7,
	}
	for series, want := range checks {
		if got := metricValue(t, metrics, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, want := range []string{`moat_build_info{goversion="go`, `moat_plugin_instances{plugin="time",state="idle"}`, "moat_tool_call_duration_seconds_bucket", "moat_plugin_queue_wait_seconds_bucket", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	code, body := get(t, admin+"/health")
	var health struct {
		Status  string `json:"status"`
		Plugins []struct {
			Name      string `json:"name"`
			Status    string `json:"status"`
			LastFault string `json:"last_fault"`
			Faults    int    `json:"faults"`
		} `json:"plugins"`
	}
	json.Unmarshal([]byte(body), &health)
	if code != 200 || health.Status != "degraded" {
		t.Fatalf("/health with one plugin quarantined: %d %s", code, body)
	}
	for _, p := range health.Plugins {
		if p.Name == "faulty" && (p.Status != "quarantined" || p.Faults != 2 || !strings.Contains(p.LastFault, "trapped")) {
			t.Errorf("faulty in /health: %+v", p)
		}
	}
	if code, _ := get(t, admin+"/readyz"); code != 200 {
		t.Errorf("/readyz with one plugin quarantined: %d, want 200", code)
	}

	// After open_for, one good trial call closes the breaker; until then
	// calls are refused as quarantined.
	eventually(t, time.Minute, "a call to faulty_ok succeeds once open_for has passed", func() bool {
		res := callTool(t, s, "faulty_ok", map[string]any{})
		if res.IsError && !strings.Contains(text(res), "quarantined") {
			t.Fatalf("the half-open trial: %q", text(res))
		}
		return !res.IsError
	})
	_, metrics = get(t, admin+"/metrics")
	if got := metricValue(t, metrics, `moat_breaker_state{plugin="faulty"}`); got != 0 {
		t.Fatalf("breaker state after a good trial = %v, want 0 (closed)", got)
	}
	if _, body := get(t, admin+"/health"); !strings.Contains(body, `"status": "healthy"`) {
		t.Fatalf("/health after recovery: %s", body)
	}
}

// /readyz: 503 while plugins load, 200 while serving, 503 as soon as a
// drain begins (while the call in flight still finishes).
func TestReadinessThroughStartServeAndDrain(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "slow.wasm"), filepath.Join(dir, "slow.wasm"))
	watPlugin(t, "init_loop", dir, "stuck")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  stuck:\n    limits: {timeout: 2s}\n")

	cmd := exec.Command(moatBin, "serve", "--config", config, "--listen", "127.0.0.1:0")
	cmd.Env = moatEnv(t)
	stderr, _ := cmd.StderrPipe()
	log := &stderrLog{found: make(chan string, 1), want: urlLine}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go log.read(stderr)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	admin := adminURL(t, log)
	if code, body := get(t, admin+"/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Fatalf("/readyz while a plugin's _initialize hangs: %d %q", code, body)
	}
	if code, _ := get(t, admin+"/healthz"); code != 200 {
		t.Fatalf("/healthz while starting: %d", code)
	}
	var url string
	select {
	case url = <-log.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("moat never listened:\n%s", log)
	}
	if code, _ := get(t, admin+"/readyz"); code != 200 {
		t.Fatalf("/readyz while serving: %d", code)
	}
	if _, body := get(t, admin+"/health"); !strings.Contains(body, `"failed_to_load": 1`) || !strings.Contains(body, `"status": "degraded"`) {
		t.Fatalf("/health with a plugin that failed to load: %s", body)
	}

	s := connect(t, &mcp.StreamableClientTransport{Endpoint: url}, "2025-11-25")
	result := make(chan string, 1)
	go func() {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "slow_sleep", Arguments: map[string]any{"ms": 4000}})
		if err != nil {
			result <- err.Error()
			return
		}
		result <- text(res)
	}()
	eventually(t, 30*time.Second, "the slow call is running", func() bool { return inflight(t, admin) == 1 })
	cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, 30*time.Second, "/readyz says draining", func() bool {
		code, body := get(t, admin+"/readyz")
		return code == 503 && strings.Contains(body, "draining")
	})
	if got := <-result; got != "slept 4000ms" {
		t.Fatalf("the call in flight during the drain: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	done <- nil
}

func TestMaxInflightRefusesAtOnce(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), "slow.wasm"), filepath.Join(dir, "slow.wasm"))
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nmax_inflight: 1\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		callTool(t, s, "slow_sleep", map[string]any{"ms": 3000})
	}()
	admin := adminURL(t, srv.log)
	eventually(t, 30*time.Second, "the first call is running", func() bool { return inflight(t, admin) == 1 })
	res := callTool(t, s, "slow_sleep", map[string]any{"ms": 0})
	if !res.IsError || !strings.Contains(text(res), "max_inflight") {
		t.Fatalf("a second call past max_inflight 1: isError=%v %q", res.IsError, text(res))
	}
	wg.Wait()
	_, metrics := get(t, admin+"/metrics")
	if got := metricValue(t, metrics, `moat_rejected_calls_total{reason="max_inflight"}`); got != 1 {
		t.Fatalf("rejections counted: %v", got)
	}
}
