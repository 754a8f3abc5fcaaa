package instrument

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// watModules are the WAT sources of the repository whose modules the
// tests instrument: the sandbox's fixtures, the WAT example, and this
// package's own module of every instruction family.
func watModules(tb testing.TB) map[string][]byte {
	tb.Helper()
	root := testplugin.Root(tb)
	var paths []string
	for _, pattern := range []string{"sandbox/testdata/*.wat", "sandbox/internal/instrument/testdata/*.wat", "examples/wat/hello/*.wat", "host/testdata/chaos/*.wat"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			paths = append(paths, rel)
		}
	}
	if len(paths) < 5 {
		tb.Fatalf("found only %d WAT modules: %v", len(paths), paths)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		out[p] = testplugin.WAT(tb, p)
	}
	return out
}

// Instrumenting keeps what every exported function computes, for every
// module the repository has in WAT.
func TestInstrumentPreservesResults(t *testing.T) {
	for path, wasm := range watModules(t) {
		t.Run(path, func(t *testing.T) {
			sameOutcomes(t, wasm, time.Second)
		})
	}
}

// The features module's functions really ran on both sides: a check that
// compares two empty lists would pass anything.
func TestFeaturesModuleRuns(t *testing.T) {
	wasm := testplugin.WAT(t, "sandbox/internal/instrument/testdata/features.wat")
	out, err := Module(wasm)
	if err != nil {
		t.Fatal(err)
	}
	names, err := callable(t, wasm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := outcomes(t, out, true, names, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(got, "\n")
	t.Log(text)
	for _, want := range []string{
		"started = [140]", // 107 after the start function, then multi_loop counts to 140
		"sum_loop = [499500]",
		"fib20 = [6765]",
		"divide_by_zero trapped: wasm error: integer divide by zero",
		"out_of_bounds trapped: wasm error: out of bounds memory access",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("outcomes do not include %q", want)
		}
	}
}

// Every function body starts with the entry check, and every loop's body
// with the loop check; without them, the body is the original's.
func TestCheckAtEveryEntryAndLoop(t *testing.T) {
	wasm := testplugin.WAT(t, "sandbox/internal/instrument/testdata/features.wat")
	out, err := Module(wasm)
	if err != nil {
		t.Fatal(err)
	}
	before, after := codeBodies(t, wasm), codeBodies(t, out)
	if len(before) != len(after) {
		t.Fatalf("%d function bodies, then %d", len(before), len(after))
	}
	m := &moduleInfo{flag: 2, count: 3} // features.wat defines two globals and imports none
	entry := m.appendEntryCheck(nil)
	loops := 0
	for i := range before {
		r := &reader{b: after[i]}
		groups := r.u32()
		var decls [][2]int
		for n := groups; n > 0; n-- {
			start := r.pos
			r.u32()
			r.refOrValType()
			decls = append(decls, [2]int{start, r.pos})
		}
		if !bytes.HasPrefix(after[i][r.pos:], entry) {
			t.Fatalf("body %d does not start with the entry check", i)
		}
		r.pos += len(entry)
		var k uint32
		hasLoop := bytes.Contains(before[i], []byte{opLoop}) && loopsIn(t, before[i]) > 0
		if hasLoop {
			// The added local: one i32, last, set to the budget.
			last := decls[len(decls)-1]
			if !bytes.Equal(after[i][last[0]:last[1]], []byte{1, 0x7f}) {
				t.Fatalf("body %d: last local group %x, want one i32", i, after[i][last[0]:last[1]])
			}
			init := appendI32Const(nil, budget)
			if !bytes.HasPrefix(after[i][r.pos:], init) || after[i][r.pos+len(init)] != opLocalSet {
				t.Fatalf("body %d does not set its loop countdown", i)
			}
			r.pos += len(init) + 1
			k = r.u32()
		}
		var rebuilt []byte
		if hasLoop {
			rebuilt = appendU32(rebuilt, groups-1)
			rebuilt = append(rebuilt, after[i][decls[0][0]:decls[len(decls)-1][0]]...)
		} else {
			rebuilt = append(rebuilt, after[i][:decls0End(decls)]...)
		}
		check := m.appendLoopCheck(nil, k)
		for !r.done() {
			start := r.pos
			op := r.instruction()
			rebuilt = append(rebuilt, after[i][start:r.pos]...)
			if op == opLoop {
				loops++
				if !bytes.HasPrefix(after[i][r.pos:], check) {
					t.Fatalf("a loop in body %d at %d is not followed by the loop check", i, start)
				}
				r.pos += len(check)
			}
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !bytes.Equal(rebuilt, before[i]) {
			t.Fatalf("body %d changed beyond the checks:\n%x\n%x", i, rebuilt, before[i])
		}
	}
	if loops < 4 {
		t.Fatalf("found %d loops; features.wat has at least 4", loops)
	}
}

// decls0End is where the local declarations end.
func decls0End(decls [][2]int) int {
	if len(decls) == 0 {
		return 1
	}
	return decls[len(decls)-1][1]
}

// loopsIn counts the loops of an original body.
func loopsIn(t *testing.T, body []byte) int {
	r := &reader{b: body}
	for n := r.u32(); n > 0; n-- {
		r.u32()
		r.refOrValType()
	}
	loops := 0
	for !r.done() {
		if r.instruction() == opLoop {
			loops++
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return loops
}

// codeBodies returns each function body of a module.
func codeBodies(t *testing.T, wasm []byte) [][]byte {
	t.Helper()
	r := &reader{b: wasm, pos: 8}
	for !r.done() {
		id := r.byte()
		content := r.bytes(int(r.u32()))
		if id != secCode {
			continue
		}
		cr := &reader{b: content}
		var bodies [][]byte
		for n := cr.u32(); n > 0; n-- {
			bodies = append(bodies, cr.bytes(int(cr.u32())))
		}
		if cr.err != nil {
			t.Fatal(cr.err)
		}
		return bodies
	}
	t.Fatal("no code section")
	return nil
}

// A function that loops forever or calls a tree of functions without a
// loop stops once the flag is set, and so does a start function, while
// the garbage collector keeps stopping the world: the checks must let it.
func TestFlagStopsEveryShape(t *testing.T) {
	done := make(chan struct{})
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(done); <-collected }()

	startLoop, err := Module(testplugin.WAT(t, "sandbox/internal/instrument/testdata/start_loop.wat"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := outcomes(t, startLoop, true, nil, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "start "+interrupted {
		t.Errorf("start_loop: %v, want its start function interrupted", got)
	}
	wasm := testplugin.WAT(t, "sandbox/internal/instrument/testdata/endless.wat")
	out, err := Module(wasm)
	if err != nil {
		t.Fatal(err)
	}
	names, err := callable(t, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		got, err := outcomes(t, out, true, []string{name}, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != name+" "+interrupted {
			t.Errorf("%s: %v, want it interrupted", name, got)
		}
	}
}

func TestReservedExportIsRefused(t *testing.T) {
	for _, name := range []string{InterruptExport, StartExport, "moat:anything"} {
		wasm := module(t, exportSection(name))
		_, err := Module(wasm)
		var reserved *ReservedNameError
		if !errors.As(err, &reserved) || reserved.Name != name {
			t.Fatalf("export %q: %v, want a ReservedNameError", name, err)
		}
		if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "reserved") {
			t.Fatalf("error %q does not name the export and say it is reserved", err)
		}
	}
	// A name that only resembles the reserved ones is the module's own.
	if _, err := Module(module(t, exportSection("moat_interrupt"))); err != nil {
		t.Fatalf("export moat_interrupt: %v", err)
	}
}

func TestMalformedModulesAreRefused(t *testing.T) {
	good := testplugin.WAT(t, "sandbox/testdata/echo.wat")
	cases := map[string][]byte{
		"empty":       nil,
		"not wasm":    []byte("not wasm at all"),
		"version 2":   append([]byte("\x00asm\x02\x00\x00\x00"), good[8:]...),
		"truncated":   good[:len(good)-3],
		"long length": append(append([]byte{}, good[:8]...), 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	for name, wasm := range cases {
		if _, err := Module(wasm); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// module builds a minimal module from raw sections.
func module(t *testing.T, sections ...[]byte) []byte {
	t.Helper()
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s...)
	}
	ctx := context.Background()
	rt := newRuntime(ctx, true)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatalf("test module does not compile: %v", err)
	}
	return out
}

// exportSection exports global 0, defined by a global section before it.
func exportSection(name string) []byte {
	globals := appendSection(nil, secGlobal, []byte{1, 0x7f, 0x00, 0x41, 0x00, 0x0b})
	content := appendU32(nil, 1)
	content = appendName(content, name)
	content = append(content, kindGlobal, 0)
	return append(globals, appendSection(nil, secExport, content)...)
}

// A module whose code names a global or local it does not have is invalid,
// but the rewrite would make it valid, the index then naming the countdown
// or the flag: a module could reset them and never stop. It is refused.
func TestIndicesOfTheAddedGlobalsAndLocalAreRefused(t *testing.T) {
	header := []byte("\x00asm\x01\x00\x00\x00")
	types := []byte{0x01, 0x04, 0x01, 0x60, 0x00, 0x00}
	funcs := []byte{0x03, 0x02, 0x01, 0x00}
	cases := map[string][]byte{
		// i32.const 5; global.set 1 (the countdown: no global is defined)
		"global.set": {0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x05, 0x24, 0x01, 0x0b},
		// loop; i32.const 0; local.set 0 (the loop countdown); end
		"local.set": {0x0a, 0x0b, 0x01, 0x09, 0x00, 0x03, 0x40, 0x41, 0x00, 0x21, 0x00, 0x0b, 0x0b},
	}
	for name, code := range cases {
		wasm := append(append(append(append([]byte{}, header...), types...), funcs...), code...)
		if _, err := callable(t, wasm); err == nil {
			t.Fatalf("%s: wazero compiles the original; the case is wrong", name)
		}
		if _, err := Module(wasm); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want the module refused", name, err)
		}
	}
	// An export of a global the module does not have.
	exports := appendSection(nil, secExport, append(appendName(appendU32(nil, 1), "g"), kindGlobal, 0))
	if _, err := Module(append(append([]byte{}, header...), exports...)); !errors.Is(err, ErrMalformed) {
		t.Errorf("export of global 0 in a module without globals: %v, want it refused", err)
	}
}
