package plugin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// BenchmarkToolCall measures what the host adds around one tools/call of a
// plugin that does almost nothing (echo.wat): checking the arguments,
// building the request, the sandbox call and checking the result. Its
// allocations are the host's per-call garbage.
func BenchmarkToolCall(b *testing.B) {
	dir := b.TempDir()
	testplugin.WriteTo(b, testplugin.WAT(b, "sandbox/testdata/echo.wat"), dir, "echo")
	reg, errs := loadDir(b, dir, "")
	if len(errs) != 0 {
		b.Fatal(errs)
	}
	echo, ok := reg.Tool("echo_echo")
	if !ok {
		b.Fatal("no echo_echo tool")
	}
	args := json.RawMessage(`{"text":"hello, moat"}`)
	for _, bc := range []struct {
		name string
		meta map[string]any
	}{
		{"plain", nil},
		{"progress", map[string]any{"progressToken": "tok-1"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, res, err := echo.CallResult(ctx, args, bc.meta)
				if err != nil || res == nil || res.IsError {
					b.Fatalf("call: %v %+v", err, res)
				}
			}
		})
	}
}
