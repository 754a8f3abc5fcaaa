package extism_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// request is the tools/call both hosts are handed: moat's plugin finds the
// text in it and answers with a tool result; Extism's answers with it
// whole, which is less work.
var request = []byte(`{"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("a", 100) + `"}}}`)

// BenchmarkEcho is one warm call of an echo plugin through each host:
//
//   - moat: sandbox.Plugin.Call, the deadline enforced as moat always does
//     (its default limits: 10s, 64MiB, four instances);
//   - extism: Plugin.Call on one plugin instance, first as Extism runs it
//     by default (no timeout: wazero's close-on-context-done is off, so a
//     plugin that loops holds its goroutine for good), then with the
//     manifest's timeout set, which turns it on as moat has it.
//
// Each in hand-written WebAssembly text (the floor) and in Go.
func BenchmarkEcho(b *testing.B) {
	ctx := context.Background()
	moatWasm := map[string][]byte{
		"wat": wat2wasm(b, "../../sandbox/testdata/echo.wat"),
		"go":  goPlugin(b, "../..", "./sandbox/testdata/echo-go"),
	}
	extismWasm := map[string][]byte{
		"wat": wat2wasm(b, "testdata/echo.wat"),
		"go":  goPlugin(b, ".", "./testdata/echo-go"),
	}
	for _, lang := range []string{"wat", "go"} {
		b.Run("moat/"+lang, func(b *testing.B) {
			e, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			p, err := e.Load(ctx, sandbox.Spec{Name: "echo", Wasm: moatWasm[lang]})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			want := []byte(strings.Repeat("a", 100))
			if out, err := p.Call(ctx, request); err != nil || !bytes.Contains(out, want) {
				b.Fatalf("moat echo: %s %v", out, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Call(ctx, request); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, timeout := range []uint64{0, 10_000} {
			name := "extism/" + lang
			if timeout > 0 {
				name += "/timeout"
			}
			b.Run(name, func(b *testing.B) {
				m := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: extismWasm[lang]}}, Timeout: timeout}
				p, err := extism.NewPlugin(ctx, m, extism.PluginConfig{EnableWasi: true}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(ctx)
				if rc, out, err := p.Call("echo", request); err != nil || rc != 0 || !bytes.Equal(out, request) {
					b.Fatalf("extism echo: rc %d, %s, %v", rc, out, err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := p.Call("echo", request); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func wat2wasm(tb testing.TB, path string) []byte {
	tb.Helper()
	tool := testplugin.RequireTool(tb, "wat2wasm", "apt-get install wabt")
	out := filepath.Join(tb.TempDir(), "echo.wasm")
	if msg, err := exec.Command(tool, "--debug-names", path, "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm %s: %v\n%s", path, err, msg)
	}
	return readFile(tb, out)
}

// goPlugin builds the Go package pkg of the module at dir as a WASI
// reactor.
func goPlugin(tb testing.TB, dir, pkg string) []byte {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "echo.wasm")
	cmd := exec.Command(testplugin.Go(), "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return readFile(tb, out)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
