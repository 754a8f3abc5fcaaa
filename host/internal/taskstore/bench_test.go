package taskstore_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moat-mcp/moat/host/internal/taskstore"
	"github.com/moat-mcp/moat/internal/redistest"
)

// What the store adds to one task: its record created, ended and read
// once, as a task that runs and is polled once costs.
//
//	go test -run XXX -bench BenchmarkTaskRecord ./host/internal/taskstore
func BenchmarkTaskRecord(b *testing.B) {
	stores := map[string]func(b *testing.B) *taskstore.Store{
		"embedded": func(b *testing.B) *taskstore.Store {
			dir := filepath.Join(b.TempDir(), "data")
			return taskstore.NewEmbedded(func() (string, error) { return dir, nil })
		},
		"redis": func(b *testing.B) *taskstore.Store {
			srv := redistest.Start(b)
			return taskstore.NewRedis(srv.Client(), "redis")
		},
	}
	for _, name := range []string{"embedded", "redis"} {
		b.Run(name, func(b *testing.B) {
			s := stores[name](b)
			defer s.Close()
			ctx := context.Background()
			n := 0
			for b.Loop() {
				// A principal of a few tasks, as the caps keep them.
				n++
				rec := record(s, strconv.Itoa(n/10), taskstore.Working)
				if err := s.Create(ctx, rec, 16, 1000); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Update(ctx, rec.ID, func(r *taskstore.Record) bool { r.Status = taskstore.Completed; return true }); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(ctx, rec.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
