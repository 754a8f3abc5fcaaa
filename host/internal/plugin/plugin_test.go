package plugin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

func TestDescriptionChecks(t *testing.T) {
	obj := `{"type":"object"}`
	tool := func(name, input string) string {
		return `{"name":"p","tools":[{"name":"` + name + `","inputSchema":` + input + `}]}`
	}
	cases := []struct {
		name, desc, prefix, says string
	}{
		{"not JSON", `{"name":`, "p_", "invalid JSON"},
		{"bad tool name", tool("get time", obj), "p_", `tool "get time": a tool name must be`},
		{"empty tool name", tool("", obj), "p_", "tool #1"},
		{"name too long with prefix", tool(strings.Repeat("a", 120), obj), strings.Repeat("b", 10), "longer than 128"},
		{"duplicate", `{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"a","inputSchema":{"type":"object"}}]}`, "p_", "described twice"},
		{"no inputSchema", `{"name":"p","tools":[{"name":"a"}]}`, "p_", "has no inputSchema"},
		{"inputSchema not an object schema", tool("a", `{"type":"array"}`), "p_", `"type": "object"`},
		{"inputSchema not an object", tool("a", `"string"`), "p_", "not a JSON object"},
		{"inputSchema not a schema", tool("a", `{"type":"object","properties":{"x":{"type":"strang"}}}`), "p_", "not a valid JSON Schema"},
		{"external $ref", tool("a", `{"type":"object","properties":{"x":{"$ref":"file:///etc/passwd"}}}`), "p_", "self-contained"},
		{"version with a newline", `{"name":"p","version":"1.0\n2026-01-01 [ERROR] forged","tools":[]}`, "p_", `its version "1.0\n2026-01-01 [ERROR] forged" is not a version`},
		{"version too long", `{"name":"p","version":"` + strings.Repeat("9", 129) + `","tools":[]}`, "p_", "at most 128 characters"},
		{"description too long", `{"name":"p","description":"` + strings.Repeat("d", 8<<10+1) + `","tools":[]}`, "p_", "its description is 8193 bytes"},
		{"outputSchema not an object schema", `{"name":"p","tools":[{"name":"a","inputSchema":{"type":"object"},"outputSchema":{"type":"string"}}]}`, "p_", "outputSchema"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDescription("p", c.prefix, []byte(c.desc))
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v; want it to say %q", err, c.says)
			}
		})
	}
	_, tools, err := parseDescription("p", "p_", []byte(`{"name":"p","tools":[{"name":"a.b-c_d","inputSchema":{"type":"object","$defs":{"x":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/x"}}}}]}`))
	if err != nil || len(tools) != 1 || tools[0].Name != "p_a.b-c_d" {
		t.Fatalf("a good description: %v %v", tools, err)
	}
}

// loadDir loads the plugins of a folder with an optional configuration.
func loadDir(t testing.TB, dir, yaml string) (*Registry, []error) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	reg, errs := Load(context.Background(), cfg, engine, Options{})
	t.Cleanup(func() { reg.Close(context.Background()); engine.Close(context.Background()) })
	return reg, errs
}

func toolNames(reg *Registry) []string {
	var names []string
	for _, p := range reg.Plugins() {
		for _, t := range p.Tools {
			names = append(names, t.Name)
		}
	}
	return names
}

func TestConfigEntryConfiguresTheFileOfTheSameName(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	reg, errs := loadDir(t, dir, "plugins:\n  echo:\n    prefix: \"\"\n    limits: {instances: 2}\n")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(reg.Plugins()) != 1 {
		t.Fatalf("%d plugins loaded; the entry and the file are one plugin", len(reg.Plugins()))
	}
	if got := toolNames(reg); len(got) != 1 || got[0] != "echo" {
		t.Fatalf("tools %v; want echo, with the empty prefix", got)
	}
	if l := reg.Plugins()[0].Sandbox().Limits(); l.Instances != 2 {
		t.Fatalf("limits %+v; want the entry's", l)
	}
}

func TestTwoPluginsServingOneNameTheSecondIsRefused(t *testing.T) {
	dir := t.TempDir()
	echo := testplugin.WAT(t, "sandbox/testdata/echo.wat")
	testplugin.WriteTo(t, echo, dir, "echo")
	testplugin.WriteTo(t, echo, dir, "shout")
	os.WriteFile(filepath.Join(dir, "broken.wasm"), []byte("\x00asm junk"), 0o644)
	testplugin.WriteTo(t, echo, dir, "my echo")
	reg, errs := loadDir(t, dir, "plugins:\n  shout:\n    prefix: echo_\n")
	if got := toolNames(reg); len(got) != 1 || got[0] != "echo_echo" {
		t.Fatalf("tools %v", got)
	}
	var joined []string
	for _, err := range errs {
		joined = append(joined, err.Error())
	}
	msg := strings.Join(joined, "\n")
	for _, want := range []string{`plugin "shout"`, `plugin "echo" already serves`, "plugins.shout.prefix", `plugin "broken"`, `plugin "my echo"`, "rename the file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors do not say %q:\n%s", want, msg)
		}
	}
}

func TestCallChecksArgumentsAndOutput(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/faulty.wat"), dir, "faulty")
	reg, errs := loadDir(t, dir, "")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	echo, ok := reg.Tool("echo_echo")
	if !ok {
		t.Fatalf("no echo_echo among %v", toolNames(reg))
	}
	out, err := echo.Call(context.Background(), []byte(`{"text":"hi"}`), nil)
	if err != nil || !strings.Contains(string(out), `"hi"`) {
		t.Fatalf("echo: %s %v", out, err)
	}
	_, err = echo.Call(context.Background(), []byte(`{"text":7}`), nil)
	var argErr *ArgumentError
	if !errors.As(err, &argErr) || !strings.Contains(err.Error(), "text: got number, want string") {
		t.Fatalf("a number for text: %v", err)
	}

	bad, _ := reg.Tool("faulty_badjson")
	_, err = bad.Call(context.Background(), nil, nil)
	var outErr *OutputError
	if !errors.As(err, &outErr) || !strings.Contains(err.Error(), `plugin "faulty" returned a bad result for tool faulty_badjson`) {
		t.Fatalf("invalid JSON from the plugin: %v", err)
	}
}
