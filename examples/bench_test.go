package examples_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// BenchmarkHello builds the hello plugin of every language as its test does
// and measures it through the sandbox:
//
//   - bytes: the size of the .wasm file;
//   - compile-ms: Plugin.CompileTime of a Load by an engine with an empty,
//     in-memory cache (the median of three fresh engines);
//   - instantiate-µs: what a call costs more when it must first make a
//     fresh instance (wazero's instantiation and the plugin's _initialize):
//     the median of 11 first calls after the instance was retired, less
//     the median of 51 warm calls;
//   - load-ms: a Load whose compiled code is already in the engine's cache,
//     which is what a start with a warm cache costs: decoding and checking
//     the module, a new runtime, the first instance, moat_abi_version and
//     moat_describe (the median of five);
//   - mem-KiB: Stats().MemoryBytes right after Load, with its one idle
//     instance;
//   - ns/op and allocs/op: one warm call of greet {"name":"Ada"} through
//     Plugin.Call, the deadline enforced as moat always does.
//
// Each sub-benchmark skips when its toolchain is missing (and fails under
// CI, like the tests).
func BenchmarkHello(b *testing.B) {
	langs := []struct {
		name string
		wasm func(testing.TB) []byte
	}{
		{"go", func(tb testing.TB) []byte { return testplugin.GoPlugin(tb, "examples/go/hello") }},
		{"c", func(tb testing.TB) []byte { return readFile(tb, buildCHello(tb)) }},
		{"rust", func(tb testing.TB) []byte { return readFile(tb, buildRustHello(tb)) }},
		{"assemblyscript", buildASHello},
		{"wat", func(tb testing.TB) []byte { return testplugin.WAT(tb, "examples/wat/hello/hello.wat") }},
	}
	for _, lang := range langs {
		b.Run(lang.name, func(b *testing.B) {
			benchHello(b, lang.wasm(b))
		})
	}
}

func benchHello(b *testing.B, wasm []byte) {
	ctx := context.Background()
	spec := sandbox.Spec{Name: "hello", Wasm: wasm}

	compiles := make([]time.Duration, 3)
	for i := range compiles {
		e := newEngine(b)
		p := loadHello(b, e, spec)
		compiles[i] = p.CompileTime()
		p.Close(ctx)
		e.Close(ctx)
	}

	e := newEngine(b)
	defer e.Close(ctx)
	loadHello(b, e, spec).Close(ctx) // puts the compiled code in e's cache
	loads := make([]time.Duration, 5)
	for i := range loads {
		start := time.Now()
		p := loadHello(b, e, spec)
		loads[i] = time.Since(start)
		p.Close(ctx)
	}

	p := loadHello(b, e, spec)
	defer p.Close(ctx)
	stats := p.Stats()
	if stats.Instances != 1 {
		b.Fatalf("%d instances after Load, want 1", stats.Instances)
	}

	request := []byte(`{"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada"}}}`)
	const want = `{"content":[{"type":"text","text":"Hello, Ada!"}]}`
	greet := func() time.Duration {
		start := time.Now()
		out, err := p.Call(ctx, request)
		d := time.Since(start)
		if err != nil || string(out) != want {
			b.Fatalf("greet: %s %v; want %s", out, err, want)
		}
		return d
	}
	warm := make([]time.Duration, 51)
	for i := range warm {
		warm[i] = greet()
	}
	// A request longer than the memory ceiling faults in moat_alloc, which
	// retires the instance, so the next call must make a fresh one.
	tooBig := make([]byte, p.Limits().Memory)
	cold := make([]time.Duration, 11)
	for i := range cold {
		if _, err := p.Call(ctx, tooBig); err == nil {
			b.Fatal("a request larger than memory did not fault")
		}
		if s := p.Stats(); s.Instances != 0 {
			b.Fatalf("%d instances after a fault, want 0", s.Instances)
		}
		// The faulted instance may have grown its memory up to the
		// ceiling; collect it now rather than during the timed call.
		runtime.GC()
		cold[i] = greet()
	}

	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Call(ctx, request); err != nil {
			b.Fatal(err)
		}
	}

	b.ReportMetric(float64(len(wasm)), "bytes")
	b.ReportMetric(float64(median(compiles).Microseconds())/1000, "compile-ms")
	b.ReportMetric(float64((median(cold)-median(warm)).Nanoseconds())/1000, "instantiate-µs")
	b.ReportMetric(float64(median(loads).Microseconds())/1000, "load-ms")
	b.ReportMetric(float64(stats.MemoryBytes)/1024, "mem-KiB")
}

func newEngine(b *testing.B) *sandbox.Engine {
	b.Helper()
	e, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func loadHello(b *testing.B, e *sandbox.Engine, spec sandbox.Spec) *sandbox.Plugin {
	b.Helper()
	p, err := e.Load(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
