package sandbox_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/sandbox"
)

// checks are the ways of stopping a call at its deadline the benchmarks
// compare: the instrumented check moat uses, wazero's close-on-context-done
// it replaced, and none at all (the floor; a looping plugin runs forever).
var checks = []struct {
	suffix string
	set    func(*sandbox.Engine)
}{
	{"", func(*sandbox.Engine) {}},
	{"/wazero-check", (*sandbox.Engine).SetWazeroCheck},
	{"/no-deadline", (*sandbox.Engine).SetUninterruptible},
}

// BenchmarkCall measures one call through the pool (acquire, deadline,
// moat_alloc, copy in, moat_call, copy out, release) of an echo tool with a
// 100-byte payload, for a plugin in WAT (the floor: no language runtime)
// and one built with the Go SDK, under each deadline check.
func BenchmarkCall(b *testing.B) {
	payload := strings.Repeat("a", 100)
	request := toolCall("echo", `{"text":"`+payload+`"}`)
	plugins := []struct {
		name string
		wasm func(testing.TB) []byte
	}{
		{"wat", func(tb testing.TB) []byte { return wat(tb, "echo") }},
		{"go", func(tb testing.TB) []byte { return goPlugin(tb, "sandbox/testdata/echo-go") }},
	}
	for _, pl := range plugins {
		for _, check := range checks {
			b.Run(pl.name+check.suffix, func(b *testing.B) {
				e := newEngine(b)
				check.set(e)
				p := load(b, e, sandbox.Spec{Name: "echo", Wasm: pl.wasm(b)})
				ctx := context.Background()
				out, err := p.Call(ctx, request)
				if err != nil || !strings.Contains(string(out), payload) {
					b.Fatalf("echo: %s %v", out, err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := p.Call(ctx, request); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCallParallel is BenchmarkCall from GOMAXPROCS goroutines at once
// over a pool of four instances.
func BenchmarkCallParallel(b *testing.B) {
	request := toolCall("echo", `{"text":"`+strings.Repeat("a", 100)+`"}`)
	e := newEngine(b)
	p := load(b, e, sandbox.Spec{Name: "echo", Wasm: wat(b, "echo")})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Call(context.Background(), request); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// iterations is how many loop iterations endless's iterate tool runs.
const iterations = 10_000_000

// BenchmarkLoopIteration measures a tight loop in WAT under each check;
// ns/iter is the time of one iteration, check included.
func BenchmarkLoopIteration(b *testing.B) {
	request := toolCall("iterate", `{}`)
	for _, check := range checks {
		b.Run("wat"+check.suffix, func(b *testing.B) {
			e := newEngine(b)
			check.set(e)
			p := load(b, e, sandbox.Spec{Name: "endless", Wasm: wat(b, "endless")})
			ctx := context.Background()
			for b.Loop() {
				if _, err := p.Call(ctx, request); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/iterations, "ns/iter")
		})
	}
}

// BenchmarkOvershoot reports how long after its deadline a call that runs
// past it returns: a loop and a call tree without loops, each with a 20ms
// deadline. p50 and p99 of (end - deadline) are reported; ns/op is the
// whole call.
func BenchmarkOvershoot(b *testing.B) {
	const timeout = 20 * time.Millisecond
	for _, tool := range []string{"loop", "tree"} {
		b.Run(tool, func(b *testing.B) {
			p := load(b, newEngine(b), sandbox.Spec{Name: "endless", Wasm: wat(b, "endless"),
				Limits: sandbox.Limits{Timeout: timeout}})
			request := toolCall(tool, `{}`)
			var over []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := p.Call(context.Background(), request); err == nil {
					b.Fatalf("%s returned before its deadline", tool)
				}
				over = append(over, time.Since(start)-timeout)
			}
			slices.Sort(over)
			b.ReportMetric(float64(over[len(over)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(over[len(over)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
