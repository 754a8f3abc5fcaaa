package plugin

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/sony/gobreaker/v2"
)

// BreakerSettings configure a plugin's circuit breaker.
type BreakerSettings struct {
	// Failures in a row that open the breaker. Default 5.
	Failures int
	// OpenFor is how long the breaker stays open before a trial. Default 30s.
	OpenFor time.Duration
	// HalfOpenCalls are let through while half-open. Default 1.
	HalfOpenCalls int
}

// ErrQuarantined is the error of a call refused because its plugin's
// breaker is open (or half-open and already trying).
var ErrQuarantined = errors.New("quarantined")

// QuarantineError says which plugin is quarantined and until when.
type QuarantineError struct {
	Plugin string
	Until  time.Time // zero while half-open
	Faults int
}

func (e *QuarantineError) Error() string {
	if e.Until.IsZero() {
		return fmt.Sprintf("plugin %q is quarantined after repeated faults and is being tried again now; retry in a moment", e.Plugin)
	}
	return fmt.Sprintf("plugin %q is quarantined after %d faults in a row; it will be tried again at %s (in %v)",
		e.Plugin, e.Faults, e.Until.UTC().Format(time.TimeOnly+" MST"), time.Until(e.Until).Round(time.Second))
}

func (e *QuarantineError) Is(target error) bool { return target == ErrQuarantined }

// Health is what /health reports of a plugin.
type Health struct {
	Breaker   string    // closed, half-open, open
	Faults    uint64    // faults since load
	LastFault string    // the last fault's message
	LastAt    time.Time // when
}

// breaker wraps a plugin's calls: faults count, a tool's own isError and
// the caller's mistakes do not.
type breaker struct {
	cb       *gobreaker.CircuitBreaker[[]byte]
	settings BreakerSettings
	secrets  *observe.Secrets // redacted from the last fault before it is cut

	mu       sync.Mutex
	openedAt time.Time
	faults   uint64
	last     string
	lastAt   time.Time
}

func newBreaker(plugin string, s BreakerSettings, log hclog.Logger, metrics *observe.Metrics, secrets *observe.Secrets) *breaker {
	// Zero fields take the configuration's defaults, kept in one place.
	d := config.DefaultBreaker
	if s.Failures <= 0 {
		s.Failures = d.Failures
	}
	if s.OpenFor <= 0 {
		s.OpenFor = time.Duration(d.OpenFor)
	}
	if s.HalfOpenCalls <= 0 {
		s.HalfOpenCalls = d.HalfOpenCalls
	}
	b := &breaker{settings: s, secrets: secrets}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	b.cb = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
		Name:        plugin,
		MaxRequests: uint32(s.HalfOpenCalls),
		Timeout:     s.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(s.Failures) },
		IsSuccessful: func(err error) bool {
			return err == nil || !isFault(err)
		},
		// Busy says every instance was taken for queue_timeout: load, not
		// a sign the plugin is broken. Counted, it would let one client
		// holding every instance quarantine the plugin for everyone; it
		// neither opens the breaker nor closes it, and a half-open trial
		// that was busy leaves its place to the next call.
		IsExcluded: func(err error) bool { return errors.Is(err, sandbox.ErrBusy) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			b.mu.Lock()
			if to == gobreaker.StateOpen {
				b.openedAt = time.Now()
			}
			b.mu.Unlock()
			metrics.Breaker(name, stateValue(to))
			switch to {
			case gobreaker.StateOpen:
				log.Warn("plugin quarantined: its breaker opened", "plugin", name, "from", from.String(), "retry_in", s.OpenFor)
			case gobreaker.StateHalfOpen:
				log.Info("plugin on trial: its breaker is half-open", "plugin", name)
			default:
				log.Info("plugin back in service: its breaker closed", "plugin", name)
			}
		},
	})
	metrics.Breaker(plugin, 0)
	return b
}

func stateValue(s gobreaker.State) int {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

// isFault reports whether err is the plugin's fault: a sandbox fault
// (but not the caller cancelling, the plugin being unloaded or every
// instance being busy) or output the host refused.
func isFault(err error) bool {
	var out *OutputError
	if errors.As(err, &out) {
		return true
	}
	switch sandbox.KindName(err) {
	case "", "canceled", "closed", "busy":
		return false
	}
	return true
}

// run calls fn through the breaker, recording faults for /health.
func (b *breaker) run(plugin string, fn func() ([]byte, error)) ([]byte, error) {
	out, err := b.cb.Execute(fn)
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		b.mu.Lock()
		until := b.openedAt.Add(b.settings.OpenFor)
		b.mu.Unlock()
		return nil, &QuarantineError{Plugin: plugin, Until: until, Faults: b.settings.Failures}
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		return nil, &QuarantineError{Plugin: plugin}
	case err != nil && isFault(err):
		b.mu.Lock()
		b.faults++
		// /health serves this to anyone who reaches the admin port: a
		// fault's message can hold text of the plugin's (a trap's frame,
		// say), so it is scrubbed, then bounded.
		b.last, b.lastAt = clip(b.secrets.Scrub(err.Error()), maxLastFault), time.Now()
		b.mu.Unlock()
	}
	return out, err
}

func (b *breaker) health() Health {
	// State moves an open breaker whose time is up to half-open, and so
	// calls OnStateChange, which takes b.mu: read it before taking b.mu.
	state := b.cb.State().String()
	b.mu.Lock()
	defer b.mu.Unlock()
	return Health{Breaker: state, Faults: b.faults, LastFault: b.last, LastAt: b.lastAt}
}

// maxLastFault bounds the last fault's message that /health reports.
const maxLastFault = 1024
