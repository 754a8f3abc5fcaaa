package sandbox_test

// This file is not built where it lies: make bench lays it into ./sandbox
// with go test -overlay (bench/deadline/overlay.json), because the
// switches between deadline checks, Engine.SetWazeroCheck and
// Engine.SetUninterruptible, exist only in the sandbox package's own
// tests.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// spinRounds is how many loop iterations one call of spin runs.
const spinRounds = 100_000

// BenchmarkSpin measures one call of a CPU-bound Go plugin
// (bench/plugins/spin) with the per-call deadline enforced by moat's
// instrumented check, as moat runs, by wazero's close-on-context-done (which
// calls into Go at every loop iteration), and with no check at all.
func BenchmarkSpin(b *testing.B) {
	root := testplugin.Root(b)
	out := filepath.Join(b.TempDir(), "spin.wasm")
	cmd := exec.Command(testplugin.Go(), "build", "-buildmode=c-shared", "-o", out, "./plugins/spin")
	cmd.Dir = filepath.Join(root, "bench")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building bench/plugins/spin: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	request := []byte(`{"method":"tools/call","params":{"name":"spin","arguments":{"rounds":"` + strconv.Itoa(spinRounds) + `"}}}`)
	for _, check := range []struct {
		name string
		set  func(*sandbox.Engine)
	}{
		{"deadline", func(*sandbox.Engine) {}},
		{"wazero-check", (*sandbox.Engine).SetWazeroCheck},
		{"no-deadline", (*sandbox.Engine).SetUninterruptible},
	} {
		b.Run(check.name, func(b *testing.B) {
			e := newEngine(b)
			check.set(e)
			p := load(b, e, sandbox.Spec{Name: "spin", Wasm: wasm})
			ctx := context.Background()
			if out, err := p.Call(ctx, request); err != nil {
				b.Fatalf("spin: %s %v", out, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Call(ctx, request); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
