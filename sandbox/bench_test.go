package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/sandbox"
)

// BenchmarkCall measures one call through the pool (acquire, deadline,
// moat_alloc, copy in, moat_call, copy out, release) of an echo tool with a
// 100-byte payload, for a plugin in WAT (the floor: no language runtime)
// and one built with the Go SDK.
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
		for _, deadline := range []bool{true, false} {
			name := pl.name
			if !deadline {
				// What the deadline costs: wazero checks for it at every
				// loop iteration and watches each call from a goroutine.
				name += "/no-deadline"
			}
			b.Run(name, func(b *testing.B) {
				e := newEngine(b)
				if !deadline {
					e.SetUninterruptible()
				}
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
