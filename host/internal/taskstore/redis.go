package taskstore

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// On Redis a task is three things, all under moat:task:
//
//	moat:task:{ID}                 string, the record as JSON; expires with the task
//	moat:task:p:PRINCIPAL:kept     sorted set of the principal's task ids, by expiry (ms)
//	moat:task:p:PRINCIPAL:running  the same, of those not ended
//	moat:task:owner:OWNER          a moat process's lease: present while it runs
//
// A process that runs tasks refreshes its lease every leaseEvery, for
// leaseTTL; a record not ended whose owner's lease is gone belongs to a
// moat that stopped, and its first reader fails it.
const (
	prefix = "moat:task:"
)

// Lease timing; tests shorten them.
var (
	leaseTTL   = 15 * time.Second
	leaseEvery = 5 * time.Second
)

type redisEngine struct {
	c     redis.UniversalClient
	store string
	owner string

	mu      sync.Mutex
	leasing bool // the lease is kept
	closed  bool
	stop    chan struct{}
	stopped sync.WaitGroup
}

// NewRedis is the store on the Redis server of store.redis, shared by
// every moat that names it; name names it in errors.
func NewRedis(c redis.UniversalClient, name string) *Store {
	owner := NewOwner()
	return newStore(&redisEngine{c: c, store: name, owner: owner, stop: make(chan struct{})}, owner)
}

func recordKey(id string) string         { return prefix + "{" + id + "}" }
func keptKey(principal string) string    { return prefix + "p:" + principal + ":kept" }
func runningKey(principal string) string { return prefix + "p:" + principal + ":running" }
func leaseKey(owner string) string       { return prefix + "owner:" + owner }
func (r *redisEngine) name() string      { return r.store }
func (r *redisEngine) shared() bool      { return true }
func ms(t time.Time) string              { return strconv.FormatInt(t.UnixMilli(), 10) }
func ttlOf(rec *Record) time.Duration    { return max(time.Until(rec.Expires), time.Millisecond) }

func (r *redisEngine) alive(ctx context.Context, owner string) (bool, error) {
	if owner == r.owner {
		return true, nil
	}
	n, err := r.c.Exists(ctx, leaseKey(owner)).Result()
	return n > 0, err
}

// keepLease refreshes this process's lease until the store closes,
// from the first task it creates.
func (r *redisEngine) keepLease() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.leasing || r.closed {
		return
	}
	r.leasing = true
	r.stopped.Add(1)
	go func() {
		defer r.stopped.Done()
		t := time.NewTicker(leaseEvery)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), leaseEvery)
				_ = r.c.Set(ctx, leaseKey(r.owner), "1", leaseTTL).Err()
				cancel()
			}
		}
	}()
}

// create counts the principal's tasks and adds the record in two round
// trips, not one transaction: two creates of one principal racing on two
// replicas may both pass a cap they reach together, so the caps hold
// within the number of such races.
func (r *redisEngine) create(ctx context.Context, rec *Record, maxRunning, maxKept int) (*full, error) {
	now := ms(time.Now())
	kk, rk := keptKey(rec.Principal), runningKey(rec.Principal)
	var kept *redis.IntCmd
	var running *redis.StringSliceCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, kk, "-inf", now)
		p.ZRemRangeByScore(ctx, rk, "-inf", now)
		kept = p.ZCard(ctx, kk)
		running = p.ZRange(ctx, rk, 0, -1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n := int(kept.Val()); len(running.Val()) >= maxRunning || n >= maxKept {
		return &full{running: running.Val(), kept: n}, nil
	}
	b, err := encode(rec)
	if err != nil {
		return nil, err
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, leaseKey(r.owner), "1", leaseTTL)
		p.Set(ctx, recordKey(rec.ID), b, ttlOf(rec))
		z := redis.Z{Score: float64(rec.Expires.UnixMilli()), Member: rec.ID}
		p.ZAdd(ctx, kk, z)
		p.PExpireAt(ctx, kk, rec.Expires)
		if !rec.Terminal() {
			p.ZAdd(ctx, rk, z)
			p.PExpireAt(ctx, rk, rec.Expires)
		}
		return nil
	})
	if err == nil {
		r.keepLease()
	}
	return nil, err
}

func (r *redisEngine) get(ctx context.Context, id string) (*Record, error) {
	b, err := r.c.Get(ctx, recordKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec, err := decode(b)
	if err != nil || !time.Now().Before(rec.Expires) {
		return nil, err
	}
	return rec, nil
}

// update reads, changes and writes the record in an optimistic
// transaction (WATCH): a write by another replica in between makes it
// read again.
func (r *redisEngine) update(ctx context.Context, id string, fn func(*Record) bool) (*Record, error) {
	key := recordKey(id)
	var out *Record
	for try := 0; try < 50; try++ {
		err := r.c.Watch(ctx, func(tx *redis.Tx) error {
			out = nil
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return nil
			}
			if err != nil {
				return err
			}
			rec, err := decode(b)
			if err != nil || !time.Now().Before(rec.Expires) {
				return err
			}
			out = rec
			if !fn(rec) {
				return nil
			}
			nb, err := encode(rec)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, ttlOf(rec))
				if rec.Terminal() {
					p.ZRem(ctx, runningKey(rec.Principal), id)
				}
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return out, err
	}
	return nil, errors.New("the record kept changing under the update; try again")
}

func (r *redisEngine) del(ctx context.Context, id, principal string) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, recordKey(id))
		p.ZRem(ctx, keptKey(principal), id)
		p.ZRem(ctx, runningKey(principal), id)
		return nil
	})
	return err
}

// close stops the lease and gives it up: this process runs no more
// tasks, and a record it did not end is failed by its next reader.
func (r *redisEngine) close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	leasing := r.leasing
	close(r.stop)
	r.mu.Unlock()
	r.stopped.Wait()
	if leasing {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = r.c.Del(ctx, leaseKey(r.owner)).Err()
	}
	return nil
}
