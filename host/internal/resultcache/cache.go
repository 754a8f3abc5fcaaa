// Package resultcache keeps the results of tool calls that plugins declare
// read-only and idempotent and that the operator opted into
// (plugins.NAME.cache): an in-process LRU bounded by the bytes it holds
// (L1) in front of Redis (L2) when store.redis is set.
//
// The cache never fails a call: a Redis that does not answer is a miss,
// and for a few seconds after that the cache asks only L1.
package resultcache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/redis/go-redis/v9"
)

// Level says where a hit came from.
type Level string

const (
	Miss   Level = "miss"
	Memory Level = "l1_hit"
	Redis  Level = "l2_hit"
)

// Options configure a Cache.
type Options struct {
	// Memory bounds the bytes of results L1 holds.
	Memory int64
	// MaxResult is the largest result kept; Put refuses larger ones.
	MaxResult int
	// Redis is L2; nil keeps L1 alone.
	Redis *redis.Client
	// RedisTimeout bounds one L2 command (default 250ms): a cache that
	// waits longer than that costs more than it saves.
	RedisTimeout time.Duration
	// Backoff is how long L2 is left alone after it failed (default 5s).
	Backoff time.Duration
}

// Cache is the two-level result cache. A nil *Cache caches nothing.
type Cache struct {
	mu    sync.Mutex
	l1    *simplelru.LRU[string, entry]
	bytes int64
	opts  Options
	// down is when L2 may be asked again after a failure (unix nanoseconds).
	down atomic.Int64
	// now is the clock, for tests.
	now func() time.Time
}

type entry struct {
	val     []byte
	expires time.Time
}

// New makes a Cache.
func New(opts Options) *Cache {
	if opts.RedisTimeout == 0 {
		opts.RedisTimeout = 250 * time.Millisecond
	}
	if opts.Backoff == 0 {
		opts.Backoff = 5 * time.Second
	}
	c := &Cache{opts: opts, now: time.Now}
	// The LRU's own bound is a count, set past anything the byte bound
	// allows; bytes are what evict (see add).
	c.l1, _ = simplelru.NewLRU(1<<30, func(_ string, e entry) { c.bytes -= cost(e) })
	return c
}

// cost is what an entry counts against Memory: its bytes and a little for
// the key and the bookkeeping.
func cost(e entry) int64 { return int64(len(e.val)) + 160 }

// MaxResult is the largest result Put keeps.
func (c *Cache) MaxResult() int {
	if c == nil {
		return 0
	}
	return c.opts.MaxResult
}

// Get returns the result kept under key, from L1 or else from L2 (which
// then fills L1 until the entry's own expiry).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, Level) {
	if c == nil {
		return nil, Miss
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.l1.Get(key)
	if ok && !now.Before(e.expires) {
		c.l1.Remove(key)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		return e.val, Memory
	}
	if !c.l2() {
		return nil, Miss
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RedisTimeout)
	defer cancel()
	raw, err := c.opts.Redis.Get(ctx, key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.failed(ctx)
		}
		return nil, Miss
	}
	if len(raw) < 8 {
		return nil, Miss
	}
	expires := time.UnixMilli(int64(binary.BigEndian.Uint64(raw)))
	if !now.Before(expires) {
		return nil, Miss
	}
	val := raw[8:]
	c.add(key, entry{val: val, expires: expires})
	return val, Redis
}

// Put keeps val under key for ttl, in L1 and L2. A result larger than
// MaxResult is not kept; it reports whether val was kept.
func (c *Cache) Put(ctx context.Context, key string, val []byte, ttl time.Duration) bool {
	if c == nil || ttl <= 0 || len(val) > c.opts.MaxResult {
		return false
	}
	expires := c.now().Add(ttl)
	c.add(key, entry{val: val, expires: expires})
	if c.l2() {
		ctx, cancel := context.WithTimeout(ctx, c.opts.RedisTimeout)
		defer cancel()
		buf := make([]byte, 8+len(val))
		binary.BigEndian.PutUint64(buf, uint64(expires.UnixMilli()))
		copy(buf[8:], val)
		// Redis keeps at least a millisecond.
		if err := c.opts.Redis.Set(ctx, key, buf, max(ttl, time.Millisecond)).Err(); err != nil {
			c.failed(ctx)
		}
	}
	return true
}

func (c *Cache) add(key string, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cost(e) > c.opts.Memory {
		return
	}
	c.l1.Remove(key) // uncounts an entry replaced (Add alone would not)
	c.l1.Add(key, e)
	c.bytes += cost(e)
	for c.bytes > c.opts.Memory {
		c.l1.RemoveOldest()
	}
}

// Forget drops from L1 every entry of plugin whose generation is not keep
// (a reload that changed the plugin made them unreachable); L2 entries
// expire by themselves, as another replica may still serve the old
// generation. An empty keep drops them all.
func (c *Cache) Forget(plugin, keep string) {
	if c == nil {
		return
	}
	prefix := keyPrefix + "{" + plugin + "}:"
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.l1.Keys() {
		if rest, ok := strings.CutPrefix(k, prefix); ok && (keep == "" || !strings.HasPrefix(rest, keep+":")) {
			c.l1.Remove(k)
		}
	}
}

// Len and Bytes are what L1 holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l1.Len()
}

func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// l2 reports whether L2 is there and not resting after a failure.
func (c *Cache) l2() bool {
	return c.opts.Redis != nil && c.now().UnixNano() >= c.down.Load()
}

// failed rests L2 after a failure of Redis (not one of the call's own
// ending, which says nothing about Redis).
func (c *Cache) failed(ctx context.Context) {
	if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.DeadlineExceeded) {
		return
	}
	c.down.Store(c.now().Add(c.opts.Backoff).UnixNano())
}

// keyPrefix starts every key of the result cache, in L1 and in Redis.
const keyPrefix = "moat:rc:"

// Key is the key of a call: the plugin (its name, and its generation, a
// digest of its module and of its settings that change results), the
// tool by the plugin's own name, the canonical arguments, and the
// canonical parts of the request's _meta the plugin is given. It reports
// false when the arguments are not JSON.
//
// The key reads moat:rc:{PLUGIN}:GENERATION:DIGEST; the braces keep a
// plugin's keys on one node of a Redis Cluster, and the generation lets a
// reload drop the entries of the generation it replaced.
func Key(plugin, generation, tool string, args json.RawMessage, meta map[string]any) (string, bool) {
	canon, ok := Canonical(args)
	if !ok {
		return "", false
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(tool), canon} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	if len(meta) > 0 {
		m, err := json.Marshal(meta) // map keys sorted
		if err != nil {
			return "", false
		}
		h.Write(m)
	}
	return keyPrefix + "{" + plugin + "}:" + generation + ":" + hex.EncodeToString(h.Sum(nil)), true
}

// Canonical is args re-encoded so that two spellings of one value are one:
// object keys sorted, no whitespace, numbers as written. Absent or null
// arguments are {}.
func Canonical(args json.RawMessage) ([]byte, bool) {
	if len(args) == 0 || string(args) == "null" {
		return []byte("{}"), true
	}
	d := json.NewDecoder(strings.NewReader(string(args)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return nil, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return out, true
}

// Generation is a digest of what decides a plugin's results besides the
// call: its name, its module's digest and its settings (given as JSON,
// secrets included: they go into the hash, never into a key as they are).
func Generation(plugin, moduleDigest string, settings []byte) string {
	h := sha256.New()
	for _, part := range []string{plugin, moduleDigest, string(settings)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
