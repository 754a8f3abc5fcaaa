package resultcache

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/redistest"
)

func key(t *testing.T, gen, tool, args string, meta map[string]any) string {
	t.Helper()
	k, ok := Key("weather", gen, tool, json.RawMessage(args), meta)
	if !ok {
		t.Fatalf("Key(%s) refused valid JSON", args)
	}
	return k
}

// Two spellings of one call are one key; any difference a plugin could
// answer differently to is another.
func TestKeyIsCanonical(t *testing.T) {
	gen := Generation("weather", "aaaa", []byte(`{"config":{"unit":"C"}}`))
	base := key(t, gen, "forecast", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[1,2]}}`, nil)
	for _, same := range []string{
		`{"days":3,"city":"Oslo","opts":{"a":[1,2],"b":1}}`,
		"{ \"opts\" : { \"b\" : 1 , \"a\" : [ 1 , 2 ] } ,\n \"city\" : \"Oslo\", \"days\" : 3 }",
		`{"city":"\u004fslo","days":3,"opts":{"b":1,"a":[1,2]}}`,
	} {
		if got := key(t, gen, "forecast", same, nil); got != base {
			t.Errorf("%s: key %s, want the key of the same call written otherwise (%s)", same, got, base)
		}
	}
	for name, other := range map[string]string{
		"another value":    key(t, gen, "forecast", `{"city":"Bergen","days":3,"opts":{"b":1,"a":[1,2]}}`, nil),
		"another tool":     key(t, gen, "now", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[1,2]}}`, nil),
		"array order":      key(t, gen, "forecast", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[2,1]}}`, nil),
		"a number's text":  key(t, gen, "forecast", `{"city":"Oslo","days":3.0,"opts":{"b":1,"a":[1,2]}}`, nil),
		"another client":   key(t, gen, "forecast", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[1,2]}}`, map[string]any{"caps": map[string]any{"elicitation": true}}),
		"a changed module": key(t, Generation("weather", "bbbb", []byte(`{"config":{"unit":"C"}}`)), "forecast", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[1,2]}}`, nil),
		"changed grants":   key(t, Generation("weather", "aaaa", []byte(`{"config":{"unit":"F"}}`)), "forecast", `{"city":"Oslo","days":3,"opts":{"b":1,"a":[1,2]}}`, nil),
	} {
		if other == base {
			t.Errorf("%s: same key as the original call (%s)", name, base)
		}
	}
	// A large integer keeps its digits: it is not read as a float64.
	if key(t, gen, "t", `{"n":9007199254740993}`, nil) == key(t, gen, "t", `{"n":9007199254740992}`, nil) {
		t.Error("two integers past 2^53 that differ in the last digit have one key")
	}
	for _, none := range []string{``, `null`, `{}`, ` { } `} {
		if got, want := key(t, gen, "t", none, nil), key(t, gen, "t", `{}`, nil); got != want {
			t.Errorf("arguments %q: key %s, want the key of {}", none, got)
		}
	}
	if _, ok := Key("weather", gen, "t", json.RawMessage(`{"a":1} {"b":2}`), nil); ok {
		t.Error("two JSON values as arguments made a key")
	}
	// The key never holds the settings, only their digest.
	if strings.Contains(base, "unit") || !strings.HasPrefix(base, "moat:rc:{weather}:"+gen+":") {
		t.Errorf("key %s: want moat:rc:{weather}:GENERATION:DIGEST", base)
	}
}

func TestL1BoundsTTLAndSize(t *testing.T) {
	c := New(Options{Memory: 4 << 10, MaxResult: 1 << 10})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	if !c.Put(ctx, "a", []byte("result a"), time.Minute) {
		t.Fatal("a small result was not kept")
	}
	if v, lvl := c.Get(ctx, "a"); string(v) != "result a" || lvl != Memory {
		t.Fatalf("Get a: %q %s", v, lvl)
	}
	if c.Put(ctx, "big", make([]byte, 1<<10+1), time.Minute) {
		t.Fatal("a result over MaxResult was kept")
	}
	if v, _ := c.Get(ctx, "big"); v != nil {
		t.Fatal("a result over MaxResult is served")
	}
	now = now.Add(time.Minute)
	if v, lvl := c.Get(ctx, "a"); v != nil || lvl != Miss {
		t.Fatalf("Get a after its TTL: %q %s; want a miss", v, lvl)
	}
	// Memory counts bytes: five entries of 1KiB do not fit in 4KiB, and
	// the least recently used goes first.
	for _, k := range []string{"1", "2", "3", "4"} {
		c.Put(ctx, k, make([]byte, 900), time.Minute)
		c.Get(ctx, "1")
	}
	c.Put(ctx, "5", make([]byte, 900), time.Minute)
	if c.Bytes() > 4<<10 {
		t.Fatalf("L1 holds %d bytes, over its bound of 4KiB", c.Bytes())
	}
	if v, _ := c.Get(ctx, "2"); v != nil {
		t.Error("the least recently used entry is still there")
	}
	if v, _ := c.Get(ctx, "1"); v == nil {
		t.Error("the most recently read entry was evicted")
	}
	// Replacing an entry counts it once.
	before := c.Bytes()
	c.Put(ctx, "1", make([]byte, 900), time.Minute)
	if c.Bytes() != before {
		t.Errorf("replacing an entry moved the bytes from %d to %d", before, c.Bytes())
	}
}

func TestForgetDropsOtherGenerations(t *testing.T) {
	c := New(Options{Memory: 1 << 20, MaxResult: 1 << 10})
	ctx := context.Background()
	old := key(t, "g1", "forecast", `{}`, nil)
	cur := key(t, "g2", "forecast", `{}`, nil)
	other, _ := Key("time", "g1", "now", nil, nil)
	for _, k := range []string{old, cur, other} {
		c.Put(ctx, k, []byte("x"), time.Minute)
	}
	c.Forget("weather", "g2")
	if v, _ := c.Get(ctx, old); v != nil {
		t.Error("an entry of the replaced generation is still served")
	}
	if v, _ := c.Get(ctx, cur); v == nil {
		t.Error("an entry of the current generation was dropped")
	}
	if v, _ := c.Get(ctx, other); v == nil {
		t.Error("another plugin's entry was dropped")
	}
	c.Forget("weather", "")
	if c.Len() != 1 {
		t.Errorf("after forgetting the plugin, L1 holds %d entries; want the other plugin's one", c.Len())
	}
}

// Two caches on one Redis share entries; with Redis stopped, each goes on
// with L1 alone, without an error, and uses Redis again once it is back.
func TestL2SharedAndDegrades(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := New(Options{Memory: 1 << 20, MaxResult: 1 << 10, Redis: srv.Client(), Backoff: time.Millisecond})
	b := New(Options{Memory: 1 << 20, MaxResult: 1 << 10, Redis: srv.Client(), Backoff: time.Millisecond})
	a.Put(ctx, "k", []byte("computed on a"), time.Minute)
	if v, lvl := b.Get(ctx, "k"); string(v) != "computed on a" || lvl != Redis {
		t.Fatalf("b.Get: %q %s; want a's result from Redis", v, lvl)
	}
	if v, lvl := b.Get(ctx, "k"); string(v) != "computed on a" || lvl != Memory {
		t.Fatalf("b.Get again: %q %s; want it from b's memory now", v, lvl)
	}
	if ttl := srv.Client().PTTL(ctx, "k").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("the entry's TTL in Redis is %v; want at most a minute", ttl)
	}

	srv.Stop()
	if !a.Put(ctx, "k2", []byte("while redis is away"), time.Minute) {
		t.Fatal("Put with Redis stopped did not keep the result in memory")
	}
	if v, lvl := a.Get(ctx, "k2"); string(v) != "while redis is away" || lvl != Memory {
		t.Fatalf("Get with Redis stopped: %q %s; want it from memory", v, lvl)
	}
	if v, lvl := b.Get(ctx, "k2"); v != nil || lvl != Miss {
		t.Fatalf("b.Get of an entry only a holds, Redis stopped: %q %s; want a miss", v, lvl)
	}

	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a.Put(ctx, "k3", []byte("back"), time.Minute)
		if v, lvl := b.Get(ctx, "k3"); lvl == Redis && string(v) == "back" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("30s after Redis came back, the caches still do not share entries")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkGet is one lookup that hits: in memory, and on a redis-server
// on loopback (L1 too small to keep the entry), of a 1KiB result.
func BenchmarkGet(b *testing.B) {
	val := []byte(strings.Repeat("r", 1<<10))
	for _, level := range []string{"l1", "l2"} {
		b.Run(level, func(b *testing.B) {
			opts := Options{Memory: 64 << 20, MaxResult: 256 << 10}
			if level == "l2" {
				opts.Memory, opts.Redis = 1, redistest.Start(b).Client()
			}
			c := New(opts)
			ctx := context.Background()
			k, _ := Key("p", "g", "t", json.RawMessage(`{"a":1}`), nil)
			c.Put(ctx, k, val, time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				if v, _ := c.Get(ctx, k); v == nil {
					b.Fatal("miss")
				}
			}
		})
	}
}
