package sdk_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/sdk"
)

// TestABICopy checks that sdk/_abi, the copy of package abi that Go plugin
// projects get, holds exactly abi's non-test sources. To refresh it:
// cp abi/abi.go abi/doc.go abi/errno.go abi/json.go sdk/_abi/
func TestABICopy(t *testing.T) {
	originals, err := filepath.Glob(filepath.Join("..", "abi", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, path := range originals {
		if !strings.HasSuffix(path, "_test.go") {
			want = append(want, filepath.Base(path))
		}
	}
	copies, err := fs.Glob(sdk.Files, "_abi/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, path := range copies {
		got = append(got, filepath.Base(path))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("sdk/_abi holds %v, abi holds %v: cp abi/{%s} sdk/_abi/", got, want, strings.Join(want, ","))
	}
	for _, name := range want {
		orig, err := os.ReadFile(filepath.Join("..", "abi", name))
		if err != nil {
			t.Fatal(err)
		}
		cp, err := fs.ReadFile(sdk.Files, "_abi/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(orig, cp) {
			t.Errorf("sdk/_abi/%s differs from abi/%s: cp abi/%s sdk/_abi/", name, name, name)
		}
	}
}

// TestFilesHoldEverySDK checks the embedded sources every language's
// project needs are there.
func TestFilesHoldEverySDK(t *testing.T) {
	for _, path := range []string{
		"c/moat.h", "c/moat.c",
		"rust/Cargo.toml", "rust/src/lib.rs",
		"assemblyscript/package.json", "assemblyscript/assembly/index.ts", "assemblyscript/assembly/exports.ts",
		"go/plugin.go", "go/exports_wasip1.go", "_abi/abi.go",
	} {
		b, err := fs.ReadFile(sdk.Files, path)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", path, err, len(b))
		}
	}
}
