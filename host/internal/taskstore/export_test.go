package taskstore

import "time"

// SetLease shortens the lease for a test; it returns the undo.
func SetLease(ttl, every time.Duration) func() {
	oldTTL, oldEvery := leaseTTL, leaseEvery
	leaseTTL, leaseEvery = ttl, every
	return func() { leaseTTL, leaseEvery = oldTTL, oldEvery }
}

// Crash stops a Redis store's lease from being refreshed, as a crash of
// its process would, without giving it up as Close does.
func Crash(s *Store) {
	r := s.e.(*redisEngine)
	r.mu.Lock()
	r.closed = true
	close(r.stop)
	r.mu.Unlock()
	r.stopped.Wait()
}
