package plugin

import (
	"context"
	"sync"
)

// inUse counts the calls routed to a plugin and not yet ended. Once the
// plugin is retiring it takes no new ones, and idle is closed when the
// last ends, so Retire waits on the very count the calls keep.
type inUse struct {
	mu       sync.Mutex
	n        int
	retiring bool
	idle     chan struct{}
}

// Enter counts one more call routed to the plugin. It reports false once
// the plugin is retiring: the caller routes the call again, to the plugin
// that now serves the tool.
func (p *Plugin) Enter() bool {
	u := &p.use
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.retiring {
		return false
	}
	u.n++
	return true
}

// Leave ends a call Enter counted.
func (p *Plugin) Leave() {
	u := &p.use
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n--
	if u.n == 0 && u.retiring && u.idle != nil {
		close(u.idle)
		u.idle = nil
	}
}

// Retire unloads p once every call routed to it has ended, waiting at most
// until ctx ends; from the moment it is called, p takes no new calls.
func (p *Plugin) Retire(ctx context.Context) {
	u := &p.use
	u.mu.Lock()
	u.retiring = true
	var idle chan struct{}
	if u.n > 0 {
		if u.idle == nil {
			u.idle = make(chan struct{})
		}
		idle = u.idle
	}
	u.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	p.sandbox.Close(context.Background())
}
