package server

import (
	"context"
	"slices"
	"sync"
	"time"
)

// running is one tool call in flight, as the drain sees it: enough to say
// which call a shutdown abandons, and the means to end it.
type running struct {
	tool, plugin, principal string
	since                   time.Time
	cancel                  context.CancelFunc
}

// callSet holds the tool calls in flight. Once a drain has begun it takes
// no new ones; when the drain's time runs out, abandon ends the rest.
type callSet struct {
	mu       sync.Mutex
	calls    map[*running]struct{}
	draining bool
	idle     chan struct{} // closed when the set empties during a drain
}

func (c *callSet) start(r *running) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	if c.calls == nil {
		c.calls = map[*running]struct{}{}
	}
	c.calls[r] = struct{}{}
	return true
}

func (c *callSet) done(r *running) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, r)
	if len(c.calls) == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

func (c *callSet) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// drain refuses new calls and waits, at most until ctx ends, for those in
// flight. It reports whether they all finished.
func (c *callSet) drain(ctx context.Context) bool {
	c.mu.Lock()
	c.draining = true
	if len(c.calls) == 0 {
		c.mu.Unlock()
		return true
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}

// abandon cancels every call still in flight and returns them, oldest
// first. A cancelled call's host calls (an HTTP request, a sleep, a client
// request) end at once, and its plugin code at its next check.
func (c *callSet) abandon() []*running {
	c.mu.Lock()
	out := make([]*running, 0, len(c.calls))
	for r := range c.calls {
		out = append(out, r)
	}
	c.mu.Unlock()
	for _, r := range out {
		r.cancel()
	}
	slices.SortFunc(out, func(a, b *running) int { return a.since.Compare(b.since) })
	return out
}

// abandonCalls ends the calls a drain could not wait for, naming each in
// the log, so that an operator sees what a shutdown cut off.
func (s *Server) abandonCalls() {
	for _, r := range s.calls.abandon() {
		s.log.Warn("abandoned call at shutdown: shutdown_timeout passed while it ran; it is cancelled",
			"tool", r.tool, "plugin", r.plugin, "principal", r.principal, "running", time.Since(r.since).Round(time.Millisecond))
	}
}

// closeSessions closes every session, waiting at most bound: closing a
// session waits for its handlers, and a handler stuck where cancellation
// cannot reach must not hold the process. What is still closing when bound
// passes is left to end with the process.
func (s *Server) closeSessions(bound time.Duration) {
	var wg sync.WaitGroup
	for ss := range s.mcp.Sessions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ss.Close()
		}()
	}
	closed := make(chan struct{})
	go func() {
		wg.Wait()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(bound):
		s.log.Warn("sessions still closing after the drain; leaving them to end with the process", "waited", bound)
	}
}
