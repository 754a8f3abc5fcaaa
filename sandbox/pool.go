package sandbox

import (
	"context"
	"sync"
	"time"
)

// pool holds a plugin's instances. Instances are made lazily, at most
// limits.Instances of them exist at once, and each runs one call at a time.
//
// A token in slots is the right to hold one instance: a call takes a token
// (waiting at most limits.QueueTimeout), then an idle instance or, if none
// is idle, makes one. A faulted instance is closed before its token is given
// back, so instances never outnumber tokens.
type pool struct {
	slots chan struct{}

	mu     sync.Mutex
	idle   []*instance
	live   int
	closed bool
}

func newPool(size int) *pool {
	return &pool{slots: make(chan struct{}, size)}
}

// acquire returns an instance for one call, or a busy fault after the
// queue timeout.
func (p *Plugin) acquire(ctx context.Context) (*instance, error) {
	select {
	case p.pool.slots <- struct{}{}:
		if p.onWait != nil {
			p.onWait(0)
		}
	default:
		start := time.Now()
		timer := time.NewTimer(p.limits.QueueTimeout)
		select {
		case p.pool.slots <- struct{}{}:
			timer.Stop()
			if p.onWait != nil {
				p.onWait(time.Since(start))
			}
		case <-timer.C:
			return nil, fault(p.name, ErrBusy, nil, "is busy: all %d instances stayed busy for %v; retry, or raise limits.instances or limits.queue_timeout", p.limits.Instances, p.limits.QueueTimeout)
		case <-ctx.Done():
			timer.Stop()
			return nil, fault(p.name, ErrCanceled, ctx.Err(), "call was cancelled after waiting %v for a free instance", since(start))
		}
	}
	pl := p.pool
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		<-pl.slots
		return nil, fault(p.name, ErrClosed, nil, "plugin is unloaded")
	}
	if n := len(pl.idle); n > 0 {
		inst := pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		return inst, nil
	}
	pl.live++
	pl.mu.Unlock()
	inst, err := p.newInstance(ctx)
	if err != nil {
		pl.mu.Lock()
		pl.live--
		pl.mu.Unlock()
		<-pl.slots
		return nil, err
	}
	return inst, nil
}

// release gives an instance back after a call. One that faulted is closed
// and forgotten, never reused.
func (p *Plugin) release(inst *instance, healthy bool) {
	pl := p.pool
	pl.mu.Lock()
	if healthy && !pl.closed {
		pl.idle = append(pl.idle, inst)
		pl.mu.Unlock()
	} else {
		pl.live--
		pl.mu.Unlock()
		p.closeInstance(inst)
	}
	<-pl.slots
}

// Stats is a snapshot of a plugin's pool.
type Stats struct {
	Instances   int    // instances that exist, idle or busy
	Busy        int    // instances running a call
	MemoryBytes uint64 // linear memory of the idle instances
}

// Stats reports the plugin's instances now.
func (p *Plugin) Stats() Stats {
	pl := p.pool
	pl.mu.Lock()
	defer pl.mu.Unlock()
	s := Stats{Instances: pl.live, Busy: pl.live - len(pl.idle)}
	for _, inst := range pl.idle {
		s.MemoryBytes += uint64(inst.mem.Size())
	}
	return s
}
