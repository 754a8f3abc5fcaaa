package policy

import (
	"math"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// The scopes a Decision names when it refuses.
const (
	ScopeGlobal        = "global"
	ScopePrincipal     = "principal"
	ScopeTool          = "tool"
	ScopePrincipalTool = "principal_tool"
)

// Decision is the outcome of a rate check.
type Decision struct {
	// OK is whether the request may go ahead; it has taken its tokens.
	OK bool
	// Scope is the bucket that refused: ScopeGlobal, ScopePrincipal,
	// ScopeTool or ScopePrincipalTool. Empty when OK.
	Scope string
	// RetryAfter is how long until that bucket holds a token again, exact
	// to the nanosecond; rounding it for a Retry-After header is the
	// caller's job. Zero when OK.
	RetryAfter time.Duration
}

// bucket is one token bucket and what Policy needs to keep it.
type bucket struct {
	lim   *rate.Limiter
	limit Limit     // what lim was set to, to notice a change of roles
	used  time.Time // last asked for, to drop idle buckets
}

// principalKey names a per-principal bucket (tool empty, perTool false) or
// a per-principal-tool bucket.
type principalKey struct {
	id, tool string
	perTool  bool
}

// Take takes one token for a request by s. runsPlugin is true for requests
// that run plugin code (tools/call, resources/read, prompts/get,
// completion/complete): they count against every configured bucket, with
// the subject's role overrides. Housekeeping (initialize, ping, lists,
// notifications) passes false and counts against the global bucket only.
// name is the tool, resource or prompt called; it keys the per-tool
// buckets, and the empty name is one name like any other.
//
// Take is all or nothing: it takes a token from every bucket that applies,
// or, refusing, from none. When several buckets are dry, the Decision
// names the one that refills last, so that retrying after RetryAfter is
// not refused for want of a token.
func (p *Policy) Take(s Subject, name string, runsPlugin bool) Decision {
	var principal, principalTool *Limit
	if runsPlugin {
		principal, principalTool = p.limitsFor(s)
	}
	if !runsPlugin || (principal == nil && p.perTool == nil && principalTool == nil) {
		// Only the global bucket applies, and the limiter is atomic alone.
		if p.global == nil {
			return Decision{OK: true}
		}
		now := p.now()
		if p.global.AllowN(now, 1) {
			return Decision{OK: true}
		}
		return Decision{Scope: ScopeGlobal, RetryAfter: wait(p.global, p.globalRate, now)}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	// Read the clock under the lock so that the buckets mu guards only
	// ever see time go forward.
	now := p.now()
	p.sweep(now)

	var buckets [3]*bucket
	if principal != nil {
		buckets[0] = p.principalBucket(principalKey{id: s.ID}, *principal, now)
	}
	if p.perTool != nil {
		buckets[1] = p.toolBucket(name, now)
	}
	if principalTool != nil {
		buckets[2] = p.principalBucket(principalKey{id: s.ID, tool: name, perTool: true}, *principalTool, now)
	}

	// Check every bucket before taking from any.
	d := Decision{OK: true}
	for i, b := range buckets {
		if b == nil {
			continue
		}
		if w := wait(b.lim, b.limit.Rate, now); w > 0 && (d.OK || w > d.RetryAfter) {
			d = Decision{Scope: scopes[i], RetryAfter: w}
		}
	}
	if !d.OK {
		if p.global != nil {
			if w := wait(p.global, p.globalRate, now); w > d.RetryAfter {
				d = Decision{Scope: ScopeGlobal, RetryAfter: w}
			}
		}
		return d
	}
	// The global bucket is shared with housekeeping, which does not hold
	// mu, so it may have run dry since any look at it: take from it first,
	// while nothing else has been taken.
	if p.global != nil && !p.global.AllowN(now, 1) {
		return Decision{Scope: ScopeGlobal, RetryAfter: wait(p.global, p.globalRate, now)}
	}
	// Only holders of mu take from these, and each was seen to hold a
	// token at now, so none can refuse.
	for _, b := range buckets {
		if b != nil {
			b.lim.AllowN(now, 1)
		}
	}
	return d
}

var scopes = [3]string{ScopePrincipal, ScopeTool, ScopePrincipalTool}

// wait returns how long until lim, refilling at r, holds a token at now;
// zero if it holds one already.
func wait(lim *rate.Limiter, r rate.Limit, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	// Round up, so that at now+wait the token is there.
	ns := math.Ceil((1 - tokens) / float64(r) * float64(time.Second))
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// principalBucket returns the bucket for k, making it or bringing its
// limit up to date with the subject's roles. Called with mu held.
func (p *Policy) principalBucket(k principalKey, l Limit, now time.Time) *bucket {
	b, ok := p.principals.Get(k)
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.Rate, l.Burst), limit: l}
		p.principals.Add(k, b)
	} else if b.limit != l {
		b.lim.SetLimitAt(now, l.Rate)
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	b.used = now
	return b
}

// toolBucket returns the bucket for the named tool. Called with mu held.
func (p *Policy) toolBucket(name string, now time.Time) *bucket {
	b, ok := p.tools.Get(name)
	if !ok {
		b = &bucket{lim: rate.NewLimiter(p.perTool.Rate, p.perTool.Burst), limit: *p.perTool}
		p.tools.Add(name, b)
	}
	b.used = now
	return b
}

// sweep drops idle buckets. Called with mu held.
func (p *Policy) sweep(now time.Time) {
	dropIdle(p.principals, now, p.idleTTL)
	dropIdle(p.tools, now, p.idleTTL)
}

// dropIdle drops, oldest first, the buckets unused for ttl that have
// refilled, stopping at the first it must keep. Each bucket is dropped
// once, so the cost per call is constant on average.
func dropIdle[K comparable](l *simplelru.LRU[K, *bucket], now time.Time, ttl time.Duration) {
	for {
		_, b, ok := l.GetOldest()
		if !ok || now.Sub(b.used) < ttl || b.lim.TokensAt(now) < float64(b.limit.Burst) {
			return
		}
		l.RemoveOldest()
	}
}

// Tracked returns how many per-principal and per-principal-tool buckets
// are held now, after dropping idle ones. It never exceeds
// Options.MaxTracked.
func (p *Policy) Tracked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(p.now())
	return p.principals.Len()
}
