package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/config"
)

// write puts a file at dir/name, making dir, and returns its path.
func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLaterFilesOverrideKeyByKey(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", `
listen: 127.0.0.1:8080
log: {level: info, format: json}
limits: {timeout: 5s, instances: 2}
breaker: {failures: 3}
http: {allowed_origins: [https://a.example.com, https://b.example.com]}
roles: {ops: {allow: ["*"]}, viewer: {allow: ["get_*"]}}
auth:
  api_keys:
    - {name: ci, sha256: aa, roles: [ops]}
    - {name: old, sha256: bb, roles: [viewer]}
  jwt: {issuer: https://id.example.com, jwks_url: https://id.example.com/jwks}
  resource: https://mcp.example.com/mcp
plugins:
  fetch:
    prefix: "f_"
    limits: {memory: 16MiB}
    grants: {config: {TOKEN: abcd, REGION: eu}}
`)
	prod := write(t, dir, "prod.yaml", `
log: {level: warn}
limits: {timeout: 30s}
http: {allowed_origins: [https://c.example.com]}
auth:
  api_keys:
    - {name: deploy, sha256: cc, roles: [ops]}
  jwt: null
plugins:
  fetch:
    limits: {instances: 8}
    grants: {config: {REGION: us}}
  time: {}
`)
	c, err := config.Load([]string{base, prod}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"a key only the first file sets", c.Listen, "127.0.0.1:8080"},
		{"a nested key the second file overrides", c.Log.Level, "warn"},
		{"its sibling the second file leaves alone", c.Log.Format, "json"},
		{"limits.timeout overridden", time.Duration(c.Limits.Timeout), 30 * time.Second},
		{"limits.instances kept", c.Limits.Instances, 2},
		{"a list is replaced, not appended to", c.HTTP.AllowedOrigins, []string{"https://c.example.com"}},
		{"a list of mappings is replaced", len(c.Auth.APIKeys), 1},
		{"its one entry is the second file's", c.Auth.APIKeys[0].Name, "deploy"},
		{"null removes a mapping", c.Auth.JWT == nil, true},
		{"a sibling of the removed mapping stays", c.Auth.Resource, "https://mcp.example.com/mcp"},
		{"a plugin's settings merge", c.PluginPrefix("fetch"), "f_"},
		{"a plugin's own limits merge", [2]uint64{uint64(c.PluginLimits("fetch").Memory), uint64(c.PluginLimits("fetch").Instances)}, [2]uint64{16 << 20, 8}},
		{"a grant overridden", c.Plugins["fetch"].Grants.Config["REGION"], "us"},
		{"a grant kept", c.Plugins["fetch"].Grants.Config["TOKEN"], "abcd"},
		{"a plugin the second file adds", c.PluginPrefix("time"), "time_"},
		{"mappings of names merge", len(c.Roles), 2},
		{"the breaker from the first file", c.PluginBreaker("time").Failures, 3},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

func TestRelativePathsStartInTheirOwnFilesFolder(t *testing.T) {
	root := t.TempDir()
	base := write(t, filepath.Join(root, "etc"), "base.yaml", `
plugins_dir: plugins
tls: {cert: tls/cert.pem, key: tls/key.pem}
plugins:
  a: {path: a.wasm}
  b: {path: b.wasm}
`)
	over := write(t, filepath.Join(root, "etc", "prod"), "prod.yaml", `
cache_dir: ../../cache
data_dir: data
plugins:
  b: {path: ../wasm/b.wasm}
  c: {}
tls: {client_ca: ca.pem}
audit: {path: audit.log}
auth: {jwt: {issuer: x, jwks_file: jwks.json}, resource: https://x.example.com/mcp}
`)
	first := write(t, filepath.Join(root, "first"), "first.yaml", "audit: {path: audit.log}\n")
	stderr := write(t, filepath.Join(root, "other"), "audit.yaml", "audit: {path: stderr}\n")

	c, err := config.Load([]string{base, over}, nil)
	if err != nil {
		t.Fatal(err)
	}
	etc, prod := filepath.Join(root, "etc"), filepath.Join(root, "etc", "prod")
	cases := []struct{ key, got, want string }{
		{"plugins_dir (first file)", c.PluginsDir, filepath.Join(etc, "plugins")},
		{"tls.cert (first file)", c.TLS.Cert, filepath.Join(etc, "tls/cert.pem")},
		{"plugins.a.path (first file)", c.PluginPath("a"), filepath.Join(etc, "a.wasm")},
		{"plugins.b.path (second file, overriding)", c.PluginPath("b"), filepath.Join(etc, "wasm/b.wasm")},
		{"plugins.c (no path: in plugins_dir)", c.PluginPath("c"), filepath.Join(etc, "plugins/c.wasm")},
		{"cache_dir (second file)", c.CacheDir, filepath.Join(root, "cache")},
		{"data_dir (second file)", c.DataDir, filepath.Join(prod, "data")},
		{"tls.client_ca (second file)", c.TLS.ClientCA, filepath.Join(prod, "ca.pem")},
		{"audit.path (second file)", c.Audit.Path, filepath.Join(prod, "audit.log")},
		{"auth.jwt.jwks_file (second file)", c.Auth.JWT.JWKSFile, filepath.Join(prod, "jwks.json")},
	}
	for _, k := range cases {
		if k.got != k.want {
			t.Errorf("%s = %s, want %s", k.key, k.got, k.want)
		}
	}

	c, err = config.Load([]string{first, stderr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.Path != "stderr" {
		t.Errorf("audit.path: stderr became %s", c.Audit.Path)
	}
	if want := filepath.Join(root, "first", "plugins"); c.PluginsDir != want || c.PluginsDirExplicit() {
		t.Errorf("a defaulted plugins_dir = %s (explicit %v), want %s in the first file's folder, not explicit", c.PluginsDir, c.PluginsDirExplicit(), want)
	}
}

func TestEnvironmentOverridesTheFiles(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "moat.yaml", `
listen: 127.0.0.1:8080
log: {level: info}
limits: {timeout: 5s, instances: 2}
plugins_dir: ./plugins
audit: {path: audit.log}
`)
	wd, _ := os.Getwd()
	cases := []struct {
		env   string
		check func(*config.Config) any
		want  any
	}{
		{"MOAT_LISTEN=127.0.0.1:9000", func(c *config.Config) any { return c.Listen }, "127.0.0.1:9000"},
		{"MOAT_LISTEN=", func(c *config.Config) any { return c.Listen }, ""},
		{"MOAT_LOG_LEVEL=debug", func(c *config.Config) any { return c.Log.Level }, "debug"},
		{"MOAT_LIMITS_TIMEOUT=90s", func(c *config.Config) any { return time.Duration(c.PluginLimits("x").Timeout) }, 90 * time.Second},
		{"MOAT_LIMITS_TIMEOUT=90s", func(c *config.Config) any { return c.PluginLimits("x").Instances }, 2},
		{"MOAT_SHUTDOWN_TIMEOUT=1m", func(c *config.Config) any { return time.Duration(c.ShutdownTimeout) }, time.Minute},
		{"MOAT_ADMIN_LISTEN=off", func(c *config.Config) any { return c.AdminListen }, "off"},
		{"MOAT_MAX_INFLIGHT=32", func(c *config.Config) any { return c.MaxInflight }, 32},
		{"MOAT_BREAKER_OPEN_FOR=2m", func(c *config.Config) any { return time.Duration(c.PluginBreaker("x").OpenFor) }, 2 * time.Minute},
		{"MOAT_HTTP_MAX_BODY=1MiB", func(c *config.Config) any { return uint64(c.HTTP.MaxBody) }, uint64(1 << 20)},
		{"MOAT_AUDIT_INCLUDE_ARGUMENTS=true", func(c *config.Config) any { return c.Audit.IncludeArguments }, true},
		{"MOAT_RATE_LIMITS_GLOBAL_RATE=100/s", func(c *config.Config) any { return c.RateLimits.Global.Rate }, "100/s"},
		{"MOAT_PLUGINS_DIR=wasm", func(c *config.Config) any { return c.PluginsDir }, filepath.Join(wd, "wasm")},
		{"MOAT_CACHE_DIR=/var/cache/moat", func(c *config.Config) any { return c.CacheDir }, "/var/cache/moat"},
		{"OTHER_LOG_LEVEL=debug", func(c *config.Config) any { return c.Log.Level }, "info"},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			c, err := config.Load([]string{file}, []string{"PATH=/bin", tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(c); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// Flags come last: --plugins is SetPluginsDir after Load.
	c, err := config.Load([]string{file}, []string{"MOAT_PLUGINS_DIR=/from/env"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetPluginsDir("/from/flag")
	if c.PluginsDir != "/from/flag" {
		t.Errorf("the flag did not override the environment: %s", c.PluginsDir)
	}

	// Without files the environment applies over the built-in defaults.
	c, err = config.Load(nil, []string{"MOAT_LOG_FORMAT=json"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Format != "json" || c.Log.Level != "info" || c.PluginsDirExplicit() {
		t.Errorf("built-in + environment = %+v", c.Log)
	}
}

func TestBadEnvironmentIsRefused(t *testing.T) {
	cases := []struct {
		env  string
		says []string
	}{
		{"MOAT_LOG_LEVE=debug", []string{"MOAT_LOG_LEVE", "sets no configuration key", "MOAT_LOG_LEVEL (log.level)", "unset it"}},
		{"MOAT_LISTN=:80", []string{"MOAT_LISTN", "MOAT_LISTEN (listen)"}},
		{"MOAT_KEY=moat_abc", []string{"MOAT_KEY", "sets no configuration key"}},
		{"MOAT_AUTH_STDIO_ROLES=ops", []string{"MOAT_AUTH_STDIO_ROLES", "auth.stdio_roles is a list", "configuration file"}},
		{"MOAT_LOG=debug", []string{"MOAT_LOG", "log is a mapping"}},
		{"MOAT_PLUGINS_TIME_PREFIX=t_", []string{"MOAT_PLUGINS_TIME_PREFIX", "entries of plugins cannot be set from the environment"}},
		{"MOAT_MAX_INFLIGHT=lots", []string{"environment variable MOAT_MAX_INFLIGHT", "max_inflight", `"lots" is not a whole number`}},
		{"MOAT_LIMITS_TIMEOUT=10", []string{"MOAT_LIMITS_TIMEOUT", "limits.timeout", "not a duration"}},
		{"MOAT_LOG_LEVEL=loud", []string{"environment variable MOAT_LOG_LEVEL", "log.level", `"loud" is not a level`}},
		{"MOAT_MAX_INFLIGHT=-1", []string{"environment variable MOAT_MAX_INFLIGHT", "max_inflight", "negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			_, err := config.Load(nil, []string{tc.env})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}

func TestReferencesAreReplacedAndKeptSecret(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "secrets"), "ci.sha256", "02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a\n")
	write(t, dir, "two-lines", "first\nsecond\n\n")
	file := write(t, dir, "moat.yaml", `
max_inflight: "${env:INFLIGHT}"
roles: {ops: {allow: ["*"]}}
auth:
  api_keys:
    - {name: ci, sha256: "${file:secrets/ci.sha256}", roles: [ops]}
plugins:
  fetch:
    grants:
      config:
        API_KEY: "${env:API_KEY}"
        URL: "https://user:${env:PASSWORD}@api.example.com"
        VERSION: 1.10
        PORT: 0123
        LITERAL: "$${env:API_KEY} costs $5"
        LINES: ${file:two-lines}
`)
	c, err := config.Load([]string{file}, []string{"API_KEY=k-123", "PASSWORD=hunter2", "INFLIGHT=64"})
	if err != nil {
		t.Fatal(err)
	}
	grants := c.Plugins["fetch"].Grants.Config
	cases := []struct{ what, got, want string }{
		{"${env:} replaced", grants["API_KEY"], "k-123"},
		{"${env:} inside a value", grants["URL"], "https://user:hunter2@api.example.com"},
		{"${file:}, its newline trimmed, relative to the file", c.Auth.APIKeys[0].SHA256, "02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a"},
		{"only one trailing newline trimmed", grants["LINES"], "first\nsecond\n"},
		{"$${ is a literal ${", grants["LITERAL"], "${env:API_KEY} costs $5"},
		{"a number-like string kept as written", grants["VERSION"], "1.10"},
		{"a leading zero kept", grants["PORT"], "0123"},
	}
	for _, k := range cases {
		if k.got != k.want {
			t.Errorf("%s: got %q, want %q", k.what, k.got, k.want)
		}
	}
	if c.MaxInflight != 64 {
		t.Errorf("a reference in a number: max_inflight = %d", c.MaxInflight)
	}
	secrets := c.SecretValues()
	for _, s := range []string{"k-123", "hunter2", "64", "02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a", "https://user:hunter2@api.example.com", "1.10"} {
		if !slices.Contains(secrets, s) {
			t.Errorf("SecretValues %q lacks %q", secrets, s)
		}
	}
	if !slices.IsSorted(secrets) {
		t.Errorf("SecretValues not sorted: %q", secrets)
	}
}

func TestBadReferencesNameTheKeyAndTheReference(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, yaml string
		says       []string
	}{
		{"missing variable", "plugins:\n  fetch:\n    grants: {config: {API_KEY: \"${env:NOPE_KEY}\"}}",
			[]string{"moat.yaml", "line 3", "plugins.fetch.grants.config.API_KEY", "${env:NOPE_KEY}", "NOPE_KEY is not set"}},
		{"unreadable file", "auth:\n  api_keys:\n    - {name: ci, sha256: \"${file:/nonexistent/ci.sha256}\", roles: [x]}",
			[]string{"line 3", "auth.api_keys[0].sha256", "${file:/nonexistent/ci.sha256}", "no such file"}},
		{"unknown kind", "listen: ${vault:x}", []string{"line 1", "listen", "${vault:x} is not a reference", "$${"}},
		{"never closed", "listen: ${env:X", []string{"listen", "never closed"}},
		{"empty name", "listen: ${env:}", []string{"listen", "${env:} is not a reference"}},
		{"a number that is not one", "max_inflight: ${env:WORD}", []string{"line 1", "max_inflight", `"many" is not a whole number`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := write(t, dir, "moat.yaml", tc.yaml)
			_, err := config.Load([]string{file}, []string{"WORD=many", "X=1"})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "many") && tc.name != "a number that is not one" {
				t.Errorf("the error shows a value: %q", err)
			}
		})
	}
}

func TestErrorsNameTheFileAndLineThatSetTheKey(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", "listen: 127.0.0.1:8080\nroles: {ops: {allow: ['*']}}\n")
	cases := []struct {
		name, second string
		says         []string
	}{
		{"unknown key", "log:\n  level: debug\n  formt: json\n", []string{"second.yaml: line 3", `unknown key "formt" in log`, "format"}},
		{"duplicate key", "log: {level: info}\n\nlog: {level: debug}\n", []string{"second.yaml: line 3", `key "log" appears twice`}},
		{"bad value", "\nlimits: {memory: 64M}\n", []string{"second.yaml: line 2", "limits.memory", "64MiB"}},
		{"bad listen, checked after the merge", "\n\nlisten: nope\n", []string{"second.yaml: line 3", "listen", "host:port"}},
		{"a role the first file does not define", "auth:\n  api_keys:\n    - {name: ci, sha256: aa, roles: [admin]}\n", []string{"second.yaml: line 3", "auth.api_keys[0].roles", `role "admin"`}},
		{"not YAML", "log: [\n", []string{"second.yaml", "yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			second := write(t, dir, "second.yaml", tc.second)
			_, err := config.Load([]string{base, second}, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}

	// A role the second file uses may come from the first: keys are
	// checked together after the merge, not each file on its own.
	second := write(t, dir, "second.yaml", "auth:\n  api_keys:\n    - {name: ci, sha256: aa, roles: [ops]}\n")
	if _, err := config.Load([]string{base, second}, nil); err != nil {
		t.Errorf("a role defined in the first file, used in the second: %v", err)
	}
}

func TestEffectiveYAMLMasksSecretsAndLoadsAgain(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", `
limits: {timeout: 5s}
roles: {ops: {allow: ["*"]}}
auth:
  api_keys: [{name: ci, sha256: 02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a, roles: [ops]}]
  resource: "${env:RESOURCE}"
plugins:
  fetch:
    path: fetch.wasm
    limits: {memory: 16MiB}
    grants: {config: {API_KEY: plain-grant, REGION: "${env:REGION}"}}
`)
	prod := write(t, dir, "prod.yaml", "auth: {resource: https://mcp.example.com/mcp}\n")
	c, err := config.Load([]string{base, prod}, []string{"RESOURCE=https://secret.example.com/mcp", "REGION=eu-1"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.EffectiveYAML(sandboxDefaults)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, hidden := range []string{"plain-grant", "eu-1"} {
		if strings.Contains(text, hidden) {
			t.Errorf("the effective configuration shows the secret %q:\n%s", hidden, text)
		}
	}
	for _, shown := range []string{
		`API_KEY: "[redacted]"`, `REGION: "[redacted]"`,
		"resource: https://mcp.example.com/mcp", // overridden by a plain value: no longer a secret
		"sha256: 02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a",
		"timeout: 5s", "memory: 16MiB", "instances: 4", "prefix: fetch_", "path: " + filepath.Join(dir, "fetch.wasm"),
		"admin_listen: 127.0.0.1:9090", "failures: 5",
	} {
		if !strings.Contains(text, shown) {
			t.Errorf("the effective configuration lacks %q:\n%s", shown, text)
		}
	}
	if !slices.Contains(c.SecretValues(), "https://secret.example.com/mcp") {
		t.Errorf("a reference read by an overridden file is still a secret: %q", c.SecretValues())
	}

	again, err := config.Parse(out, "effective", "/")
	if err != nil {
		t.Fatalf("the effective configuration does not load: %v\n%s", err, text)
	}
	// The printed configuration writes every default out, so loaded again
	// it sets what the first one left to the defaults.
	if again.PluginLimits("fetch") != c.PluginLimits("fetch").Over(sandboxDefaults) || again.PluginPath("fetch") != c.PluginPath("fetch") || again.PluginBreaker("x") != c.PluginBreaker("x") {
		t.Errorf("loaded again, fetch differs: %+v vs %+v", again.PluginLimits("fetch"), c.PluginLimits("fetch"))
	}
}

// sandboxDefaults stand for the sandbox's defaults, which the host passes
// to EffectiveYAML.
var sandboxDefaults = config.Limits{
	Timeout: config.Duration(10 * time.Second), Memory: 64 << 20, Output: 1 << 20,
	Instances: 4, QueueTimeout: config.Duration(time.Second),
}
