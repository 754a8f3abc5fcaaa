package plugin

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/observe"
)

// Text a plugin chose is scrubbed before it is cut, so that a secret across
// the cut does not leave its first bytes showing; it is bounded and quoted,
// so it cannot add a line to a log.
func TestQuoteScrubsBeforeItCuts(t *testing.T) {
	const secret = "s3cret-Value-77"
	secrets := observe.NewSecrets()
	secrets.Add(secret)
	p := &Plugin{spec: Spec{Secrets: secrets}}
	for _, at := range []int{0, maxQuoted - 8, maxQuoted - 1, maxQuoted} {
		text := strings.Repeat("a", at) + secret + "\n[ERROR] forged"
		got := p.quote(text)
		if strings.Contains(got, secret[:4]) {
			t.Errorf("secret at byte %d: %s shows part of it", at, got)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("secret at byte %d: %q holds a raw newline", at, got)
		}
		unquoted, err := strconv.Unquote(got)
		if err != nil || len(unquoted) > maxQuoted+len("…") {
			t.Errorf("secret at byte %d: %q is not one quoted string of at most %d bytes (%v)", at, got, maxQuoted, err)
		}
	}
	if got := p.quote("short"); got != `"short"` {
		t.Errorf("short text: %s; want it quoted as it is", got)
	}
	if got := clip("ééé", 3); got != "é…" {
		t.Errorf("clip cut inside a character: %q", got)
	}
}
