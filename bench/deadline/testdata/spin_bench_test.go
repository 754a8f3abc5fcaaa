package sandbox_test

// This file is not built where it lies: make bench lays it into ./sandbox
// with go test -overlay (bench/deadline/overlay.json), because the switch
// that turns the deadline off, Engine.SetUninterruptible, exists only in
// the sandbox package's own tests.

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
// (bench/plugins/spin) with the per-call deadline enforced, as moat always
// runs, and without it, to show what wazero's close-on-context-done costs
// a plugin that loops: it checks at every loop iteration.
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
	for _, deadline := range []bool{true, false} {
		name := "deadline"
		if !deadline {
			name = "no-deadline"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b)
			if !deadline {
				e.SetUninterruptible()
			}
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
