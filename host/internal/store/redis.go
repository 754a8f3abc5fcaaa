// Package store opens the shared store that store.redis names: one Redis
// client for the kv capability and the rate limit buckets, its health for
// /health, and the check of its persistence at start.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/redis/go-redis/v9"
)

// Redis is moat's connection to the Redis server of store.redis.
type Redis struct {
	c    *redis.Client
	name string
	log  hclog.Logger

	// The outcome of the last health check, kept for healthTTL so that a
	// busy /health does not become load on Redis.
	mu        sync.Mutex
	checked   time.Time
	lastError string
	// persistence is whether Redis's persistence has been checked: at
	// start, or, when Redis was away then, once a health check finds it.
	persistence bool

	// lastWarn is when a failed command was last logged (unix nanoseconds).
	lastWarn atomic.Int64
}

// warnEvery spaces the log lines of failed commands: one outage is a few
// lines, not one per call.
const warnEvery = 10 * time.Second

// healthTTL is how long a health check's outcome stands; healthTimeout
// bounds the check itself.
const (
	healthTTL     = time.Second
	healthTimeout = 500 * time.Millisecond
)

// OpenRedis makes the client of cfg.Store.Redis. It does not need Redis
// to answer: moat starts and serves without it, the calls that need the
// store failing until it answers. It pings once, and when Redis answers,
// warns if its persistence would lose writes moat acknowledged.
func OpenRedis(ctx context.Context, cfg *config.Config, log hclog.Logger) (*Redis, error) {
	opts, err := cfg.Store.Redis.RedisOptions()
	if err != nil {
		return nil, err
	}
	if opts.ClientName == "" {
		opts.ClientName = "moat" // what CLIENT LIST shows
	}
	// go-redis writes what it notices (a failed dial, say) to a logger of
	// its own, on stderr; moat's log takes it instead, at debug level:
	// failureLog says the same at warn level, once per outage.
	redis.SetLogger(clientLog{log.Named("redis")})
	r := &Redis{c: redis.NewClient(opts), name: cfg.StoreName(), log: log}
	r.c.AddHook(failureLog{r})
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout+opts.ReadTimeout)
	defer cancel()
	if err := r.c.Ping(ctx).Err(); err != nil {
		log.Warn("the shared store does not answer; calls that need it fail until it does, and moat serves the rest meanwhile",
			"store", r.name, "error", err)
		return r, nil
	}
	log.Info("shared store open", "store", r.name)
	r.mu.Lock()
	r.checkPersistence(ctx)
	r.mu.Unlock()
	return r, nil
}

// Name names the store, as errors and /health do.
func (r *Redis) Name() string { return r.name }

// Client is the go-redis client, for the engines on the store.
func (r *Redis) Client() *redis.Client { return r.c }

// KV is the kv capability on this store.
func (r *Redis) KV() *capability.RedisKV { return capability.NewRedisKV(r.c, r.name) }

// Close closes the client's connections.
func (r *Redis) Close() error { return r.c.Close() }

// Health is the store as /health reports it.
type Health struct {
	Engine string `json:"engine"` // embedded or redis
	Name   string `json:"name"`
	Status string `json:"status"` // ok or degraded
	Error  string `json:"error,omitempty"`
}

// Health pings Redis (at most once a second, within half a second) and
// reports ok, or degraded with the error.
func (r *Redis) Health(ctx context.Context) Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) >= healthTTL {
		pctx, cancel := context.WithTimeout(ctx, healthTimeout)
		err := r.c.Ping(pctx).Err()
		cancel()
		r.checked, r.lastError = time.Now(), ""
		if err != nil {
			r.lastError = fmt.Sprintf("%s does not answer: %v", r.name, err)
		} else if !r.persistence {
			cctx, cancel := context.WithTimeout(ctx, healthTimeout)
			r.checkPersistence(cctx)
			cancel()
		}
	}
	h := Health{Engine: "redis", Name: r.name, Status: "ok", Error: r.lastError}
	if h.Error != "" {
		h.Status = "degraded"
	}
	return h
}

// checkPersistence reads how Redis persists writes and says what that
// means for a write kv_set acknowledged: a warning when a restart of Redis
// or of its machine loses such writes. A Redis that refuses CONFIG (as
// managed ones often do) is only noted. Called with mu held.
func (r *Redis) checkPersistence(ctx context.Context) {
	r.persistence = true
	got := map[string]string{}
	var err error
	for _, key := range []string{"appendonly", "appendfsync", "save"} {
		var m map[string]string
		if m, err = r.c.ConfigGet(ctx, key).Result(); err != nil {
			break
		}
		got[key] = m[key]
	}
	if err != nil || got["appendonly"] == "" {
		r.log.Info("cannot read the shared store's persistence settings (CONFIG GET); see docs/STORE.md for what each setting keeps", "store", r.name, "error", err)
		return
	}
	msg, warn := PersistenceVerdict(got["appendonly"], got["appendfsync"], got["save"])
	if warn {
		r.log.Warn(msg, "store", r.name, "appendonly", got["appendonly"], "appendfsync", got["appendfsync"], "save", got["save"])
	} else {
		r.log.Info(msg, "store", r.name, "appendonly", got["appendonly"], "appendfsync", got["appendfsync"])
	}
}

// PersistenceVerdict says what Redis's persistence settings keep of the
// writes moat acknowledged, and whether that deserves a warning.
func PersistenceVerdict(appendonly, appendfsync, save string) (msg string, warn bool) {
	switch {
	case appendonly != "yes" && strings.TrimSpace(save) == "":
		return "the shared store persists nothing (no AOF, no RDB snapshots): a restart of Redis loses every kv value; set appendonly yes (see docs/STORE.md)", true
	case appendonly != "yes":
		return "the shared store persists only RDB snapshots: a restart of Redis loses the kv writes acknowledged since the last snapshot; set appendonly yes (see docs/STORE.md)", true
	case appendfsync == "always":
		return "the shared store writes each acknowledged kv write to disk before answering (appendfsync always)", false
	case appendfsync == "everysec":
		return "the shared store syncs its AOF every second: a crash of Redis's machine (not of Redis alone) may lose up to a second of acknowledged kv writes; appendfsync always loses none (see docs/STORE.md)", false
	}
	return "the shared store leaves syncing its AOF to the OS (appendfsync no): a crash of Redis's machine may lose about 30 seconds of acknowledged kv writes; set appendfsync everysec or always (see docs/STORE.md)", true
}

// failureLog logs the commands that fail for want of an answer (at most
// one line every warnEvery), so that an outage of the store shows in
// moat's log as well as in the calls that need it. Redis's own error
// replies, and commands whose call ended first, are not the store failing.
type failureLog struct{ r *Redis }

func (h failureLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failureLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.note(ctx, err)
		return err
	}
}

func (h failureLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.note(ctx, err)
		return err
	}
}

func (h failureLog) note(ctx context.Context, err error) {
	var reply redis.Error
	if err == nil || errors.Is(err, redis.Nil) || errors.As(err, &reply) || ctx.Err() != nil {
		return
	}
	now := time.Now().UnixNano()
	last := h.r.lastWarn.Load()
	if now-last < int64(warnEvery) || !h.r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	h.r.log.Warn("the shared store does not answer; kv calls fail with EIO and the rate limits follow store.redis.rate_limit_on_error until it does",
		"store", h.r.name, "error", err)
}

// clientLog passes go-redis's own log lines to moat's log, at debug level.
type clientLog struct{ log hclog.Logger }

func (l clientLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}
