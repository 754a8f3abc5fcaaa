package scaffold_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/sdk/scaffold"
)

// TestWriteCarriesTheSDK checks each language's project: the files its
// build needs, the SDK copy under moat/, and no template text left over.
// cmd/moat's TestNewBuildsInEveryLanguage builds them.
func TestWriteCarriesTheSDK(t *testing.T) {
	want := map[string][]string{
		"go":             {"go.mod", "main.go", "moat/go.mod", "moat/sdk/go/plugin.go", "moat/abi/abi.go"},
		"c":              {"Makefile", "plugin.c", "moat/moat.h", "moat/moat.c"},
		"rust":           {"Cargo.toml", "src/lib.rs", "moat/Cargo.toml", "moat/src/lib.rs"},
		"assemblyscript": {"package.json", "assembly/index.ts", "moat/package.json", "moat/assembly/exports.ts"},
	}
	for _, lang := range scaffold.Languages {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "weather")
			if err := scaffold.Write(dir, lang, "weather"); err != nil {
				t.Fatal(err)
			}
			for _, f := range append(want[lang], "README.md", ".gitignore") {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
			readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			build := strings.ReplaceAll(scaffold.BuildCommands[lang][0], "NAME", "weather")
			if !strings.Contains(string(readme), build) || !strings.Contains(string(readme), "moat call") {
				t.Errorf("README.md lacks the build command %q or moat call:\n%s", build, readme)
			}
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if strings.HasSuffix(path, "_test.go") {
					t.Errorf("%s: the SDK's tests were copied", path)
				}
				b, err := os.ReadFile(path)
				if strings.Contains(string(b), "{{.Name}}") {
					t.Errorf("%s: template text left", path)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a", "weather", "my_tool2"} {
		if err := scaffold.CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "Weather", "2fa", "my-tool", "_x", "wé"} {
		if err := scaffold.CheckName(name); !errors.Is(err, scaffold.ErrName) {
			t.Errorf("CheckName(%q) = %v, want ErrName", name, err)
		}
	}
	if err := scaffold.CheckName("moat"); err == nil {
		t.Error(`CheckName("moat") = nil, want an error`)
	}
}
