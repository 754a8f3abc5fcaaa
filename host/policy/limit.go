package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// Limit is one token bucket.
type Limit struct {
	// Rate is how many tokens per second refill the bucket; ParseRate reads
	// it from "100/s", "10/m" or "5000/h". rate.Inf is unlimited.
	Rate rate.Limit
	// Burst is the bucket's size: how many requests may come at once after
	// a quiet spell. 0 takes the per-second rate rounded up, at least 1.
	Burst int
}

// Limits are the buckets of each scope; a nil one is unlimited.
type Limits struct {
	// Global is one bucket that every request shares.
	Global *Limit
	// PerPrincipal is one bucket per subject ID.
	PerPrincipal *Limit
	// PerTool is one bucket per tool (or resource, or prompt) name, shared
	// by every subject.
	PerTool *Limit
	// PerPrincipalTool is one bucket per subject ID and name.
	PerPrincipalTool *Limit
}

const rateExamples = `"100/s", "10/m", "5000/h" or "2.5/s"`

// ParseRate reads a rate written as COUNT/UNIT, where COUNT is a positive
// number and UNIT is s, m or h: "100/s", "10/m", "5000/h", "2.5/s". The
// word "unlimited" gives rate.Inf. The result is in tokens per second.
func ParseRate(s string) (rate.Limit, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("rate is empty; write COUNT/UNIT with UNIT s, m or h, such as %s", rateExamples)
	}
	if in == "unlimited" {
		return rate.Inf, nil
	}
	count, unit, ok := strings.Cut(in, "/")
	if !ok {
		if _, err := strconv.ParseFloat(in, 64); err == nil {
			return 0, fmt.Errorf("rate %q has no unit; write it per second, minute or hour, such as \"%s/s\" or \"%s/m\"", s, in, in)
		}
		return 0, fmt.Errorf("rate %q is not COUNT/UNIT; write such as %s", s, rateExamples)
	}
	var per float64
	switch strings.TrimSpace(unit) {
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return 0, fmt.Errorf("rate %q: unit %q is not s, m or h; write such as %s", s, unit, rateExamples)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(count), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("rate %q: %q is not a number; write such as %s", s, count, rateExamples)
	}
	if n <= 0 {
		return 0, fmt.Errorf("rate %q: the count must be more than 0; to refuse calls, deny them in a role, and to not limit them, leave the limit out", s)
	}
	return rate.Limit(n / per), nil
}

// maxDefaultBurst caps the burst that a huge rate gives by default.
const maxDefaultBurst = 1 << 30

// checkLimit checks l and returns a copy with its default burst filled in,
// or nil for nil.
func checkLimit(key string, l *Limit) (*Limit, error) {
	if l == nil {
		return nil, nil
	}
	c := *l
	if r := float64(c.Rate); math.IsNaN(r) || r <= 0 {
		return nil, fmt.Errorf("%s.rate: %v tokens per second is not a rate; it must be more than 0, such as %s", key, r, rateExamples)
	}
	if c.Burst < 0 {
		return nil, fmt.Errorf("%s.burst: %d is negative; set 1 or more, or 0 for the per-second rate", key, c.Burst)
	}
	if c.Burst == 0 && c.Rate != rate.Inf {
		c.Burst = int(min(max(math.Ceil(float64(c.Rate)), 1), maxDefaultBurst))
	}
	return &c, nil
}

// unlimitedAsNil returns nil for an unlimited l, and l otherwise.
func unlimitedAsNil(l *Limit) *Limit {
	if l != nil && l.Rate == rate.Inf {
		return nil
	}
	return l
}

// moreGenerous returns the more generous of a and b, either of which may
// be nil (not set): the higher rate, then the larger burst.
func moreGenerous(a, b *Limit) *Limit {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Rate > a.Rate || (b.Rate == a.Rate && b.Burst > a.Burst):
		return b
	}
	return a
}
