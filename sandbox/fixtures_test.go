package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox"
)

// The fixtures are built at test time, from WAT by wabt's wat2wasm and from
// Go by the go command, so that what is tested is what the sources say.

var (
	buildMu sync.Mutex
	built   = map[string][]byte{}
)

// requireTool returns the path of a command the tests need. Under CI it must
// exist; elsewhere a missing tool skips the test with how to install it.
func requireTool(tb testing.TB, name, install string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is required under CI: %s", name, install)
		}
		tb.Skipf("%s not found: %s", name, install)
	}
	return path
}

// wat compiles testdata/NAME.wat.
func wat(tb testing.TB, name string) []byte {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built["wat:"+name]; ok {
		return b
	}
	tool := requireTool(tb, "wat2wasm", "apt-get install wabt")
	out := filepath.Join(tb.TempDir(), name+".wasm")
	cmd := exec.Command(tool, "--debug-names", filepath.Join("testdata", name+".wat"), "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm %s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	built["wat:"+name] = b
	return b
}

// goPlugin builds the Go plugin in dir (relative to the repository root)
// as a WASI reactor.
func goPlugin(tb testing.TB, dir string) []byte {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built["go:"+dir]; ok {
		return b
	}
	out := filepath.Join(tb.TempDir(), filepath.Base(dir)+".wasm")
	cmd := exec.Command(goCommand(), "build", "-buildmode=c-shared", "-o", out, "./"+dir)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", dir, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	built["go:"+dir] = b
	return b
}

// recordingHost keeps what plugins log, for tests to check.
type recordingHost struct {
	mu    sync.Mutex
	logs  []string
	lines []string
}

func (h *recordingHost) Log(_ context.Context, plugin string, level abi.LogLevel, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, plugin+" "+level.String()+" "+msg)
}

func (h *recordingHost) Output(plugin, stream, line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, plugin+" "+stream+" "+line)
}

func (h *recordingHost) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(append(append([]string{}, h.logs...), h.lines...), "\n")
}

func newEngine(tb testing.TB) *sandbox.Engine {
	tb.Helper()
	e, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: filepath.Join(tb.TempDir(), "cache")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func load(tb testing.TB, e *sandbox.Engine, spec sandbox.Spec) *sandbox.Plugin {
	tb.Helper()
	p, err := e.Load(context.Background(), spec)
	if err != nil {
		tb.Fatalf("loading %s: %v", spec.Name, err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// toolCall is the ABI request for a tools/call of tool with args.
func toolCall(tool, args string) []byte {
	return []byte(`{"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`)
}

// goCommand is the go command that runs these tests, to build plugins with.
func goCommand() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	return "go"
}
