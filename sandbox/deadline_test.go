package sandbox_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/sandbox"
)

// Every shape of code that runs past its deadline is stopped there with a
// timeout, whether it loops or only calls, and the plugin's next call on
// the same Plugin answers.
func TestDeadlineStopsEveryShape(t *testing.T) {
	p := load(t, newEngine(t), sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: 200 * time.Millisecond}})
	for _, tool := range []string{"loop", "deep", "tree", "chain"} {
		t.Run(tool, func(t *testing.T) {
			ended := make(chan error, 1)
			var took time.Duration
			go func() {
				start := time.Now()
				_, err := p.Call(context.Background(), toolCall(tool, `{}`))
				took = time.Since(start)
				ended <- err
			}()
			select {
			case err := <-ended:
				if !errors.Is(err, sandbox.ErrTimeout) || !strings.Contains(err.Error(), "exceeded its 200ms deadline") {
					t.Fatalf("%s: %v, want a timeout at 200ms", tool, err)
				}
				// How late the call ended is reported with the fault
				// (moat_deadline_overshoot_seconds): after the deadline,
				// and within the time the call took past it.
				var f *sandbox.Fault
				if !errors.As(err, &f) || f.Late <= 0 || f.Late > took-200*time.Millisecond {
					t.Fatalf("%s: the fault says it ended %v late; the call took %v against a 200ms deadline", tool, f.Late, took)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: still running 30s after its 200ms deadline", tool)
			}
			out, err := p.Call(context.Background(), toolCall("ok", `{}`))
			if err != nil || !strings.Contains(string(out), `"ok"`) {
				t.Fatalf("the call after %s: %s, %v", tool, out, err)
			}
		})
	}
}

// Cancelling the caller's context ends a spinning call, loop or call tree,
// as cancelled.
func TestCancelStopsEveryShape(t *testing.T) {
	p := load(t, newEngine(t), sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: time.Minute}})
	for _, tool := range []string{"loop", "tree"} {
		ctx, cancel := context.WithCancel(context.Background())
		ended := make(chan error, 1)
		go func() {
			_, err := p.Call(ctx, toolCall(tool, `{}`))
			ended <- err
		}()
		waitFor(t, "the call to start", func() bool { return p.Stats().Busy == 1 })
		cancel()
		select {
		case err := <-ended:
			if !errors.Is(err, sandbox.ErrCanceled) {
				t.Fatalf("%s: %v, want cancelled", tool, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still running 30s after it was cancelled", tool)
		}
	}
	if out, err := p.Call(context.Background(), toolCall("ok", `{}`)); err != nil {
		t.Fatalf("after the cancelled calls: %s %v", out, err)
	}
}

// While plugins spin, one in a loop and one in a call tree, far from their
// deadlines, the garbage collector still stops the world: the checks enter
// Go often enough for the runtime to preempt them. Without that, every
// goroutine of the host would wait for the plugins.
func TestSpinningPluginsLetTheCollectorRun(t *testing.T) {
	p := load(t, newEngine(t), sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: time.Minute, Instances: 2}})
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 2)
	for _, tool := range []string{"loop", "tree"} {
		go func() {
			_, err := p.Call(ctx, toolCall(tool, `{}`))
			ended <- err
		}()
	}
	waitFor(t, "both calls to start", func() bool { return p.Stats().Busy == 2 })
	collected := make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		for range 20 {
			start := time.Now()
			runtime.GC()
			worst = max(worst, time.Since(start))
		}
		collected <- worst
	}()
	select {
	case worst := <-collected:
		t.Logf("slowest of 20 runtime.GC() while two plugins spin: %v", worst)
	case <-time.After(20 * time.Second):
		t.Fatal("runtime.GC() did not return within 20s while plugins spin")
	}
	cancel()
	for range 2 {
		if err := <-ended; !errors.Is(err, sandbox.ErrCanceled) {
			t.Fatalf("spinning call: %v, want cancelled", err)
		}
	}
}

// Closing a plugin stops a call still running in it, and leaves its stats
// at zero instances.
func TestCloseStopsCallsAndResetsStats(t *testing.T) {
	e := newEngine(t)
	p, err := e.Load(context.Background(), sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: time.Minute, Instances: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(context.Background(), toolCall("ok", `{}`)); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), toolCall("tree", `{}`))
		ended <- err
	}()
	waitFor(t, "the call to start", func() bool { return p.Stats().Busy == 1 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, sandbox.ErrClosed) {
			t.Fatalf("call running at close: %v, want closed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a call still ran 30s after its plugin was closed")
	}
	if st := p.Stats(); st.Instances != 0 || st.Busy != 0 {
		t.Fatalf("stats after close: %+v, want no instances", st)
	}
}

// A closed plugin that was idle reports no instances.
func TestCloseResetsIdleStats(t *testing.T) {
	e := newEngine(t)
	p, err := e.Load(context.Background(), sandbox.Spec{Name: "echo", Wasm: wat(t, "echo")})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Instances != 1 {
		t.Fatalf("after load: %+v, want one instance", st)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Instances != 0 || st.Busy != 0 || st.MemoryBytes != 0 {
		t.Fatalf("stats after close: %+v, want zero", st)
	}
}

// A module that exports the name the host reserves for its check is
// refused at load, naming the export and what to do.
func TestReservedExportIsRefused(t *testing.T) {
	_, err := newEngine(t).Load(context.Background(), sandbox.Spec{Name: "reserved", Wasm: wat(t, "reserved_export")})
	var le *sandbox.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("load: %v, want a *LoadError", err)
	}
	for _, want := range []string{`plugin "reserved"`, `"moat:interrupt"`, "reserved", "rename or remove the export"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// The switch to wazero's own check still works, and shows the defect the
// instrumented check fixes: it stops a loop, but not a call tree.
func TestWazeroCheckStopsLoopsOnly(t *testing.T) {
	e := newEngine(t)
	e.SetWazeroCheck()
	p := load(t, e, sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: 200 * time.Millisecond}})
	if _, err := p.Call(context.Background(), toolCall("loop", `{}`)); !errors.Is(err, sandbox.ErrTimeout) {
		t.Fatalf("loop under wazero's check: %v, want a timeout", err)
	}
}

// waitFor polls cond until it holds, for at most 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A caller may give one call a deadline other than limits.timeout, as moat
// does for a task (limits.task_timeout): the call runs past limits.timeout,
// is stopped at its own deadline by the same check, and the fault names
// that deadline and its setting. The plugin's next call has limits.timeout
// again.
func TestCallTimeoutReplacesLimitsTimeout(t *testing.T) {
	p := load(t, newEngine(t), sandbox.Spec{Name: "endless", Wasm: wat(t, "endless"),
		Limits: sandbox.Limits{Timeout: 100 * time.Millisecond, Instances: 1}})
	for _, tool := range []string{"loop", "tree"} {
		ctx := sandbox.WithCallTimeout(context.Background(), 700*time.Millisecond, "limits.task_timeout")
		ended := make(chan error, 1)
		go func() {
			_, err := p.Call(ctx, toolCall(tool, `{}`))
			ended <- err
		}()
		select {
		case err := <-ended:
			if !errors.Is(err, sandbox.ErrTimeout) || !strings.Contains(err.Error(), "exceeded its 700ms deadline (limits.task_timeout)") {
				t.Fatalf("%s with a 700ms call timeout: %v; want a timeout at 700ms naming limits.task_timeout", tool, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still running 30s after its 700ms deadline", tool)
		}
	}
	_, err := p.Call(context.Background(), toolCall("loop", `{}`))
	if !errors.Is(err, sandbox.ErrTimeout) || !strings.Contains(err.Error(), "exceeded its 100ms deadline (limits.timeout)") {
		t.Fatalf("the next call without a call timeout: %v; want limits.timeout's 100ms", err)
	}
}
