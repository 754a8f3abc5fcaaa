package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/config"
)

// store.redis, from a file or from MOAT_STORE_REDIS_URL: its client gets
// moat's short timeouts and small pool unless the URL's query sets them,
// and rate_limit_on_error defaults to local.
func TestStoreRedis(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "moat.yaml", "store: {redis: {url: \"rediss://moat:s3cret-pw@redis.internal:6380/2?pool_size=4\"}}\n")
	c, err := config.Load([]string{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Redis.RateLimitOnError != "local" {
		t.Errorf("rate_limit_on_error = %q; want local", c.Store.Redis.RateLimitOnError)
	}
	opts, err := c.Store.Redis.RedisOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Addr != "redis.internal:6380" || opts.DB != 2 || opts.TLSConfig == nil || opts.Password != "s3cret-pw" || opts.Username != "moat" {
		t.Errorf("options from the URL: addr %s db %d tls %v user %q", opts.Addr, opts.DB, opts.TLSConfig != nil, opts.Username)
	}
	if opts.PoolSize != 4 || opts.DialTimeout != time.Second || opts.ReadTimeout != time.Second || !opts.ContextTimeoutEnabled {
		t.Errorf("pool %d, dial %v, read %v: want the URL's pool and moat's 1s timeouts", opts.PoolSize, opts.DialTimeout, opts.ReadTimeout)
	}
	if c.StoreName() != "redis at redis.internal:6380/2" {
		t.Errorf("StoreName = %q", c.StoreName())
	}
	// The password is a secret: scrubbed from logs, masked when shown.
	if !slices.Contains(c.SecretValues(), "s3cret-pw") {
		t.Errorf("the URL's password is not among the secrets: %v", c.SecretValues())
	}
	out, err := c.EffectiveYAML(config.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret-pw") || !strings.Contains(string(out), "rediss://moat:xxxxx@redis.internal:6380/2") {
		t.Errorf("the effective configuration shows the store as:\n%s", out)
	}

	// A socket's URL holds it too.
	c, err = config.Parse([]byte("store: {redis: {url: \"unix://moat:sock-pw@/run/redis.sock?db=1\"}}"), "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = c.EffectiveYAML(config.Limits{})
	if !slices.Contains(c.SecretValues(), "sock-pw") || strings.Contains(string(out), "sock-pw") {
		t.Errorf("a socket URL's password: secrets %v, shown as\n%s", c.SecretValues(), out)
	}

	c, err = config.Load(nil, []string{"MOAT_STORE_REDIS_URL=redis://127.0.0.1:6379/0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Redis == nil || c.Store.Redis.URL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("MOAT_STORE_REDIS_URL gave store.redis %+v", c.Store.Redis)
	}
	if c, _ := config.Load(nil, nil); c.Store.Redis != nil || c.StoreName() != "embedded" {
		t.Fatalf("without store.redis: %+v, %q", c.Store.Redis, c.StoreName())
	}
}

func TestBadStoreRedis(t *testing.T) {
	for doc, want := range map[string]string{
		"store: {redis: {}}":                                                 "store.redis.url: it is empty",
		"store: {redis: {url: \"http://h:1\"}}":                              "store.redis.url: http://h:1: redis: invalid URL scheme",
		"store: {redis: {url: \"redis://u:pw@h:1/x\"}}":                      "store.redis.url: redis://u:xxxxx@h:1/x: redis: invalid database number",
		"store: {redis: {url: \"redis://h:1\", rate_limit_on_error: maybe}}": "store.redis.rate_limit_on_error: \"maybe\" is not a choice",
	} {
		_, err := config.Parse([]byte(doc), "test", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", doc, err, want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: the error shows the password: %v", doc, err)
		}
	}
}
