package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Config is the whole configuration.
type Config struct {
	// Listen is the address of the streamable HTTP transport (served at
	// /mcp). Empty means stdio.
	Listen string `yaml:"listen"`
	// PluginsDir is scanned for *.wasm at start; each file is a plugin
	// named after it. Default ./plugins.
	PluginsDir string `yaml:"plugins_dir"`
	// CacheDir holds compiled plugins. Default: moat under the user's
	// cache directory (~/.cache/moat on Linux).
	CacheDir string `yaml:"cache_dir"`
	// DataDir holds what plugins store through the kv capability (the
	// file kv.db). It is created 0700 when the first plugin with a kv grant
	// starts. Default: moat under $XDG_DATA_HOME, or ~/.local/share/moat.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds how long in-flight calls may finish after
	// SIGINT or SIGTERM. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	Log             Log      `yaml:"log"`
	// AdminListen is the address of the admin listener, which serves
	// /metrics, /healthz, /readyz and /health apart from /mcp. Default
	// 127.0.0.1:9090; AdminListenOff ("off") disables it.
	AdminListen string `yaml:"admin_listen"`
	// MaxInflight caps the tool calls running at once across all plugins;
	// a call past it is refused at once with a retryable error. 0 in a file
	// means the default, 256.
	MaxInflight int `yaml:"max_inflight"`
	// MaxModuleSize bounds a plugin's module file: moat reads no more of a
	// module than this, so a huge file (or a device posing as one) in
	// plugins_dir cannot exhaust its memory. Default 128MiB; at most 1GiB.
	MaxModuleSize Size `yaml:"max_module_size"`
	// MemoryLimit is the soft limit on the Go heap that moat's collector
	// works to (GOMEMLIMIT): a size such as 512MiB; MemoryLimitAuto, 90%
	// of the memory limit of the cgroup moat runs in, if any; or
	// MemoryLimitOff, none. Default auto. GOMEMLIMIT or GOGC set in the
	// environment override it.
	MemoryLimit string `yaml:"memory_limit"`
	// Breaker is the circuit breaker of every plugin; a plugin's own
	// breaker overrides it field by field (see PluginBreaker).
	Breaker Breaker `yaml:"breaker"`
	// Limits are the defaults of every plugin; a plugin's own limits
	// override them field by field.
	Limits Limits `yaml:"limits"`
	// Plugins configures plugins by name. An entry whose name matches a
	// file in PluginsDir configures that plugin; one that names a Path adds
	// a plugin from elsewhere.
	Plugins map[string]Plugin `yaml:"plugins"`

	Auth       Auth            `yaml:"auth"`
	Roles      map[string]Role `yaml:"roles"`
	RateLimits RateLimits      `yaml:"rate_limits"`
	HTTP       HTTP            `yaml:"http"`
	TLS        TLS             `yaml:"tls"`
	Audit      Audit           `yaml:"audit"`
	// RequestState signs the state of input-required rounds (MCP
	// 2026-07-28), which the client carries between them.
	RequestState RequestState `yaml:"request_state"`
	// Store is where shared state lives: embedded (the default) or Redis.
	Store Store `yaml:"store"`
	// ResultCache bounds the cache of tool results that plugins opt into
	// with plugins.NAME.cache.
	ResultCache ResultCache `yaml:"result_cache"`

	// dir is the directory relative paths are resolved against.
	dir string
	// pluginsDirSet records whether plugins_dir was given, so a missing
	// default folder is not an error but a missing chosen one is.
	pluginsDirSet bool
	// builtin is set on the built-in configuration, whose plugin entries
	// are for bundled plugins that may be absent.
	builtin bool
	// origins says where each key path was last set, for errors.
	origins map[string]string
	// secretPaths are the key paths whose value came through a reference;
	// secrets are the values the references read.
	secretPaths map[string]bool
	secrets     []string
}

// Log configures the host's log, written to stderr.
type Log struct {
	// Level is trace, debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Plugin configures one plugin.
type Plugin struct {
	// Path is the module file. Default: NAME.wasm in PluginsDir.
	Path string `yaml:"path"`
	// Prefix is put before each tool's name. Nil means "NAME_"; set "" for
	// none.
	Prefix *string `yaml:"prefix"`
	Limits Limits  `yaml:"limits"`
	Grants Grants  `yaml:"grants"`
	// Breaker overrides the top-level breaker field by field.
	Breaker Breaker `yaml:"breaker"`
	// Cache opts the plugin's read-only, idempotent tools into the result
	// cache (see docs/CONFIG.md, result_cache).
	Cache Cache `yaml:"cache"`
	// TaskSupport sets, by the plugin's own tool name, whether a tool may
	// run as a task (forbidden, optional or required), over what the
	// plugin's description says.
	TaskSupport map[string]string `yaml:"task_support"`
}

// Cache is a plugin's result cache: TTL for every tool that declares both
// readOnlyHint and idempotentHint, and a TTL of its own for the tools
// named under Tools. A zero TTL caches nothing.
type Cache struct {
	TTL   Duration             `yaml:"ttl"`
	Tools map[string]ToolCache `yaml:"tools"`
}

// ToolCache is one tool's cache setting, by the plugin's own tool name
// (without the prefix). TTL is required; 0 turns the cache off for the
// tool.
type ToolCache struct {
	TTL *Duration `yaml:"ttl"`
}

// ToolTTL is how long results of the plugin's tool (its own name) are
// cached, before the hints are considered; 0 is not at all.
func (c Cache) ToolTTL(tool string) time.Duration {
	if t, ok := c.Tools[tool]; ok && t.TTL != nil {
		return time.Duration(*t.TTL)
	}
	return time.Duration(c.TTL)
}

// Enabled reports whether any tool of the plugin may be cached.
func (c Cache) Enabled() bool {
	if c.TTL > 0 {
		return true
	}
	for _, t := range c.Tools {
		if t.TTL != nil && *t.TTL > 0 {
			return true
		}
	}
	return false
}

// ResultCache bounds the result cache of the whole process.
type ResultCache struct {
	// Memory bounds the in-process cache (L1), counting the bytes of the
	// results it holds. Default 64MiB.
	Memory Size `yaml:"memory"`
	// MaxResult is the largest result cached; a larger one is served and
	// not kept. Default 256KiB.
	MaxResult Size `yaml:"max_result"`
}

// Result cache defaults.
const (
	DefaultResultCacheMemory    = 64 << 20
	DefaultResultCacheMaxResult = 256 << 10
)

// Breaker is a plugin's circuit breaker: after Failures consecutive faults
// it opens and refuses calls for OpenFor, then lets HalfOpenCalls trial
// calls through. Zero fields take the next layer's value.
type Breaker struct {
	// Failures is how many consecutive faults open the breaker. Default 5.
	Failures int `yaml:"failures"`
	// OpenFor is how long it stays open before a trial. Default 30s.
	OpenFor Duration `yaml:"open_for"`
	// HalfOpenCalls is how many calls it lets through while half-open.
	// Default 1.
	HalfOpenCalls int `yaml:"half_open_calls"`
}

// Limits are a plugin's limits; zero fields take the defaults.
type Limits struct {
	Timeout      Duration `yaml:"timeout"`
	Memory       Size     `yaml:"memory"`
	Output       Size     `yaml:"output"`
	Instances    int      `yaml:"instances"`
	QueueTimeout Duration `yaml:"queue_timeout"`
	// TaskTimeout is the deadline of a call that runs as a task (MCP's
	// tasks extension) in place of Timeout: a task runs in the background,
	// so it may be allowed longer than a call a client waits for. Default
	// DefaultTaskTimeout.
	TaskTimeout Duration `yaml:"task_timeout"`
}

// Defaults, written once.
const (
	DefaultPluginsDir      = "./plugins"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultTaskTimeout     = 10 * time.Minute
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultAdminListen     = "127.0.0.1:9090"
	DefaultMaxInflight     = 256
	DefaultMaxModuleSize   = 128 << 20
	// MaxMaxModuleSize is the largest max_module_size accepted: a module
	// is read whole into memory and compiled, which takes several times
	// its size again.
	MaxMaxModuleSize   = 1 << 30
	DefaultMemoryLimit = MemoryLimitAuto
	// MinMemoryLimit is the smallest memory_limit accepted: below it the
	// compiled plugins alone would keep the collector running all the time.
	MinMemoryLimit = 64 << 20
)

// The memory_limit values that are not sizes.
const (
	MemoryLimitAuto = "auto"
	MemoryLimitOff  = "off"
)

// AdminListenOff is the admin_listen value that disables the admin listener.
const AdminListenOff = "off"

// DefaultBreaker is the breaker of a plugin when no layer sets a field.
var DefaultBreaker = Breaker{Failures: 5, OpenFor: Duration(30 * time.Second), HalfOpenCalls: 1}

// over returns b with every zero field taken from base.
func (b Breaker) over(base Breaker) Breaker {
	if b.Failures > 0 {
		base.Failures = b.Failures
	}
	if b.OpenFor > 0 {
		base.OpenFor = b.OpenFor
	}
	if b.HalfOpenCalls > 0 {
		base.HalfOpenCalls = b.HalfOpenCalls
	}
	return base
}

// PluginBreaker is the breaker of the named plugin, field by field: its
// own over the top-level breaker over DefaultBreaker.
func (c *Config) PluginBreaker(name string) Breaker {
	return c.Plugins[name].Breaker.over(c.Breaker.over(DefaultBreaker))
}

// Over returns l over base, field by field: each field l sets replaces
// base's.
func (l Limits) Over(base Limits) Limits {
	if l.Timeout > 0 {
		base.Timeout = l.Timeout
	}
	if l.Memory > 0 {
		base.Memory = l.Memory
	}
	if l.Output > 0 {
		base.Output = l.Output
	}
	if l.Instances > 0 {
		base.Instances = l.Instances
	}
	if l.QueueTimeout > 0 {
		base.QueueTimeout = l.QueueTimeout
	}
	if l.TaskTimeout > 0 {
		base.TaskTimeout = l.TaskTimeout
	}
	return base
}

// PluginLimits are the limits the configuration sets for the named
// plugin: its own over the top level's. A field neither sets is zero, and
// takes the sandbox's default when the plugin loads: the runtime that gives
// each limit its meaning keeps its default, in one place.
func (c *Config) PluginLimits(name string) Limits {
	return c.Plugins[name].Limits.Over(c.Limits)
}

// PluginPrefix is the prefix of the named plugin's tools.
func (c *Config) PluginPrefix(name string) string {
	if p := c.Plugins[name].Prefix; p != nil {
		return *p
	}
	return name + "_"
}

// PluginsDirExplicit reports whether plugins_dir was set (in the file or by
// a flag) rather than defaulted.
func (c *Config) PluginsDirExplicit() bool { return c.pluginsDirSet }

// SetPluginsDir overrides plugins_dir, as the --plugins flag does.
func (c *Config) SetPluginsDir(dir string) {
	c.PluginsDir = dir
	c.pluginsDirSet = true
}

// KVGranted reports whether some plugin is granted kv, so the kv store
// is needed (data_dir, without store.redis).
func (c *Config) KVGranted() bool {
	for name, p := range c.Plugins {
		if p.Grants.KV != nil && !c.Absent(name) {
			return true
		}
	}
	return false
}

// DataDirPath is data_dir, or its default when unset: moat under
// $XDG_DATA_HOME, else ~/.local/share/moat.
func (c *Config) DataDirPath() (string, error) {
	if c.DataDir != "" {
		return c.DataDir, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "moat"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("data_dir: no home directory to put the default under (%v); set data_dir in the configuration", err)
	}
	return filepath.Join(home, ".local", "share", "moat"), nil
}

// KVQuota is the byte quota of the named plugin's kv grant, 0 when it has
// none.
func (g Grants) KVQuota() uint64 {
	switch {
	case g.KV == nil:
		return 0
	case g.KV.Quota == 0:
		return DefaultKVQuota
	}
	return uint64(g.KV.Quota)
}
