package policy

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Subject is who asks. The host fills it from its authentication.
type Subject struct {
	// ID names the principal. Subjects with the same ID share their rate
	// buckets; the empty ID is one principal like any other.
	ID string
	// Roles are the names of the roles the subject holds. A name the
	// Policy does not define grants nothing and denies nothing.
	Roles []string
	// All lets the subject see and call everything whatever its roles: no
	// authentication is configured, or a stdio user was granted every tool.
	// Rate limits still apply to it.
	All bool
}

// Kind is the kind of thing a name refers to; each has its own rules.
type Kind int

// The kinds a role has rules for.
const (
	Tool Kind = iota
	Resource
	Prompt
)

// String returns "tool", "resource" or "prompt".
func (k Kind) String() string {
	switch k {
	case Tool:
		return "tool"
	case Resource:
		return "resource"
	case Prompt:
		return "prompt"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Role is what a role's holders may see and call, and optionally how often.
type Role struct {
	Tools, Resources, Prompts Rules
	// Limits, when set, replaces rate_limits.per_principal and
	// rate_limits.per_principal_tool for the role's holders; a nil field
	// leaves that limit as it is. When several of a subject's roles set the
	// same limit, the highest rate wins, then the largest burst. A role
	// cannot set Global or PerTool, which all callers share.
	Limits *Limits
}

// Defaults of Options.
const (
	DefaultMaxTracked = 10000
	DefaultIdleTTL    = 10 * time.Minute
)

// Options tune how rate buckets are kept. The zero value takes the defaults.
type Options struct {
	// MaxTracked bounds the per-principal and per-principal-tool buckets
	// kept, together, and separately the per-tool buckets. When full, the
	// least recently used bucket is dropped, and its principal starts again
	// with a full bucket. Default DefaultMaxTracked.
	MaxTracked int
	// IdleTTL is how long a bucket must go unused before it is dropped.
	// Only a bucket that has also refilled is dropped, so dropping it
	// forgets nothing. Default DefaultIdleTTL.
	IdleTTL time.Duration
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
	// Shared, when set, keeps the buckets that TakeContext takes from, so
	// that several processes share them. The buckets of this process are
	// then used only as OnSharedError says.
	Shared Shared
	// OnSharedError is what TakeContext does when Shared fails:
	// SharedErrorLocal (the default), SharedErrorAllow or SharedErrorDeny.
	OnSharedError string
}

// Policy answers what a subject may see and call and whether a request is
// within its rates. Build it with New; it is safe for concurrent use.
type Policy struct {
	roles map[string]*role
	// overrides is whether any role sets limits, so Take can skip looking.
	overrides bool

	// Top-level limits; nil is unlimited.
	perPrincipal, perTool, perPrincipalTool *Limit

	global     *rate.Limiter // nil when unlimited; safe without mu
	globalRate rate.Limit

	now     func() time.Time
	idleTTL time.Duration

	shared        Shared
	onSharedError string

	// mu guards both LRUs and the buckets in them: the tokens of those
	// buckets are checked and then taken under it, which is what makes
	// Take all-or-nothing.
	mu         sync.Mutex
	tools      *simplelru.LRU[string, *bucket]
	principals *simplelru.LRU[principalKey, *bucket]
}

// role is a Role checked and ready to use.
type role struct {
	rules                          [3]rules // indexed by Kind
	perPrincipal, perPrincipalTool *Limit   // nil: not overridden
}

// New checks roles, limits and opts and returns a Policy. An error names
// the first bad key, such as roles.ops.allow[2] or rate_limits.global.rate,
// and what to change. Roles are checked in name order.
func New(roles map[string]Role, limits Limits, opts Options) (*Policy, error) {
	if opts.MaxTracked < 0 {
		return nil, fmt.Errorf("policy options: MaxTracked is %d; set 1 or more, or 0 for the default %d", opts.MaxTracked, DefaultMaxTracked)
	}
	if opts.IdleTTL < 0 {
		return nil, fmt.Errorf("policy options: IdleTTL is %v; set a positive duration, or 0 for the default %v", opts.IdleTTL, DefaultIdleTTL)
	}
	if err := checkSharedError(opts.OnSharedError); err != nil {
		return nil, err
	}
	p := &Policy{
		roles:         make(map[string]*role, len(roles)),
		now:           opts.Now,
		idleTTL:       opts.IdleTTL,
		shared:        opts.Shared,
		onSharedError: opts.OnSharedError,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.idleTTL == 0 {
		p.idleTTL = DefaultIdleTTL
	}
	size := opts.MaxTracked
	if size == 0 {
		size = DefaultMaxTracked
	}
	// NewLRU fails only for a size below 1, which cannot happen here.
	p.tools, _ = simplelru.NewLRU[string, *bucket](size, nil)
	p.principals, _ = simplelru.NewLRU[principalKey, *bucket](size, nil)

	global, err := checkLimit("rate_limits.global", limits.Global)
	if err != nil {
		return nil, err
	}
	if global = unlimitedAsNil(global); global != nil {
		p.global = rate.NewLimiter(global.Rate, global.Burst)
		p.globalRate = global.Rate
	}
	if p.perPrincipal, err = checkLimit("rate_limits.per_principal", limits.PerPrincipal); err != nil {
		return nil, err
	}
	if p.perTool, err = checkLimit("rate_limits.per_tool", limits.PerTool); err != nil {
		return nil, err
	}
	if p.perPrincipalTool, err = checkLimit("rate_limits.per_principal_tool", limits.PerPrincipalTool); err != nil {
		return nil, err
	}
	p.perPrincipal = unlimitedAsNil(p.perPrincipal)
	p.perTool = unlimitedAsNil(p.perTool)
	p.perPrincipalTool = unlimitedAsNil(p.perPrincipalTool)

	for _, name := range slices.Sorted(maps.Keys(roles)) {
		r, err := checkRole("roles."+name, roles[name])
		if err != nil {
			return nil, err
		}
		p.roles[name] = r
		p.overrides = p.overrides || r.perPrincipal != nil || r.perPrincipalTool != nil
	}
	return p, nil
}

func checkRole(key string, in Role) (*role, error) {
	r := &role{}
	var err error
	// The tool rules sit at the top of a role in the configuration.
	if r.rules[Tool], err = checkRules(key, in.Tools); err != nil {
		return nil, err
	}
	if r.rules[Resource], err = checkRules(key+".resources", in.Resources); err != nil {
		return nil, err
	}
	if r.rules[Prompt], err = checkRules(key+".prompts", in.Prompts); err != nil {
		return nil, err
	}
	if in.Limits == nil {
		return r, nil
	}
	lk := key + ".rate_limits"
	if in.Limits.Global != nil {
		return nil, fmt.Errorf("%s.global: a role cannot set the global limit, which every caller shares; set rate_limits.global instead", lk)
	}
	if in.Limits.PerTool != nil {
		return nil, fmt.Errorf("%s.per_tool: a role cannot set the per-tool limit, which every caller of a tool shares; set rate_limits.per_tool, or per_principal_tool here", lk)
	}
	if r.perPrincipal, err = checkLimit(lk+".per_principal", in.Limits.PerPrincipal); err != nil {
		return nil, err
	}
	if r.perPrincipalTool, err = checkLimit(lk+".per_principal_tool", in.Limits.PerPrincipalTool); err != nil {
		return nil, err
	}
	return r, nil
}

// Allowed reports whether s may see and call the thing of the given kind
// and name. A subject has the union of its roles' allow patterns, and any
// deny pattern of any of its roles wins; what no pattern allows is denied.
// s.All allows everything. An unknown kind is never allowed.
func (p *Policy) Allowed(s Subject, kind Kind, name string) bool {
	if kind < Tool || kind > Prompt {
		return false
	}
	if s.All {
		return true
	}
	allowed := false
	for _, rn := range s.Roles {
		r, ok := p.roles[rn]
		if !ok {
			continue
		}
		rs := &r.rules[kind]
		if matchAny(rs.deny, name) {
			return false
		}
		allowed = allowed || matchAny(rs.allow, name)
	}
	return allowed
}

// limitsFor returns the per-principal and per-principal-tool limits that
// apply to s, nil where unlimited.
func (p *Policy) limitsFor(s Subject) (principal, principalTool *Limit) {
	principal, principalTool = p.perPrincipal, p.perPrincipalTool
	if !p.overrides {
		return principal, principalTool
	}
	var op, opt *Limit
	for _, rn := range s.Roles {
		if r, ok := p.roles[rn]; ok {
			op = moreGenerous(op, r.perPrincipal)
			opt = moreGenerous(opt, r.perPrincipalTool)
		}
	}
	if op != nil {
		principal = unlimitedAsNil(op)
	}
	if opt != nil {
		principalTool = unlimitedAsNil(opt)
	}
	return principal, principalTool
}
