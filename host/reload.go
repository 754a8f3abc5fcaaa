package host

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/plugin"
	"github.com/moat-mcp/moat/host/server"
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
}

// run watches until ctx ends. A folder that cannot be watched is logged;
// SIGHUP still works.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {

	var events <-chan fsnotify.Event
	var errs <-chan error
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		if err = w.Add(r.cfg.PluginsDir); err == nil {
			events, errs = w.Events, w.Errors
			r.log.Info("watching plugins_dir for changes", "plugins_dir", r.cfg.PluginsDir)
		}
	}
	if err != nil {
		r.log.Warn("not watching plugins_dir; send SIGHUP to rescan it", "plugins_dir", r.cfg.PluginsDir, "error", err)
	}

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
			r.reconcile(ctx)
		case <-hup:
			r.log.Info("SIGHUP: re-reading the configuration and rescanning plugins_dir")
			if r.load != nil {
				cfg, err := r.load()
				if err == nil {
					err = cfg.Check()
				}
				if err != nil {
					r.log.Error("the new configuration is refused; the running one stays", "error", err)
					continue
				}
				r.warnRestart(cfg)
				// A value granted or referenced by the new configuration is
				// a secret from now on, before any plugin can be given it.
				// Old ones stay: they may still be in flight.
				if r.opts.Secrets != nil {
					r.opts.Secrets.Add(cfg.SecretValues()...)
				}
				r.cfg = cfg
			}
			r.reconcile(ctx)
		}
	}
}

// reconcile loads what is new or changed and unloads what is gone. A new
// version replaces the old only once it has loaded and described itself;
// a bad one leaves the old serving.
func (r *reloader) reconcile(ctx context.Context) {
	names, err := plugin.Names(r.cfg)
	if err != nil {
		r.log.Error("rescanning plugins_dir", "error", err)
		return
	}
	want := map[string]bool{}
	failed := 0
	for _, name := range names {
		want[name] = true
		spec := plugin.SpecFor(r.cfg, name, r.opts)
		old, loaded := r.reg.Plugin(name)
		digest, err := plugin.FileDigest(spec.Path, spec.MaxModuleSize)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed mid-scan: the next event tells
			}
			// Not a module moat will read (a FIFO, a device, too large):
			// say so, as a load at start does.
			failed++
			if loaded {
				r.log.Error("the new version of a plugin is refused; the old one keeps serving", "plugin", name, "error", err)
			} else {
				r.log.Error("plugin not loaded", "plugin", name, "error", err)
			}
			continue
		}
		if loaded && old.Same(spec, digest) {
			continue
		}
		p, err := plugin.LoadOne(ctx, r.engine, spec)
		if err != nil {
			failed++
			if loaded {
				r.log.Error("the new version of a plugin is refused; the old one keeps serving", "plugin", name, "error", err)
			} else {
				r.log.Error("plugin not loaded", "plugin", name, "error", err)
			}
			continue
		}
		replaced, err := r.reg.Put(p)
		if err != nil {
			failed++
			if loaded {
				r.log.Error("the new version of a plugin is refused; the old one keeps serving", "plugin", name, "error", err)
			} else {
				r.log.Error("plugin not loaded", "plugin", name, "error", err)
			}
			p.Sandbox().Close(ctx)
			continue
		}
		r.srv.Swap(replaced, p)
		if replaced != nil {
			r.log.Info("plugin replaced", "plugin", name, "version", p.Description.Version, "tools", len(p.Tools))
			go r.retire(replaced)
		} else {
			r.log.Info("plugin loaded", "plugin", name, "version", p.Description.Version, "tools", len(p.Tools))
		}
	}
	for _, p := range r.reg.Plugins() {
		if !want[p.Name] {
			r.reg.Remove(p.Name)
			r.srv.Drop(p)
			r.opts.Metrics.Forget(p.Name)
			r.log.Info("plugin unloaded: its file is gone", "plugin", p.Name, "path", filepath.Base(p.Path))
			go r.retire(p)
		}
	}
	r.admin.Loaded(r.reg, failed)
}

// retire closes a replaced or removed plugin once its calls are done.
func (r *reloader) retire(p *plugin.Plugin) {
	ctx, cancel := context.WithTimeout(context.Background(), r.grace)
	defer cancel()
	p.Retire(ctx)
}

// warnRestart names the settings a reload does not apply: the listeners,
// the front door and the log are built once at start.
func (r *reloader) warnRestart(cfg *config.Config) {
	old := r.cfg
	changed := map[string]bool{
		"listen":           cfg.Listen != old.Listen,
		"admin_listen":     cfg.AdminListen != old.AdminListen,
		"plugins_dir":      cfg.PluginsDir != old.PluginsDir,
		"cache_dir":        cfg.CacheDir != old.CacheDir,
		"data_dir":         cfg.DataDir != old.DataDir,
		"log":              cfg.Log != old.Log,
		"max_inflight":     cfg.MaxInflight != old.MaxInflight,
		"shutdown_timeout": cfg.ShutdownTimeout != old.ShutdownTimeout,
		"auth":             !reflect.DeepEqual(cfg.Auth, old.Auth),
		"roles":            !reflect.DeepEqual(cfg.Roles, old.Roles),
		"rate_limits":      !reflect.DeepEqual(cfg.RateLimits, old.RateLimits),
		"http":             !reflect.DeepEqual(cfg.HTTP, old.HTTP),
		"tls":              cfg.TLS != old.TLS,
		"audit":            cfg.Audit != old.Audit,
	}
	for _, key := range slices.Sorted(maps.Keys(changed)) {
		if changed[key] {
			r.log.Warn("a setting changed that a reload does not apply; restart moat to apply it", "key", key)
		}
	}
}
