package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store chooses where shared state lives: the kv capability and the rate
// limit buckets. Without Redis, the kv store is the bbolt file in data_dir
// and the buckets are kept in the process, as on one machine; with it,
// every moat that names the same Redis shares both.
type Store struct {
	Redis *Redis `yaml:"redis"`
}

// Redis is a Redis server that holds the shared state.
type Redis struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS
	// (unix:///path for a socket). Client settings go in its query, such as
	// ?dial_timeout=2s&pool_size=16; moat's defaults suit a 2-core replica
	// (see RedisDefaults).
	URL string `yaml:"url"`
	// RateLimitOnError is what the rate limits do while Redis does not
	// answer: local (the default) keeps each replica's own buckets in the
	// meantime, allow admits every request, deny refuses every request
	// that a limit governs.
	RateLimitOnError string `yaml:"rate_limit_on_error"`
}

// The rate_limit_on_error values.
const (
	RateLimitOnErrorLocal = "local"
	RateLimitOnErrorAllow = "allow"
	RateLimitOnErrorDeny  = "deny"
)

// RedisDefaults are the client settings moat uses unless the URL's query
// sets them: short timeouts, so that a call needing the store fails within
// about a second when Redis is gone rather than hanging, and a small pool,
// since a replica with two cores runs few calls at once.
var RedisDefaults = struct {
	DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout time.Duration
	PoolSize, MaxRetries                                int
}{
	DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second,
	PoolSize: 16, MaxRetries: 1,
}

// RedisOptions are the client options of r: its URL parsed, with moat's
// defaults for what the URL leaves out.
func (r *Redis) RedisOptions() (*redis.Options, error) {
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("store.redis.url: %s: %w; write redis://[user:password@]host:port[/db], rediss:// for TLS, or unix:///path/to/socket", RedactURL(r.URL), err)
	}
	u, _ := url.Parse(r.URL) // ParseURL parsed it already
	q := u.Query()
	set := func(name string, d *time.Duration, def time.Duration) {
		if !q.Has(name) {
			*d = def
		}
	}
	set("dial_timeout", &opts.DialTimeout, RedisDefaults.DialTimeout)
	set("read_timeout", &opts.ReadTimeout, RedisDefaults.ReadTimeout)
	set("write_timeout", &opts.WriteTimeout, RedisDefaults.WriteTimeout)
	set("pool_timeout", &opts.PoolTimeout, RedisDefaults.PoolTimeout)
	if !q.Has("pool_size") {
		opts.PoolSize = RedisDefaults.PoolSize
	}
	if !q.Has("max_retries") {
		opts.MaxRetries = RedisDefaults.MaxRetries
	}
	// A refused dial is not tried again within the call: the call fails at
	// once, and the next call dials afresh.
	opts.DialerRetries = 1
	// The call's own deadline bounds every command, as well as the
	// timeouts above.
	opts.ContextTimeoutEnabled = true
	return opts, nil
}

// RedactURL is u with its password, if any, replaced, fit for logs and
// errors.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Not a URL: it may still hold a password; show its scheme only.
		if scheme, _, ok := strings.Cut(u, "://"); ok {
			return scheme + "://" + Redacted
		}
		return Redacted
	}
	return p.Redacted()
}

// StoreName names the shared store in logs, errors and /health: "redis
// at HOST:PORT/DB", or "embedded" without Redis.
func (c *Config) StoreName() string {
	if c.Store.Redis == nil {
		return "embedded"
	}
	opts, err := c.Store.Redis.RedisOptions()
	if err != nil {
		return "redis"
	}
	return fmt.Sprintf("redis at %s/%d", opts.Addr, opts.DB)
}

// redisPassword is the password in store.redis.url, a secret to scrub.
func (c *Config) redisPassword() string {
	if c.Store.Redis == nil {
		return ""
	}
	u, err := url.Parse(c.Store.Redis.URL)
	if err != nil {
		return ""
	}
	if u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

func (s Store) validate() error {
	r := s.Redis
	if r == nil {
		return nil
	}
	if r.URL == "" {
		return fmt.Errorf("store.redis.url: it is empty; write redis://host:6379/0 (rediss:// for TLS), or remove store.redis to keep the embedded store")
	}
	if _, err := r.RedisOptions(); err != nil {
		return err
	}
	switch r.RateLimitOnError {
	case RateLimitOnErrorLocal, RateLimitOnErrorAllow, RateLimitOnErrorDeny:
	default:
		return fmt.Errorf("store.redis.rate_limit_on_error: %q is not a choice; use local (each replica's own buckets while Redis is away), allow or deny", r.RateLimitOnError)
	}
	return nil
}

func (s *Store) applyDefaults() {
	if s.Redis != nil && s.Redis.RateLimitOnError == "" {
		s.Redis.RateLimitOnError = RateLimitOnErrorLocal
	}
}
