package policy

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// newPolicy builds a Policy on clock, failing the test on an error.
func newPolicy(t testing.TB, roles map[string]Role, limits Limits, clock *clock, opts Options) *Policy {
	t.Helper()
	if clock != nil {
		opts.Now = clock.now
	}
	p, err := New(roles, limits, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// near reports whether got is within 1µs of want.
func near(got, want time.Duration) bool {
	d := got - want
	return d > -time.Microsecond && d < time.Microsecond
}

// Each scope lets its burst through, then refuses naming itself and the
// time its bucket takes to refill one token; after that time, it lets one
// more through.
func TestTakeBurstThenRefusal(t *testing.T) {
	l := &Limit{Rate: 2, Burst: 3}
	tests := []struct {
		scope  string
		limits Limits
	}{
		{ScopeGlobal, Limits{Global: l}},
		{ScopePrincipal, Limits{PerPrincipal: l}},
		{ScopeTool, Limits{PerTool: l}},
		{ScopePrincipalTool, Limits{PerPrincipalTool: l}},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			clock := newClock()
			p := newPolicy(t, nil, tt.limits, clock, Options{})
			s := Subject{ID: "alice"}
			for i := range 3 {
				if d := p.Take(s, "echo", true); !d.OK {
					t.Fatalf("request %d of a burst of 3 refused: %+v", i+1, d)
				}
			}
			d := p.Take(s, "echo", true)
			if d.OK || d.Scope != tt.scope || !near(d.RetryAfter, 500*time.Millisecond) {
				t.Fatalf("4th request: %+v, want refused by %s with RetryAfter 500ms", d, tt.scope)
			}
			clock.advance(d.RetryAfter - time.Millisecond)
			if d := p.Take(s, "echo", true); d.OK || !near(d.RetryAfter, time.Millisecond) {
				t.Fatalf("1ms before RetryAfter: %+v, want refused with RetryAfter 1ms", d)
			}
			clock.advance(time.Millisecond)
			if d := p.Take(s, "echo", true); !d.OK {
				t.Fatalf("at RetryAfter: %+v, want OK", d)
			}
		})
	}
}

// RetryAfter is exact for rates that are not whole tokens per second: at
// RetryAfter the token is there, a nanosecond before it is not.
func TestTakeRetryAfterIsExact(t *testing.T) {
	for _, in := range []string{"3/s", "2.5/s", "10/m", "7/h", "1000/s"} {
		t.Run(in, func(t *testing.T) {
			r, err := ParseRate(in)
			if err != nil {
				t.Fatal(err)
			}
			clock := newClock()
			p := newPolicy(t, nil, Limits{PerPrincipal: &Limit{Rate: r, Burst: 1}}, clock, Options{})
			p.Take(Subject{}, "x", true)
			d := p.Take(Subject{}, "x", true)
			want := time.Duration(float64(time.Second) / float64(r))
			if d.OK || !near(d.RetryAfter, want) {
				t.Fatalf("after a burst of 1: %+v, want refused with RetryAfter %v", d, want)
			}
			clock.advance(d.RetryAfter - time.Nanosecond)
			if p.Take(Subject{}, "x", true).OK {
				t.Fatalf("a nanosecond before RetryAfter %v: OK, want refused", d.RetryAfter)
			}
			clock.advance(time.Nanosecond)
			if d := p.Take(Subject{}, "x", true); !d.OK {
				t.Fatalf("at RetryAfter: %+v, want OK", d)
			}
		})
	}
}

// When several buckets are dry, the one that refills last is named, so
// that a retry after RetryAfter is not refused again.
func TestTakeNamesTheLongestWait(t *testing.T) {
	global := &Limit{Rate: 1, Burst: 1}
	principal := &Limit{Rate: 2, Burst: 1}
	tests := []struct {
		name   string
		limits Limits
		scope  string
		wait   time.Duration
	}{
		{"global refills after principal", Limits{Global: global, PerPrincipal: principal}, ScopeGlobal, time.Second},
		{"principal_tool refills after both",
			Limits{Global: global, PerPrincipal: principal, PerPrincipalTool: &Limit{Rate: 1.0 / 60, Burst: 1}},
			ScopePrincipalTool, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, nil, tt.limits, newClock(), Options{})
			s := Subject{ID: "alice"}
			if d := p.Take(s, "echo", true); !d.OK {
				t.Fatalf("first request: %+v", d)
			}
			if d := p.Take(s, "echo", true); d.OK || d.Scope != tt.scope || !near(d.RetryAfter, tt.wait) {
				t.Fatalf("second request: %+v, want refused by %s for %v", d, tt.scope, tt.wait)
			}
		})
	}
}

// Housekeeping takes from the global bucket only: it neither spends nor
// creates per-principal or per-tool buckets.
func TestTakeHousekeepingCountsOnlyAgainstGlobal(t *testing.T) {
	clock := newClock()
	one := &Limit{Rate: 1, Burst: 1}
	p := newPolicy(t, nil, Limits{
		Global:           &Limit{Rate: 1, Burst: 5},
		PerPrincipal:     one,
		PerTool:          one,
		PerPrincipalTool: one,
	}, clock, Options{})
	s := Subject{ID: "alice"}
	for i := range 3 {
		if d := p.Take(s, "", false); !d.OK {
			t.Fatalf("housekeeping request %d: %+v", i+1, d)
		}
	}
	if n := p.Tracked(); n != 0 {
		t.Errorf("housekeeping left %d buckets tracked, want 0", n)
	}
	if d := p.Take(s, "echo", true); !d.OK {
		t.Fatalf("tool call after housekeeping: %+v, want OK (its buckets were untouched)", d)
	}
	if d := p.Take(s, "", false); !d.OK {
		t.Fatalf("housekeeping after a tool call: %+v, want OK (global has 1 left)", d)
	}
	if d := p.Take(s, "", false); d.OK || d.Scope != ScopeGlobal {
		t.Fatalf("housekeeping with global dry: %+v, want refused by global", d)
	}
}

// Without a global limit, housekeeping is never refused.
func TestTakeHousekeepingUnlimited(t *testing.T) {
	p := newPolicy(t, nil, Limits{PerPrincipal: &Limit{Rate: 1, Burst: 1}}, newClock(), Options{})
	for range 10 {
		if d := p.Take(Subject{ID: "a"}, "", false); !d.OK {
			t.Fatalf("housekeeping: %+v, want OK", d)
		}
	}
}

// A request refused by a later scope gives back nothing it did not take:
// the global token it would have used is still there for someone else.
func TestTakeRefusalSpendsNoToken(t *testing.T) {
	clock := newClock()
	p := newPolicy(t, nil, Limits{
		Global:           &Limit{Rate: 1.0 / 3600, Burst: 2},
		PerPrincipal:     &Limit{Rate: 1, Burst: 10},
		PerTool:          &Limit{Rate: 1, Burst: 10},
		PerPrincipalTool: &Limit{Rate: 1.0 / 3600, Burst: 1},
	}, clock, Options{})
	alice, bob, carol := Subject{ID: "alice"}, Subject{ID: "bob"}, Subject{ID: "carol"}
	if d := p.Take(alice, "echo", true); !d.OK {
		t.Fatalf("alice's first call: %+v", d)
	}
	for range 5 {
		if d := p.Take(alice, "echo", true); d.OK || d.Scope != ScopePrincipalTool {
			t.Fatalf("alice again: %+v, want refused by principal_tool", d)
		}
	}
	if d := p.Take(bob, "echo", true); !d.OK {
		t.Fatalf("bob: %+v, want OK: alice's refused calls must not have spent the last global token", d)
	}
	if d := p.Take(carol, "echo", true); d.OK || d.Scope != ScopeGlobal {
		t.Fatalf("carol: %+v, want refused by global, now spent", d)
	}
}

// A role's override makes its holders' limit larger (or smaller) than the
// default; among several roles the most generous wins; and a subject whose
// roles change gets the new limit on its existing bucket.
func TestTakeRoleOverride(t *testing.T) {
	roles := map[string]Role{
		"bulk":   {Limits: &Limits{PerPrincipal: &Limit{Rate: 1, Burst: 5}}},
		"bigger": {Limits: &Limits{PerPrincipal: &Limit{Rate: 1, Burst: 8}}},
		"faster": {Limits: &Limits{PerPrincipal: &Limit{Rate: 10, Burst: 2}}},
		"admin":  {Limits: &Limits{PerPrincipal: &Limit{Rate: rate.Inf}}},
		"trial":  {Limits: &Limits{PerPrincipalTool: &Limit{Rate: 1.0 / 60, Burst: 1}}},
		"plain":  {Tools: Rules{Allow: []string{"*"}}},
	}
	limits := Limits{PerPrincipal: &Limit{Rate: 1, Burst: 2}}
	// burst counts how many calls pass at one instant.
	burst := func(p *Policy, s Subject) int {
		n := 0
		for ; n < 1000 && p.Take(s, "echo", true).OK; n++ {
		}
		return n
	}
	tests := []struct {
		name  string
		roles []string
		want  int
	}{
		{"no role: the default", nil, 2},
		{"role without limits: the default", []string{"plain"}, 2},
		{"unknown role: the default", []string{"ghost"}, 2},
		{"override", []string{"bulk"}, 5},
		{"same rate: the larger burst", []string{"bulk", "bigger"}, 8},
		{"higher rate wins over larger burst", []string{"bigger", "faster"}, 2},
		{"unlimited", []string{"admin", "bulk"}, 1000},
		{"override of another scope leaves this one", []string{"trial"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, roles, limits, newClock(), Options{})
			if got := burst(p, Subject{ID: "u", Roles: tt.roles}); got != tt.want {
				t.Errorf("roles %v: a burst of %d, want %d", tt.roles, got, tt.want)
			}
		})
	}

	t.Run("one principal's limit is larger than another's", func(t *testing.T) {
		p := newPolicy(t, roles, limits, newClock(), Options{})
		if a, b := burst(p, Subject{ID: "a"}), burst(p, Subject{ID: "b", Roles: []string{"bulk"}}); a != 2 || b != 5 {
			t.Errorf("same policy: a without roles got %d, b with bulk got %d; want 2 and 5", a, b)
		}
	})
	t.Run("a change of roles applies to the existing bucket", func(t *testing.T) {
		clock := newClock()
		p := newPolicy(t, roles, limits, clock, Options{})
		if got := burst(p, Subject{ID: "u"}); got != 2 {
			t.Fatalf("before: %d, want 2", got)
		}
		clock.advance(time.Hour)
		if got := burst(p, Subject{ID: "u", Roles: []string{"bulk"}}); got != 5 {
			t.Errorf("after gaining bulk: %d, want 5", got)
		}
	})
}

// A flood of distinct principals keeps at most MaxTracked buckets.
func TestTakeBoundsTrackedBuckets(t *testing.T) {
	const maxTracked = 1000
	p := newPolicy(t, nil, Limits{
		PerPrincipal:     &Limit{Rate: 1, Burst: 1},
		PerTool:          &Limit{Rate: 1e9, Burst: 1e9},
		PerPrincipalTool: &Limit{Rate: 1, Burst: 1},
	}, newClock(), Options{MaxTracked: maxTracked})
	for i := range 100_000 {
		if d := p.Take(Subject{ID: "flood-" + strconv.Itoa(i)}, "echo", true); !d.OK {
			t.Fatalf("principal %d refused: %+v", i, d)
		}
		if i%10_000 == 0 {
			if n := p.Tracked(); n > maxTracked {
				t.Fatalf("after %d principals, %d buckets tracked, want <= %d", i+1, n, maxTracked)
			}
		}
	}
	if n := p.Tracked(); n != maxTracked {
		t.Errorf("after 100000 principals, %d buckets tracked, want %d (full, not more)", n, maxTracked)
	}
}

// Idle buckets are dropped once they have refilled, and not before: a
// principal that spent its bucket cannot get a fresh one by waiting out
// IdleTTL.
func TestTakeDropsIdleBuckets(t *testing.T) {
	clock := newClock()
	p := newPolicy(t, nil, Limits{PerPrincipal: &Limit{Rate: 1, Burst: 1}}, clock, Options{IdleTTL: time.Minute})
	slow := map[string]Role{"slow": {Limits: &Limits{PerPrincipal: &Limit{Rate: 1.0 / 3600, Burst: 2}}}}
	p2 := newPolicy(t, slow, Limits{PerPrincipal: &Limit{Rate: 1, Burst: 1}}, clock, Options{IdleTTL: time.Minute})

	for i := range 10 {
		p.Take(Subject{ID: strconv.Itoa(i)}, "echo", true)
	}
	if n := p.Tracked(); n != 10 {
		t.Fatalf("%d buckets tracked, want 10", n)
	}
	clock.advance(59 * time.Second)
	if n := p.Tracked(); n != 10 {
		t.Fatalf("before IdleTTL: %d buckets tracked, want 10", n)
	}
	p.Take(Subject{ID: "3"}, "echo", true)
	clock.advance(time.Second)
	if n := p.Tracked(); n != 1 {
		t.Fatalf("at IdleTTL: %d buckets tracked, want 1 (the one used since)", n)
	}

	s := Subject{ID: "s", Roles: []string{"slow"}}
	p2.Take(s, "echo", true)
	p2.Take(s, "echo", true)
	clock.advance(10 * time.Minute)
	if n := p2.Tracked(); n != 1 {
		t.Fatalf("idle but not refilled: %d buckets tracked, want 1", n)
	}
	if d := p2.Take(s, "echo", true); d.OK {
		t.Fatalf("after waiting out IdleTTL with a spent bucket: OK, want refused")
	}
	clock.advance(3 * time.Hour)
	if n := p2.Tracked(); n != 0 {
		t.Fatalf("idle and refilled: %d buckets tracked, want 0", n)
	}
}

// Under concurrent use no token is lost or spent twice: with a fixed clock
// and more demand than the global bucket holds, exactly its burst passes,
// and no principal passes more than its own burst.
func TestTakeConcurrent(t *testing.T) {
	const (
		globalBurst   = 600
		principals    = 10
		perPrincipal  = 50
		callsEach     = 100
		housekeepers  = 4
		housekeepEach = 100
	)
	clock := newClock() // never advanced: no refill
	p := newPolicy(t, nil, Limits{
		Global:           &Limit{Rate: 1e-9, Burst: globalBurst},
		PerPrincipal:     &Limit{Rate: 1e-9, Burst: perPrincipal},
		PerTool:          &Limit{Rate: 1e-9, Burst: 1e6},
		PerPrincipalTool: &Limit{Rate: 1e-9, Burst: 1e6},
	}, clock, Options{MaxTracked: 100})

	var total atomic.Int64
	passed := make([]atomic.Int64, principals)
	var wg sync.WaitGroup
	for i := range principals {
		s := Subject{ID: fmt.Sprint("p", i)}
		for _, tool := range []string{"a", "b"} {
			wg.Go(func() {
				for range callsEach / 2 {
					if p.Take(s, tool, true).OK {
						passed[i].Add(1)
						total.Add(1)
					}
					_ = p.Allowed(s, Tool, tool)
				}
			})
		}
	}
	for range housekeepers {
		wg.Go(func() {
			for range housekeepEach {
				if p.Take(Subject{ID: "h"}, "", false).OK {
					total.Add(1)
				}
				_ = p.Tracked()
			}
		})
	}
	wg.Wait()

	if got := total.Load(); got != globalBurst {
		t.Errorf("%d requests passed, want exactly the global burst %d", got, globalBurst)
	}
	for i := range passed {
		if got := passed[i].Load(); got > perPrincipal {
			t.Errorf("principal %d passed %d times, more than its burst %d", i, got, perPrincipal)
		}
	}
}

func BenchmarkTake(b *testing.B) {
	fast := &Limit{Rate: 1e9, Burst: 1e9}
	p := newPolicy(b, nil, Limits{Global: fast, PerPrincipal: fast, PerTool: fast, PerPrincipalTool: fast}, nil, Options{})
	s := Subject{ID: "alice", Roles: []string{"ops"}}
	p.Take(s, "time_get_current_time", true) // make the buckets
	b.ReportAllocs()
	for b.Loop() {
		if !p.Take(s, "time_get_current_time", true).OK {
			b.Fatal("refused")
		}
	}
}

func BenchmarkTakeWithRoleOverride(b *testing.B) {
	fast := &Limit{Rate: 1e9, Burst: 1e9}
	roles := map[string]Role{"ops": {Limits: &Limits{PerPrincipal: &Limit{Rate: 2e9, Burst: 1e9}}}}
	p := newPolicy(b, roles, Limits{Global: fast, PerPrincipal: fast, PerTool: fast, PerPrincipalTool: fast}, nil, Options{})
	s := Subject{ID: "alice", Roles: []string{"viewer", "ops"}}
	p.Take(s, "time_get_current_time", true)
	b.ReportAllocs()
	for b.Loop() {
		if !p.Take(s, "time_get_current_time", true).OK {
			b.Fatal("refused")
		}
	}
}

func BenchmarkTakeParallel(b *testing.B) {
	fast := &Limit{Rate: 1e12, Burst: 1e9}
	p := newPolicy(b, nil, Limits{Global: fast, PerPrincipal: fast, PerTool: fast, PerPrincipalTool: fast}, nil, Options{})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := Subject{ID: fmt.Sprint("p", next.Add(1))}
		for pb.Next() {
			if !p.Take(s, "time_get_current_time", true).OK {
				b.Error("refused")
				return
			}
		}
	})
}

func BenchmarkTakeHousekeeping(b *testing.B) {
	fast := &Limit{Rate: 1e9, Burst: 1e9}
	p := newPolicy(b, nil, Limits{Global: fast, PerPrincipal: fast, PerTool: fast, PerPrincipalTool: fast}, nil, Options{})
	s := Subject{ID: "alice"}
	b.ReportAllocs()
	for b.Loop() {
		p.Take(s, "", false)
	}
}

func BenchmarkAllowed(b *testing.B) {
	roles := map[string]Role{
		"reader": {Tools: Rules{Allow: []string{"time_*", "files_read*", "echo"}}},
		"noexec": {Tools: Rules{Allow: []string{"*"}, Deny: []string{"shell_*"}}},
	}
	p := newPolicy(b, roles, Limits{}, nil, Options{})
	s := Subject{ID: "alice", Roles: []string{"reader", "noexec"}}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allowed(s, Tool, "files_read_text") {
			b.Fatal("denied")
		}
	}
}
