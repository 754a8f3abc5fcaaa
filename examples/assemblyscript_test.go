package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// TestAssemblyScriptHello builds examples/assemblyscript/hello with its own
// npm scripts, as an author would, and checks the module moat serves.
func TestAssemblyScriptHello(t *testing.T) {
	const install = "install Node.js 20 or later, which includes npm (https://nodejs.org)"
	testplugin.RequireTool(t, "node", install)
	npm := testplugin.RequireTool(t, "npm", install)
	dir := filepath.Join(testplugin.Root(t), "examples", "assemblyscript", "hello")

	// npm ci installs exactly what package-lock.json pins; it starts by
	// deleting node_modules, so it runs only when no install is there yet.
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		runNPM(t, npm, dir, "ci", "--no-audit", "--no-fund")
	}
	runNPM(t, npm, dir, "run", "build")

	// Serve a copy, so the test reads what this build wrote even if another
	// build replaces build/hello.wasm meanwhile.
	wasm, err := os.ReadFile(filepath.Join(dir, "build", "hello.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	checkHello(t, testplugin.WriteTo(t, wasm, t.TempDir(), "hello"))
}

func runNPM(t *testing.T, npm, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(npm, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %v in %s: %v\n%s", args, dir, err, out)
	}
}
