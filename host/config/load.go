package config

import (
	_ "embed"
	"errors"
	"fmt"
	"github.com/moat-mcp/moat/abi"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML is the configuration moat runs with when given no file.
func DefaultYAML() []byte { return defaultYAML }

// Default returns the built-in configuration, with relative paths taken
// from the working directory.
func Default() (*Config, error) { return loadBuiltin(nil) }

// Load builds the configuration from its layers, each overriding the one
// before key by key: the built-in defaults, then the files at paths in
// order, then the MOAT_ variables of environ (as os.Environ returns it; nil
// for none). With no paths it is the built-in configuration. References
// ${env:NAME} are looked up in environ too.
//
// Each file is checked on its own first, so an error names the file and
// the line; its relative paths are resolved against its own folder before
// the files are merged. The result has its defaults filled in but files
// are not yet checked: call Check once flags are applied.
func Load(paths, environ []string) (*Config, error) {
	if len(paths) == 0 {
		return loadBuiltin(environ)
	}
	docs := make([]document, 0, len(paths))
	for _, path := range paths {
		data, err := readRegular(path, maxConfigFile)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w; pass an existing file to --config, or leave --config out to run with the built-in default", err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		docs = append(docs, document{source: path, data: data, dir: filepath.Dir(abs)})
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	base := wd
	if len(docs) > 0 {
		base = docs[0].dir
	}
	return build(docs, environ, lookupIn(environ), true, base, wd)
}

// loadBuiltin is the built-in configuration under the MOAT_ variables of
// environ. Its plugins: entries grant the bundled plugins what they need;
// an entry whose module is not there is Absent, rather than an error.
func loadBuiltin(environ []string) (*Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	c, err := build([]document{{source: builtinSource, data: defaultYAML, dir: wd}}, environ, lookupIn(environ), true, wd, wd)
	if err != nil {
		return nil, err
	}
	c.builtin = true
	// The default names plugins_dir only to show it; unless a MOAT_
	// variable chose one, a missing ./plugins is not an error.
	c.pluginsDirSet = !strings.HasPrefix(c.origins["plugins_dir"], builtinSource)
	return c, nil
}

const builtinSource = "built-in default"

// Builtin reports whether this is the built-in configuration (no file
// given).
func (c *Config) Builtin() bool { return c.builtin }

// Parse reads one configuration document. source names it in errors; dir is
// what relative paths (and ${file:} references) are relative to; ${env:}
// references are read from the process environment, but MOAT_ variables
// are not applied. The result has its defaults filled in but files are not
// yet checked: call Check once flags are applied.
func Parse(data []byte, source, dir string) (*Config, error) {
	return build([]document{{source: source, data: data, dir: dir}}, nil, os.LookupEnv, false, dir, dir)
}

// decode sets v from n, refusing keys v has no field for. Errors name the
// line and the key path.
func decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return nil
	}
	switch {
	case v.Kind() == reflect.Struct && !implementsUnmarshaler(v):
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s%s must be a mapping of keys to values", at(n), orTop(path))
		}
		fields := map[string]reflect.Value{}
		var known []string
		t := v.Type()
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("yaml")
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = v.Field(i)
			known = append(known, tag)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if seen[key.Value] {
				return fmt.Errorf("%skey %q%s appears twice; keep one", at(key), key.Value, in(path))
			}
			seen[key.Value] = true
			field, ok := fields[key.Value]
			if !ok {
				return fmt.Errorf("%sunknown key %q%s; the keys here are %s", at(key), key.Value, in(path), strings.Join(known, ", "))
			}
			if err := decode(val, field, join(path, key.Value)); err != nil {
				return err
			}
		}
		return nil
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s%s must be a mapping of names to settings", at(n), orTop(path))
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if v.MapIndex(reflect.ValueOf(key.Value)).IsValid() {
				return fmt.Errorf("%s%s.%s appears twice; keep one", at(key), path, key.Value)
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decode(val, elem, join(path, key.Value)); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(key.Value), elem)
		}
		return nil
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s%s must be a list", at(n), orTop(path))
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decode(item, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
			out = reflect.Append(out, elem)
		}
		v.Set(out)
		return nil
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := decode(n, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s%s must be a single value", at(n), orTop(path))
	}
	if v.Kind() != reflect.String && n.ShortTag() == "!!str" {
		// A number or a boolean written as a string, as a substituted
		// reference, an environment variable or a merged layer gives it:
		// the field's type decides, so read the text as if unquoted.
		plain := *n
		plain.Tag, plain.Style = "", 0
		n = &plain
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s%s: %q is not a %s", at(n), path, n.Value, kindName(v.Kind()))
		}
		return fmt.Errorf("%s%s: %v", at(n), path, err)
	}
	return nil
}

// at is the line of n for an error, or nothing for a node built in code
// (from the environment or a merge), which has no line.
func at(n *yaml.Node) string {
	if n.Line == 0 {
		return ""
	}
	return fmt.Sprintf("line %d: ", n.Line)
}

func implementsUnmarshaler(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(yaml.Unmarshaler)
	return ok
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "whole number"
	case reflect.Bool:
		return "boolean (true or false)"
	}
	return k.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func orTop(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

func (c *Config) applyDefaults() {
	if c.PluginsDir == "" {
		c.PluginsDir = DefaultPluginsDir
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	if c.AdminListen == "" {
		c.AdminListen = DefaultAdminListen
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.MaxModuleSize == 0 {
		c.MaxModuleSize = DefaultMaxModuleSize
	}
	if c.MemoryLimit == "" {
		c.MemoryLimit = DefaultMemoryLimit
	}
	c.HTTP = c.HTTP.WithDefaults()
	c.Store.applyDefaults()
	if c.ResultCache.Memory == 0 {
		c.ResultCache.Memory = DefaultResultCacheMemory
	}
	if c.ResultCache.MaxResult == 0 {
		c.ResultCache.MaxResult = DefaultResultCacheMaxResult
	}
	for _, p := range []*string{&c.TLS.Cert, &c.TLS.Key, &c.TLS.ClientCA} {
		if *p != "" {
			*p = c.resolve(*p)
		}
	}
	if c.Auth.JWT != nil && c.Auth.JWT.JWKSFile != "" {
		c.Auth.JWT.JWKSFile = c.resolve(c.Auth.JWT.JWKSFile)
	}
	if c.Audit.Path != "" && c.Audit.Path != "stderr" {
		c.Audit.Path = c.resolve(c.Audit.Path)
	}
	c.PluginsDir = c.resolve(c.PluginsDir)
	if c.CacheDir != "" {
		c.CacheDir = c.resolve(c.CacheDir)
	}
	if c.DataDir != "" {
		c.DataDir = c.resolve(c.DataDir)
	}
	for name, p := range c.Plugins {
		if p.Path != "" {
			p.Path = c.resolve(p.Path)
			c.Plugins[name] = p
		}
	}
}

// MemoryLimitSize is memory_limit as a size, or 0 for auto and off.
func (c *Config) MemoryLimitSize() (Size, error) {
	switch c.MemoryLimit {
	case "", MemoryLimitAuto, MemoryLimitOff:
		return 0, nil
	}
	z, err := ParseSize(c.MemoryLimit)
	if err != nil {
		return 0, fmt.Errorf("memory_limit: %q is not a size; write one such as 512MiB or 2GiB, %s to take 90%% of the container's memory limit, or %s for no limit", c.MemoryLimit, MemoryLimitAuto, MemoryLimitOff)
	}
	if z < MinMemoryLimit {
		return 0, fmt.Errorf("memory_limit: %s is less than moat can run in (%s): its compiled plugins alone would keep the collector running; set %s or more, or %s for no limit", z, Size(MinMemoryLimit), Size(MinMemoryLimit), MemoryLimitOff)
	}
	return z, nil
}

// resolve expands ~ and makes a relative path relative to the config's
// directory.
func (c *Config) resolve(path string) string { return resolveIn(c.dir, path) }

// resolveIn expands ~ and makes a relative path relative to dir.
func resolveIn(dir, path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok || path == "~" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return filepath.Clean(path)
}

// namePattern is what a plugin name and a prefix may hold: MCP tool names
// allow letters, digits, '_', '-' and '.'.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)

var logLevels = []string{"trace", "debug", "info", "warn", "error"}

func (c *Config) validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("listen: %q is not host:port; write for example 127.0.0.1:8080, or leave listen out to serve stdio", c.Listen)
		}
	}
	if c.AdminListen != AdminListenOff {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			return fmt.Errorf("admin_listen: %q is not host:port; write for example 127.0.0.1:9090, or off to disable the admin listener", c.AdminListen)
		}
	}
	if k := c.RequestState.Key; k != "" && len(k) < MinStateKey {
		return fmt.Errorf("request_state.key: %d bytes is too short to sign with; use at least %d (for example 64 hex digits from a random source), or leave it out for a key kept in data_dir", len(k), MinStateKey)
	}
	if c.RequestState.TTL < 0 {
		return fmt.Errorf("request_state.ttl: %s is negative; set a duration such as 10m, or leave it out", time.Duration(c.RequestState.TTL))
	}
	if c.MaxInflight < 0 {
		return fmt.Errorf("max_inflight: %d is negative; set 1 or more, or leave it out for the default %d", c.MaxInflight, DefaultMaxInflight)
	}
	if c.MaxModuleSize > MaxMaxModuleSize {
		return fmt.Errorf("max_module_size: %s is more than moat accepts (%s): a module is read whole into memory and compiled; set %s or less",
			c.MaxModuleSize, Size(MaxMaxModuleSize), Size(MaxMaxModuleSize))
	}
	if _, err := c.MemoryLimitSize(); err != nil {
		return err
	}
	if err := c.Breaker.validate("breaker"); err != nil {
		return err
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		return fmt.Errorf("log.level: %q is not a level; use one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("log.format: %q is not a format; use text or json", c.Log.Format)
	}
	if c.TLS.Enabled() && (c.TLS.Cert == "" || c.TLS.Key == "") {
		return fmt.Errorf("tls: set both cert and key (PEM files), or neither to serve plain HTTP")
	}
	if c.TLS.ClientCA != "" && !c.TLS.Enabled() {
		return fmt.Errorf("tls.client_ca: mutual TLS needs tls.cert and tls.key too")
	}
	if err := c.HTTP.validate(); err != nil {
		return err
	}
	if err := c.Store.validate(); err != nil {
		return err
	}
	for i, o := range c.HTTP.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return fmt.Errorf("http.allowed_origins[%d]: %q is not an origin; write scheme://host[:port], such as https://app.example.com", i, o)
		}
	}
	// Keys of maps are checked in sorted order, so that the same bad file
	// gives the same first error every time.
	for _, name := range slices.Sorted(maps.Keys(c.Roles)) {
		if name == "" || !namePattern.MatchString(name) {
			return fmt.Errorf("roles.%s: a role name may hold only letters, digits, '_', '-' and '.'", name)
		}
	}
	for i, k := range c.Auth.APIKeys {
		for _, r := range k.Roles {
			if _, ok := c.Roles[r]; !ok {
				return fmt.Errorf("auth.api_keys[%d].roles: role %q is not defined under roles; define it or remove it", i, r)
			}
		}
	}
	for _, r := range c.Auth.StdioRoles {
		if _, ok := c.Roles[r]; !ok {
			return fmt.Errorf("auth.stdio_roles: role %q is not defined under roles; define it or remove it", r)
		}
	}
	if c.Audit.IncludeArguments && c.Audit.Path == "" {
		return fmt.Errorf("audit.include_arguments: set audit.path (a file or stderr) too")
	}
	if err := c.Limits.validate("limits"); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Plugins)) {
		p := c.Plugins[name]
		key := "plugins." + name
		if name == "" || !namePattern.MatchString(name) {
			return fmt.Errorf("%s: a plugin name may hold only letters, digits, '_', '-' and '.'; rename it", key)
		}
		if p.Prefix != nil && !namePattern.MatchString(*p.Prefix) {
			return fmt.Errorf("%s.prefix: %q may hold only letters, digits, '_', '-' and '.'", key, *p.Prefix)
		}
		if err := p.Limits.validate(key + ".limits"); err != nil {
			return err
		}
		if err := p.Breaker.validate(key + ".breaker"); err != nil {
			return err
		}
		if h := p.Grants.HTTP; h != nil {
			if len(h.Hosts) == 0 {
				return fmt.Errorf("%s.grants.http.hosts: list the hosts the plugin may reach, such as [api.example.com], or remove grants.http", key)
			}
			for i, host := range h.Hosts {
				if _, err := ParseHostPattern(host); err != nil {
					return fmt.Errorf("%s.grants.http.hosts[%d]: %w", key, i, err)
				}
			}
		}
		if err := validateFS(key+".grants.fs", p.Grants.FS); err != nil {
			return err
		}
		for _, tool := range slices.Sorted(maps.Keys(p.TaskSupport)) {
			tk := key + ".task_support." + tool
			if tool == "" || !namePattern.MatchString(tool) {
				return fmt.Errorf("%s: a tool name may hold only letters, digits, '_', '-' and '.'; write the plugin's own name of the tool, without its prefix", tk)
			}
			switch v := p.TaskSupport[tool]; v {
			case abi.TaskSupportForbidden, abi.TaskSupportOptional, abi.TaskSupportRequired:
			default:
				return fmt.Errorf("%s: %q is not forbidden, optional or required", tk, v)
			}
		}
		for _, tool := range slices.Sorted(maps.Keys(p.Cache.Tools)) {
			tk := key + ".cache.tools." + tool
			if tool == "" || !namePattern.MatchString(tool) {
				return fmt.Errorf("%s: a tool name may hold only letters, digits, '_', '-' and '.'; write the plugin's own name of the tool, without its prefix", tk)
			}
			if p.Cache.Tools[tool].TTL == nil {
				return fmt.Errorf("%s.ttl: set how long the tool's results are kept, such as 10s, or 0 not to cache them", tk)
			}
		}
	}
	if c.ResultCache.MaxResult > c.ResultCache.Memory {
		return fmt.Errorf("result_cache.max_result: %s is more than result_cache.memory (%s), so no result that large could be kept; lower max_result or raise memory",
			c.ResultCache.MaxResult, c.ResultCache.Memory)
	}
	return nil
}

func (l Limits) validate(key string) error {
	if l.Memory != 0 && l.Memory < abi.PageSize {
		return fmt.Errorf("%s.memory: %v is less than one 64KiB page; set at least 64KiB", key, l.Memory)
	}
	if l.Memory > abi.MaxMemory {
		return fmt.Errorf("%s.memory: %v is more than the 4GiB a wasm32 plugin can address; set 4GiB or less", key, l.Memory)
	}
	if l.Instances < 0 {
		return fmt.Errorf("%s.instances: %d is negative; set 1 or more", key, l.Instances)
	}
	return nil
}

func (b Breaker) validate(key string) error {
	if b.Failures < 0 {
		return fmt.Errorf("%s.failures: %d is negative; set 1 or more, or leave it out for the default %d", key, b.Failures, DefaultBreaker.Failures)
	}
	if b.HalfOpenCalls < 0 {
		return fmt.Errorf("%s.half_open_calls: %d is negative; set 1 or more, or leave it out for the default %d", key, b.HalfOpenCalls, DefaultBreaker.HalfOpenCalls)
	}
	return nil
}

// Loopback reports whether the listen address is a loopback one
// (127.0.0.0/8, ::1 or localhost).
func (c *Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Check verifies what the file system must hold: each configured plugin's
// file, and plugins_dir when it was chosen rather than defaulted. Call it
// after flags have overridden the file.
func (c *Config) Check() error {
	if c.Listen != "" && !c.Loopback() && !c.Auth.Configured() && !c.Auth.AllowAnonymous {
		return fmt.Errorf("listen %s is not a loopback address and no auth is configured, so anyone who reaches it could call every tool; "+
			"add a key under auth.api_keys (moat key new --name NAME --roles ROLE prints one) or auth.jwt, "+
			"listen on 127.0.0.1, or set auth.allow_anonymous: true to serve without authentication on purpose", c.Listen)
	}
	if c.pluginsDirSet {
		info, err := os.Stat(c.PluginsDir)
		if err != nil {
			return fmt.Errorf("plugins_dir: %w; create the folder or point plugins_dir (or --plugins) at one that exists", err)
		}
		if !info.IsDir() {
			return fmt.Errorf("plugins_dir: %s is not a folder; point plugins_dir (or --plugins) at the folder that holds the .wasm files", c.PluginsDir)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Plugins)) {
		if c.Absent(name) {
			continue
		}
		p := c.Plugins[name]
		path := p.Path
		hint := "fix plugins." + name + ".path (relative paths are relative to the config file)"
		if path == "" {
			path = filepath.Join(c.PluginsDir, name+".wasm")
			hint = "put " + name + ".wasm in plugins_dir or set plugins." + name + ".path"
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("plugins.%s: %w; %s", name, err, hint)
		}
	}
	return nil
}

// Absent reports whether the named plugin is one the built-in
// configuration grants but whose module is not in plugins_dir (not built,
// or another plugins_dir was chosen). Such an entry is not served and not
// an error; in a configuration file of one's own, a missing module is.
func (c *Config) Absent(name string) bool {
	p, ok := c.Plugins[name]
	if !c.builtin || !ok || p.Path != "" {
		return false
	}
	_, err := os.Stat(filepath.Join(c.PluginsDir, name+".wasm"))
	return os.IsNotExist(err)
}

// PluginPath is the module file of the named plugin.
func (c *Config) PluginPath(name string) string {
	if p := c.Plugins[name].Path; p != "" {
		return p
	}
	return filepath.Join(c.PluginsDir, name+".wasm")
}

// validateFS checks a plugin's mounts: each names an existing host folder,
// an absolute guest path that no other mount of the plugin uses, and a mode
// of ro or rw.
func validateFS(key string, mounts []FSGrant) error {
	seen := make(map[string]bool, len(mounts))
	for i, m := range mounts {
		at := fmt.Sprintf("%s[%d]", key, i)
		if m.Path == "" {
			return fmt.Errorf("%s.path: name the host folder to mount, such as ./data", at)
		}
		if fi, err := os.Stat(m.Path); err != nil {
			return fmt.Errorf("%s.path: %w; create the folder or correct the path", at, err)
		} else if !fi.IsDir() {
			return fmt.Errorf("%s.path: %s is a file; mount a folder", at, m.Path)
		}
		if !strings.HasPrefix(m.Mount, "/") || path.Clean(m.Mount) != m.Mount {
			return fmt.Errorf("%s.mount: %q is not a clean absolute guest path; write one such as /data", at, m.Mount)
		}
		if seen[m.Mount] {
			return fmt.Errorf("%s.mount: %s is mounted twice; give each folder its own guest path", at, m.Mount)
		}
		seen[m.Mount] = true
		switch m.Mode {
		case "", "ro", "rw":
		default:
			return fmt.Errorf("%s.mode: %q is neither ro nor rw; leave it out for read-only", at, m.Mode)
		}
	}
	return nil
}
