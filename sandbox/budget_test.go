package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// A plugin that calls moat.log in a loop until its deadline reaches the
// host's log with at most 256 KiB of it per call, and one note saying the
// rest was dropped.
func TestLogFloodIsCappedPerCall(t *testing.T) {
	h := &recordingHost{}
	p := load(t, newEngine(t), sandbox.Spec{
		Name: "hostile", Wasm: testplugin.WAT(t, "host/testdata/chaos/hostile.wat"), Host: h,
		Limits: sandbox.Limits{Timeout: 300 * time.Millisecond},
	})
	for range 2 {
		if _, err := p.Call(context.Background(), toolCall("logflood", `{}`)); err == nil {
			t.Fatal("logflood ended without its deadline")
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	logged := 0
	for _, l := range h.logs {
		logged += len(l)
	}
	notes := 0
	for _, l := range h.lines {
		if strings.Contains(l, "further messages in this call are dropped") {
			notes++
		}
	}
	if logged > 2*(256<<10+16<<10+64) {
		t.Errorf("two flooding calls logged %d bytes; want at most 256 KiB (plus one message) each", logged)
	}
	if notes != 2 {
		t.Errorf("%d notes of dropped messages; want one per call", notes)
	}
}
