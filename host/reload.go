package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/resultcache"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/sandbox"
)

// reloader keeps the served plugins in step with plugins_dir and, on
// SIGHUP, with the configuration.
type reloader struct {
	cfg     *config.Config
	load    func() (*config.Config, error) // re-reads the configuration; nil: SIGHUP only rescans
	engine  *sandbox.Engine
	reg     *plugin.Registry
	srv     *server.Server
	admin   *server.Admin
	opts    plugin.Options
	log     hclog.Logger
	grace   time.Duration // how long a replaced plugin's calls may run on
	settled time.Duration // quiet time after the last file event before acting
	watch   *watcher
	fronts  *frontHolder
	// cache is the result cache, whose entries of a plugin's replaced
	// generation are dropped from memory when it is replaced.
	cache *resultcache.Cache
	// oldCfg is the configuration a reload replaced, for what it reports.
	oldCfg *config.Config
	// mu serialises reloads and rescans: the reloader's own, and those
	// Host.Reload asks for.
	mu sync.Mutex
	// retiring counts the replaced plugins and front doors still closing.
	retiring sync.WaitGroup
}

// frontHolder holds the front door serving now.
type frontHolder struct{ cur *frontDoor }

// watcher watches plugins_dir for .wasm files that come, change or go. It
// is made before the plugins load, so that nothing written meanwhile is
// missed, and it follows plugins_dir when a reload moves it.
type watcher struct {
	w   *fsnotify.Watcher // nil when the platform cannot watch
	dir string            // the folder watched, "" for none
	log hclog.Logger
}

// newWatcher watches dir. A folder that cannot be watched is logged;
// SIGHUP still rescans it.
func newWatcher(log hclog.Logger, dir string) *watcher {
	wt := &watcher{log: log}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("not watching plugins_dir; send SIGHUP to rescan it", "plugins_dir", dir, "error", err)
		return wt
	}
	wt.w = w
	wt.follow(dir)
	return wt
}

// follow moves the watch to dir.
func (wt *watcher) follow(dir string) {
	if wt.w == nil || dir == wt.dir {
		return
	}
	if wt.dir != "" {
		_ = wt.w.Remove(wt.dir)
		wt.dir = ""
	}
	if err := wt.w.Add(dir); err != nil {
		wt.log.Warn("not watching plugins_dir; send SIGHUP to rescan it", "plugins_dir", dir, "error", err)
		return
	}
	wt.dir = dir
	wt.log.Info("watching plugins_dir for changes", "plugins_dir", dir)
}

func (wt *watcher) events() (<-chan fsnotify.Event, <-chan error) {
	if wt.w == nil {
		return nil, nil
	}
	return wt.w.Events, wt.w.Errors
}

func (wt *watcher) close() {
	if wt.w != nil {
		_ = wt.w.Close()
	}
}

// run applies changes until ctx ends, then waits for the plugins it
// replaced to be retired: no goroutine it started outlives it.
func (r *reloader) run(ctx context.Context, reloads <-chan struct{}) {
	defer r.retiring.Wait()
	events, errs := r.watch.events()
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if strings.HasSuffix(ev.Name, ".wasm") {
				// Copying a file writes it many times: act once it is quiet.
				timer = time.After(r.settled)
			}
		case err := <-errs:
			r.log.Warn("watching plugins_dir", "error", err)
		case <-timer:
			timer = nil
			r.mu.Lock()
			r.reconcile(ctx)
			r.mu.Unlock()
		case <-reloads:
			r.log.Info("reload: re-reading the configuration and rescanning plugins_dir")
			if r.load == nil {
				r.mu.Lock()
				r.reconcile(ctx)
				r.mu.Unlock()
				continue
			}
			cfg, err := r.load()
			if err == nil {
				err = r.apply(ctx, cfg)
			}
			if err != nil {
				r.log.Error("the new configuration is refused; the running one stays", "error", err)
			}
		}
	}
}

// apply makes cfg the running configuration, or refuses it whole and
// leaves the running one in place. The whole front door of cfg is built
// before anything changes: one that fails (a key file that does not load,
// an audit path that cannot open) refuses it. Its secrets are secrets from
// then on, before any plugin can be given them; old ones stay, as they may
// still be in flight. Then the plugins are reconciled and the front door
// swapped.
func (r *reloader) apply(ctx context.Context, cfg *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cfg.Check(); err != nil {
		return err
	}
	var next *frontDoor
	if r.fronts != nil {
		var err error
		if next, err = r.fronts.cur.rebuild(ctx, r.cfg, cfg); err != nil {
			return err
		}
	} else if r.opts.Secrets != nil {
		r.opts.Secrets.Add(cfg.SecretValues()...)
	}
	// Every plugin the new configuration changes is loaded before any is
	// served. One the configuration names (under plugins:) that fails
	// refuses it whole; a file that is merely in plugins_dir and fails is
	// left out, as at start, so that one stray file does not block every
	// reload.
	pl := r.prepare(ctx, cfg)
	var errs []error
	var stray []failure
	for _, f := range pl.failures {
		if _, named := cfg.Plugins[f.name]; named || f.name == "plugins_dir" {
			errs = append(errs, fmt.Errorf("plugin %q: %w", f.name, f.err))
		} else {
			stray = append(stray, f)
		}
	}
	if len(errs) > 0 {
		pl.discard(ctx)
		if next != nil {
			next.closeOwn(r.fronts.cur, r.log)
		}
		return errors.Join(errs...)
	}
	for _, f := range stray {
		r.logFailure(f)
	}
	r.warnRestart(cfg)
	r.watch.follow(cfg.PluginsDir)
	r.oldCfg, r.cfg = r.cfg, cfg
	if next == nil && r.fronts != nil {
		next = r.fronts.cur
	}
	r.install(ctx, pl, len(stray), next)
	return nil
}

// reconcile loads what is new or changed and unloads what is gone. A new
// version replaces the old only once it has loaded and described itself;
// a bad one leaves the old serving, and the others apply.
func (r *reloader) reconcile(ctx context.Context) {
	plan := r.prepare(ctx, r.cfg)
	for _, f := range plan.failures {
		r.logFailure(f)
	}
	r.install(ctx, plan, len(plan.failures), nil)
}

// failure is a plugin a plan could not load.
type failure struct {
	name   string
	loaded bool // an old version serves
	err    error
}

// plan is what a rescan would change: the plugins loaded anew (not yet
// serving) and those to unload.
type plan struct {
	loaded   []*plugin.Plugin
	gone     []*plugin.Plugin
	failures []failure
}

// prepare loads every plugin cfg serves that is new or changed, without
// serving it yet, and lists the loaded ones cfg no longer serves.
func (r *reloader) prepare(ctx context.Context, cfg *config.Config) plan {
	var pl plan
	names, err := plugin.Names(cfg)
	if err != nil {
		pl.failures = append(pl.failures, failure{name: "plugins_dir", err: err})
		return pl
	}
	want := map[string]bool{}
	for _, name := range names {
		want[name] = true
		spec := plugin.SpecFor(cfg, name, r.opts)
		old, loaded := r.reg.Plugin(name)
		digest, err := plugin.FileDigest(spec.Path, spec.MaxModuleSize)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed mid-scan: the next event tells
			}
			// Not a module moat will read (a FIFO, a device, too large).
			pl.failures = append(pl.failures, failure{name, loaded, err})
			continue
		}
		if loaded && old.Same(spec, digest) {
			continue
		}
		p, err := plugin.LoadOne(ctx, r.engine, spec)
		if err != nil {
			pl.failures = append(pl.failures, failure{name, loaded, err})
			continue
		}
		pl.loaded = append(pl.loaded, p)
	}
	for _, p := range r.reg.Plugins() {
		if !want[p.Name] {
			pl.gone = append(pl.gone, p)
		}
	}
	return pl
}

// discard closes the plugins a plan loaded, when it is not applied.
func (pl plan) discard(ctx context.Context) {
	for _, p := range pl.loaded {
		p.Sandbox().Close(ctx)
	}
}

func (r *reloader) logFailure(f failure) {
	switch {
	case f.name == "plugins_dir":
		r.log.Error("rescanning plugins_dir", "error", f.err)
	case f.loaded:
		r.log.Error("the new version of a plugin is refused; the old one keeps serving", "plugin", f.name, "error", f.err)
	default:
		r.log.Error("plugin not loaded", "plugin", f.name, "error", f.err)
	}
}

// install serves what a plan loaded in place of what it replaces, unloads
// what it lists as gone, and tells /health how many failed. The changes
// are made to a copy of the registry, which is then served as a whole:
// with front, the new front door, when a reload brings one, else with the
// front door serving now. Requests already under way keep the registry
// they started with.
func (r *reloader) install(ctx context.Context, pl plan, failed int, front *frontDoor) {
	next := r.reg.Clone()
	type swap struct{ old, p *plugin.Plugin }
	var swaps []swap
	for _, p := range pl.loaded {
		replaced, err := next.Put(p)
		if err != nil {
			failed++
			r.logFailure(failure{p.Name, replaced != nil, err})
			p.Sandbox().Close(ctx)
			continue
		}
		swaps = append(swaps, swap{replaced, p})
	}
	for _, p := range pl.gone {
		next.Remove(p.Name)
	}
	r.reg = next
	if front != nil {
		r.swapFront(ctx, front)
	} else if cur := r.srv.Front(); cur != nil {
		r.srv.SetFront(cur.WithRegistry(next))
	}
	// Lists follow: the go-sdk tells connected clients what changed.
	for _, sw := range swaps {
		r.srv.Swap(sw.old, sw.p)
		r.cache.Forget(sw.p.Name, sw.p.Generation())
		if sw.old != nil {
			r.log.Info("plugin replaced", "plugin", sw.p.Name, "version", sw.p.Description.Version, "tools", len(sw.p.Tools))
			r.retire(ctx, sw.old)
		} else {
			r.log.Info("plugin loaded", "plugin", sw.p.Name, "version", sw.p.Description.Version, "tools", len(sw.p.Tools))
		}
	}
	for _, p := range pl.gone {
		r.srv.Drop(p)
		r.cache.Forget(p.Name, "")
		r.opts.Metrics.Forget(p.Name)
		reason := "plugin unloaded: its file is gone"
		if _, err := os.Stat(p.Path); err == nil {
			reason = "plugin unloaded: the configuration no longer serves it"
		}
		r.log.Info(reason, "plugin", p.Name, "path", p.Path)
		r.retire(ctx, p)
	}
	r.admin.Loaded(r.reg, failed)
	if len(pl.loaded) > 0 {
		releaseLoadGarbage()
	}
}

// swapFront serves new requests under next, and closes what the old front
// door alone held once the requests it serves have ended (or grace has
// passed).
func (r *reloader) swapFront(ctx context.Context, next *frontDoor) {
	oldCfg := r.oldCfg
	prev := r.fronts.cur
	r.fronts.cur = next
	f := next.front(r.cfg)
	f.Registry = r.reg
	replaced := r.srv.SetFront(f)
	var changed []string
	for key, differs := range map[string]bool{
		"auth": !reflect.DeepEqual(oldCfg.Auth, r.cfg.Auth), "roles": !reflect.DeepEqual(oldCfg.Roles, r.cfg.Roles),
		"rate_limits": !reflect.DeepEqual(oldCfg.RateLimits, r.cfg.RateLimits), "audit": oldCfg.Audit != r.cfg.Audit,
		"http.allowed_origins": !slices.Equal(oldCfg.HTTP.AllowedOrigins, r.cfg.HTTP.AllowedOrigins),
		"http.max_body":        oldCfg.HTTP.MaxBody != r.cfg.HTTP.MaxBody, "max_inflight": oldCfg.MaxInflight != r.cfg.MaxInflight,
	} {
		if differs {
			changed = append(changed, key)
		}
	}
	slices.Sort(changed)
	if len(changed) > 0 {
		r.log.Info("front door reloaded: new requests are served under the new settings", "changed", strings.Join(changed, ","))
	}
	r.retiring.Add(1)
	go func() {
		defer r.retiring.Done()
		t := time.NewTimer(r.grace)
		defer t.Stop()
		select {
		case <-replaced.Idle():
		case <-t.C:
		case <-ctx.Done():
		}
		prev.closeOwn(next, r.log)
	}()
}

// retire closes a replaced or removed plugin once its calls are done, or
// once grace has passed or ctx (the reloader's) ended, in a goroutine run
// waits for.
func (r *reloader) retire(ctx context.Context, p *plugin.Plugin) {
	r.retiring.Add(1)
	go func() {
		defer r.retiring.Done()
		ctx, cancel := context.WithTimeout(ctx, r.grace)
		defer cancel()
		p.Retire(ctx)
	}()
}

// warnRestart names the settings a reload does not apply: those that are
// bound to a listening socket or a process-wide resource (the listeners,
// TLS, the HTTP server's timeouts and caps, the folders of the cache and
// the store, the shared store's engine, the log). RestartKeys lists them for moat config check.
func (r *reloader) warnRestart(cfg *config.Config) {
	for _, key := range restartChanges(r.cfg, cfg) {
		r.log.Warn("a setting changed that a reload does not apply; restart moat to apply it", "key", key)
	}
}

// RestartKeys are the settings only a restart applies; every other one a
// reload (SIGHUP) applies.
var RestartKeys = []string{"listen", "admin_listen", "tls", "cache_dir", "data_dir", "log", "shutdown_timeout", "memory_limit",
	"store", "result_cache", "http (all but allowed_origins and max_body)"}

func restartChanges(old, cfg *config.Config) []string {
	edgeOnly := func(h config.HTTP) config.HTTP {
		h.AllowedOrigins, h.MaxBody = nil, 0
		return h
	}
	changed := map[string]bool{
		"listen":           cfg.Listen != old.Listen,
		"admin_listen":     cfg.AdminListen != old.AdminListen,
		"cache_dir":        cfg.CacheDir != old.CacheDir,
		"data_dir":         cfg.DataDir != old.DataDir,
		"log":              cfg.Log != old.Log,
		"shutdown_timeout": cfg.ShutdownTimeout != old.ShutdownTimeout,
		"memory_limit":     cfg.MemoryLimit != old.MemoryLimit,
		"http":             !reflect.DeepEqual(edgeOnly(cfg.HTTP), edgeOnly(old.HTTP)),
		"tls":              cfg.TLS != old.TLS,
		"store":            !reflect.DeepEqual(cfg.Store, old.Store),
		"result_cache":     cfg.ResultCache != old.ResultCache,
	}
	var out []string
	for _, key := range slices.Sorted(maps.Keys(changed)) {
		if changed[key] {
			out = append(out, key)
		}
	}
	return out
}
