package plugin

import (
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
