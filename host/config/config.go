package config

import (
	"time"

	"github.com/moat-mcp/moat/sandbox"
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
	// ShutdownTimeout bounds how long in-flight calls may finish after
	// SIGINT or SIGTERM. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	Log             Log      `yaml:"log"`
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

	// dir is the directory relative paths are resolved against.
	dir string
	// pluginsDirSet records whether plugins_dir was given, so a missing
	// default folder is not an error but a missing chosen one is.
	pluginsDirSet bool
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
}

// Limits are a plugin's limits; zero fields take the defaults.
type Limits struct {
	Timeout      Duration `yaml:"timeout"`
	Memory       Size     `yaml:"memory"`
	Output       Size     `yaml:"output"`
	Instances    int      `yaml:"instances"`
	QueueTimeout Duration `yaml:"queue_timeout"`
}

// Defaults, written once.
const (
	DefaultPluginsDir      = "./plugins"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
)

// Sandbox returns the limits for the sandbox, l over base field by field.
func (l Limits) Sandbox(base sandbox.Limits) sandbox.Limits {
	if l.Timeout > 0 {
		base.Timeout = time.Duration(l.Timeout)
	}
	if l.Memory > 0 {
		base.Memory = uint64(l.Memory)
	}
	if l.Output > 0 {
		base.Output = uint64(l.Output)
	}
	if l.Instances > 0 {
		base.Instances = l.Instances
	}
	if l.QueueTimeout > 0 {
		base.QueueTimeout = time.Duration(l.QueueTimeout)
	}
	return base
}

// PluginLimits are the limits of the named plugin: its own over the
// configuration's over the sandbox's defaults.
func (c *Config) PluginLimits(name string) sandbox.Limits {
	base := c.Limits.Sandbox(sandbox.DefaultLimits)
	return c.Plugins[name].Limits.Sandbox(base)
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
