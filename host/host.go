package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/internal/resultcache"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/host/internal/store"
	"github.com/moat-mcp/moat/host/internal/taskstore"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Version is moat's version, set at build time with
// -ldflags "-X github.com/moat-mcp/moat/host.Version=...".
var Version = "0.1.0-dev"

// NewLogger returns the host's logger, writing to w (stderr: stdout belongs
// to the stdio transport), with the configuration's secrets scrubbed.
func NewLogger(cfg *config.Config, w io.Writer) hclog.Logger {
	log, _ := NewServeLogger(cfg, w)
	return log
}

// NewServeLogger is NewLogger, and also returns the secrets its output is
// scrubbed of, for ServeOptions.Secrets: Serve adds to them what a reload
// grants, so that the log never shows a secret first granted on SIGHUP.
func NewServeLogger(cfg *config.Config, w io.Writer) (hclog.Logger, *observe.Secrets) {
	secrets := Secrets(cfg)
	return hclog.New(&hclog.LoggerOptions{
		Name:       "moat",
		Level:      hclog.LevelFromString(cfg.Log.Level),
		Output:     secrets.Writer(w),
		JSONFormat: cfg.Log.Format == "json",
	}), secrets
}

// ServeOptions are what Serve needs beyond the configuration.
type ServeOptions struct {
	Log hclog.Logger
	// Ready, if set, receives the HTTP address once moat listens (so tests
	// and supervisors may use port 0).
	Ready func(addr net.Addr)
	// Stdio is the transport when cfg.Listen is empty; nil means the
	// process's stdin and stdout.
	Stdio mcp.Transport
	// AdminReady, if set, receives the admin listener's address.
	AdminReady func(addr net.Addr)
	// Reload re-reads the configuration when Reloads asks; nil rescans
	// plugins_dir only.
	Reload func() (*config.Config, error)
	// Reloads asks for a reload each time it receives (moat serve sends
	// one on SIGHUP); nil asks for none. Changes to plugins_dir are
	// followed either way.
	Reloads <-chan struct{}
	// Secrets, if set, are the secrets Log scrubs (NewServeLogger): moat
	// scrubs the same ones from everything else it sends, and adds those a
	// reload brings, so the log keeps up with them.
	Secrets *observe.Secrets
}

// Serve loads the configured plugins and serves their tools until ctx ends
// (SIGINT or SIGTERM in moat serve), then drains in-flight calls within
// shutdown_timeout and returns nil. A plugin that fails to load is logged
// and left out. It is New, Host.Serve and Host.Close in one.
func Serve(ctx context.Context, cfg *config.Config, opts ServeOptions) error {
	h, err := New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Serve(ctx)
}

// Host is one running moat: the engine, the front door, the admin
// listener, the kv store, the plugins and the MCP server built from one
// configuration, which Reload replaces as a whole. New builds it, Serve
// serves until its context ends, Close releases everything; every
// goroutine a Host starts ends before Close returns.
type Host struct {
	cfg     *config.Config
	opts    ServeOptions
	log     hclog.Logger
	admin   *server.Admin
	srv     *server.Server
	rl      *reloader
	closers []func() // run by Close, last first
}

// New checks cfg, builds the front door, opens the admin listener (so
// probes see "starting" while plugins load) and the kv store, loads the
// plugins and makes the MCP server. An error leaves nothing open.
func New(ctx context.Context, cfg *config.Config, opts ServeOptions) (h *Host, err error) {
	log := opts.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h = &Host{cfg: cfg, opts: opts, log: log}
	defer func() {
		if err != nil {
			h.Close()
			h = nil
		}
	}()
	if err := cfg.Check(); err != nil {
		return h, err
	}
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: cfg.CacheDir, HostVersion: Version})
	if err != nil {
		return h, err
	}
	h.closers = append(h.closers, func() { engine.Close(context.Background()) })
	// The shared store opens before the front door, whose rate limits it
	// may keep, and closes after everything that uses it.
	var shared *store.Redis
	if cfg.Store.Redis != nil {
		if shared, err = store.OpenRedis(ctx, cfg, log); err != nil {
			return h, err
		}
		h.closers = append(h.closers, func() { shared.Close() })
	}
	// The task records: on the shared store, else in data_dir (tasks.db,
	// opened when the first task is created).
	var tasks *taskstore.Store
	if shared != nil {
		tasks = taskstore.NewRedis(shared.Client(), shared.Name())
	} else {
		tasks = taskstore.NewEmbedded(cfg.DataDirPath)
	}
	h.closers = append(h.closers, func() {
		if err := tasks.Close(); err != nil {
			log.Error("closing the task store", "store", tasks.Name(), "error", err)
		}
	})
	front, err := newFrontDoor(ctx, cfg, opts.Secrets, sharedBuckets(shared))
	if err != nil {
		return h, err
	}
	// A reload may replace the front door; the one serving at the end is
	// closed at the end (replaced ones are closed by the reloader).
	fronts := &frontHolder{cur: front}
	h.closers = append(h.closers, func() { fronts.cur.close(log) })

	// The admin listener comes up first, so probes see "starting".
	var admin *server.Admin
	metrics := observe.NewMetrics(Version, func() []observe.PoolStats { return admin.Pools() }, front.audit)
	admin = server.NewAdmin(metrics, Version, log)
	admin.SetScrubber(front.secrets)
	if shared != nil {
		admin.SetStore(func(ctx context.Context) server.StoreHealth { return server.StoreHealth(shared.Health(ctx)) })
	}
	h.admin = admin
	if cfg.AdminListen != "" && cfg.AdminListen != config.AdminListenOff {
		aln, err := net.Listen("tcp", cfg.AdminListen)
		switch {
		case err != nil && cfg.Listen == "":
			// Clients start a stdio moat each; the second cannot have the
			// port, and its tools matter more than its metrics.
			log.Warn("no admin listener: its address is taken; metrics and health are off for this stdio server", "admin_listen", cfg.AdminListen, "error", err)
		case err != nil:
			return h, fmt.Errorf("admin_listen %s: %w; choose a free address, or set admin_listen: off", cfg.AdminListen, err)
		default:
			log.Info("serving metrics and health", "url", "http://"+aln.Addr().String()+"/metrics")
			if opts.AdminReady != nil {
				opts.AdminReady(aln.Addr())
			}
			h.closers = append(h.closers, admin.ServeAdmin(aln))
		}
	}

	// A plugin may announce a change of its resources as soon as it runs;
	// the server that tells the subscribed sessions is made after the
	// plugins load.
	var served atomic.Pointer[server.Server]
	notify := func(uri string) {
		if srv := served.Load(); srv != nil {
			srv.ResourceUpdated(uri)
		}
	}
	popts := plugin.Options{Host: plugin.NewHost(log, front.secrets), Log: log, Metrics: metrics, Secrets: front.secrets, Notify: notify}
	// The store opens before the plugins load, so it closes after them.
	// The shared store serves kv whether or not a plugin is granted it at
	// start, so that a reload may grant it.
	switch {
	case shared != nil:
		popts.KV = shared.KV()
	case cfg.KVGranted():
		dir, err := cfg.DataDirPath()
		if err != nil {
			return h, err
		}
		kv, err := capability.OpenKV(dir)
		switch {
		case errors.Is(err, capability.ErrKVLocked) && cfg.Builtin():
			// With no configuration of its own, a moat that finds the store
			// taken (a second stdio client's moat, say) serves without it:
			// kv calls answer EPERM saying so.
			log.Warn("serving without kv: another moat holds the store; give each moat its own data_dir (MOAT_DATA_DIR) to keep both", "data_dir", dir)
		case err != nil:
			return h, err
		default:
			popts.KV = kv
			h.closers = append(h.closers, func() {
				if err := kv.Close(); err != nil {
					log.Error("closing the kv store", "data_dir", dir, "error", err)
				}
			})
			log.Info("kv store open", "data_dir", dir)
		}
	}

	// plugins_dir is watched before the plugins load, so that a module
	// written meanwhile is not missed.
	watch := newWatcher(log, cfg.PluginsDir)
	h.closers = append(h.closers, watch.close)
	start := time.Now()
	reg, errs := plugin.Load(ctx, cfg, engine, popts)
	h.closers = append(h.closers, func() { reg.Close(context.Background()) })
	for _, err := range errs {
		log.Error("plugin not loaded", "error", err)
	}
	tools := 0
	for _, p := range reg.Plugins() {
		tools += len(p.Tools)
		log.Info("plugin loaded", "plugin", p.Name, "version", p.Description.Version, "tools", len(p.Tools),
			"resources", len(p.Resources)+len(p.Templates), "prompts", len(p.Prompts), "compile", p.Sandbox().CompileTime())
	}
	if len(reg.Plugins()) == 0 {
		log.Warn("no plugins loaded; put .wasm files in plugins_dir or pass --plugins DIR", "plugins_dir", cfg.PluginsDir)
	}
	log.Info("plugins ready", "plugins", len(reg.Plugins()), "tools", tools, "failed", len(errs), "took", time.Since(start).Round(time.Millisecond), "cache_dir", engine.CacheDir())
	admin.Loaded(reg, len(errs))
	releaseLoadGarbage()

	// The result cache is made whether or not a plugin opts in at start,
	// so that a reload may opt one in; it holds nothing until then.
	rcOpts := resultcache.Options{Memory: int64(cfg.ResultCache.Memory), MaxResult: int(cfg.ResultCache.MaxResult)}
	if shared != nil {
		rcOpts.Redis = shared.Client()
	}
	rc := resultcache.New(rcOpts)
	f := front.front(cfg)
	h.srv = server.New(reg, log, server.Options{
		Version: Version, HTTP: cfg.HTTP, TLS: cfg.TLS,
		Auth: f.Auth, Policy: f.Policy, Audit: f.Audit, Secrets: f.Secrets,
		Fallback: f.Fallback, Metrics: metrics, MaxInflight: f.MaxInflight, StateKey: f.StateKey, Cache: rc,
		Tasks: tasks,
	})
	served.Store(h.srv)
	h.rl = &reloader{cfg: cfg, load: opts.Reload, engine: engine, reg: reg, srv: h.srv, admin: admin, log: log,
		opts: popts, watch: watch, fronts: fronts, cache: rc,
		grace: time.Duration(cfg.ShutdownTimeout), settled: 250 * time.Millisecond}
	return h, nil
}

// Reload makes cfg the running configuration as a whole (plugins, grants,
// secrets, the front door), or refuses it whole with the reason and keeps
// the running one. What only a restart applies is logged.
func (h *Host) Reload(ctx context.Context, cfg *config.Config) error {
	return h.rl.apply(ctx, cfg)
}

// Serve serves MCP (over HTTP when the configuration listens, else over
// stdio) and follows plugins_dir and reload requests until ctx ends, then
// drains calls within shutdown_timeout. The goroutines it starts end
// before it returns.
func (h *Host) Serve(ctx context.Context) error {
	cfg, log, admin, srv := h.cfg, h.log, h.admin, h.srv
	// /readyz says "draining" from the moment a stop is asked for.
	returned := make(chan struct{})
	drained := make(chan struct{})
	defer func() {
		close(returned)
		<-drained
	}()
	go func() {
		defer close(drained)
		select {
		case <-ctx.Done():
			admin.Drain()
		case <-returned:
		}
	}()
	rctx, stopReload := context.WithCancel(ctx)
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		h.rl.run(rctx, h.opts.Reloads)
	}()
	defer func() {
		stopReload()
		<-reloaded // before the registry and engine close
	}()
	shutdown := time.Duration(cfg.ShutdownTimeout)
	if cfg.Listen == "" {
		t := h.opts.Stdio
		if t == nil {
			t = &mcp.StdioTransport{}
		}
		log.Info("serving MCP over stdio")
		admin.SetReady()
		return srv.ServeStdio(ctx, t, shutdown)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w; choose a free address with listen or --listen", cfg.Listen, err)
	}
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	// The listener is bound, so connections wait in its backlog: ready now,
	// before the line that tells a supervisor or a test where to connect.
	admin.SetReady()
	log.Info("serving MCP over streamable HTTP", "url", scheme+"://"+ln.Addr().String()+"/mcp", "auth", cfg.Auth.Configured())
	if h.opts.Ready != nil {
		h.opts.Ready(ln.Addr())
	}
	return srv.ServeHTTP(ctx, ln, shutdown)
}

// Close releases what New opened, last first: the plugins, the watcher,
// the kv store, the admin listener, the front door, the shared store, the
// engine.
func (h *Host) Close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
	h.closers = nil
}

// ErrToolFailed is returned by Call when the tool answered with isError or
// the plugin faulted; the result still holds what to show.
var ErrToolFailed = errors.New("tool call failed")

// Call loads one plugin, a .wasm file or a plugin named in cfg, and calls
// its tool (by the plugin's own name, without prefix) with args. It returns
// the result JSON; a tool error or fault returns a result holding the
// message and ErrToolFailed.
func Call(ctx context.Context, cfg *config.Config, pluginOrWasm, tool string, args []byte, log hclog.Logger) ([]byte, error) {
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: cfg.CacheDir, HostVersion: Version})
	if err != nil {
		return nil, err
	}
	defer engine.Close(context.Background())
	p, closeKV, err := loadForCLI(ctx, cfg, engine, pluginOrWasm, log, true)
	if err != nil {
		return nil, err
	}
	defer closeKV()
	defer p.Sandbox().Close(context.Background())
	var t *plugin.Tool
	for _, candidate := range p.Tools {
		if candidate.Def.Name == tool {
			t = candidate
		}
	}
	if t == nil {
		names := make([]string, len(p.Tools))
		for i, c := range p.Tools {
			names[i] = c.Def.Name
		}
		return nil, fmt.Errorf("plugin %q has no tool %q; its tools are %v", p.Name, tool, names)
	}
	out, err := t.Call(ctx, args, nil)
	if err != nil {
		var proto *plugin.ProtocolError
		if errors.As(err, &proto) {
			return nil, fmt.Errorf("plugin %q answered with protocol error %d: %s", p.Name, proto.Code, proto.Message)
		}
		msg, _ := json.Marshal(map[string]any{"content": []map[string]string{{"type": "text", "text": err.Error()}}, "isError": true})
		return msg, ErrToolFailed
	}
	var res struct {
		IsError bool `json:"isError"`
	}
	_ = json.Unmarshal(out, &res)
	if res.IsError {
		return out, ErrToolFailed
	}
	return out, nil
}

// loadForCLI loads a plugin given as a path to a .wasm file or as a name
// the configuration knows.
//
// With withKV, a plugin granted kv gets the store in data_dir, which the
// returned func closes (after the plugin is closed); it is a no-op
// otherwise.
func loadForCLI(ctx context.Context, cfg *config.Config, engine *sandbox.Engine, arg string, log hclog.Logger, withKV bool) (*plugin.Plugin, func(), error) {
	name, path := arg, ""
	if info, err := os.Stat(arg); err == nil && !info.IsDir() {
		path = arg
		name = pluginName(arg)
	} else {
		path = cfg.PluginPath(arg)
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("%q is neither a .wasm file nor a plugin in plugins_dir (%s); give a path or a plugin name", arg, cfg.PluginsDir)
		}
	}
	opts := plugin.Options{Host: plugin.NewHost(log, Secrets(cfg)), Log: log}
	closeKV := func() {}
	switch {
	case withKV && cfg.Plugins[name].Grants.KV != nil && cfg.Store.Redis != nil:
		shared, err := store.OpenRedis(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		opts.KV, closeKV = shared.KV(), func() { shared.Close() }
	case withKV && cfg.Plugins[name].Grants.KV != nil:
		dir, err := cfg.DataDirPath()
		if err != nil {
			return nil, nil, err
		}
		kv, err := capability.OpenKV(dir)
		if err != nil {
			return nil, nil, err
		}
		opts.KV, closeKV = kv, func() { kv.Close() }
	}
	spec := plugin.SpecFor(cfg, name, opts)
	spec.Path = path
	p, err := plugin.LoadOne(ctx, engine, spec)
	if err != nil {
		closeKV()
		return nil, nil, err
	}
	return p, closeKV, nil
}

// EffectiveYAML is the configuration as moat runs it, every default
// written out (see config.Config.EffectiveYAML), as moat config check
// prints it.
func EffectiveYAML(cfg *config.Config) ([]byte, error) {
	return cfg.EffectiveYAML(plugin.DefaultLimits())
}

// GoVersion is the Go release moat was built with.
func GoVersion() string { return runtime.Version() }

// releaseLoadGarbage hands back to the system the memory that loading
// plugins used and left behind. Decoding and compiling a module allocates
// several times its size, and an idle host reaches no collection for
// minutes: with the four bundled plugins, resident memory after start fell
// from 174 to 146 MiB with a warm compilation cache, and by more after a
// cold one. It collects once, for a few milliseconds, after a load.
func releaseLoadGarbage() { debug.FreeOSMemory() }
