package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// cluster is three moat replicas sharing one Redis behind HAProxy, run
// with the shipped examples/deploy/haproxy.cfg.
type cluster struct {
	lb       string // the MCP URL through HAProxy
	replicas []*server
	admins   []string // each replica's admin URL
}

var adminPortLine = regexp.MustCompile(`serving metrics and health: url=http://127\.0\.0\.1:(\d+)/metrics`)

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// rawCall sends one sessionless tools/call, which may land on any
// replica, and returns the HTTP status, the result's text and isError.
func rawCall(t testing.TB, url, tool, args string) (int, string, bool) {
	t.Helper()
	c := &taskClient{t: t, url: url}
	a := c.do("tools/call", tool, map[string]any{"name": tool, "arguments": json.RawMessage(args)})
	if a.Error != nil {
		return a.Status, a.Error.Message, true
	}
	var res struct {
		Content []struct{ Text string } `json:"content"`
		IsError bool                    `json:"isError"`
	}
	_ = json.Unmarshal(a.Result["content"], &res.Content)
	_ = json.Unmarshal(a.Result["isError"], &res.IsError)
	var texts []string
	for _, c := range res.Content {
		texts = append(texts, c.Text)
	}
	return a.Status, strings.Join(texts, "\n"), res.IsError
}

// scrape reads a replica's /metrics.
func scrape(t testing.TB, admin string) string {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// getStatus sends GET to url, which no rate limit counts, and returns the
// HTTP status (0 if the request failed): HAProxy answers 503 while no
// replica is up.
func getStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func startCluster(t testing.TB, redisURL, memory, extra string) *cluster {
	t.Helper()
	needBuild(t)
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("haproxy is required under CI (Debian: apt-get install haproxy)")
		}
		t.Skip("haproxy not found (Debian: apt-get install haproxy)")
	}
	dir := t.TempDir()
	bundled(t, "memory", dir, "memory")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, fmt.Sprintf("plugins_dir: .\nstore: {redis: {url: %q}}\nplugins:\n  memory:\n    grants: {kv: {}}\n%s%s", redisURL, memory, extra))
	c := &cluster{}
	env := []string{}
	for i := range 3 {
		s := startHTTP(t, "--config", config)
		m := adminPortLine.FindStringSubmatch(s.log.String())
		if m == nil {
			t.Fatalf("replica %d logged no admin address:\n%s", i+1, s.log)
		}
		host := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/mcp")
		env = append(env, fmt.Sprintf("MOAT_%d=%s", i+1, host), fmt.Sprintf("MOAT_%d_ADMIN=%s", i+1, m[1]))
		c.replicas = append(c.replicas, s)
		c.admins = append(c.admins, "http://127.0.0.1:"+m[1])
	}
	lb := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "-db", "-f", filepath.Join("..", "..", "examples", "deploy", "haproxy.cfg"))
	cmd.Env = append(append(os.Environ(), "MOAT_LB_BIND="+lb), env...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy's output:\n%s", out)
		}
	})
	c.lb = "http://" + lb + "/mcp"
	// Ready once HAProxy passes requests to the replicas: a run of
	// requests through it that no 503 answers.
	deadline := time.Now().Add(60 * time.Second)
	for ok := 0; ok < 6; {
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy did not pass calls to the replicas within a minute:\n%s", out)
		}
		if st := getStatus(c.lb); st != 0 && st != http.StatusServiceUnavailable && st != http.StatusBadGateway {
			ok++
		} else {
			ok = 0
			time.Sleep(200 * time.Millisecond)
		}
	}
	return c
}

// A 2025-11-25 client keeps its session through HAProxy for 100 calls;
// with a replica killed under load, clients start new sessions and go
// on, and no write moat acknowledged is lost; sessionless calls land on
// any replica and see the same notes.
func TestReplicasBehindHAProxy(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	// The memory plugin's read-only tools are cached (result cache, L2
	// on the same Redis).
	c := startCluster(t, srv.URL(), "    cache: {ttl: 60s}\n", "")

	client := mcp.NewClient(&mcp.Implementation{Name: "replicas"}, nil)
	connect := func() *mcp.ClientSession {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: c.lb}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatalf("connecting through HAProxy: %v", err)
		}
		return s
	}
	s := connect()
	for i := range 100 {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "memory_remember", Arguments: map[string]any{"key": fmt.Sprintf("s-%d", i), "text": "one session"}})
		if err != nil || res.IsError {
			t.Fatalf("call %d of one session through HAProxy: %v %v", i+1, err, res)
		}
	}
	s.Close()

	// A result one replica computed is served from the shared cache by
	// another: the plugin does not run there.
	if st, text, isErr := rawCall(t, c.replicas[0].url, "memory_recall", `{"key":"s-7"}`); st != http.StatusOK || isErr || !strings.Contains(text, "one session") {
		t.Fatalf("recall through the first replica: %d %q", st, text)
	}
	if st, text, isErr := rawCall(t, c.replicas[2].url, "memory_recall", `{"key":"s-7"}`); st != http.StatusOK || isErr || !strings.Contains(text, "one session") {
		t.Fatalf("recall through the third replica: %d %q", st, text)
	}
	if hits := metricValue(t, scrape(t, c.admins[2]), `moat_tool_cache_total{plugin="memory",result="l2_hit",tool="memory_recall"}`); hits != 1 {
		t.Fatalf("the third replica's L2 hits for memory_recall: %v; want 1", hits)
	}

	// Four clients write under load; one replica is killed midway.
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	killed := make(chan struct{})
	reconnects := 0
	for w := range 4 {
		wg.Go(func() {
			s := connect()
			defer func() { s.Close() }()
			for i := range 60 {
				if i == 20 && w == 0 {
					c.replicas[1].cmd.Process.Kill()
					close(killed)
				}
				key := fmt.Sprintf("w%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "memory_remember", Arguments: map[string]any{"key": key, "text": "under load"}})
				cancel()
				if err == nil && !res.IsError {
					mu.Lock()
					acked = append(acked, key)
					mu.Unlock()
					continue
				}
				// The session's replica is gone (or answered 404 for a
				// session it does not know): start a new one.
				if err != nil && !errors.Is(err, mcp.ErrSessionMissing) {
					t.Logf("writer %d, call %d: %v (starting a new session)", w, i, err)
				}
				s.Close()
				s = connect()
				mu.Lock()
				reconnects++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	<-killed
	if len(acked) < 200 {
		t.Errorf("only %d of 240 writes were acknowledged with one replica of three killed", len(acked))
	}
	t.Logf("%d writes acknowledged, %d new sessions after the kill", len(acked), reconnects)

	// Every acknowledged write is there, read through HAProxy by
	// sessionless calls that land on either replica left.
	for _, key := range acked {
		if st, text, isErr := rawCall(t, c.lb, "memory_recall", fmt.Sprintf(`{"key":%q}`, key)); st != http.StatusOK || isErr || !strings.Contains(text, "under load") {
			t.Fatalf("recall %s after the kill: %d %q; want the acknowledged note", key, st, text)
		}
	}
}

// A global rate limit of 6 admits 6 calls in all across three replicas,
// not 6 each.
func TestReplicasShareAGlobalLimitBehindHAProxy(t *testing.T) {
	srv := redistest.Start(t)
	c := startCluster(t, srv.URL(), "", "rate_limits:\n  global: {rate: 6/h, burst: 6}\n")
	admitted, limited := 0, 0
	for i := range 18 {
		// Six calls straight to each replica, then the same through HAProxy.
		url := c.replicas[i%3].url
		if i >= 12 {
			url = c.lb
		}
		st, _, _ := rawCall(t, url, "memory_list", `{}`)
		switch st {
		case http.StatusOK:
			admitted++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("a call through HAProxy answered %d", st)
		}
	}
	if admitted != 6 || limited != 12 {
		t.Fatalf("of 18 calls spread over three replicas and HAProxy, %d were admitted and %d limited; want 6 and 12: the limit is one for all replicas", admitted, limited)
	}
}

// BenchmarkReplicasBehindHAProxy compares sessionless calls of a kv-backed
// tool (memory_recall, one Redis read) sent to one replica with the same
// sent through HAProxy to three, from parallel clients. On a machine of two
// cores three replicas and HAProxy share the same cores as one replica, so
// this measures what the extra hop and processes cost, not what more
// machines would gain. Run:
// go test -run XXX -bench ReplicasBehindHAProxy -cpu 8 ./cmd/moat/
func BenchmarkReplicasBehindHAProxy(b *testing.B) {
	srv := redistest.Start(b)
	c := startCluster(b, srv.URL(), "", "")
	if st, text, isErr := rawCall(b, c.lb, "memory_remember", `{"key":"k","text":"a note"}`); st != http.StatusOK || isErr {
		b.Fatalf("remember: %d %s", st, text)
	}
	for _, target := range []struct{ name, url string }{{"one-replica", c.replicas[0].url}, {"three-behind-haproxy", c.lb}} {
		b.Run(target.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if st, _, isErr := rawCall(b, target.url, "memory_recall", `{"key":"k"}`); st != http.StatusOK || isErr {
						b.Errorf("recall: %d", st)
						return
					}
				}
			})
		})
	}
}
