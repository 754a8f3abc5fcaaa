package policy

import (
	"context"
	"fmt"
	"time"
)

// Shared keeps rate buckets outside the process, so that every moat using
// the same Shared draws from the same buckets: a global limit of N admits N
// requests across all of them, not N per replica.
type Shared interface {
	// Take takes one token from each of buckets, or, refusing, from none.
	// A refusal names the bucket that refills last, as Policy.Take does.
	// An error means the buckets could not be asked; nothing was decided.
	Take(ctx context.Context, buckets []SharedBucket) (Decision, error)
}

// SharedBucket is one bucket a request takes from.
type SharedBucket struct {
	// Scope is ScopeGlobal, ScopePrincipal, ScopeTool or ScopePrincipalTool.
	Scope string
	// Key names the bucket within its scope: the subject ID, the tool
	// name, or both joined by a NUL byte; empty for the global bucket.
	Key   string
	Limit Limit
}

// What Take does when the Shared buckets cannot be asked (Options.OnSharedError).
const (
	// SharedErrorLocal takes from this process's own buckets instead,
	// as moat does without a shared store: the limits still hold, per
	// replica.
	SharedErrorLocal = "local"
	// SharedErrorAllow admits the request.
	SharedErrorAllow = "allow"
	// SharedErrorDeny refuses the request, naming ScopeStore.
	SharedErrorDeny = "deny"
)

// ScopeStore is the scope of a refusal under SharedErrorDeny: no bucket ran
// dry, the store that keeps them did not answer.
const ScopeStore = "store"

// sharedDenyRetry is the RetryAfter of a refusal under SharedErrorDeny.
const sharedDenyRetry = time.Second

func checkSharedError(mode string) error {
	switch mode {
	case "", SharedErrorLocal, SharedErrorAllow, SharedErrorDeny:
		return nil
	}
	return fmt.Errorf("policy options: OnSharedError %q is not %s, %s or %s", mode, SharedErrorLocal, SharedErrorAllow, SharedErrorDeny)
}

// TakeContext is Take, with ctx bounding the wait for the Shared buckets
// when Options.Shared is set. Without them it is Take.
func (p *Policy) TakeContext(ctx context.Context, s Subject, name string, runsPlugin bool) Decision {
	if p.shared == nil {
		return p.Take(s, name, runsPlugin)
	}
	var buckets []SharedBucket
	if p.global != nil {
		buckets = append(buckets, SharedBucket{Scope: ScopeGlobal, Limit: Limit{Rate: p.globalRate, Burst: p.global.Burst()}})
	}
	if runsPlugin {
		principal, principalTool := p.limitsFor(s)
		if principal != nil {
			buckets = append(buckets, SharedBucket{Scope: ScopePrincipal, Key: s.ID, Limit: *principal})
		}
		if p.perTool != nil {
			buckets = append(buckets, SharedBucket{Scope: ScopeTool, Key: name, Limit: *p.perTool})
		}
		if principalTool != nil {
			buckets = append(buckets, SharedBucket{Scope: ScopePrincipalTool, Key: s.ID + "\x00" + name, Limit: *principalTool})
		}
	}
	if len(buckets) == 0 {
		return Decision{OK: true}
	}
	d, err := p.shared.Take(ctx, buckets)
	if err == nil {
		return d
	}
	switch p.onSharedError {
	case SharedErrorAllow:
		return Decision{OK: true}
	case SharedErrorDeny:
		return Decision{Scope: ScopeStore, RetryAfter: sharedDenyRetry}
	}
	return p.Take(s, name, runsPlugin)
}
