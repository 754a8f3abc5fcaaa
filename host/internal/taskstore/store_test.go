package taskstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/internal/taskstore"
	"github.com/moat-mcp/moat/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// engine makes stores of one engine: open gives a store as a moat process
// would have it; reopen gives the store a later (or another) process has.
type engine struct {
	name   string
	open   func(t *testing.T) *taskstore.Store
	reopen func(t *testing.T) *taskstore.Store
}

func engines(t *testing.T) []engine {
	mem := taskstore.NewMemory()
	dir := filepath.Join(t.TempDir(), "data")
	var first *taskstore.Store
	srv := redistest.Start(t)
	client := srv.Client()
	return []engine{
		{name: "memory", open: func(t *testing.T) *taskstore.Store { return mem }},
		{name: "embedded",
			open: func(t *testing.T) *taskstore.Store {
				first = taskstore.NewEmbedded(func() (string, error) { return dir, nil })
				t.Cleanup(func() { first.Close() })
				return first
			},
			// bbolt locks the file: the next process has it once the first
			// is gone.
			reopen: func(t *testing.T) *taskstore.Store {
				first.Close()
				s := taskstore.NewEmbedded(func() (string, error) { return dir, nil })
				t.Cleanup(func() { s.Close() })
				return s
			}},
		{name: "redis",
			open: func(t *testing.T) *taskstore.Store {
				client.FlushDB(context.Background())
				s := taskstore.NewRedis(client, "redis at "+srv.Addr())
				t.Cleanup(func() { s.Close() })
				return s
			},
			reopen: func(t *testing.T) *taskstore.Store {
				s := taskstore.NewRedis(client, "redis at "+srv.Addr())
				t.Cleanup(func() { s.Close() })
				return s
			}},
	}
}

func record(s *taskstore.Store, principal, status string) *taskstore.Record {
	now := time.Now()
	return &taskstore.Record{ID: taskstore.NewOwner(), Principal: principal, Tool: "slow", Plugin: "p", Status: status,
		Created: now, Updated: now, Expires: now.Add(time.Hour), Owner: s.Owner()}
}

// The same contract, on every engine.
func TestContract(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t)
			t.Run("create, read, update, delete", func(t *testing.T) {
				rec := record(s, "ada", taskstore.Working)
				if err := s.Create(ctx, rec, 16, 1000); err != nil {
					t.Fatal(err)
				}
				got, err := s.Get(ctx, rec.ID)
				if err != nil || got == nil || got.Principal != "ada" || got.Tool != "slow" || got.Status != taskstore.Working || !got.Created.Equal(rec.Created) {
					t.Fatalf("Get after Create: %+v, %v", got, err)
				}
				if got, err := s.Get(ctx, "nothing"); got != nil || err != nil {
					t.Fatalf("Get of an unknown id: %+v, %v; want nil, nil", got, err)
				}
				after, err := s.Update(ctx, rec.ID, func(r *taskstore.Record) bool {
					r.Status = taskstore.InputRequired
					r.Pending = map[string]json.RawMessage{"confirm": json.RawMessage(`{"method":"elicitation/create"}`)}
					return true
				})
				if err != nil || after.Status != taskstore.InputRequired {
					t.Fatalf("Update: %+v, %v", after, err)
				}
				unchanged, err := s.Update(ctx, rec.ID, func(r *taskstore.Record) bool {
					r.Status = taskstore.Failed
					return false
				})
				if err != nil || unchanged == nil {
					t.Fatalf("an Update that writes nothing: %+v, %v", unchanged, err)
				}
				got, _ = s.Get(ctx, rec.ID)
				if got.Status != taskstore.InputRequired || string(got.Pending["confirm"]) != `{"method":"elicitation/create"}` {
					t.Fatalf("after an Update that wrote nothing: %+v", got)
				}
				if err := s.Delete(ctx, rec.ID, "ada"); err != nil {
					t.Fatal(err)
				}
				if got, err := s.Get(ctx, rec.ID); got != nil || err != nil {
					t.Fatalf("Get after Delete: %+v, %v", got, err)
				}
				if got, err := s.Update(ctx, rec.ID, func(*taskstore.Record) bool { return true }); got != nil || err != nil {
					t.Fatalf("Update after Delete: %+v, %v", got, err)
				}
			})
			t.Run("caps", func(t *testing.T) {
				var running []*taskstore.Record
				for range 2 {
					r := record(s, "bob", taskstore.Working)
					if err := s.Create(ctx, r, 2, 3); err != nil {
						t.Fatal(err)
					}
					running = append(running, r)
				}
				var ce *taskstore.CapError
				if err := s.Create(ctx, record(s, "bob", taskstore.Working), 2, 3); !errors.As(err, &ce) || !strings.Contains(err.Error(), "2 tasks running") {
					t.Fatalf("a third task running of two allowed: %v", err)
				}
				if err := s.Create(ctx, record(s, "cy", taskstore.Working), 2, 3); err != nil {
					t.Fatalf("another principal's task: %v", err)
				}
				s.Update(ctx, running[0].ID, func(r *taskstore.Record) bool { r.Status = taskstore.Completed; return true })
				if err := s.Create(ctx, record(s, "bob", taskstore.Working), 2, 3); err != nil {
					t.Fatalf("a task once another ended: %v", err)
				}
				if err := s.Create(ctx, record(s, "bob", taskstore.Completed), 2, 3); !errors.As(err, &ce) || !strings.Contains(err.Error(), "keeps 3 tasks") {
					t.Fatalf("a fourth task of three kept: %v", err)
				}
			})
			t.Run("expiry", func(t *testing.T) {
				old := record(s, "dee", taskstore.Completed)
				old.Created, old.Expires = old.Created.Add(-2*time.Hour), old.Created.Add(-time.Hour)
				if err := s.Create(ctx, old, 1, 1); err != nil {
					t.Fatal(err)
				}
				if got, err := s.Get(ctx, old.ID); got != nil || err != nil {
					t.Fatalf("Get of an expired task: %+v, %v", got, err)
				}
				if err := s.Create(ctx, record(s, "dee", taskstore.Working), 1, 1); err != nil {
					t.Fatalf("an expired task counted against the cap: %v", err)
				}
			})
			if e.reopen == nil {
				return
			}
			t.Run("another process", func(t *testing.T) {
				done := record(s, "eve", taskstore.Completed)
				done.Result = json.RawMessage(`{"content":[{"type":"text","text":"42"}]}`)
				running := record(s, "eve", taskstore.Working)
				for _, r := range []*taskstore.Record{done, running} {
					if err := s.Create(ctx, r, 16, 1000); err != nil {
						t.Fatal(err)
					}
				}
				other := e.reopen(t)
				got, err := other.Get(ctx, done.ID)
				if err != nil || got == nil || got.Status != taskstore.Completed || string(got.Result) != string(done.Result) {
					t.Fatalf("a completed task read by another process: %+v, %v", got, err)
				}
				if e.name == "redis" {
					// The first process still runs: its task is its own.
					if got, err := other.Get(ctx, running.ID); err != nil || got.Status != taskstore.Working {
						t.Fatalf("a task of a live replica read on another: %+v, %v", got, err)
					}
					if _, err := other.Update(ctx, running.ID, func(r *taskstore.Record) bool {
						r.Answers = map[string]json.RawMessage{"k": json.RawMessage(`1`)}
						return true
					}); err != nil {
						t.Fatal(err)
					}
					if got, _ := s.Get(ctx, running.ID); string(got.Answers["k"]) != "1" {
						t.Fatalf("an update on one replica, read on the other: %+v", got)
					}
					s.Close() // its lease goes with it
				}
				got, err = other.Get(ctx, running.ID)
				if err != nil || got.Status != taskstore.Failed || got.Error == nil || got.Error.Message != taskstore.StoppedMessage {
					t.Fatalf("a task whose moat stopped: %+v, %v; want failed, %q", got, err, taskstore.StoppedMessage)
				}
			})
		})
	}
}

// The embedded store creates data_dir (0700) and tasks.db (0600) only when
// the first task is created: reads before that need no folder.
func TestEmbeddedIsLazy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := taskstore.NewEmbedded(func() (string, error) { return dir, nil })
	defer s.Close()
	if got, err := s.Get(context.Background(), "x"); got != nil || err != nil {
		t.Fatalf("Get before any task: %+v, %v", got, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data_dir after a read: %v; want it not created", err)
	}
	if err := s.Create(context.Background(), record(s, "ada", taskstore.Working), 16, 1000); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, taskstore.File): 0o600} {
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != want {
			t.Fatalf("%s: %v, %v; want mode %v", path, info.Mode(), err, want)
		}
	}
	second := taskstore.NewEmbedded(func() (string, error) { return dir, nil })
	if _, err := second.Get(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "locked by another moat") {
		t.Fatalf("a second process on the same data_dir: %v; want it told the file is locked", err)
	}
}

// A replica's lease lapses when it stops without closing (a crash): its
// tasks not ended are then failed by their next reader.
func TestRedisLeaseLapses(t *testing.T) {
	defer taskstore.SetLease(300*time.Millisecond, 100*time.Millisecond)()
	srv := redistest.Start(t)
	crashed := taskstore.NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr()}), "redis")
	rec := record(crashed, "ada", taskstore.Working)
	if err := crashed.Create(context.Background(), rec, 16, 1000); err != nil {
		t.Fatal(err)
	}
	survivor := taskstore.NewRedis(srv.Client(), "redis")
	defer survivor.Close()
	if got, _ := survivor.Get(context.Background(), rec.ID); got.Status != taskstore.Working {
		t.Fatalf("a task of a live replica: %+v", got)
	}
	// The crash: the lease is no longer refreshed (Close would delete it).
	taskstore.Crash(crashed)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := survivor.Get(context.Background(), rec.ID)
		if err == nil && got.Status == taskstore.Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task of a crashed replica 30s later: %+v, %v; want failed", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A store that does not answer fails with an error naming it, at once.
func TestRedisDownNamesTheStore(t *testing.T) {
	srv := redistest.Start(t)
	s := taskstore.NewRedis(srv.Client(), "redis at "+srv.Addr())
	defer s.Close()
	srv.Stop()
	_, err := s.Get(context.Background(), "x")
	var f *taskstore.Failure
	if !errors.As(err, &f) || !strings.Contains(err.Error(), "the task store (redis at "+srv.Addr()+") failed") {
		t.Fatalf("Get with Redis down: %v; want a failure naming the store", err)
	}
}
