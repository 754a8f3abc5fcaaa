package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/config"
)

func TestDefaultHasEveryDefault(t *testing.T) {
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if c.Listen != "" || c.PluginsDir != filepath.Join(wd, "plugins") || time.Duration(c.ShutdownTimeout) != 15*time.Second ||
		c.Log.Level != "info" || c.Log.Format != "text" || c.AdminListen != "127.0.0.1:9090" || c.MaxInflight != 256 ||
		c.MaxModuleSize != 128<<20 {
		t.Fatalf("default = %+v", c)
	}
	if b := c.PluginBreaker("anything"); b != config.DefaultBreaker {
		t.Fatalf("default breaker = %+v", b)
	}
	l := c.PluginLimits("anything")
	if time.Duration(l.Timeout) != 10*time.Second || l.Memory != 64<<20 || l.Output != 1<<20 || l.Instances != 4 || time.Duration(l.QueueTimeout) != time.Second {
		t.Fatalf("default limits = %+v", l)
	}
	if c.PluginPrefix("time") != "time_" {
		t.Fatalf("default prefix = %q", c.PluginPrefix("time"))
	}
}

func TestPluginSettingsOverrideDefaults(t *testing.T) {
	c, err := config.Parse([]byte(`
limits: {timeout: 5s, instances: 2}
plugins:
  time:
    prefix: ""
    limits: {memory: 16MiB, queue_timeout: 250ms}
  fetch:
    path: ../wasm/fetch.wasm
`), "test", "/etc/moat")
	if err != nil {
		t.Fatal(err)
	}
	// Output is set by no layer: it stays unset, for the sandbox's default.
	l := c.PluginLimits("time")
	if time.Duration(l.Timeout) != 5*time.Second || l.Instances != 2 || l.Memory != 16<<20 || time.Duration(l.QueueTimeout) != 250*time.Millisecond || l.Output != 0 {
		t.Fatalf("time limits = %+v", l)
	}
	if c.PluginPrefix("time") != "" || c.PluginPrefix("fetch") != "fetch_" {
		t.Fatalf("prefixes %q %q", c.PluginPrefix("time"), c.PluginPrefix("fetch"))
	}
	if got := c.PluginPath("fetch"); got != "/etc/wasm/fetch.wasm" {
		t.Fatalf("relative path resolved to %s, want it relative to the config's folder", got)
	}
}

func TestBadConfigsNameTheKeyAndTheFix(t *testing.T) {
	cases := []struct {
		name, yaml string
		says       []string
	}{
		{"unknown top-level key", "listn: 127.0.0.1:8080", []string{"line 1", `unknown key "listn"`, "listen"}},
		{"unknown nested key", "plugins:\n  time:\n    limits: {memroy: 1MiB}", []string{"line 3", `unknown key "memroy" in plugins.time.limits`, "memory"}},
		{"bad size", "limits: {memory: 64XB}", []string{"limits.memory", `"64XB" is not a size`, "64MiB"}},
		{"bad duration", "shutdown_timeout: 15", []string{"shutdown_timeout", `"15" is not a duration`, "10s"}},
		{"bad number", "limits: {instances: four}", []string{"limits.instances", `"four" is not a whole number`}},
		{"tiny memory", "plugins: {x: {limits: {memory: 1KiB}}}", []string{"plugins.x.limits.memory", "64KiB"}},
		{"bad listen", "listen: 8080", []string{"listen", "host:port"}},
		{"bad level", "log: {level: loud}", []string{"log.level", "debug"}},
		{"bad format", "log: {format: xml}", []string{"log.format", "json"}},
		{"bad plugin name", "plugins: {'a b': {}}", []string{"plugins.a b", "letters, digits"}},
		{"not a mapping", "log: [1, 2]", []string{"log must be a mapping"}},
		{"undefined role", "roles: {ops: {allow: ['*']}}\nauth:\n  api_keys:\n  - {name: ci, sha256: ab, roles: [admin]}", []string{"auth.api_keys[0].roles", `role "admin" is not defined`}},
		{"bad origin", "http: {allowed_origins: [app.example.com]}", []string{"http.allowed_origins[0]", "scheme://host"}},
		{"half of tls", "tls: {cert: a.pem}", []string{"tls", "both cert and key"}},
		{"not a list", "auth: {api_keys: {name: x}}", []string{"auth.api_keys must be a list"}},
		{"unknown key in a list item", "auth:\n  api_keys:\n  - {name: x, sha265: ab}", []string{"line 3", `unknown key "sha265" in auth.api_keys[0]`}},
		{"duplicate key", "log: {level: info}\nlog: {level: debug}", []string{"line 2", `key "log" appears twice`}},
		{"duplicate plugin", "plugins:\n  a: {}\n  a: {prefix: x}", []string{"line 3", "plugins.a appears twice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { refused(t, c.yaml, c.says...) })
	}
}

func TestDefaultRunsWithoutAPluginsFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatalf("the built-in configuration in a folder without ./plugins: %v", err)
	}
}

func TestCheckRefusesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "moat.yaml")
	os.WriteFile(file, []byte("plugins:\n  weather:\n    path: weather.wasm\n"), 0o600)
	c, err := config.Load([]string{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check()
	if err == nil || !strings.Contains(err.Error(), "plugins.weather") || !strings.Contains(err.Error(), "weather.wasm") {
		t.Fatalf("missing plugin file: %v", err)
	}

	c, _ = config.Parse([]byte(""), "test", dir)
	if err := c.Check(); err != nil {
		t.Fatalf("a defaulted plugins_dir that does not exist is not an error: %v", err)
	}
	c.SetPluginsDir(filepath.Join(dir, "nope"))
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "plugins_dir") {
		t.Fatalf("a chosen plugins_dir that does not exist: %v", err)
	}

	if _, err := config.Load([]string{filepath.Join(dir, "absent.yaml")}, nil); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("absent config file: %v", err)
	}
}

func TestOnlyLoopbackWithoutAuth(t *testing.T) {
	cases := []struct {
		yaml string
		ok   bool
	}{
		{"listen: 127.0.0.1:8080", true},
		{"listen: '[::1]:8080'", true},
		{"listen: localhost:8080", true},
		{"listen: 0.0.0.0:8080", false},
		{"listen: 0.0.0.0:8080\nauth: {allow_anonymous: true}", true},
		{"listen: 0.0.0.0:8080\nroles: {r: {allow: ['*']}}\nauth: {api_keys: [{name: k, sha256: ab, roles: [r]}]}", true},
		{"", true}, // stdio
	}
	for _, c := range cases {
		cfg, err := config.Parse([]byte(c.yaml), "test", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Check()
		if (err == nil) != c.ok {
			t.Errorf("%q: Check() = %v, want ok=%v", c.yaml, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "moat key new") {
			t.Errorf("the refusal does not say how to configure a key: %v", err)
		}
	}
}

func TestOperationsKeysAndTheirDefaults(t *testing.T) {
	cases := []struct {
		name, yaml  string
		admin       string
		inflight    int
		time, fetch config.Breaker
	}{
		{
			name: "nothing set", yaml: "",
			admin: "127.0.0.1:9090", inflight: 256,
			time:  config.Breaker{Failures: 5, OpenFor: config.Duration(30 * time.Second), HalfOpenCalls: 1},
			fetch: config.Breaker{Failures: 5, OpenFor: config.Duration(30 * time.Second), HalfOpenCalls: 1},
		},
		{
			name: "off, zero inflight means the default", yaml: "admin_listen: off\nmax_inflight: 0",
			admin: "off", inflight: 256,
			time:  config.DefaultBreaker,
			fetch: config.DefaultBreaker,
		},
		{
			name: "plugin breaker over the top-level one over the defaults",
			yaml: `
admin_listen: 0.0.0.0:9100
max_inflight: 32
breaker: {failures: 3, open_for: 1m}
plugins:
  time: {breaker: {open_for: 5s, half_open_calls: 2}}
`,
			admin: "0.0.0.0:9100", inflight: 32,
			time:  config.Breaker{Failures: 3, OpenFor: config.Duration(5 * time.Second), HalfOpenCalls: 2},
			fetch: config.Breaker{Failures: 3, OpenFor: config.Duration(time.Minute), HalfOpenCalls: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(c.yaml), "moat.yaml", "/tmp")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdminListen != c.admin || cfg.MaxInflight != c.inflight {
				t.Errorf("admin_listen %q, max_inflight %d; want %q, %d", cfg.AdminListen, cfg.MaxInflight, c.admin, c.inflight)
			}
			if got := cfg.PluginBreaker("time"); got != c.time {
				t.Errorf("time breaker = %+v, want %+v", got, c.time)
			}
			if got := cfg.PluginBreaker("fetch"); got != c.fetch {
				t.Errorf("fetch breaker = %+v, want %+v", got, c.fetch)
			}
		})
	}
}

func TestBadOperationsKeys(t *testing.T) {
	cases := []struct {
		name, yaml string
		says       []string
	}{
		{"admin_listen not host:port", "admin_listen: 9090", []string{"admin_listen", `"9090" is not host:port`, "127.0.0.1:9090", "off"}},
		{"negative max_inflight", "max_inflight: -1", []string{"max_inflight", "negative", "256"}},
		{"negative failures", "breaker: {failures: -2}", []string{"breaker.failures", "negative"}},
		{"negative open_for", "breaker: {open_for: -1s}", []string{"breaker.open_for", "not a duration"}},
		{"negative half_open_calls in a plugin", "plugins: {time: {breaker: {half_open_calls: -1}}}", []string{"plugins.time.breaker.half_open_calls", "negative"}},
		{"max_module_size over 1GiB", "max_module_size: 2GiB", []string{"max_module_size", "2GiB is more", "1GiB or less"}},
		{"max_module_size zero", "max_module_size: 0", []string{"max_module_size", "not a size"}},
		{"memory_limit not a size", "memory_limit: lots", []string{"memory_limit", `"lots" is not a size`, "512MiB", "auto", "off"}},
		{"memory_limit too small", "memory_limit: 16MiB", []string{"memory_limit", "16MiB is less than", "64MiB or more"}},
		{"unknown breaker key", "breaker: {failure: 3}", []string{"line 1", `unknown key "failure" in breaker`, "failures, open_for, half_open_calls"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { refused(t, c.yaml, c.says...) })
	}
}

func TestMemoryLimitKey(t *testing.T) {
	for _, c := range []struct {
		yaml, mode string
		size       config.Size
	}{
		{"", config.MemoryLimitAuto, 0},
		{"memory_limit: auto", config.MemoryLimitAuto, 0},
		{"memory_limit: off", config.MemoryLimitOff, 0},
		{"memory_limit: 512MiB", "512MiB", 512 << 20},
	} {
		cfg, err := config.Parse([]byte(c.yaml), "moat.yaml", t.TempDir())
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		size, err := cfg.MemoryLimitSize()
		if cfg.MemoryLimit != c.mode || size != c.size || err != nil {
			t.Errorf("%q: memory_limit %q, %v, %v; want %q, %v", c.yaml, cfg.MemoryLimit, size, err, c.mode, c.size)
		}
	}
	cfg, err := config.Load(nil, []string{"MOAT_MEMORY_LIMIT=1GiB"})
	if err != nil {
		t.Fatal(err)
	}
	if size, err := cfg.MemoryLimitSize(); size != 1<<30 || err != nil {
		t.Fatalf("MOAT_MEMORY_LIMIT=1GiB gives %v, %v", size, err)
	}
}

func TestKVGrantsAndTheirQuota(t *testing.T) {
	c, err := config.Parse([]byte("data_dir: /srv/moat\nplugins:\n  a: {grants: {kv: {quota: 2MiB}}}\n  b: {grants: {kv: {}}}\n  c: {}\n"), "moat.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{"a": 2 << 20, "b": config.DefaultKVQuota, "c": 0} {
		if got := c.Plugins[name].Grants.KVQuota(); got != want {
			t.Errorf("plugins.%s kv quota = %d, want %d", name, got, want)
		}
	}
	if dir, err := c.DataDirPath(); !c.KVGranted() || err != nil || dir != "/srv/moat" {
		t.Fatalf("KVGranted = %v, DataDirPath = %q, %v", c.KVGranted(), dir, err)
	}

	t.Setenv("XDG_DATA_HOME", "/xdg/data")
	// The built-in configuration grants the bundled memory plugin kv, and
	// leaves that grant out (without changing the configuration) where
	// memory.wasm is absent.
	withMemory := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withMemory, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withMemory, "plugins", "memory.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(withMemory)
	if c, err = config.Default(); err != nil {
		t.Fatal(err)
	}
	if dir, err := c.DataDirPath(); !c.KVGranted() || c.Absent("memory") || err != nil || dir != "/xdg/data/moat" {
		t.Fatalf("default: KVGranted = %v, Absent = %v, DataDirPath = %q, %v", c.KVGranted(), c.Absent("memory"), dir, err)
	}
	t.Chdir(t.TempDir())
	if c, err = config.Default(); err != nil || c.Check() != nil || c.KVGranted() || !c.Absent("memory") {
		t.Fatalf("default without memory.wasm: KVGranted = %v (%v)", c.KVGranted(), err)
	}
	if _, ok := c.Plugins["memory"]; !ok {
		t.Errorf("Check removed the memory entry it was checking; checking must not change the configuration")
	}
}

func TestHTTPGrants(t *testing.T) {
	c, err := config.Parse([]byte("plugins:\n  a: {grants: {http: {hosts: [\"*.Wikipedia.org\", \"127.0.0.1:8089\"], max_response: 1MiB, timeout: 2s}}}\n  b: {grants: {http: {hosts: [example.com]}}}\n"), "moat.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Plugins["a"].Grants.HTTP; a.HTTPMaxResponse() != 1<<20 || a.HTTPTimeout() != 2*time.Second {
		t.Errorf("plugins.a: %d %v", a.HTTPMaxResponse(), a.HTTPTimeout())
	}
	if b := c.Plugins["b"].Grants.HTTP; b.HTTPMaxResponse() != config.DefaultHTTPMaxResponse || b.HTTPTimeout() != config.DefaultHTTPTimeout {
		t.Errorf("plugins.b defaults: %d %v", b.HTTPMaxResponse(), b.HTTPTimeout())
	}
	p, err := config.ParseHostPattern("*.Wikipedia.org")
	if err != nil || p != (config.HostPattern{Host: "wikipedia.org", Wildcard: true}) {
		t.Errorf("*.Wikipedia.org: %+v %v", p, err)
	}
	for yaml, want := range map[string]string{
		"plugins:\n  a: {grants: {http: {}}}\n":                                     "plugins.a.grants.http.hosts: list the hosts",
		"plugins:\n  a: {grants: {http: {hosts: [\"https://example.com\"]}}}\n":     "plugins.a.grants.http.hosts[0]: \"https://example.com\" is not a host",
		"plugins:\n  a: {grants: {http: {hosts: [ok.example, \"a.*.example\"]}}}\n": "plugins.a.grants.http.hosts[1]",
		"plugins:\n  a: {grants: {http: {hosts: [\"example.com:0\"]}}}\n":           "is not a number from 1 to 65535",
	} {
		if _, err := config.Parse([]byte(yaml), "moat.yaml", t.TempDir()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", yaml, err, want)
		}
	}
}

// refused checks that a document is refused with an error that says each
// of says.
func refused(t *testing.T, yaml string, says ...string) {
	t.Helper()
	_, err := config.Parse([]byte(yaml), "moat.yaml", "/tmp")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
}

func TestFSGrants(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"data", "plugins"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins", "files.wasm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(`
plugins:
  files:
    grants:
      fs:
        - {path: ./data, mount: /data}
        - {path: ., mount: /work, mode: rw}
      sampling: true
`), "moat.yaml", dir)
	if err == nil {
		err = c.Check()
	}
	if err != nil {
		t.Fatal(err)
	}
	g := c.Plugins["files"].Grants
	if len(g.FS) != 2 || g.FS[0].Path != filepath.Join(dir, "data") || g.FS[0].Writable() || !g.FS[1].Writable() || g.FS[1].Path != dir {
		t.Fatalf("mounts = %+v", g.FS)
	}
	if !g.Sampling || g.Elicitation {
		t.Fatalf("sampling %v, elicitation %v; want true, false", g.Sampling, g.Elicitation)
	}
	for doc, want := range map[string]string{
		`{path: ./missing, mount: /data}`:            "grants.fs[0].path",
		`{path: ., mount: data}`:                     "not a clean absolute guest path",
		`{path: ., mount: /data/../etc}`:             "not a clean absolute guest path",
		`{path: ., mount: /d, mode: write}`:          "neither ro nor rw",
		`{path: ., mount: /d}, {path: ., mount: /d}`: "mounted twice",
		`{mount: /d}`: "name the host folder",
	} {
		c, err := config.Parse([]byte("plugins: {files: {grants: {fs: ["+doc+"]}}}"), "moat.yaml", dir)
		if err == nil {
			err = c.Check()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fs: [%s]: error %v; want one saying %q", doc, err, want)
		}
	}
}

// A file with several bad entries under maps gives the same first error on
// every load: map order must not choose which one is reported.
func TestFirstErrorIsStable(t *testing.T) {
	dir := t.TempDir()
	doc := []byte(`
roles:
  ok: {allow: ["*"]}
  "b@d": {allow: ["*"]}
  "w!ld": {allow: ["*"]}
plugins:
  zeta: {limits: {instances: -1}}
  alpha: {limits: {instances: -2}}
  mid: {breaker: {failures: -3}}
`)
	_, first := config.Parse(doc, "moat.yaml", dir)
	if first == nil {
		t.Fatal("a file with bad roles and plugins loaded")
	}
	for range 50 {
		if _, err := config.Parse(doc, "moat.yaml", dir); err == nil || err.Error() != first.Error() {
			t.Fatalf("the same file gave two different errors:\n%v\n%v", first, err)
		}
	}
	plugins := []byte(`
plugins:
  zeta: {limits: {instances: -1}}
  alpha: {limits: {instances: -2}}
  mid: {breaker: {failures: -3}}
`)
	_, first = config.Parse(plugins, "moat.yaml", dir)
	for range 50 {
		if _, err := config.Parse(plugins, "moat.yaml", dir); err == nil || err.Error() != first.Error() {
			t.Fatalf("the same file gave two different errors:\n%v\n%v", first, err)
		}
	}
	if !strings.Contains(first.Error(), "plugins.alpha") {
		t.Errorf("first error %q; want the first plugin in name order, plugins.alpha", first)
	}
	// Check (missing modules) is ordered the same way.
	missing := []byte("plugins:\n  zz: {}\n  aa: {}\n  mm: {}\n")
	c, err := config.Parse(missing, "moat.yaml", dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), "plugins.aa:") {
			t.Fatalf("Check: %v; want plugins.aa reported first every time", err)
		}
	}
}

// A ${file:} reference to a named pipe or a device, or to a file far too
// large, is refused at once with what it is, rather than read for ever or
// until memory runs out.
func TestFileReferencesReadRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, says := range map[string]string{fifo: "not a regular file", "/dev/zero": "not a regular file", big: "holds more than 1MiB"} {
		done := make(chan error, 1)
		go func() {
			_, err := config.Parse([]byte("plugins:\n  p: {grants: {config: {K: \"${file:"+path+"}\"}}}\n"), "test", dir)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), says) {
				t.Errorf("${file:%s}: %v; want it refused saying %q", path, err, says)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("${file:%s} was still being read after 30s", path)
		}
	}
}

func TestResultCacheKeys(t *testing.T) {
	c, err := config.Parse([]byte(`
plugins:
  weather:
    cache: {ttl: 60s, tools: {now: {ttl: 10s}, alerts: {ttl: 0}}}
  time: {}
result_cache: {memory: 8MiB}
`), "test", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := c.Plugins["weather"].Cache
	if w.ToolTTL("forecast") != time.Minute || w.ToolTTL("now") != 10*time.Second || w.ToolTTL("alerts") != 0 || !w.Enabled() {
		t.Fatalf("weather's cache: forecast %v, now %v, alerts %v; want 1m, 10s, 0", w.ToolTTL("forecast"), w.ToolTTL("now"), w.ToolTTL("alerts"))
	}
	if c.Plugins["time"].Cache.Enabled() || c.Plugins["time"].Cache.ToolTTL("now") != 0 {
		t.Fatal("a plugin without cache settings is cached")
	}
	if c.ResultCache.Memory != 8<<20 || c.ResultCache.MaxResult != config.DefaultResultCacheMaxResult {
		t.Fatalf("result_cache = %+v; want memory 8MiB and the default max_result", c.ResultCache)
	}
	only := config.Cache{Tools: map[string]config.ToolCache{"now": {TTL: new(config.Duration(5 * time.Second))}}}
	if !only.Enabled() || only.ToolTTL("now") != 5*time.Second || only.ToolTTL("other") != 0 {
		t.Fatal("a cache of one named tool: want that tool alone cached")
	}

	for _, c := range []struct {
		name, yaml string
		says       []string
	}{
		{"tool without ttl", "plugins: {weather: {cache: {tools: {now: {}}}}}", []string{"plugins.weather.cache.tools.now.ttl", "10s", "0 not to cache"}},
		{"task support not a mode", "plugins: {weather: {task_support: {now: sometimes}}}", []string{"plugins.weather.task_support.now", `"sometimes"`, "forbidden, optional or required"}},
		{"negative ttl", "plugins: {weather: {cache: {ttl: -1s}}}", []string{"plugins.weather.cache.ttl", "not a duration"}},
		{"prefixed tool name", "plugins: {weather: {cache: {tools: {'weather now': {ttl: 1s}}}}}", []string{"plugins.weather.cache.tools.weather now", "without its prefix"}},
		{"unknown key", "plugins: {weather: {cache: {tll: 1s}}}", []string{`unknown key "tll" in plugins.weather.cache`, "ttl, tools"}},
		{"max_result over memory", "result_cache: {memory: 1MiB, max_result: 2MiB}", []string{"result_cache.max_result", "more than result_cache.memory", "lower max_result or raise memory"}},
	} {
		t.Run(c.name, func(t *testing.T) { refused(t, c.yaml, c.says...) })
	}
}
