package capability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
)

const quota = 1 << 20

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

func TestIsolation(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.Set(context.Background(), "a", []byte("k"), []byte("from a"), quota); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("b", []byte("k")); errnoOf(t, err) != abi.ENOTFOUND {
		t.Fatalf("b reads a's key: %v", err)
	}
	if err := s.Set(context.Background(), "b", []byte("k"), []byte("from b"), quota); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), "b", []byte("k")); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get("a", []byte("k"))
	if err != nil || string(v) != "from a" {
		t.Fatalf("a's value after b's set and delete: %q, %v", v, err)
	}
	if l, _ := s.List("b", nil); string(l) != "[]" {
		t.Fatalf("b lists %s", l)
	}
}

func TestQuota(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
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
	if used, _ := s.Used("p"); used != 10 {
		t.Fatalf("used = %d, want 10", used)
	}
	if err := s.Set(context.Background(), "p", []byte("k3"), make([]byte, 8), 20); err != nil {
		t.Fatalf("after a delete freed room: %v", err)
	}
}

func TestCaps(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
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
	if _, err := s.Get("p", nil); errnoOf(t, err) != abi.EINVAL {
		t.Fatalf("empty key: %v", err)
	}
}

func TestList(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	for _, k := range []string{"user:2", "user:1", "users", "item:1", "user;"} {
		if err := s.Set(context.Background(), "p", []byte(k), []byte("v"), quota); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List("p", []byte("user:"))
	if err != nil || string(got) != `["user:1","user:2"]` {
		t.Fatalf("List(user:) = %s, %v", got, err)
	}
	got, _ = s.List("p", nil)
	if string(got) != `["item:1","user:1","user:2","user;","users"]` {
		t.Fatalf("List() = %s", got)
	}
}

func TestConcurrentSets(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
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
	used, _ := s.Used("p")
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
	v, err := s.Get("p", []byte("k"))
	if err != nil || string(v) != "kept" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
	if used, _ := s.Used("p"); used != 5 {
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
	if _, err := s.Get("p", []byte("k")); errnoOf(t, err) != abi.ENOTFOUND {
		t.Fatalf("the write that gave up was stored: %v", err)
	}
	if err := s.Set(context.Background(), "p", []byte("k"), []byte("v"), 1<<20); err != nil {
		t.Fatalf("a write once the slot is free: %v", err)
	}
}
