package examples_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// TestCHello builds examples/c/hello with clang for wasm32-wasi, as its
// README says, and checks it answers like every other hello.
func TestCHello(t *testing.T) {
	checkHello(t, buildCHello(t))
}

// buildCHello builds examples/c/hello into a temporary folder and returns
// the module's path.
func buildCHello(t testing.TB) string {
	t.Helper()
	clang := testplugin.RequireTool(t, "clang-14", "apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32")
	root := testplugin.Root(t)
	sdk := filepath.Join(root, "sdk", "c")
	out := filepath.Join(t.TempDir(), "hello.wasm")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra",
		"-Wl,--strip-debug", "-I", sdk, "-o", out,
		filepath.Join(root, "examples", "c", "hello", "hello.c"), filepath.Join(sdk, "moat.c"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the C hello: %v\n%s", err, msg)
	}
	return out
}
