package taskstore

import (
	"context"
	"sync"
	"time"
)

// memory keeps records in the process: lost when it stops.
type memory struct {
	mu   sync.Mutex
	recs map[string][]byte
	idx  map[string]map[string]*memEntry // principal → id → entry
}

type memEntry struct {
	expires  time.Time
	terminal bool
}

// NewMemory is a store in the process's memory, for a moat without
// data_dir or Redis (tests, a server built alone): a restart forgets it.
func NewMemory() *Store {
	return newStore(&memory{recs: map[string][]byte{}, idx: map[string]map[string]*memEntry{}}, NewOwner())
}

func (m *memory) name() string { return "memory" }
func (m *memory) shared() bool { return false }
func (m *memory) close() error { return nil }

func (m *memory) alive(_ context.Context, _ string) (bool, error) { return false, nil }

func (m *memory) create(_ context.Context, rec *Record, maxRunning, maxKept int) (*full, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	f := &full{}
	for id, e := range m.idx[rec.Principal] {
		if !now.Before(e.expires) {
			delete(m.idx[rec.Principal], id)
			delete(m.recs, id)
			continue
		}
		f.kept++
		if !e.terminal {
			f.running = append(f.running, id)
		}
	}
	if len(f.running) >= maxRunning || f.kept >= maxKept {
		return f, nil
	}
	b, err := encode(rec)
	if err != nil {
		return nil, err
	}
	if m.idx[rec.Principal] == nil {
		m.idx[rec.Principal] = map[string]*memEntry{}
	}
	m.recs[rec.ID] = b
	m.idx[rec.Principal][rec.ID] = &memEntry{expires: rec.Expires, terminal: rec.Terminal()}
	return nil, nil
}

func (m *memory) get(_ context.Context, id string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.getLocked(id)
}

func (m *memory) getLocked(id string) (*Record, error) {
	b, ok := m.recs[id]
	if !ok {
		return nil, nil
	}
	r, err := decode(b)
	if err != nil || !time.Now().Before(r.Expires) {
		return nil, err
	}
	return r, nil
}

func (m *memory) update(_ context.Context, id string, fn func(*Record) bool) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.getLocked(id)
	if err != nil || r == nil || !fn(r) {
		return r, err
	}
	b, err := encode(r)
	if err != nil {
		return nil, err
	}
	m.recs[id] = b
	if e := m.idx[r.Principal][id]; e != nil {
		e.terminal = r.Terminal()
	}
	return r, nil
}

func (m *memory) del(_ context.Context, id, principal string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, id)
	delete(m.idx[principal], id)
	return nil
}
