package plugin

import (
	"errors"
	"testing"
	"time"

	"github.com/moat-mcp/moat/sandbox"
)

// A /health that came after a quarantine's open_for had passed, before any
// call, moved the breaker to half-open while holding the lock its own
// state-change hook takes: /health hung, and every later call of the
// plugin with it. The chaos soak found it.
func TestHealthAfterOpenForDoesNotDeadlock(t *testing.T) {
	b := newBreaker("p", BreakerSettings{Failures: 1, OpenFor: 10 * time.Millisecond}, nil, nil, nil)
	trap := &sandbox.Fault{Plugin: "p", Kind: sandbox.ErrTrap, Detail: "call trapped"}
	if _, err := b.run("p", func() ([]byte, error) { return nil, trap }); err == nil {
		t.Fatal("a trap came back as success")
	}
	if h := b.health(); h.Breaker != "open" || h.Faults != 1 {
		t.Fatalf("after one fault with failures 1: %+v, want open with one fault", h)
	}
	time.Sleep(20 * time.Millisecond)

	done := make(chan Health, 1)
	go func() { done <- b.health() }()
	select {
	case h := <-done:
		if h.Breaker != "half-open" {
			t.Fatalf("after open_for: %+v, want half-open", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("health() after open_for never returned: the breaker deadlocked on its own lock")
	}
	out, err := b.run("p", func() ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(out) != "ok" || b.health().Breaker != "closed" {
		t.Fatalf("the trial call: %q %v, breaker %s; want ok and closed", out, err, b.health().Breaker)
	}
}

// Busy answers (every instance taken for queue_timeout) are load, not a
// broken plugin: they neither open the breaker nor reset its count of
// faults, are not reported as the last fault, and a half-open trial that
// was busy leaves its place to the next call.
func TestBusyIsNotAFault(t *testing.T) {
	b := newBreaker("p", BreakerSettings{Failures: 2, OpenFor: 10 * time.Millisecond}, nil, nil, nil)
	busy := &sandbox.Fault{Plugin: "p", Kind: sandbox.ErrBusy, Detail: "is busy: all 1 instances stayed busy for 50ms"}
	trap := &sandbox.Fault{Plugin: "p", Kind: sandbox.ErrTrap, Detail: "call trapped"}
	run := func(err error) error {
		_, got := b.run("p", func() ([]byte, error) { return nil, err })
		return got
	}
	for range 10 {
		if err := run(busy); !errors.Is(err, sandbox.ErrBusy) {
			t.Fatalf("a busy call came back as %v; want the busy fault itself", err)
		}
	}
	if h := b.health(); h.Breaker != "closed" || h.Faults != 0 || h.LastFault != "" {
		t.Fatalf("after 10 busy answers with failures 2: %+v; want closed, no faults", h)
	}
	// Busy between two traps does not reset the count: two faults in a row
	// among busy answers still open it.
	run(trap)
	run(busy)
	run(trap)
	if h := b.health(); h.Breaker != "open" || h.Faults != 2 {
		t.Fatalf("trap, busy, trap with failures 2: %+v; want open after 2 faults", h)
	}
	for deadline := time.Now().Add(30 * time.Second); b.health().Breaker != "half-open"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the breaker never went half-open")
		}
	}
	if err := run(busy); !errors.Is(err, sandbox.ErrBusy) {
		t.Fatalf("the half-open trial: %v; want busy", err)
	}
	if _, err := b.run("p", func() ([]byte, error) { return []byte("ok"), nil }); err != nil {
		t.Fatalf("the call after a busy trial: %v; want it let through as the trial", err)
	}
	if h := b.health(); h.Breaker != "closed" {
		t.Fatalf("after a good trial: %+v; want closed", h)
	}
}
