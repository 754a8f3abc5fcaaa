// Package testplugin builds the plugins tests run, at test time: WAT by
// wabt's wat2wasm and Go by the go command, so that what a test runs is what
// its source says. Builds are cached for the life of the test binary.
//
// Under CI (CI set in the environment) a missing tool fails the test;
// elsewhere it skips it with the command that installs the tool.
package testplugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	cache = map[string][]byte{}
	dir   string
)

// Root is the repository's root folder, found from the go command's view of
// the main module.
func Root(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command(Go(), "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		tb.Fatalf("cannot find the module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// Go is the go command to build with.
func Go() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	return "go"
}

// RequireTool returns the path of a command the tests need.
func RequireTool(tb testing.TB, name, install string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is required under CI: %s", name, install)
		}
		tb.Skipf("%s not found: %s", name, install)
	}
	return path
}

// WAT compiles the WAT file at path (relative to the repository root), with
// debug names so traps name their functions.
func WAT(tb testing.TB, path string) []byte {
	tb.Helper()
	tool := RequireTool(tb, "wat2wasm", "apt-get install wabt")
	return build(tb, "wat:"+path, func(out string) *exec.Cmd {
		return exec.Command(tool, "--debug-names", filepath.Join(Root(tb), path), "-o", out)
	})
}

// GoPlugin builds the Go plugin package at pkg (relative to the repository
// root, such as "plugins/time") as a WASI reactor.
func GoPlugin(tb testing.TB, pkg string) []byte {
	tb.Helper()
	return build(tb, "go:"+pkg, func(out string) *exec.Cmd {
		cmd := exec.Command(Go(), "build", "-buildmode=c-shared", "-o", out, "./"+pkg)
		cmd.Dir = Root(tb)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		return cmd
	})
}

// WriteTo writes wasm to dir/name.wasm and returns the path.
func WriteTo(tb testing.TB, wasm []byte, dir, name string) string {
	tb.Helper()
	path := filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func build(tb testing.TB, key string, command func(out string) *exec.Cmd) []byte {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[key]; ok {
		return b
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "moat-testplugin-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	out := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(key)+".wasm")
	cmd := command(out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", key, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	cache[key] = b
	return b
}

// RustToolchain is a rustc and cargo that can build plugins, and the name
// their version gives the WASI preview 1 target.
type RustToolchain struct {
	Rustc, Cargo string
	// Target is wasm32-wasip1 (Rust 1.78 and later) or wasm32-wasi (older
	// Rust, such as Debian's 1.63; Rust 1.84 removed the name).
	Target string
}

// Rust finds a toolchain with a WASI standard library: the rustc and cargo
// on PATH first, then Debian's, as examples/rust/toolchain.sh does. A
// rustup toolchain without the target is passed over. Under CI its absence
// fails the test; elsewhere it skips.
func Rust(tb testing.TB) RustToolchain {
	tb.Helper()
	const install = "rustup target add wasm32-wasip1, or apt-get install rustc cargo libstd-rust-dev-wasm32"
	var candidates []RustToolchain
	if rustc, err := exec.LookPath("rustc"); err == nil {
		if cargo, err := exec.LookPath("cargo"); err == nil {
			candidates = append(candidates, RustToolchain{Rustc: rustc, Cargo: cargo})
		}
	}
	candidates = append(candidates, RustToolchain{Rustc: "/usr/bin/rustc", Cargo: "/usr/bin/cargo"})
	for _, tc := range candidates {
		if _, err := os.Stat(tc.Cargo); err != nil {
			continue
		}
		sysroot, err := exec.Command(tc.Rustc, "--print", "sysroot").Output()
		if err != nil {
			continue
		}
		for _, target := range []string{"wasm32-wasip1", "wasm32-wasi"} {
			if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", target)); err == nil {
				tc.Target = target
				return tc
			}
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("rustc and cargo with a WASI standard library are required under CI: %s", install)
	}
	tb.Skipf("no rustc and cargo with a WASI standard library: %s", install)
	return RustToolchain{}
}
