package sandbox_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// wat compiles testdata/NAME.wat.
func wat(tb testing.TB, name string) []byte {
	return testplugin.WAT(tb, "sandbox/testdata/"+name+".wat")
}

// goPlugin builds the Go plugin in dir (relative to the repository root).
func goPlugin(tb testing.TB, dir string) []byte {
	return testplugin.GoPlugin(tb, dir)
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
