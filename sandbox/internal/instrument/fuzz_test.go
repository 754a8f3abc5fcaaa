package instrument

import (
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// FuzzInstrument: for any module wazero compiles, the instrumented module
// compiles too, and its exported functions without parameters compute
// what the original's do (each within a short deadline). The committed
// corpus holds the repository's WAT modules; they are added again here
// from source, so that an edited fixture is fuzzed as it now is.
func FuzzInstrument(f *testing.F) {
	for _, wasm := range watModules(f) {
		f.Add(wasm)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		if Sizes(wasm) != nil {
			return // the sandbox refuses it before wazero reads it
		}
		if _, err := callable(t, wasm); err != nil {
			return // not a module wazero compiles
		}
		sameOutcomes(t, wasm, 10*time.Millisecond)
	})
}

// The Go plugins the repository builds (too large to commit as fuzz
// seeds) instrument into modules that compile.
func TestInstrumentCompilesGoPlugins(t *testing.T) {
	for _, pkg := range []string{"sandbox/testdata/echo-go", "examples/go/hello"} {
		t.Run(pkg, func(t *testing.T) {
			wasm := testplugin.GoPlugin(t, pkg)
			if err := Sizes(wasm); err != nil {
				t.Fatalf("the size check refuses it: %v", err)
			}
			out, err := Module(wasm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := callable(t, out); err != nil {
				t.Fatalf("the instrumented module does not compile: %v", err)
			}
			t.Logf("%d bytes, %d instrumented", len(wasm), len(out))
		})
	}
}
