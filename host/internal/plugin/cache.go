package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/resultcache"
)

// Usage records what a call's plugin did that makes its result unfit to
// keep: it reported progress, or asked the client to sample or elicit.
type Usage struct{ interactive atomic.Bool }

type usageKey struct{}

// WithUsage returns a context whose plugin calls record into the Usage
// returned.
func WithUsage(ctx context.Context) (context.Context, *Usage) {
	u := new(Usage)
	return context.WithValue(ctx, usageKey{}, u), u
}

// Interactive reports whether the plugin reported progress, or called
// sample or elicit (granted or not, answered or not), during the call.
func (u *Usage) Interactive() bool { return u != nil && u.interactive.Load() }

// Interacted marks the call of ctx as one whose result is not kept (the
// progress, sample and elicit host functions call it).
func Interacted(ctx context.Context) {
	if u, ok := ctx.Value(usageKey{}).(*Usage); ok {
		u.interactive.Store(true)
	}
}

// CacheTTL is how long the tool's successful results may be kept: the
// operator's plugins.NAME.cache, for a tool that declares both
// readOnlyHint and idempotentHint; 0 for any other.
func (t *Tool) CacheTTL() time.Duration { return t.cacheTTL }

// Generation names this load of the plugin in the result cache's keys: a
// digest of its name, its module and the grants it runs under. A reload
// that changes any of them changes it, so the entries of the plugin it
// replaced are no longer found.
func (p *Plugin) Generation() string { return p.generation }

// CacheKey is the result cache's key of a call of t with args, and meta as
// the plugin is given it (the progress token is never there: such a call
// is not cached). It reports false when the tool is not cached or the
// arguments are not JSON.
func (t *Tool) CacheKey(args json.RawMessage, meta map[string]any) (string, bool) {
	if t.cacheTTL <= 0 {
		return "", false
	}
	// The trace context differs in every request and does not change the
	// result; what else the plugin is given (the client's capabilities)
	// may.
	var m map[string]any
	for k, v := range meta {
		if k == "traceparent" || k == "tracestate" {
			continue
		}
		if m == nil {
			m = map[string]any{}
		}
		m[k] = v
	}
	return resultcache.Key(t.Plugin.Name, t.Plugin.generation, t.Def.Name, args, m)
}

// cacheable reports whether a tool's own hints allow caching it.
func cacheable(t *Tool) bool {
	a := t.Def.Annotations
	return a != nil && a.ReadOnlyHint && a.IdempotentHint
}

// bindCache sets p's generation and each tool's TTL under spec.Cache, and
// returns notices for tools the operator named that are not cached: a
// tool the plugin does not have, or one without both hints.
//
// A named tool without the hints is a notice (a warning), not an error:
// the hints are the plugin's, and a new version of it that drops one must
// not stop the plugin, or a reload, from serving; it only stops caching.
func bindCache(p *Plugin, granted config.Grants) []Notice {
	settings, _ := json.Marshal(granted)
	p.generation = resultcache.Generation(p.Name, p.Digest, settings)
	c := p.spec.Cache
	if !c.Enabled() {
		return nil
	}
	byName := map[string]*Tool{}
	for _, t := range p.Tools {
		byName[t.Def.Name] = t
		if ttl := c.ToolTTL(t.Def.Name); ttl > 0 && cacheable(t) {
			t.cacheTTL = ttl
		}
	}
	var notices []Notice
	for _, name := range slices.Sorted(maps.Keys(c.Tools)) {
		key := fmt.Sprintf("plugins.%s.cache.tools.%s", p.Name, name)
		t, ok := byName[name]
		switch {
		case !ok:
			notices = append(notices, Notice{Warn: true, Msg: fmt.Sprintf("%s: plugin %q has no tool %q, so the setting does nothing; name one of its tools by its own name, without the prefix", key, p.Name, name)})
		case c.ToolTTL(name) > 0 && !cacheable(t):
			notices = append(notices, Notice{Warn: true, Msg: fmt.Sprintf("%s: tool %q does not declare both readOnlyHint and idempotentHint, so moat does not cache its results; remove the setting, or have the plugin declare the hints if they hold", key, name)})
		}
	}
	return notices
}
