package examples_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// TestRustHello builds examples/rust/hello against sdk/rust with rustc for
// WASI preview 1, as its README's cargo command does, and checks the module
// moat serves.
func TestRustHello(t *testing.T) {
	checkHello(t, buildRustHello(t))
}

// buildRustHello builds examples/rust/hello and returns the module's path.
// The build goes to a temporary folder, so the source tree stays clean.
func buildRustHello(t testing.TB) string {
	t.Helper()
	rust := testplugin.Rust(t)
	rustc, target := rust.Rustc, "--target="+rust.Target
	root := testplugin.Root(t)
	out := t.TempDir()

	// The same settings as the crates' Cargo.toml files: edition 2021, and
	// the release profile of the example (opt-level "s", LTO, strip).
	rlib := filepath.Join(out, "libmoat.rlib")
	runRustc(t, rustc, "--edition=2021", target, "-C", "opt-level=s",
		"--crate-type=rlib", "--crate-name=moat", "-o", rlib,
		filepath.Join(root, "sdk", "rust", "src", "lib.rs"))
	wasm := filepath.Join(out, "hello.wasm")
	runRustc(t, rustc, "--edition=2021", target, "-C", "opt-level=s", "-C", "lto", "-C", "strip=symbols",
		"--crate-type=cdylib", "--crate-name=hello", "--extern", "moat="+rlib, "-o", wasm,
		filepath.Join(root, "examples", "rust", "hello", "src", "lib.rs"))
	return wasm
}

// TestRustSDK runs the SDK's own Rust tests (JSON, description, dispatch),
// built natively by the same rustc.
func TestRustSDK(t *testing.T) {
	rustc := testplugin.Rust(t).Rustc
	bin := filepath.Join(t.TempDir(), "moat-sdk-test")
	runRustc(t, rustc, "--edition=2021", "--test", "--crate-name=moat", "-o", bin,
		filepath.Join(testplugin.Root(t), "sdk", "rust", "src", "lib.rs"))
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("the SDK's tests failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test result: ok") {
		t.Fatalf("the SDK's tests said:\n%s", out)
	}
}

func runRustc(t testing.TB, rustc string, args ...string) {
	t.Helper()
	cmd := exec.Command(rustc, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", rustc, strings.Join(args, " "), err, out)
	}
}
