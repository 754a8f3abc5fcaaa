package policy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// fakeShared records what it was asked and answers as told.
type fakeShared struct {
	asked [][]SharedBucket
	d     Decision
	err   error
}

func (f *fakeShared) Take(_ context.Context, b []SharedBucket) (Decision, error) {
	f.asked = append(f.asked, slices.Clone(b))
	return f.d, f.err
}

// With Shared set, TakeContext asks it for every bucket that applies to
// the request, with the subject's role overrides, and answers what it
// decides; a request no limit governs does not ask.
func TestTakeContextAsksShared(t *testing.T) {
	f := &fakeShared{d: Decision{Scope: ScopeTool, RetryAfter: time.Second}}
	roles := map[string]Role{"ops": {Limits: &Limits{PerPrincipal: &Limit{Rate: 50, Burst: 5}}}}
	p := newPolicy(t, roles, Limits{
		Global:           &Limit{Rate: 100},
		PerPrincipal:     &Limit{Rate: 1, Burst: 1},
		PerTool:          &Limit{Rate: 10, Burst: 2},
		PerPrincipalTool: &Limit{Rate: 3, Burst: 3},
	}, nil, Options{Shared: f})
	d := p.TakeContext(context.Background(), Subject{ID: "alice", Roles: []string{"ops"}}, "echo", true)
	if d != f.d {
		t.Fatalf("decision %+v; want Shared's %+v", d, f.d)
	}
	want := []SharedBucket{
		{ScopeGlobal, "", Limit{Rate: 100, Burst: 100}},
		{ScopePrincipal, "alice", Limit{Rate: 50, Burst: 5}},
		{ScopeTool, "echo", Limit{Rate: 10, Burst: 2}},
		{ScopePrincipalTool, "alice\x00echo", Limit{Rate: 3, Burst: 3}},
	}
	if !slices.Equal(f.asked[0], want) {
		t.Fatalf("asked for %+v; want %+v", f.asked[0], want)
	}
	// Housekeeping counts against the global bucket only.
	p.TakeContext(context.Background(), Subject{ID: "alice"}, "", false)
	if got := f.asked[1]; len(got) != 1 || got[0].Scope != ScopeGlobal {
		t.Fatalf("housekeeping asked for %+v; want the global bucket alone", got)
	}
	// No limits: nothing to ask.
	q := newPolicy(t, nil, Limits{}, nil, Options{Shared: f})
	if d := q.TakeContext(context.Background(), Subject{ID: "bob"}, "echo", true); !d.OK || len(f.asked) != 2 {
		t.Fatalf("no limits: %+v after %d asks; want OK without asking", d, len(f.asked))
	}
}

// When Shared fails, OnSharedError decides: local takes from the process's
// own buckets (which still refuse past their burst), allow admits, deny
// refuses naming the store.
func TestTakeContextWhenSharedFails(t *testing.T) {
	f := &fakeShared{err: errors.New("connection refused")}
	limits := Limits{PerTool: &Limit{Rate: 0.001, Burst: 2}}
	s := Subject{ID: "alice"}
	for _, c := range []struct {
		mode string
		want []bool
	}{
		{"", []bool{true, true, false}},
		{SharedErrorLocal, []bool{true, true, false}},
		{SharedErrorAllow, []bool{true, true, true}},
		{SharedErrorDeny, []bool{false, false, false}},
	} {
		p := newPolicy(t, nil, limits, newClock(), Options{Shared: f, OnSharedError: c.mode})
		var got []bool
		for range 3 {
			d := p.TakeContext(context.Background(), s, "echo", true)
			got = append(got, d.OK)
			if c.mode == SharedErrorDeny && (d.Scope != ScopeStore || d.RetryAfter <= 0) {
				t.Errorf("deny: %+v; want the store scope and a retry", d)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("OnSharedError %q: admitted %v; want %v", c.mode, got, c.want)
		}
	}
	if _, err := New(nil, limits, Options{OnSharedError: "maybe"}); err == nil {
		t.Fatal("OnSharedError maybe was accepted")
	}
}
