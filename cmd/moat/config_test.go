package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runConfigCheck runs moat config check with the files given, and extra
// variables in its environment.
func runConfigCheck(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runMoatEnv(t, env, append([]string{"config", "check"}, args...)...)
}

func TestConfigCheckPrintsTheLayeredConfiguration(t *testing.T) {
	needBuild(t)
	root := t.TempDir()
	etc, prod := filepath.Join(root, "etc"), filepath.Join(root, "etc", "prod")
	for _, d := range []string{filepath.Join(etc, "plugins"), filepath.Join(prod, "wasm")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(prod, "wasm", "fetch.wasm"), "")
	writeFile(t, filepath.Join(prod, "region"), "eu-west-1\n")
	base := filepath.Join(etc, "base.yaml")
	writeFile(t, base, `
listen: 127.0.0.1:8080
plugins_dir: plugins
log: {level: info, format: json}
limits: {timeout: 5s, instances: 2}
plugins:
  fetch:
    path: prod/wasm/fetch.wasm
    grants:
      config: {API_KEY: "${env:FETCH_KEY}", PLAIN: plain-grant-value}
`)
	over := filepath.Join(prod, "production.yaml")
	writeFile(t, over, `
log: {level: warn}
limits: {timeout: 30s}
plugins:
  fetch:
    prefix: "f."
    grants:
      config: {REGION: "${file:region}"}
`)
	out, errOut, code := runConfigCheck(t, []string{"FETCH_KEY=sk-live-123456", "MOAT_MAX_INFLIGHT=32", "MOAT_LOG_FORMAT=text"},
		"--config", base, "--config", over)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, secret := range []string{"sk-live-123456", "plain-grant-value", "eu-west-1"} {
		if strings.Contains(out, secret) {
			t.Errorf("config check shows the secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"listen: 127.0.0.1:8080", // the first file
		"level: warn",            // the second file over the first
		"format: text",           // the environment over both
		"max_inflight: 32",       // the environment
		"timeout: 30s",           // the second file
		"instances: 2",           // the first file, kept
		"plugins_dir: " + filepath.Join(etc, "plugins"), // relative to the first file
		"path: " + filepath.Join(prod, "wasm", "fetch.wasm"),
		"prefix: f.",
		`API_KEY: "[redacted]"`, `PLAIN: "[redacted]"`, `REGION: "[redacted]"`,
		"# A reload (SIGHUP) applies every setting above but these, which need a restart:\n# listen, admin_listen, tls",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config check does not print %q:\n%s", want, out)
		}
	}

	// The flag overrides all of it.
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runConfigCheck(t, []string{"FETCH_KEY=x", "MOAT_PLUGINS_DIR=" + filepath.Join(etc, "plugins")},
		"--config", base, "--config", over, "--plugins", other)
	if code != 0 || !strings.Contains(out, "plugins_dir: "+other) {
		t.Errorf("--plugins over MOAT_PLUGINS_DIR: exit %d\n%s%s", code, out, errOut)
	}
}

func TestConfigCheckRefusesWithTheKeyAndTheFix(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	writeFile(t, base, "log: {level: info}\n")
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		writeFile(t, path, body)
		return path
	}
	cases := []struct {
		name string
		env  []string
		args []string
		says []string
	}{
		{"a typo in the second file", nil,
			[]string{"--config", base, "--config", write("typo.yaml", "log:\n  level: debug\n  formt: json\n")},
			[]string{"typo.yaml: line 3", `unknown key "formt" in log`, "format"}},
		{"an unknown MOAT_ variable", []string{"MOAT_LOG_LEVLE=debug"},
			[]string{"--config", base},
			[]string{"MOAT_LOG_LEVLE", "MOAT_LOG_LEVEL (log.level)"}},
		{"a missing variable", nil,
			[]string{"--config", write("ref.yaml", "plugins:\n  x:\n    grants: {config: {K: \"${env:FETCH_TEST_UNSET_0}\"}}\n")},
			[]string{"ref.yaml: line 3", "plugins.x.grants.config.K", "${env:FETCH_TEST_UNSET_0}", "not set"}},
		{"beyond loopback without auth", nil,
			[]string{"--config", write("open.yaml", "listen: 0.0.0.0:8080\n")},
			[]string{"not a loopback address", "moat key new"}},
		{"a plugin file that is not there", nil,
			[]string{"--config", write("gone.yaml", "plugins: {gone: {path: gone.wasm}}\n")},
			[]string{"plugins.gone", "gone.wasm"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runConfigCheck(t, tc.env, tc.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			if out != "" {
				t.Errorf("printed a configuration it refuses:\n%s", out)
			}
			for _, s := range tc.says {
				if !strings.Contains(errOut, s) {
					t.Errorf("%q does not say %q", errOut, s)
				}
			}
		})
	}

	if _, errOut, code := runMoat(t, "config"); code != 2 || !strings.Contains(errOut, "moat config check") {
		t.Errorf("moat config without check: exit %d\n%s", code, errOut)
	}
}
