// Package policy decides what a caller may see and call, and how often.
//
// New builds a Policy once from the configured roles and rate limits,
// checking every pattern and limit and naming the key of the first bad one.
// The host then asks it on every request:
//
//	if !p.Allowed(subject, policy.Tool, name) { /* hide it from tools/list, refuse tools/call */ }
//	if d := p.Take(subject, name, true); !d.OK { /* refuse: d.Scope ran dry, retry after d.RetryAfter */ }
//
// Visibility is deny by default: a subject sees the union of its roles'
// allow patterns, less anything any of its roles denies. Rates are token
// buckets in four scopes (global, per principal, per tool, per principal and
// tool); a request that runs a plugin takes one token from each configured
// bucket or from none. Per-principal buckets live in a bounded LRU, so a
// flood of new identities costs at most Options.MaxTracked buckets.
//
// With Options.Shared, TakeContext keeps the buckets outside the process
// (moat keeps them on Redis), so that several processes share one set; if
// they cannot be reached, Options.OnSharedError says whether to use the
// process's own buckets meanwhile, admit, or refuse.
//
// A Policy is safe for concurrent use and holds no goroutines.
package policy
