package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// built holds the paths of everything the run needs, once built.
type built struct {
	Moat, MoatProf, GoSDK, NetHTTP string
	EchoWasm                       string
	Node, TSDir                    string
}

// build compiles moat (from the repository's ./cmd/moat, as make build
// does), the Go peers, the profiling moat and the echo plugin into
// out/bin, and checks that the TypeScript peer's packages are installed.
func build(root, bench, out string) (*built, error) {
	bin := filepath.Join(out, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	b := &built{
		Moat:     filepath.Join(bin, "moat"),
		MoatProf: filepath.Join(bin, "moatprof"),
		GoSDK:    filepath.Join(bin, "gosdk"),
		NetHTTP:  filepath.Join(bin, "nethttp"),
		EchoWasm: filepath.Join(bin, "echo.wasm"),
		TSDir:    filepath.Join(bench, "peers", "ts"),
	}
	steps := []struct {
		dir, out, pkg string
		env           []string
		flags         []string
	}{
		{root, b.Moat, "./cmd/moat", nil, nil},
		{bench, b.MoatProf, "./cmd/moatprof", nil, nil},
		{bench, b.GoSDK, "./peers/gosdk", nil, nil},
		{bench, b.NetHTTP, "./peers/nethttp", nil, nil},
		{bench, b.EchoWasm, "./plugins/echo", []string{"GOOS=wasip1", "GOARCH=wasm"}, []string{"-buildmode=c-shared"}},
	}
	for _, s := range steps {
		args := append([]string{"build", "-o", s.out}, s.flags...)
		cmd := exec.Command(goTool(), append(args, s.pkg)...)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), s.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", s.pkg, err, out)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("the TypeScript peer needs Node.js: %w", err)
	}
	b.Node = node
	if _, err := os.Stat(filepath.Join(b.TSDir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		return nil, fmt.Errorf("the TypeScript peer's packages are not installed; run npm ci in %s (make bench does)", b.TSDir)
	}
	return b, nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// version runs name --version (or go version) and returns its first line.
func version(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
