// Package scaffold writes new moat plugin projects, one per language, that
// build as they are: each carries a copy of its language's SDK (from package
// sdk), so its author needs only the moat binary and the language's
// toolchain. moat new is its command line.
//
//	err := scaffold.Write("./weather", "rust", "weather")
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"github.com/moat-mcp/moat/abi"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/moat-mcp/moat/sdk"
)

// templates holds each language's project, by language folder. Every file
// ends in .tmpl (so no template is taken for Go source or a nested module),
// is a text/template over Project, and is written without that suffix;
// gitignore.tmpl becomes .gitignore.
//
//go:embed templates
var templates embed.FS

// Project is what the templates see.
type Project struct {
	Name string // the plugin's name
}

// sdkFile is a file of package sdk's Files that a language's project
// carries, and where it goes in the project.
type sdkFile struct{ from, to string }

// Languages are the languages Write knows, in the order moat new lists them.
var Languages = []string{"go", "rust", "c", "assemblyscript"}

// BuildCommands are each language's one-line build command, run in the
// project's folder, and where it puts the module ("NAME" stands for the
// plugin's name).
var BuildCommands = map[string][2]string{
	"go":             {"GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .", "NAME.wasm"},
	"rust":           {"cargo build --release --target wasm32-wasip1", "target/wasm32-wasip1/release/NAME.wasm"},
	"c":              {"make", "NAME.wasm"},
	"assemblyscript": {"npm install && npm run build", "build/NAME.wasm"},
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ErrName is the error for a plugin name Write refuses.
var ErrName = errors.New("a plugin name is a lowercase letter followed by lowercase letters, digits or underscores ([a-z][a-z0-9_]*)")

// CheckName says whether name can name a plugin: [a-z][a-z0-9_]*, which is
// a valid tool prefix, Go module, Rust crate and npm package name alike.
// "moat" is refused too, as it is the SDK's own name in every language.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("plugin name %q: %w", name, ErrName)
	}
	if name == "moat" {
		return fmt.Errorf("plugin name %q is the SDK's own name: choose another", name)
	}
	return nil
}

// Write writes a project for a plugin called name, in language lang, to
// dir, which must not exist or be empty. It writes nothing on a bad name or
// language.
func Write(dir, lang, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if !slices.Contains(Languages, lang) {
		return fmt.Errorf("language %q: moat new knows %s", lang, strings.Join(Languages, ", "))
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s already exists and is not empty: choose another folder with --dir", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	files, err := render(lang, Project{Name: name})
	if err != nil {
		return err
	}
	for _, f := range sdkFiles(lang) {
		b, err := fs.ReadFile(sdk.Files, f.from)
		if err != nil {
			return err
		}
		files[f.to] = b
	}
	if lang == "go" {
		// The Go SDK imports the contract, package abi, which carries its
		// own source for this.
		names, _ := fs.Glob(abi.Source, "*.go")
		for _, n := range names {
			b, err := fs.ReadFile(abi.Source, n)
			if err != nil {
				return err
			}
			files["moat/abi/"+n] = b
		}
		files["moat/go.mod"] = []byte("module github.com/moat-mcp/moat\n\ngo 1.24\n")
	}
	for name, b := range files {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// render executes lang's templates, keyed by their path in the project.
func render(lang string, p Project) (map[string][]byte, error) {
	root := "templates/" + lang
	files := map[string][]byte{}
	err := fs.WalkDir(templates, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(templates, name)
		if err != nil {
			return err
		}
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, p); err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(name, root+"/"), ".tmpl")
		if path.Base(rel) == "gitignore" {
			rel = path.Join(path.Dir(rel), ".gitignore")
		}
		files[rel] = out.Bytes()
		return nil
	})
	return files, err
}

// sdkFiles lists the SDK files lang's project carries, under moat/.
func sdkFiles(lang string) []sdkFile {
	var globs []string
	var move func(string) string
	switch lang {
	case "go":
		globs = []string{"go/*.go"}
		move = func(p string) string { return "moat/sdk/" + p }
	case "c":
		globs = []string{"c/*"}
	case "rust":
		globs = []string{"rust/*", "rust/src/*"}
	case "assemblyscript":
		globs = []string{"assemblyscript/*", "assemblyscript/assembly/*"}
	}
	if move == nil {
		move = func(p string) string { return "moat/" + p[strings.Index(p, "/")+1:] }
	}
	var out []sdkFile
	for _, g := range globs {
		matches, _ := fs.Glob(sdk.Files, g)
		for _, m := range matches {
			if info, err := fs.Stat(sdk.Files, m); err != nil || info.IsDir() || strings.HasSuffix(m, "_test.go") {
				continue
			}
			out = append(out, sdkFile{from: m, to: move(m)})
		}
	}
	return out
}
