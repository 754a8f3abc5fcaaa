package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// TestNewBuildsInEveryLanguage writes a project with moat new in each
// language, builds it with the command its README gives, outside the
// repository and without network, and calls its tool through moat.
func TestNewBuildsInEveryLanguage(t *testing.T) {
	needBuild(t)
	cases := []struct {
		lang  string
		build func(t *testing.T, dir string) // runs the README's build command in dir
		wasm  string                         // where the build puts the module
	}{
		{"go", buildGo, "demo.wasm"},
		{"c", buildC, "demo.wasm"},
		{"rust", buildRust, "target/wasm32-wasip1/release/demo.wasm"},
		{"assemblyscript", buildAssemblyScript, "build/demo.wasm"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo-"+c.lang)
			stdout, stderr, code := runMoat(t, "new", "--lang", c.lang, "demo", "--dir", dir)
			if code != 0 || !strings.Contains(stdout, "moat call "+c.wasm) {
				t.Fatalf("moat new: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
			for _, f := range []string{"README.md", ".gitignore"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("the project has no %s: %v", f, err)
				}
			}
			c.build(t, dir)
			stdout, stderr, code = runMoat(t, "call", filepath.Join(dir, filepath.FromSlash(c.wasm)), "hello", `{"name":"Ada"}`)
			if code != 0 || !strings.Contains(stdout, `"Hello, Ada!"`) {
				t.Fatalf("moat call hello: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	needBuild(t)
	full := t.TempDir()
	writeFile(t, filepath.Join(full, "keep.txt"), "mine")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"uppercase name", []string{"--lang", "go", "Demo"}, "[a-z][a-z0-9_]*"},
		{"name with a dash", []string{"--lang", "c", "my-plugin"}, "[a-z][a-z0-9_]*"},
		{"unknown language", []string{"--lang", "cobol", "demo"}, "go, rust, c, assemblyscript"},
		{"folder not empty", []string{"--lang", "rust", "demo", "--dir", full}, "not empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runMoat(t, append([]string{"new"}, c.args...)...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %s; want exit 1 and %q", code, stderr, c.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the existing folder changed: %q, %v", b, err)
	}
	if _, _, code := runMoat(t, "new", "demo"); code != 2 {
		t.Fatalf("moat new without --lang: exit %d, want 2", code)
	}
}

// runIn runs a build command in dir, with no network for the go command.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOPROXY=off", "GOWORK=off"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s in %s: %v\n%s", cmd, dir, err, out)
	}
}

func buildGo(t *testing.T, dir string) {
	runIn(t, dir, []string{"GOOS=wasip1", "GOARCH=wasm"}, testplugin.Go(), "build", "-buildmode=c-shared", "-o", "demo.wasm", ".")
}

func buildC(t *testing.T, dir string) {
	clang := testplugin.RequireTool(t, "clang-14", "apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32")
	mk := testplugin.RequireTool(t, "make", "apt-get install make")
	runIn(t, dir, nil, mk, "CC="+clang)
}

// buildRust runs the README's cargo command with a toolchain that has a
// WASI standard library, and puts the module where the README's current
// target (wasm32-wasip1) leaves it, whichever name the toolchain uses.
func buildRust(t *testing.T, dir string) {
	rust := testplugin.Rust(t)
	runIn(t, dir, []string{"RUSTC=" + rust.Rustc}, rust.Cargo, "build", "--release", "--target", rust.Target, "--offline")
	if rust.Target != "wasm32-wasip1" {
		built := filepath.Join(dir, "target", rust.Target, "release", "demo.wasm")
		want := filepath.Join(dir, "target", "wasm32-wasip1", "release", "demo.wasm")
		if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(built, want); err != nil {
			t.Fatal(err)
		}
	}
}

func buildAssemblyScript(t *testing.T, dir string) {
	const install = "install Node.js 20 or later, which includes npm (https://nodejs.org)"
	testplugin.RequireTool(t, "node", install)
	npm := testplugin.RequireTool(t, "npm", install)
	runIn(t, dir, nil, npm, "install", "--no-audit", "--no-fund", "--prefer-offline")
	runIn(t, dir, nil, npm, "run", "build")
}
