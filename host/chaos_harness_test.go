package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The chaos suite's harness: a real moat (host.Serve) in this process, so
// that its goroutines and heap can be measured, on 127.0.0.1:0 with its
// admin listener, driven by the go-sdk client over real HTTP.

// chaosCache is one compilation cache for the whole test binary, so that a
// module is compiled once however many hosts load it.
var chaosCache = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "moat-chaos-cache-")
	if err != nil {
		panic(err)
	}
	return dir
})

// fixture is a WAT file of the repository, compiled at test time.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	return testplugin.WAT(t, path)
}

// chaosHost is a running moat.
type chaosHost struct {
	t       *testing.T
	dir     string // the plugins_dir is dir/plugins, data_dir dir/data
	mcpURL  string
	admin   string
	log     *logSink
	stop    context.CancelFunc
	done    chan error
	stopped bool
}

// startHost writes plugins (name → module) into a fresh plugins_dir and
// serves them with the configuration yaml, to which the listeners, the
// folders and the log level are added.
func startHost(t *testing.T, yaml string, plugins map[string][]byte) *chaosHost {
	t.Helper()
	return startHostReloading(t, yaml, plugins, nil, nil)
}

// chaosDoc is the configuration the harness serves: yaml with the
// listeners, the folders and the shutdown timeout added.
func chaosDoc(yaml string) string {
	return fmt.Sprintf("listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nplugins_dir: plugins\ndata_dir: data\ncache_dir: %s\nshutdown_timeout: 5s\n%s", chaosCache(), yaml)
}

// startHostReloading is startHost whose moat re-reads its configuration,
// through reload (given the folder the first one was parsed in), each time
// reloads receives, as SIGHUP makes moat serve do.
func startHostReloading(t *testing.T, yaml string, plugins map[string][]byte, reload func(dir string) (*config.Config, error), reloads <-chan struct{}) *chaosHost {
	t.Helper()
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, wasm := range plugins {
		testplugin.WriteTo(t, wasm, pdir, name)
	}
	doc := chaosDoc(yaml)
	cfg, err := config.Parse([]byte(doc), "chaos test configuration", dir)
	if err != nil {
		t.Fatalf("the test's configuration: %v\n%s", err, doc)
	}
	h := &chaosHost{t: t, dir: dir, log: newLogSink(), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	ready := make(chan net.Addr, 1)
	admin := make(chan net.Addr, 1)
	log := hclog.New(&hclog.LoggerOptions{Name: "moat", Level: hclog.Info, Output: h.log})
	go func() {
		var load func() (*config.Config, error)
		if reload != nil {
			load = func() (*config.Config, error) { return reload(dir) }
		}
		h.done <- host.Serve(ctx, cfg, host.ServeOptions{
			Log:        log,
			Reload:     load,
			Reloads:    reloads,
			Ready:      func(a net.Addr) { ready <- a },
			AdminReady: func(a net.Addr) { admin <- a },
		})
	}()
	t.Cleanup(func() {
		h.shutdown()
		if t.Failed() {
			t.Logf("the last lines of moat's log:\n%s", h.log.tail())
		}
	})
	select {
	case a := <-admin:
		h.admin = "http://" + a.String()
	case err := <-h.done:
		t.Fatalf("moat stopped before its admin listener was up: %v\n%s", err, h.log.tail())
	}
	select {
	case a := <-ready:
		h.mcpURL = "http://" + a.String() + "/mcp"
	case err := <-h.done:
		t.Fatalf("moat stopped before it listened: %v\n%s", err, h.log.tail())
	case <-time.After(3 * time.Minute):
		t.Fatalf("moat did not listen within 3 minutes:\n%s", h.log.tail())
	}
	return h
}

// shutdown stops moat as SIGTERM would, and checks it returns cleanly.
func (h *chaosHost) shutdown() {
	if h.stopped {
		return
	}
	h.stopped = true
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("moat returned an error from its shutdown: %v", err)
		}
	case <-time.After(time.Minute):
		h.t.Errorf("moat did not stop within a minute of being told to")
	}
}

// logSink is moat's log: it counts the bytes written, keeps the last lines
// for a failing test, and counts lines that carry a marker.
type logSink struct {
	mu    sync.Mutex
	bytes atomic.Int64
	lines []string
	next  int
	// replaced and frontReloads count "plugin replaced" and "front door
	// reloaded" lines, which reload tests wait on.
	replaced, frontReloads atomic.Int64
}

const logTail = 60

func newLogSink() *logSink { return &logSink{lines: make([]string, 0, logTail)} }

func (l *logSink) Write(p []byte) (int, error) {
	l.bytes.Add(int64(len(p)))
	line := string(p)
	if strings.Contains(line, "plugin replaced") {
		l.replaced.Add(1)
	}
	if strings.Contains(line, "front door reloaded") {
		l.frontReloads.Add(1)
	}
	if len(line) > 400 {
		line = line[:400] + fmt.Sprintf("... (%d bytes)", len(p))
	}
	l.mu.Lock()
	if len(l.lines) < logTail {
		l.lines = append(l.lines, line)
	} else {
		l.lines[l.next] = line
		l.next = (l.next + 1) % logTail
	}
	l.mu.Unlock()
	return len(p), nil
}

func (l *logSink) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(append(append([]string(nil), l.lines[l.next:]...), l.lines[:l.next]...), "")
}

// client is one MCP client with a connection pool of its own, so that its
// connections can be counted, cut, and closed.
type client struct {
	session   *mcp.ClientSession
	transport *http.Transport
	dialer    *trackingDialer
	closed    sync.Once
}

// trackingDialer remembers the connections a client opened, so a test can
// cut them as a crashing client would.
type trackingDialer struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (d *trackingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		c.Close()
		return nil, errors.New("this client has vanished")
	}
	d.conns = append(d.conns, c)
	return c, nil
}

// cut closes every connection the client opened and refuses new ones,
// without a word to the server: what a client that crashes or loses its
// network does.
func (d *trackingDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

func connectClient(ctx context.Context, url string) (*client, error) {
	d := &trackingDialer{}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	c := mcp.NewClient(&mcp.Implementation{Name: "moat-chaos", Version: "1"}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: tr}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	return &client{session: s, transport: tr, dialer: d}, nil
}

func (h *chaosHost) connect(t *testing.T) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := connectClient(ctx, h.mcpURL)
	if err != nil {
		t.Fatalf("connecting to moat: %v", err)
	}
	t.Cleanup(c.close)
	return c
}

// close ends the session as a well-behaved client does, and drops the
// client's idle connections.
func (c *client) close() {
	c.closed.Do(func() {
		c.session.Close()
		c.transport.CloseIdleConnections()
	})
}

// call calls a tool and returns its text, whether it was a tool error, and
// an error for anything else (a protocol error, a broken connection).
func (c *client) call(ctx context.Context, tool string, args map[string]any) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.session.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", false, err
	}
	var parts []string
	for _, content := range res.Content {
		if tc, ok := content.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), res.IsError, nil
}

// get fetches an admin endpoint.
func (h *chaosHost) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(h.admin + path)
	if err != nil {
		t.Fatalf("GET %s: %v (moat's admin listener is gone)", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric reads one series from /metrics; -1 when it is absent.
func (h *chaosHost) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := h.get(t, "/metrics")
	return metricIn(body, series)
}

func metricIn(exposition, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// pluginHealth is one plugin in /health.
type pluginHealth struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Breaker   string `json:"breaker"`
	Faults    int    `json:"faults"`
	LastFault string `json:"last_fault"`
}

type healthReport struct {
	Status       string         `json:"status"`
	Ready        bool           `json:"ready"`
	Plugins      []pluginHealth `json:"plugins"`
	FailedToLoad int            `json:"failed_to_load"`
}

func (h *chaosHost) health(t *testing.T) healthReport {
	t.Helper()
	_, body := h.get(t, "/health")
	var rep healthReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/health is not JSON: %v\n%s", err, body)
	}
	return rep
}

func (r healthReport) plugin(name string) (pluginHealth, bool) {
	for _, p := range r.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return pluginHealth{}, false
}

// alive checks what a liveness probe and an operator would: /healthz
// answers, /readyz says ready, and a healthy tool answers over MCP.
func (h *chaosHost) alive(t *testing.T) {
	t.Helper()
	if code, body := h.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d %q: moat is not alive", code, body)
	}
	if code, body := h.get(t, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q: moat is not ready", code, body)
	}
	c := h.connect(t)
	defer c.close()
	text, isErr, err := c.call(context.Background(), "echo_echo", map[string]any{"text": "still there"})
	if err != nil || isErr || text != "still there" {
		t.Fatalf("a healthy call after the chaos: %q isError=%v err=%v", text, isErr, err)
	}
}

// footprint is what the process holds: goroutines, and the heap in use
// after a collection.
type footprint struct {
	goroutines int
	heap       uint64
}

func measure() footprint {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return footprint{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc}
}

func (f footprint) String() string {
	return fmt.Sprintf("%d goroutines, %.1f MiB of heap", f.goroutines, float64(f.heap)/(1<<20))
}

// settles waits until the process is back within tolerance of base: as
// many goroutines (give or take slack), and no more heap than base plus
// heapSlack. Connections and sessions wind down in their own time, so it
// polls, for at most 30s, and fails with what it saw last.
func settles(t *testing.T, what string, base footprint, slack int, heapSlack uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var now footprint
	for {
		now = measure()
		if now.goroutines <= base.goroutines+slack && now.heap <= base.heap+heapSlack {
			t.Logf("%s: back to %v (baseline %v)", what, now, base)
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: still %v 30s later, against a baseline of %v (allowed: %d more goroutines, %d MiB more heap); the goroutines, by where they started:\n%s",
		what, now, base, slack, heapSlack>>20, goroutinesByOrigin())
}

// goroutinesByOrigin counts the live goroutines by the function that
// started them and the one they wait in, the most first.
func goroutinesByOrigin() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(g), "\n")
		if len(lines) < 2 {
			continue
		}
		top := strings.TrimSpace(lines[1])
		if i := strings.IndexByte(top, '('); i > 0 {
			top = top[:i]
		}
		origin := "(main)"
		for _, l := range lines {
			if o, ok := strings.CutPrefix(l, "created by "); ok {
				origin, _, _ = strings.Cut(o, " in goroutine ")
			}
		}
		counts[origin+"  waiting in  "+top]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%5d  %s\n", counts[k], k)
	}
	return b.String()
}
