package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/sandbox"
)

// Plugin is a loaded plugin with its tools.
type Plugin struct {
	Name        string
	Path        string
	Prefix      string
	Description *abi.Description
	Tools       []*Tool
	// Resources, Templates and Prompts are what the plugin serves beside
	// its tools.
	Resources []*Resource
	Templates []*Template
	Prompts   []*Prompt

	// Digest is the hex SHA-256 of the module, to tell a changed file.
	Digest string
	// Granted is what the plugin may use: what it asks for and is granted.
	Granted config.Grants
	// Notices say how its requests and its grants differ.
	Notices []Notice

	sandbox *sandbox.Plugin
	// generation names this load in the result cache (see Generation).
	generation string
	breaker    *breaker
	metrics    *observe.Metrics
	spec       Spec
	use        inUse // calls routed to the plugin, so a replaced plugin is closed only after them
}

// TaskTimeout is the deadline of a call of the plugin's that runs as a
// task (limits.task_timeout).
func (p *Plugin) TaskTimeout() time.Duration {
	if p.spec.TaskTimeout > 0 {
		return p.spec.TaskTimeout
	}
	return config.DefaultTaskTimeout
}

// Sandbox is the plugin's sandboxed module, for its stats and imports.
func (p *Plugin) Sandbox() *sandbox.Plugin { return p.sandbox }

// Health reports the plugin's breaker and faults.
func (p *Plugin) Health() Health { return p.breaker.health() }

// fault counts a fault of the plugin in the metrics.
func (p *Plugin) fault(err error) {
	kind := sandbox.KindName(err)
	if kind == "" {
		kind = "bad_output"
	}
	if kind != "canceled" && kind != "closed" {
		p.metrics.Fault(p.Name, kind)
	}
	var f *sandbox.Fault
	if errors.As(err, &f) && f.Kind == sandbox.ErrTimeout && f.Late > 0 {
		p.metrics.Overshoot(p.Name, f.Late)
	}
}

// Spec is what loading one plugin needs.
type Spec struct {
	Name   string
	Path   string
	Prefix string
	Limits sandbox.Limits
	// TaskTimeout is the deadline of a call that runs as a task
	// (limits.task_timeout); 0 means config.DefaultTaskTimeout.
	TaskTimeout time.Duration
	Breaker     BreakerSettings
	Grants      config.Grants
	// Cache is the operator's result cache setting for the plugin.
	Cache config.Cache
	// TaskSupport is the operator's task support by tool, over the
	// plugin's description (plugins.NAME.task_support).
	TaskSupport map[string]string
	// MaxModuleSize bounds the module file (max_module_size); 0 means
	// config.DefaultMaxModuleSize.
	MaxModuleSize int64
	// Host receives the plugin's logs; Log the breaker's state changes and
	// how the plugin's requests differ from its grants.
	Host    sandbox.Host
	Log     hclog.Logger
	Metrics *observe.Metrics
	// KV is the store behind the kv capability, or nil.
	KV capability.Store
	// Notify, if set, receives each URI of the plugin's that it announces
	// as changed, to tell the sessions subscribed to it. Without it the
	// announcement is accepted and goes nowhere.
	Notify func(uri string)
	// Secrets are redacted from the plugin's own text before an error
	// quotes it and cuts it short, so that no cut leaves part of a secret
	// showing; nil redacts nothing.
	Secrets *observe.Secrets
}

// Options are what Load passes to every plugin.
type Options struct {
	Host    sandbox.Host
	Log     hclog.Logger
	Metrics *observe.Metrics
	// KV is the store behind the kv capability; nil when no plugin was
	// granted kv at start.
	KV capability.Store
	// Secrets are what must never leave the host (see Spec.Secrets).
	Secrets *observe.Secrets
	// Notify, if set, receives the URIs plugins announce as changed with
	// notify_resource_updated (see Spec.Notify).
	Notify func(uri string)
}

// pluginName is what a plugin's name may hold: it becomes part of tool
// names, so MCP's tool-name characters.
var pluginName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Registry holds the loaded plugins and the tools clients see. It is safe
// for concurrent use: reloads change it while calls read it.
type Registry struct {
	mu        sync.RWMutex
	plugins   []*Plugin
	tools     map[string]*Tool
	resources map[string]*Resource
	prompts   map[string]*Prompt
}

// Names lists the plugins configured: every *.wasm in plugins_dir and
// every entry under plugins, each once, sorted.
func Names(cfg *config.Config) ([]string, error) {
	set := map[string]bool{}
	entries, err := os.ReadDir(cfg.PluginsDir)
	if err != nil && !(os.IsNotExist(err) && !cfg.PluginsDirExplicit()) {
		return nil, fmt.Errorf("plugins_dir: %w", err)
	}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wasm"); ok && !e.IsDir() && name != "" {
			set[name] = true
		}
	}
	for name := range cfg.Plugins {
		if !cfg.Absent(name) {
			set[name] = true
		}
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Load loads every configured plugin into engine. A plugin that fails is
// left out and its error returned among errs; the registry serves the rest.
func Load(ctx context.Context, cfg *config.Config, engine *sandbox.Engine, opts Options) (r *Registry, errs []error) {
	r = &Registry{tools: map[string]*Tool{}}
	names, err := Names(cfg)
	if err != nil {
		return r, []error{err}
	}
	for _, name := range names {
		p, err := LoadOne(ctx, engine, SpecFor(cfg, name, opts))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.add(p); err != nil {
			p.sandbox.Close(ctx)
			errs = append(errs, err)
		}
	}
	return r, errs
}

// SpecFor is the spec of the named plugin under cfg.
func SpecFor(cfg *config.Config, name string, opts Options) Spec {
	b := cfg.PluginBreaker(name)
	return Spec{
		Name: name, Path: cfg.PluginPath(name), Prefix: cfg.PluginPrefix(name), Limits: SandboxLimits(cfg.PluginLimits(name)),
		TaskTimeout: time.Duration(cfg.PluginLimits(name).TaskTimeout),
		Breaker:     BreakerSettings{Failures: b.Failures, OpenFor: time.Duration(b.OpenFor), HalfOpenCalls: b.HalfOpenCalls},
		Grants:      cfg.Plugins[name].Grants, Cache: cfg.Plugins[name].Cache, TaskSupport: cfg.Plugins[name].TaskSupport,
		MaxModuleSize: int64(cfg.MaxModuleSize),
		Host:          opts.Host, KV: opts.KV, Log: opts.Log, Metrics: opts.Metrics, Secrets: opts.Secrets, Notify: opts.Notify,
	}
}

// SandboxLimits are the limits the configuration sets, for the sandbox;
// fields it leaves unset take the sandbox's defaults at load.
func SandboxLimits(l config.Limits) sandbox.Limits {
	return sandbox.Limits{
		Timeout: time.Duration(l.Timeout), Memory: uint64(l.Memory), Output: uint64(l.Output),
		Instances: l.Instances, QueueTimeout: time.Duration(l.QueueTimeout),
	}
}

// DefaultLimits are the sandbox's defaults as the configuration writes
// them.
func DefaultLimits() config.Limits {
	d := sandbox.DefaultLimits
	return config.Limits{
		Timeout: config.Duration(d.Timeout), Memory: config.Size(d.Memory), Output: config.Size(d.Output),
		Instances: d.Instances, QueueTimeout: config.Duration(d.QueueTimeout),
		TaskTimeout: config.Duration(config.DefaultTaskTimeout),
	}
}

// LoadOne loads the module at spec.Path as plugin spec.Name, and checks
// its description.
func LoadOne(ctx context.Context, engine *sandbox.Engine, spec Spec) (*Plugin, error) {
	name, path := spec.Name, spec.Path
	if !pluginName.MatchString(name) {
		return nil, fmt.Errorf("plugin %q (%s): a plugin's name, taken from its file name, may hold only letters, digits, '_', '-' and '.'; rename the file", name, path)
	}
	wasm, err := ReadModule(path, spec.MaxModuleSize)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	var onWait func(time.Duration)
	if m := spec.Metrics; m != nil {
		onWait = func(d time.Duration) { m.Wait(name, d.Seconds()) }
	}
	base := spec.Host
	if base == nil {
		base = logHost{log: hclog.NewNullLogger()}
	}
	sp, err := engine.Load(ctx, sandbox.Spec{Name: name, Wasm: wasm, Limits: spec.Limits, Host: base, OnWait: onWait})
	if err != nil {
		return nil, err
	}
	desc, tools, err := parseDescription(name, spec.Prefix, sp.Description())
	if err != nil {
		sp.Close(ctx)
		return nil, &sandbox.LoadError{Plugin: name, Problem: "bad description", Err: err}
	}
	granted, notices := Effective(name, desc.Capabilities, spec.Grants)
	served := &servedRef{}
	gh := withGrants(base, name, granted, desc.Capabilities.Config, spec.KV)
	gh.served, gh.notify = served, spec.Notify
	if err := sp.Grant(gh, mounts(granted)); err != nil {
		sp.Close(ctx)
		return nil, err
	}
	if spec.Log != nil {
		for _, n := range notices {
			if n.Warn {
				spec.Log.Warn(n.Msg)
			} else {
				spec.Log.Info(n.Msg)
			}
		}
	}
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256(wasm)
	p := &Plugin{Name: name, Path: abs, Prefix: spec.Prefix, Description: desc, Tools: tools, sandbox: sp, Granted: granted, Notices: notices,
		Digest: hex.EncodeToString(sum[:]), spec: spec,
		breaker: newBreaker(name, spec.Breaker, spec.Log, spec.Metrics, spec.Secrets), metrics: spec.Metrics}
	for _, t := range tools {
		t.Plugin = p
	}
	if err := parseFeatures(p, spec.Prefix, desc); err != nil {
		sp.Close(ctx)
		return nil, &sandbox.LoadError{Plugin: name, Problem: "bad description", Err: err}
	}
	for _, n := range bindCache(p, granted) {
		p.Notices = append(p.Notices, n)
		if spec.Log != nil {
			spec.Log.Warn(n.Msg)
		}
	}
	served.p.Store(p)
	return p, nil
}

func (r *Registry) add(p *Plugin) error {
	_, err := r.Put(p)
	return err
}

// Put adds p, or puts it in place of the loaded plugin of the same name,
// which it returns (nil if there was none) for the caller to retire. A
// tool name another plugin serves refuses p, and the registry is unchanged.
func (r *Registry) Put(p *Plugin) (old *Plugin, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range p.Tools {
		if other, ok := r.tools[t.Name]; ok && other.Plugin.Name != p.Name {
			return nil, fmt.Errorf("plugin %q: its tool %q has the name plugin %q already serves; set plugins.%s.prefix to tell them apart", p.Name, t.Name, other.Plugin.Name, p.Name)
		}
	}
	if err := r.claims(p); err != nil {
		return nil, err
	}
	if r.resources == nil {
		r.resources, r.prompts = map[string]*Resource{}, map[string]*Prompt{}
	}
	for i, q := range r.plugins {
		if q.Name == p.Name {
			old = q
			r.plugins[i] = p
		}
	}
	if old == nil {
		r.plugins = append(r.plugins, p)
		slices.SortFunc(r.plugins, func(a, b *Plugin) int { return strings.Compare(a.Name, b.Name) })
	} else {
		r.forget(old)
	}
	for _, t := range p.Tools {
		r.tools[t.Name] = t
	}
	for _, res := range p.Resources {
		r.resources[res.Def.URI] = res
	}
	for _, pr := range p.Prompts {
		r.prompts[pr.Name] = pr
	}
	return old, nil
}

// forget drops what p served from the lookups.
func (r *Registry) forget(p *Plugin) {
	for _, t := range p.Tools {
		delete(r.tools, t.Name)
	}
	for _, res := range p.Resources {
		delete(r.resources, res.Def.URI)
	}
	for _, pr := range p.Prompts {
		delete(r.prompts, pr.Name)
	}
}

// claims refuses p when another plugin serves one of its prompt names or
// resource URIs, or when one plugin's template matches the URIs of
// another's resources or template. URIs are the plugins' own, with no
// prefix to tell them apart, so the plugin loaded second is refused,
// naming both.
func (r *Registry) claims(p *Plugin) error {
	for _, pr := range p.Prompts {
		if other, ok := r.prompts[pr.Name]; ok && other.Plugin.Name != p.Name {
			return fmt.Errorf("plugin %q: its prompt %q has the name plugin %q already serves; set plugins.%s.prefix to tell them apart", p.Name, pr.Name, other.Plugin.Name, p.Name)
		}
	}
	for _, res := range p.Resources {
		if other, ok := r.resources[res.Def.URI]; ok && other.Plugin.Name != p.Name {
			return fmt.Errorf("plugin %q: its resource %q is plugin %q's already; two plugins cannot serve one URI, so serve it from one of them", p.Name, res.Def.URI, other.Plugin.Name)
		}
	}
	for _, q := range r.plugins {
		if q.Name == p.Name {
			continue
		}
		for _, t := range p.Templates {
			for _, u := range q.Templates {
				if t.shape() == u.shape() {
					return fmt.Errorf("plugin %q: its resource template %q matches the same URIs as plugin %q's template %q; two plugins cannot serve one URI", p.Name, t.Def.URITemplate, q.Name, u.Def.URITemplate)
				}
			}
			for _, res := range q.Resources {
				if t.Match(res.Def.URI) {
					return fmt.Errorf("plugin %q: its resource template %q matches plugin %q's resource %q; two plugins cannot serve one URI", p.Name, t.Def.URITemplate, q.Name, res.Def.URI)
				}
			}
		}
		for _, res := range p.Resources {
			for _, u := range q.Templates {
				if u.Match(res.Def.URI) {
					return fmt.Errorf("plugin %q: its resource %q is matched by plugin %q's resource template %q; two plugins cannot serve one URI", p.Name, res.Def.URI, q.Name, u.Def.URITemplate)
				}
			}
		}
	}
	return nil
}

// ResourceFor finds the plugin that serves uri: the one with a resource of
// that URI, or else the first whose template matches it. def is the
// resource or template that matched, for its name and MIME type.
func (r *Registry) ResourceFor(uri string) (p *Plugin, name, mimeType string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if res, ok := r.resources[uri]; ok {
		return res.Plugin, res.Def.Name, res.Def.MIMEType, true
	}
	for _, q := range r.plugins {
		for _, t := range q.Templates {
			if t.Match(uri) {
				return q, t.Def.Name, t.Def.MIMEType, true
			}
		}
	}
	return nil, "", "", false
}

// Template finds a resource template by its uriTemplate, as a completion
// request names it.
func (r *Registry) Template(uriTemplate string) (*Template, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, q := range r.plugins {
		for _, t := range q.Templates {
			if t.Def.URITemplate == uriTemplate {
				return t, true
			}
		}
	}
	return nil, false
}

// Prompt finds a prompt by the name clients ask for.
func (r *Registry) Prompt(name string) (*Prompt, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	pr, ok := r.prompts[name]
	return pr, ok
}

// Remove takes the named plugin out and returns it for the caller to
// retire, or nil if it is not loaded.
func (r *Registry) Remove(name string) *Plugin {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.plugins {
		if p.Name == name {
			r.plugins = slices.Delete(r.plugins, i, i+1)
			r.forget(p)
			return p
		}
	}
	return nil
}

// Clone returns a copy of r, which changes without changing r: a reload
// builds the next registry aside and serves it as a whole, while requests
// already under way keep the one they started with.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := &Registry{plugins: slices.Clone(r.plugins), tools: maps.Clone(r.tools), resources: maps.Clone(r.resources), prompts: maps.Clone(r.prompts)}
	if c.tools == nil {
		c.tools = map[string]*Tool{}
	}
	return c
}

// Plugins lists the loaded plugins by name.
func (r *Registry) Plugins() []*Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.plugins)
}

// Tool finds a tool by the name clients call it.
func (r *Registry) Tool(name string) (*Tool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tools[name]
	return t, ok
}

// Plugin finds a loaded plugin by name.
func (r *Registry) Plugin(name string) (*Plugin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, p := range r.plugins {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Close unloads every plugin.
func (r *Registry) Close(ctx context.Context) {
	for _, p := range r.Plugins() {
		p.sandbox.Close(ctx)
	}
}

// Same reports whether q would load as p did: the same module bytes and the
// same settings.
func (p *Plugin) Same(q Spec, digest string) bool {
	a, b := p.spec, q
	return p.Digest == digest && a.Path == b.Path && a.Prefix == b.Prefix && a.Limits == b.Limits && a.TaskTimeout == b.TaskTimeout && a.Breaker == b.Breaker &&
		reflect.DeepEqual(a.Grants, b.Grants) && reflect.DeepEqual(a.Cache, b.Cache) && maps.Equal(a.TaskSupport, b.TaskSupport)
}

// FileDigest is the hex SHA-256 of the module at path, as Plugin.Digest,
// read as ReadModule reads it, with max as its bound.
func FileDigest(path string, max int64) (string, error) {
	b, err := ReadModule(path, max)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
