package instrument

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// newRuntime is a runtime configured as the sandbox's, with wazero's own
// deadline check for the original module (checked) and without it for the
// instrumented one, which stops by its flag.
func newRuntime(ctx context.Context, checked bool) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(256).
		WithCloseOnContextDone(checked))
}

// testTableLimit bounds the tables of the modules compared.
const testTableLimit = 1 << 16

// interrupted is the outcome of a call its deadline ended.
const interrupted = "interrupted"

// outcomes runs every exported function without parameters of a module,
// in name order, each under budget, and returns what each returned or how
// it trapped. It stops after the first call its deadline ends, as the two
// runs compared may stop at different points. names lists the functions
// (those of the original module). A module that does not instantiate
// without imports is compiled only: outcomes returns nil and no error.
func outcomes(tb testing.TB, wasm []byte, instrumented bool, names []string, budget time.Duration) ([]string, error) {
	ctx := context.Background()
	rt := newRuntime(ctx, !instrumented)
	defer rt.Close(ctx)
	cctx := ctx
	if !instrumented {
		// wazero's own check does not stop a call tree without loops,
		// which is why this package exists; the reference run is stopped
		// at function entry by a listener instead, slow but independent
		// of the code under test.
		cctx = experimental.WithFunctionListenerFactory(ctx, stopAtDeadline{})
	}
	compiled, err := rt.CompileModule(cctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if len(compiled.ImportedFunctions()) > 0 || len(compiled.ImportedMemories()) > 0 {
		return nil, nil
	}
	var out []string
	cfg := wazero.NewModuleConfig().WithName("")
	if instrumented {
		cfg = cfg.WithStartFunctions()
	}
	ictx, cancel := context.WithTimeout(ctx, budget)
	mod, err := rt.InstantiateModule(ictx, compiled, cfg)
	cancel()
	if err != nil {
		if errors.Is(ictx.Err(), context.DeadlineExceeded) {
			return []string{"start " + interrupted}, nil
		}
		return []string{"instantiate: " + firstLine(err)}, nil
	}
	var flag api.MutableGlobal
	if instrumented {
		g, ok := mod.ExportedGlobal(InterruptExport).(api.MutableGlobal)
		if !ok {
			tb.Fatalf("the instrumented module does not export a mutable %s", InterruptExport)
		}
		flag = g
	}
	call := func(fn api.Function) ([]uint64, error, bool) {
		cctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		if flag == nil {
			res, err := fn.Call(cctx)
			return res, err, errors.Is(cctx.Err(), context.DeadlineExceeded)
		}
		var mu sync.Mutex
		fired := false
		stop := context.AfterFunc(cctx, func() {
			mu.Lock()
			defer mu.Unlock()
			fired = true
			flag.Set(1)
		})
		res, err := fn.Call(cctx)
		stop()
		mu.Lock()
		defer mu.Unlock()
		return res, err, fired && err != nil
	}
	if instrumented {
		if start := mod.ExportedFunction(StartExport); start != nil {
			if _, err, late := call(start); late {
				return []string{"start " + interrupted}, nil
			} else if err != nil {
				return []string{"instantiate: " + firstLine(err)}, nil
			}
		}
	}
	for _, name := range names {
		res, err, late := call(mod.ExportedFunction(name))
		switch {
		case late:
			return append(out, name+" "+interrupted), nil
		case err != nil:
			out = append(out, name+" trapped: "+firstLine(err))
		default:
			out = append(out, fmt.Sprintf("%s = %v", name, res))
		}
	}
	return out, nil
}

// callable lists a compiled module's exported functions that take no
// parameters, in name order.
func callable(tb testing.TB, wasm []byte) (_ []string, err error) {
	// Some malformed modules make wazero v1.12.0 panic; the sandbox turns
	// that into the module's error, and so does the comparison.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wazero panicked: %v", r)
		}
	}()
	ctx := context.Background()
	rt := newRuntime(ctx, true)
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, def := range compiled.ExportedFunctions() {
		if len(def.ParamTypes()) == 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// stopAtDeadline panics at a function's entry once its call's context is
// done; wazero turns the panic into the call's error.
type stopAtDeadline struct{}

func (stopAtDeadline) NewFunctionListener(api.FunctionDefinition) experimental.FunctionListener {
	return stopAtDeadline{}
}

func (stopAtDeadline) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if err := ctx.Err(); err != nil {
		panic(err)
	}
}

func (stopAtDeadline) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (stopAtDeadline) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// sameOutcomes instruments wasm, which wazero compiles, and checks that
// the result compiles too and that every function computes the same.
func sameOutcomes(t *testing.T, wasm []byte, budget time.Duration) {
	t.Helper()
	// The sandbox bounds tables before it instruments; both runs use the
	// bounded module, so that neither can grow a table into the test's
	// memory. A small limit keeps fuzzing fast.
	if Sizes(wasm) != nil {
		return // refused before wazero reads it, as the sandbox does
	}
	wasm, err := Tables(wasm, testTableLimit)
	if err != nil {
		return // refused before instrumenting, as the sandbox does
	}
	names, err := callable(t, wasm)
	if err != nil {
		t.Skipf("wazero does not compile the original here: %v", err)
	}
	out, err := Module(wasm)
	if err != nil {
		var reserved *ReservedNameError
		if errors.As(err, &reserved) {
			return
		}
		t.Fatalf("a module wazero compiles was refused: %v", err)
	}
	before, err := outcomes(t, wasm, false, names, budget)
	if err != nil {
		t.Fatal(err)
	}
	after, err := outcomes(t, out, true, names, budget)
	if err != nil {
		t.Fatalf("the instrumented module does not compile: %v", err)
	}
	// A call its deadline ended may end at a different point in each run;
	// the outcomes before it must agree.
	n := min(len(before), len(after))
	for i := range n {
		if strings.HasSuffix(before[i], interrupted) || strings.HasSuffix(after[i], interrupted) {
			return
		}
		if before[i] != after[i] {
			t.Fatalf("outcome %d differs:\nbefore: %s\nafter:  %s", i, before[i], after[i])
		}
	}
	if len(before) != len(after) {
		t.Fatalf("%d outcomes before instrumenting, %d after:\n%v\n%v", len(before), len(after), before, after)
	}
}
