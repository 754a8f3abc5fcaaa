package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/config"
)

// FuzzParse gives the configuration loader arbitrary bytes: it must return
// a configuration or an error, never panic or hang, and a configuration it
// accepts must print (as moat config check does) as YAML that loads again.
//
// Run it for longer with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 2m ./host/config/
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		string(config.DefaultYAML()),
		"listen: 127.0.0.1:8080\nplugins_dir: plugins\n",
		"limits: {timeout: 5s, memory: 16MiB, output: 512KiB, instances: 2, queue_timeout: 250ms}\nbreaker: {failures: 2, open_for: 1s}\n",
		"plugins:\n  wx.v2:\n    path: wx.wasm\n    prefix: \"\"\n    limits: {memory: 1GiB}\n    grants:\n      config: {API_KEY: \"${env:HOME}\", LIT: \"$${not}\"}\n      kv: {quota: 1MiB}\n      http: {hosts: [\"api.example.com\", \"*.example.org:8443\"], timeout: 5s, max_response: 1MiB}\n      fs: [{path: data, mount: /data, mode: rw}]\n      sampling: true\n",
		"auth:\n  api_keys: [{name: ci, sha256: 02a2a85612e0bf9022534dda131758dbd43e4e282a8885cb2fdbb392ac8a545a, roles: [ops]}]\nroles:\n  ops: {allow: [\"*\"], deny: [\"admin_*\"], rate_limits: {per_principal: {rate: 10, burst: 20}}}\nrate_limits: {global: {rate: 1000}}\n",
		"http: {max_body: 1MiB, read_header_timeout: 1s, max_connections: 10, allowed_origins: [\"https://a.example\"]}\ntls: {cert: c.pem, key: k.pem}\naudit: {path: stderr, include_arguments: true}\n",
		"anchors: &a {timeout: 1s}\nlimits: *a\n",
		"limits: &a [*a]\n",
		"a: &a [*a, *a, *a, *a]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
		"listen: ${env:NO_SUCH_VARIABLE_IN_FUZZ}\n",
		"listen: ${file:missing.txt}\n",
		"listen: \"${\"\n",
		"plugins: {a: {limits: {memory: 5GiB}}}\n",
		"limits: {timeout: -1s}\n",
		"max_inflight: 99999999999999999999\n",
		"log: {level: loud}\n",
		"---\n---\n",
		"[1, 2]\n",
		"\t\x00",
		"",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("s3cret\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// ${file:} reads any file it names; keep the fuzzer to files in its
		// own folder, so it never reads an endless one such as /dev/zero.
		if bytes.Contains(data, []byte("file:")) && (bytes.ContainsAny(data, "/\\") || bytes.Contains(data, []byte(".."))) {
			t.Skip("a ${file:} reference outside the test's folder")
		}
		c, err := config.Parse(data, "fuzz.yaml", dir)
		if err != nil {
			if c != nil {
				t.Fatalf("a configuration and an error (%v) together", err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an empty error tells the operator nothing")
			}
			return
		}
		if c == nil {
			t.Fatal("neither a configuration nor an error")
		}
		out, err := c.EffectiveYAML(sandboxDefaults)
		if err != nil {
			t.Fatalf("accepted, but cannot print it: %v", err)
		}
		if bytes.Contains(out, []byte("s3cret")) {
			t.Fatalf("the effective configuration shows a value read through ${file:}:\n%s", out)
		}
		if _, err := config.Parse(out, "effective.yaml", dir); err != nil {
			t.Fatalf("accepted, but what moat config check prints does not load again: %v\n%s", err, out)
		}
	})
}
