package capability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/redis/go-redis/v9"
)

const quota = 1 << 20

// engine opens a fresh, empty store of one engine for a test.
type engine struct {
	name string
	open func(t *testing.T) Store
}

// engines are the stores the contract tests run against: each must behave
// alike, down to the errnos.
var engines = []engine{
	{"bbolt", func(t *testing.T) Store { return open(t, t.TempDir()) }},
	{"redis", func(t *testing.T) Store {
		srv := redistest.Start(t)
		return NewRedisKV(srv.Client(), "redis at "+srv.Addr())
	}},
}

// eachEngine runs test against every engine, as a subtest of its name.
func eachEngine(t *testing.T, test func(t *testing.T, s Store)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t)
			defer s.Close()
			test(t, s)
		})
	}
}

var bg = context.Background()

func open(t *testing.T, dir string) *KV {
	t.Helper()
	s, err := OpenKV(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func errnoOf(t *testing.T, err error) abi.Errno {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *capability.Error", err)
	}
	return e.Errno
}

func TestIsolation(t *testing.T) { eachEngine(t, testIsolation) }

func testIsolation(t *testing.T, s Store) {
	if err := s.Set(context.Background(), "a", []byte("k"), []byte("from a"), quota); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(bg, "b", []byte("k")); errnoOf(t, err) != abi.ENOTFOUND {
		t.Fatalf("b reads a's key: %v", err)
	}
	if err := s.Set(context.Background(), "b", []byte("k"), []byte("from b"), quota); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), "b", []byte("k")); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(bg, "a", []byte("k"))
	if err != nil || string(v) != "from a" {
		t.Fatalf("a's value after b's set and delete: %q, %v", v, err)
	}
	if l, _ := s.List(bg, "b", nil); string(l) != "[]" {
		t.Fatalf("b lists %s", l)
	}
}

func TestQuota(t *testing.T) { eachEngine(t, testQuota) }

func testQuota(t *testing.T, s Store) {
	if err := s.Set(context.Background(), "p", []byte("k1"), make([]byte, 8), 20); err != nil { // 10 bytes
		t.Fatal(err)
	}
	if err := s.Set(context.Background(), "p", []byte("k2"), make([]byte, 8), 20); err != nil { // 20 bytes
		t.Fatal(err)
	}
	err := s.Set(context.Background(), "p", []byte("k3"), []byte("x"), 20)
	if errnoOf(t, err) != abi.ETOOBIG || !strings.Contains(err.Error(), "quota") {
		t.Fatalf("past the quota: %v", err)
	}
	// Replacing a value counts the new size, not both.
	if err := s.Set(context.Background(), "p", []byte("k1"), make([]byte, 8), 20); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), "p", []byte("k2")); err != nil {
		t.Fatal(err)
	}
	if used, _ := s.Used(bg, "p"); used != 10 {
		t.Fatalf("used = %d, want 10", used)
	}
	if err := s.Set(context.Background(), "p", []byte("k3"), make([]byte, 8), 20); err != nil {
		t.Fatalf("after a delete freed room: %v", err)
	}
}

func TestCaps(t *testing.T) { eachEngine(t, testCaps) }

func testCaps(t *testing.T, s Store) {
	big := uint64(1 << 30)
	if err := s.Set(context.Background(), "p", bytes.Repeat([]byte("k"), MaxKey+1), nil, big); errnoOf(t, err) != abi.ETOOBIG {
		t.Fatalf("long key: %v", err)
	}
	if err := s.Set(context.Background(), "p", []byte("k"), make([]byte, MaxValue+1), big); errnoOf(t, err) != abi.ETOOBIG {
		t.Fatalf("big value: %v", err)
	}
	if err := s.Set(context.Background(), "p", bytes.Repeat([]byte("k"), MaxKey), make([]byte, MaxValue), big); err != nil {
		t.Fatalf("at the caps: %v", err)
	}
	if _, err := s.Get(bg, "p", nil); errnoOf(t, err) != abi.EINVAL {
		t.Fatalf("empty key: %v", err)
	}
	if err := s.Delete(bg, "p", nil); errnoOf(t, err) != abi.EINVAL {
		t.Fatalf("delete of the empty key: %v", err)
	}
	// An empty value is a value: it is found, and counts its key.
	if err := s.Set(bg, "q", []byte("empty"), nil, big); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(bg, "q", []byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("an empty value reads %q, %v", v, err)
	}
	if used, err := s.Used(bg, "q"); err != nil || used != 5 {
		t.Fatalf("an empty value under a 5-byte key uses %d, %v", used, err)
	}
	// A missing key deletes without error and changes nothing.
	if err := s.Delete(bg, "q", []byte("missing")); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	if used, _ := s.Used(bg, "q"); used != 5 {
		t.Fatalf("after deleting a missing key, used = %d", used)
	}
}

func TestList(t *testing.T) { eachEngine(t, testList) }

func testList(t *testing.T, s Store) {
	for _, k := range []string{"user:2", "user:1", "users", "item:1", "user;"} {
		if err := s.Set(context.Background(), "p", []byte(k), []byte("v"), quota); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(bg, "p", []byte("user:"))
	if err != nil || string(got) != `["user:1","user:2"]` {
		t.Fatalf("List(user:) = %s, %v", got, err)
	}
	got, _ = s.List(bg, "p", nil)
	if string(got) != `["item:1","user:1","user:2","user;","users"]` {
		t.Fatalf("List() = %s", got)
	}
	// Bytes order, also past 0x7f, and a prefix of 0xff bytes, which has
	// no successor to bound a range with.
	for _, k := range []string{"z\xff", "z\xff\x00", "z\xff\xff", "z\x80", "zz"} {
		if err := s.Set(bg, "p", []byte(k), []byte("v"), quota); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"z", []string{"zz", "z\x80", "z\xff", "z\xff\x00", "z\xff\xff"}},
		{"z\xff", []string{"z\xff", "z\xff\x00", "z\xff\xff"}},
		{"z\xff\xff", []string{"z\xff\xff"}},
		{"y", []string{}},
	} {
		want, _ := json.Marshal(c.want)
		if got, err := s.List(bg, "p", []byte(c.prefix)); err != nil || string(got) != string(want) {
			t.Errorf("List(%q) = %s, %v; want %s", c.prefix, got, err, want)
		}
	}
	if _, err := s.List(bg, "p", bytes.Repeat([]byte("k"), MaxKey+1)); errnoOf(t, err) != abi.ETOOBIG {
		t.Fatalf("a prefix longer than a key: %v", err)
	}
}

func TestConcurrentSets(t *testing.T) { eachEngine(t, testConcurrentSets) }

func testConcurrentSets(t *testing.T, s Store) {
	// 40 writers of 10-byte entries against a 200-byte quota: exactly 20 fit.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Set(context.Background(), "p", fmt.Appendf(nil, "key%02d", i), []byte("vvvvv"), 200)
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if errnoOf(t, err) != abi.ETOOBIG {
			t.Fatal(err)
		}
	}
	used, _ := s.Used(bg, "p")
	if ok != 20 || used != 200 {
		t.Fatalf("%d sets succeeded, %d bytes used; want 20 and 200", ok, used)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Set(context.Background(), "p", []byte("k"), []byte("kept"), quota); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKV(dir); err == nil || !strings.Contains(err.Error(), "data_dir "+dir) {
		t.Fatalf("a second open of a locked store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	v, err := s.Get(bg, "p", []byte("k"))
	if err != nil || string(v) != "kept" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
	if used, _ := s.Used(bg, "p"); used != 5 {
		t.Fatalf("used after reopening = %d", used)
	}
}

// A write queued behind another gives up when its call's deadline passes or
// the call is cancelled, and stores nothing: bbolt's own writer lock would
// have held it for as long as the writes before it took.
func TestWriteBehindAnotherEndsWithItsCall(t *testing.T) {
	s := open(t, t.TempDir())
	s.writer <- struct{}{} // a write in progress that does not end
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Set(ctx, "p", []byte("k"), []byte("v"), 1<<20); errnoOf(t, err) != abi.ETIMEDOUT {
		t.Fatalf("a write behind a stuck one past its deadline: %v; want ETIMEDOUT", err)
	}
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := s.Delete(cancelled, "p", []byte("k")); errnoOf(t, err) != abi.ECANCELED {
		t.Fatalf("a delete behind a stuck write, cancelled: %v; want ECANCELED", err)
	}
	<-s.writer
	if _, err := s.Get(bg, "p", []byte("k")); errnoOf(t, err) != abi.ENOTFOUND {
		t.Fatalf("the write that gave up was stored: %v", err)
	}
	if err := s.Set(context.Background(), "p", []byte("k"), []byte("v"), 1<<20); err != nil {
		t.Fatalf("a write once the slot is free: %v", err)
	}
}

// Two stores on one Redis, as two moats: what one sets the other reads,
// and the quota counts both.
func TestRedisKVShared(t *testing.T) {
	srv := redistest.Start(t)
	a := NewRedisKV(srv.Client(), "redis")
	b := NewRedisKV(srv.Client(), "redis")
	if err := a.Set(bg, "p", []byte("k"), []byte("from a"), 20); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(bg, "p", []byte("k")); err != nil || string(v) != "from a" {
		t.Fatalf("b reads a's write: %q, %v", v, err)
	}
	// 7 bytes in use of 20; b's 14 more would make 21.
	if err := b.Set(bg, "p", []byte("k2"), make([]byte, 12), 20); errnoOf(t, err) != abi.ETOOBIG {
		t.Fatalf("b past the quota a's write used: %v", err)
	}
}

// With Redis gone, every operation answers EIO naming the store, at once;
// once it is back, the same store serves again.
func TestRedisKVDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	opts, err := (&config.Redis{URL: srv.URL()}).RedisOptions()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts) // moat's own settings
	defer c.Close()
	s := NewRedisKV(c, "redis at "+srv.Addr())
	if err := s.Set(bg, "p", []byte("k"), []byte("v"), quota); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for name, op := range map[string]func() error{
		"get":    func() error { _, err := s.Get(bg, "p", []byte("k")); return err },
		"set":    func() error { return s.Set(bg, "p", []byte("k"), []byte("v"), quota) },
		"delete": func() error { return s.Delete(bg, "p", []byte("k")) },
		"list":   func() error { _, err := s.List(bg, "p", nil); return err },
	} {
		err := op()
		if errnoOf(t, err) != abi.EIO || !strings.Contains(err.Error(), "redis at "+srv.Addr()) {
			t.Errorf("%s with Redis stopped: %v; want EIO naming the store", name, err)
		}
	}
	srv.Restart()
	// The server kept nothing (no persistence), and the store serves again
	// without being reopened.
	if err := s.Set(bg, "p", []byte("k2"), []byte("v2"), quota); err != nil {
		t.Fatalf("set once Redis is back: %v", err)
	}
	if v, err := s.Get(bg, "p", []byte("k2")); err != nil || string(v) != "v2" {
		t.Fatalf("get once Redis is back: %q, %v", v, err)
	}
}

// A call whose deadline has passed answers ETIMEDOUT, as bbolt's does.
func TestRedisKVDeadline(t *testing.T) {
	srv := redistest.Start(t)
	s := NewRedisKV(srv.Client(), "redis")
	ctx, cancel := context.WithTimeout(bg, time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := s.Set(ctx, "p", []byte("k"), []byte("v"), quota); errnoOf(t, err) != abi.ETIMEDOUT {
		t.Fatalf("a set past its deadline: %v; want ETIMEDOUT", err)
	}
}

// BenchmarkKV measures kv_get and kv_set of 100-byte values on each
// engine, from one goroutine and from several (-cpu sets how many).
func BenchmarkKV(b *testing.B) {
	benchEngines := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"bbolt", func(b *testing.B) Store {
			s, err := OpenKV(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"redis", func(b *testing.B) Store { return benchRedis(b) }},
		{"redis-aof-everysec", func(b *testing.B) Store { return benchRedis(b, "--appendonly", "yes", "--appendfsync", "everysec") }},
		{"redis-aof-always", func(b *testing.B) Store { return benchRedis(b, "--appendonly", "yes", "--appendfsync", "always") }},
	}
	value := bytes.Repeat([]byte("v"), 100)
	for _, e := range benchEngines {
		s := e.open(b)
		for i := range 1000 {
			if err := s.Set(bg, "p", fmt.Appendf(nil, "key%04d", i), value, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(e.name+"/get", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := s.Get(bg, "p", fmt.Appendf(nil, "key%04d", i%1000)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
		b.Run(e.name+"/set", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := s.Set(bg, "p", fmt.Appendf(nil, "key%04d", i%1000), value, 1<<30); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
		s.Close()
	}
}

// benchRedis is a RedisKV with moat's client settings on a redis-server
// started with args.
func benchRedis(b *testing.B, args ...string) Store {
	srv := redistest.Start(b, args...)
	opts, err := (&config.Redis{URL: srv.URL()}).RedisOptions()
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(opts)
	b.Cleanup(func() { c.Close() })
	return NewRedisKV(c, "redis")
}
