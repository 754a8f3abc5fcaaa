package observe_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moat-mcp/moat/host/observe"
)

// A flood of refusals must not crowd out the records that matter: with the
// writer stuck and the buffer small, thousands of refusals arrive, then a
// denied call and an ok call. Both calls are written, and the refusals
// come out as a few lines whose counts add up to the flood.
func TestAuditRefusalFloodKeepsCallsAndDenied(t *testing.T) {
	var buf bytes.Buffer
	w := &gatedWriter{w: &buf, release: make(chan struct{}), started: make(chan struct{})}
	a := observe.NewAudit(w, observe.AuditOptions{Buffer: 8})
	a.Record(observe.Record{Principal: "first", Outcome: "ok"}, nil)
	<-w.started // the writer is stuck; nothing more leaves the buffer

	const flood = 5000
	for i := range flood {
		outcome := []string{"unauthenticated", "rate_limited", "forbidden", "invalid_request"}[i%4]
		a.Record(observe.Record{Principal: "unknown", Transport: "http", Method: "tools/call", Tool: fmt.Sprintf("t%d", i%3),
			Outcome: outcome, Reason: "missing_token", Remote: fmt.Sprintf("10.0.0.1:%d", 1000+i)}, json.RawMessage(`{"i":1}`))
	}
	a.Record(observe.Record{Principal: "viewer", Transport: "http", Method: "tools/call", Tool: "echo_echo", Outcome: "denied"}, nil)
	a.Record(observe.Record{Principal: "ops", Transport: "http", Method: "tools/call", Tool: "echo_echo", Outcome: "ok"}, nil)
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0", a.Dropped())
	}
	var denied, ok, refusalLines int
	var refused float64
	for _, l := range lines(t, buf.Bytes()) {
		switch l["outcome"] {
		case "denied":
			denied++
		case "ok":
			ok++
		default:
			refusalLines++
			n := 1.0
			if c, has := l["count"].(float64); has {
				n = c
			}
			refused += n
		}
	}
	if denied != 1 || ok != 2 {
		t.Fatalf("denied %d and ok %d lines, want 1 and 2:\n%s", denied, ok, buf.Bytes())
	}
	if refused != flood || refusalLines > 12 {
		t.Fatalf("%d refusals written as %d lines counting %v; want a line per kind counting %d in all", flood, refusalLines, refused, flood)
	}
}

// Refusals of one kind within the window are one line; a line is written
// within the window, without waiting for Close.
func TestAuditRefusalsAreAggregatedWithinTheWindow(t *testing.T) {
	var buf syncBuffer
	a := observe.NewAudit(&buf, observe.AuditOptions{RefusalWindow: 50 * time.Millisecond})
	defer a.Close()
	for range 3 {
		a.Record(observe.Record{Principal: "unknown", Transport: "http", Outcome: "unauthenticated", Reason: "bad_token", Remote: "192.0.2.7:4000"}, nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Contains(buf.Bytes(), []byte(`"count":3`)) {
		if time.Now().After(deadline) {
			t.Fatalf("no aggregated line within 10s: %q", buf.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	l := lines(t, buf.Bytes())
	if len(l) != 1 || l[0]["remote"] != "192.0.2.7" || l[0]["reason"] != "bad_token" {
		t.Fatalf("lines: %v", l)
	}
}

// Arguments a client sent as invalid UTF-8 are written so that the line
// is valid UTF-8 JSON that any strict parser reads.
func TestAuditArgumentsWithInvalidUTF8StayValidJSON(t *testing.T) {
	for _, args := range []string{
		"{\"text\":\"a\xffb\xc3\"}",
		"{\"k\xfe\":[\"\xed\xa0\x80\"]}", // an encoded surrogate, invalid in UTF-8
		"{\"text\":\"\xff",               // not JSON at all
	} {
		var buf bytes.Buffer
		a := observe.NewAudit(&buf, observe.AuditOptions{IncludeArguments: true})
		a.Record(observe.Record{Principal: "p", Outcome: "ok"}, json.RawMessage(args))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSpace(buf.Bytes())
		if !utf8.Valid(line) || !json.Valid(line) {
			t.Fatalf("arguments %q gave a line that is not valid UTF-8 JSON: %q", args, line)
		}
		var rec struct{ Arguments json.RawMessage }
		if err := json.Unmarshal(line, &rec); err != nil || len(rec.Arguments) == 0 {
			t.Fatalf("arguments %q: line %q: %v", args, line, err)
		}
	}
}

// syncBuffer is a bytes.Buffer the test may read while the writer writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
