package sdk_test

import (
	"io/fs"
	"testing"

	"github.com/moat-mcp/moat/sdk"
)

// TestFilesHoldEverySDK checks the embedded sources every language's
// project needs are there.
func TestFilesHoldEverySDK(t *testing.T) {
	for _, path := range []string{
		"c/moat.h", "c/moat.c",
		"rust/Cargo.toml", "rust/src/lib.rs",
		"assemblyscript/package.json", "assemblyscript/assembly/index.ts", "assemblyscript/assembly/exports.ts",
		"go/plugin.go", "go/exports_wasip1.go",
	} {
		b, err := fs.ReadFile(sdk.Files, path)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", path, err, len(b))
		}
	}
}
