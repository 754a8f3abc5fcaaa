package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// These tests run the built moat binary with the bundled time plugin, and
// talk to it with the go-sdk MCP client, as any MCP client would.

var (
	moatBin    string // the built binary
	pluginsDir string // time.wasm, plus the WAT fixtures when wat2wasm exists
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "moat-e2e-")
	if err != nil {
		panic(err)
	}
	moatBin = filepath.Join(dir, "moat")
	pluginsDir = filepath.Join(dir, "plugins")
	buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	goBin := testplugin.Go()
	if err := os.MkdirAll(pluginsDir, 0o755); err != nil {
		return err
	}
	steps := []*exec.Cmd{
		exec.Command(goBin, "build", "-o", moatBin, "."),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(pluginsDir, "time.wasm"), "../../plugins/time")),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "fetch.wasm"), "../../plugins/fetch")),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "memory.wasm"), "../../plugins/memory")),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "files.wasm"), "../../plugins/files")),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "slow.wasm"), "./testdata/slow")),
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "caps.wasm"), "./testdata/caps")),
		// examples/config/conformance.yaml serves it; TestExampleConfigs checks that file too.
		wasip1(exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "conformance.wasm"), "../../examples/conformance")),
	}
	for _, cmd := range steps {
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", cmd.Args, err, out)
		}
	}
	return nil
}

func wasip1(cmd *exec.Cmd) *exec.Cmd {
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	return cmd
}

func needBuild(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building moat and its plugins: %v", buildErr)
	}
}

// watPlugin compiles sandbox/testdata/NAME.wat into dir as FILE.wasm.
func watPlugin(t *testing.T, name, dir, file string) {
	t.Helper()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/"+name+".wat"), dir, file)
}

// stderrLog collects a moat process's log, and finds lines in it.
type stderrLog struct {
	mu    sync.Mutex
	lines []string
	found chan string
	want  *regexp.Regexp
}

func (l *stderrLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		if l.want != nil {
			if m := l.want.FindStringSubmatch(line); m != nil {
				select {
				case l.found <- m[1]:
				default:
				}
			}
		}
	}
}

func (l *stderrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// server is a moat serving streamable HTTP in a child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	log  *stderrLog
	done chan error
}

var urlLine = regexp.MustCompile(`url=(https?://\S+/mcp)`)

// startHTTP runs moat serve --listen 127.0.0.1:0 with args, and waits until
// it says where it listens.
func startHTTP(t testing.TB, args ...string) *server {
	t.Helper()
	needBuild(t)
	cmd := exec.Command(moatBin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = moatEnv(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: &stderrLog{found: make(chan string, 1), want: urlLine}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.log.read(stderr)
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("moat's log:\n%s", s.log)
		}
	})
	select {
	case s.url = <-s.log.found:
	case err := <-s.done:
		s.done <- err // for the cleanup
		t.Fatalf("moat exited before listening: %v\n%s", err, s.log)
	case <-time.After(60 * time.Second):
		t.Fatalf("moat did not listen within a minute:\n%s", s.log)
	}
	return s
}

// cacheHome is one compilation cache for the whole test binary, so that
// each moat started compiles nothing twice.
var cacheOnce = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "moat-e2e-cache-")
	if err != nil {
		panic(err)
	}
	return dir
})

func cacheHome(t testing.TB) string { return cacheOnce() }

// moatEnv is the environment of a moat the tests start: the shared cache,
// and the admin listener on a free port, so that moats run side by side.
func moatEnv(t testing.TB, extra ...string) []string {
	return append(append(os.Environ(), "XDG_CACHE_HOME="+cacheHome(t), "MOAT_ADMIN_LISTEN=127.0.0.1:0"), extra...)
}

func connect(t *testing.T, transport mcp.Transport, version string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "moat-e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	session, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connecting (%s): %v", version, err)
	}
	t.Cleanup(func() { session.Close() })
	if r := session.InitializeResult(); version != "" && (r == nil || r.ProtocolVersion != version) {
		t.Fatalf("asked for protocol %s; the session speaks %+v", version, r)
	}
	return session
}

func callTool(t *testing.T, s *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// exerciseTimeTools is what a user checks of the bundled plugin, through
// any transport and protocol version.
func exerciseTimeTools(t *testing.T, s *mcp.ClientSession) {
	ctx := context.Background()
	tools, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range tools.Tools {
		byName[tool.Name] = tool
	}
	for _, name := range []string{"time_get_current_time", "time_convert_time"} {
		tool, ok := byName[name]
		if !ok {
			t.Fatalf("tools/list lacks %s; it has %v", name, keys(byName))
		}
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint || tool.OutputSchema == nil || tool.InputSchema == nil {
			t.Errorf("%s: annotations %+v, output schema %v", name, tool.Annotations, tool.OutputSchema)
		}
	}

	res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "Asia/Kolkata"})
	if res.IsError {
		t.Fatalf("get_current_time: %s", text(res))
	}
	var now struct {
		Timezone string `json:"timezone"`
		Datetime string `json:"datetime"`
	}
	remarshal(t, res.StructuredContent, &now)
	at, err := time.Parse(time.RFC3339, now.Datetime)
	if err != nil || now.Timezone != "Asia/Kolkata" || !strings.HasSuffix(now.Datetime, "+05:30") {
		t.Fatalf("get_current_time = %+v (%v)", now, err)
	}
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Fatalf("get_current_time is %v away from now", d)
	}

	res = callTool(t, s, "time_convert_time", map[string]any{"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Kolkata"})
	if res.IsError {
		t.Fatalf("convert_time: %s", text(res))
	}
	var conv struct {
		Target struct {
			Datetime string `json:"datetime"`
		} `json:"target"`
		TimeDifference string `json:"time_difference"`
	}
	remarshal(t, res.StructuredContent, &conv)
	if !strings.Contains(conv.Target.Datetime, "T17:30:00+05:30") || conv.TimeDifference != "+5.5h" {
		t.Fatalf("convert_time 12:00 UTC to Kolkata = %+v", conv)
	}

	res = callTool(t, s, "time_get_current_time", map[string]any{"timezone": 42})
	if !res.IsError || !strings.Contains(text(res), "timezone") {
		t.Fatalf("a number as timezone: isError=%v %q; want a tool error naming the field", res.IsError, text(res))
	}
	res = callTool(t, s, "time_get_current_time", map[string]any{})
	if !res.IsError || !strings.Contains(text(res), "timezone") {
		t.Fatalf("no timezone: isError=%v %q", res.IsError, text(res))
	}
	res = callTool(t, s, "time_get_current_time", map[string]any{"timezone": "Mars/Olympus_Mons"})
	if !res.IsError || !strings.Contains(text(res), "IANA") {
		t.Fatalf("unknown zone: isError=%v %q", res.IsError, text(res))
	}

	_, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "time_no_such_tool", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "time_no_such_tool") {
		t.Fatalf("unknown tool: %v; want a protocol error naming it", err)
	}
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var protocolVersions = []string{"2025-11-25", "2026-07-28"}

func TestStdio(t *testing.T) {
	needBuild(t)
	for _, version := range protocolVersions {
		t.Run(version, func(t *testing.T) {
			cmd := exec.Command(moatBin, "serve", "--plugins", pluginsDir)
			cmd.Env = moatEnv(t)
			log := &stderrLog{}
			stderr, _ := cmd.StderrPipe()
			go log.read(stderr)
			s := connect(t, &mcp.CommandTransport{Command: cmd}, version)
			exerciseTimeTools(t, s)
			if t.Failed() {
				t.Logf("moat's log:\n%s", log)
			}
		})
	}
}

func TestStreamableHTTP(t *testing.T) {
	srv := startHTTP(t, "--plugins", pluginsDir)
	for _, version := range protocolVersions {
		t.Run(version, func(t *testing.T) {
			s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, version)
			exerciseTimeTools(t, s)
		})
	}
}
