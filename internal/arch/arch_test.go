package arch_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

const module = "github.com/moat-mcp/moat"

// rule says what the packages under one folder may import from the module
// and from outside it (the standard library is always allowed).
type rule struct {
	// under is a folder of the module, such as "host"; the first rule
	// whose folder holds a package applies to it.
	under string
	// internal are the module folders its packages may import.
	internal []string
	// external are the path prefixes of other modules they may import;
	// nil allows any module but those in forbidden.
	external []string
	// forbidden are path prefixes no package here may import.
	forbidden []string
}

const (
	wazero = "github.com/tetratelabs/wazero"
	mcpSDK = "github.com/modelcontextprotocol/go-sdk"
)

var rules = []rule{
	// The contract knows nothing but itself.
	{under: "abi", internal: []string{"abi"}, external: []string{}},
	// The sandbox: the ABI and wazero, nothing of MCP, HTTP or the host.
	{under: "sandbox", internal: []string{"abi", "sandbox"}, external: []string{wazero}},
	// The configuration is data: it depends on no runtime, only on the
	// contract (for the bounds wasm32 sets on memory).
	{under: "host/config", internal: []string{"host/config", "abi"}, forbidden: []string{wazero, mcpSDK}},
	// The host: everything but wazero's types, which stay in the sandbox.
	{under: "host", internal: []string{"abi", "sandbox", "host"}, forbidden: []string{wazero}},
	// The CLI speaks to the host's public packages, never to the sandbox.
	{under: "cmd", internal: []string{"host", "sdk/scaffold", "abi"}, forbidden: []string{wazero}},
	// Plugins and examples are built against the SDK, never the host.
	{under: "sdk", internal: []string{"abi", "sdk"}, forbidden: []string{wazero, mcpSDK}},
	{under: "plugins", internal: []string{"abi", "sdk"}, forbidden: []string{wazero, mcpSDK}},
	{under: "examples", internal: []string{"abi", "sdk"}, forbidden: []string{wazero, mcpSDK}},
	// Test support and this package.
	{under: "internal", internal: []string{"internal"}, forbidden: []string{wazero}},
}

func TestImportsFollowTheArrows(t *testing.T) {
	cmd := exec.Command(testplugin.Go(), "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...")
	cmd.Dir = testplugin.Root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg, imports := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/"), fields[1:]
		r, ok := ruleFor(pkg)
		if !ok {
			t.Errorf("package %s is in no folder ARCHITECTURE.md names; add a rule for it here", pkg)
			continue
		}
		checked++
		for _, imp := range imports {
			if problem := r.check(imp); problem != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, problem)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; go list found too few to trust:\n%s", checked, out)
	}
}

func ruleFor(pkg string) (rule, bool) {
	for _, r := range rules {
		if within(pkg, r.under) {
			return r, true
		}
	}
	return rule{}, false
}

// within reports whether path is folder or inside it.
func within(path, folder string) bool {
	return path == folder || strings.HasPrefix(path, folder+"/")
}

func (r rule) check(imp string) string {
	if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
		for _, allowed := range r.internal {
			if within(rest, allowed) {
				return ""
			}
		}
		return "packages under " + r.under + "/ may import only " + strings.Join(r.internal, ", ") + " from moat"
	}
	if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
		return "" // the standard library
	}
	for _, f := range r.forbidden {
		if within(imp, f) {
			return "packages under " + r.under + "/ must not import " + f
		}
	}
	if r.external == nil {
		return ""
	}
	for _, allowed := range r.external {
		if within(imp, allowed) {
			return ""
		}
	}
	if len(r.external) == 0 {
		return "packages under " + r.under + "/ import only the standard library"
	}
	return "packages under " + r.under + "/ may import only " + strings.Join(r.external, ", ") + " beyond the standard library"
}
