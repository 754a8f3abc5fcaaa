package observe_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/observe"
)

// lines decodes every JSON line in b, failing on a line that is not one
// object.
func lines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestAuditLineShape(t *testing.T) {
	var buf bytes.Buffer
	a := observe.NewAudit(&buf, observe.AuditOptions{IncludeArguments: true})
	tokyo := time.FixedZone("JST", 9*3600)
	args := json.RawMessage("{\"timezone\": \"Asia/Tokyo\",\n \"q\": \"<&>\"}")
	a.Record(observe.Record{
		Time:       time.Date(2026, 3, 4, 14, 5, 6, 789_654_321, tokyo),
		Principal:  "alice",
		Transport:  "http",
		Method:     "tools/call",
		Tool:       "time_get_current_time",
		Plugin:     "time",
		Outcome:    "fault:timeout",
		Reason:     "plugin time ran past its 5s deadline",
		DurationMS: 5000.1234567,
		ArgsSHA256: "set by the caller, replaced",
		Remote:     "127.0.0.1:51234",
	}, args)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Fatalf("wrote %d lines, want 1 (arguments with a newline must not split it):\n%s", n, buf.Bytes())
	}
	got := lines(t, buf.Bytes())[0]
	sum := sha256.Sum256(args)
	want := map[string]any{
		"time":        "2026-03-04T05:05:06.789Z",
		"principal":   "alice",
		"transport":   "http",
		"method":      "tools/call",
		"tool":        "time_get_current_time",
		"plugin":      "time",
		"outcome":     "fault:timeout",
		"reason":      "plugin time ran past its 5s deadline",
		"duration_ms": 5000.123,
		"args_sha256": hex.EncodeToString(sum[:]),
		"arguments":   map[string]any{"timezone": "Asia/Tokyo", "q": "<&>"},
		"remote":      "127.0.0.1:51234",
	}
	if len(got) != len(want) {
		t.Errorf("line has %d fields, want %d: %s", len(got), len(want), buf.Bytes())
	}
	for k, w := range want {
		g, _ := json.Marshal(got[k])
		wj, _ := json.Marshal(w)
		if !bytes.Equal(g, wj) {
			t.Errorf("%s = %s, want %s", k, g, wj)
		}
	}
	if !strings.HasPrefix(buf.String(), `{"time":`) {
		t.Errorf("time is not the first field: %s", buf.Bytes())
	}
}

func TestAuditOmitsEmptyFieldsAndFillsTime(t *testing.T) {
	var buf bytes.Buffer
	a := observe.NewAudit(&buf, observe.AuditOptions{IncludeArguments: true})
	before := time.Now().UTC().Truncate(time.Millisecond)
	a.Record(observe.Record{Principal: "anonymous", Transport: "http", Method: "tools/call", Outcome: "unauthenticated", Reason: "missing_token"}, nil)
	a.Close()
	got := lines(t, buf.Bytes())[0]
	for _, k := range []string{"tool", "plugin", "args_sha256", "arguments", "remote"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v, want it left out", k, v)
		}
	}
	if got["duration_ms"] != 0.0 {
		t.Errorf("duration_ms = %v, want 0 (always present)", got["duration_ms"])
	}
	ts, _ := got["time"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
		t.Fatalf("time %q is not RFC 3339 UTC with milliseconds", ts)
	}
	if at, _ := time.Parse(time.RFC3339, ts); at.Before(before) {
		t.Errorf("time %s is before the call (%s): a zero Time must become now", ts, before)
	}
}

func TestAuditArgumentsDigestAndInclusion(t *testing.T) {
	args := json.RawMessage(`{"city":"Paris","n":3}`)
	cases := []struct {
		name    string
		include bool
		args    json.RawMessage
		want    string // the arguments field as written; "" for absent
	}{
		{"off", false, args, ""},
		{"on", true, args, `{"city":"Paris","n":3}`},
		{"on, malformed arguments kept as a string", true, json.RawMessage(`{"city":`), `"{\"city\":"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := observe.NewAudit(&buf, observe.AuditOptions{IncludeArguments: c.include})
			a.Record(observe.Record{Outcome: "ok"}, c.args)
			a.Close()
			var line struct {
				ArgsSHA256 string          `json:"args_sha256"`
				Arguments  json.RawMessage `json:"arguments"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("line %q: %v", buf.Bytes(), err)
			}
			sum := sha256.Sum256(c.args)
			if want := hex.EncodeToString(sum[:]); line.ArgsSHA256 != want {
				t.Errorf("args_sha256 = %q, want %q", line.ArgsSHA256, want)
			}
			if string(line.Arguments) != c.want {
				t.Errorf("arguments = %s, want %q", line.Arguments, c.want)
			}
		})
	}
}

func TestAuditArgumentsAreCopied(t *testing.T) {
	var buf bytes.Buffer
	release := make(chan struct{})
	a := observe.NewAudit(&gatedWriter{w: &buf, release: release}, observe.AuditOptions{IncludeArguments: true})
	args := []byte(`{"k":"before"}`)
	a.Record(observe.Record{Outcome: "ok"}, args)
	copy(args, `{"k":"AFTER!"}`) // the caller reuses its buffer
	close(release)
	a.Close()
	if !strings.Contains(buf.String(), `"arguments":{"k":"before"}`) {
		t.Errorf("the line shows the caller's later bytes: %s", buf.Bytes())
	}
}

func TestAuditScrubsReasonAndArguments(t *testing.T) {
	var buf bytes.Buffer
	a := observe.NewAudit(&buf, observe.AuditOptions{IncludeArguments: true})
	s := observe.NewSecrets()
	s.Add("sk-live-123", `pa"ss`)
	a.SetScrubber(s)
	args := json.RawMessage(`{"auth":"Bearer sk-live-123","pw":"pa\"ss"}`)
	a.Record(observe.Record{Outcome: "tool_error", Reason: "upstream refused key sk-live-123"}, args)
	a.Close()
	if strings.Contains(buf.String(), "sk-live") || strings.Contains(buf.String(), `pa\"ss`) {
		t.Fatalf("a secret reached the audit log: %s", buf.Bytes())
	}
	got := lines(t, buf.Bytes())[0]
	if got["reason"] != "upstream refused key [redacted]" {
		t.Errorf("reason = %v", got["reason"])
	}
	want := map[string]any{"auth": "Bearer [redacted]", "pw": "[redacted]"}
	if g, w := mustJSON(got["arguments"]), mustJSON(want); g != w {
		t.Errorf("arguments = %s, want %s", g, w)
	}
	sum := sha256.Sum256(args)
	if got["args_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("args_sha256 must digest the arguments as received, before scrubbing")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestOpenAuditFileIsPrivateAndAppended(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for i, principal := range []string{"first", "second"} {
		a, err := observe.OpenAudit(path, observe.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Record(observe.Record{Principal: principal, Outcome: "ok"}, nil)
		if err := a.Close(); err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("audit file mode = %v, want 0600: it may name who called what", perm)
	}
	b, _ := os.ReadFile(path)
	got := lines(t, b)
	if len(got) != 2 || got[0]["principal"] != "first" || got[1]["principal"] != "second" {
		t.Errorf("file holds %s, want the first open's line then the second's", b)
	}
}

func TestOpenAuditErrorsNameTheKeyAndFix(t *testing.T) {
	cases := map[string][]string{
		filepath.Join(t.TempDir(), "missing", "audit.log"): {"audit.path", "directory exists"},
		"":       {"audit.path", "stderr"},
		"stdout": {"audit.path", "stderr"},
	}
	for path, wants := range cases {
		a, err := observe.OpenAudit(path, observe.AuditOptions{})
		if err == nil {
			a.Close()
			t.Errorf("OpenAudit(%q) succeeded, want an error", path)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("OpenAudit(%q) = %q, does not say %q", path, err, w)
			}
		}
	}
}

func TestOpenAuditStderrIsLeftOpen(t *testing.T) {
	a, err := observe.OpenAudit("stderr", observe.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stderr.Stat(); err != nil {
		t.Errorf("Close closed the process's stderr: %v", err)
	}
}

// gatedWriter blocks every Write until release is closed, and reports the
// first Write on started.
type gatedWriter struct {
	w       *bytes.Buffer
	release chan struct{}
	started chan struct{}
	once    sync.Once
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if g.started != nil {
		g.once.Do(func() { close(g.started) })
	}
	<-g.release
	return g.w.Write(p)
}

func TestAuditFullBufferDropsAndCounts(t *testing.T) {
	var buf bytes.Buffer
	w := &gatedWriter{w: &buf, release: make(chan struct{}), started: make(chan struct{})}
	a := observe.NewAudit(w, observe.AuditOptions{Buffer: 2})
	a.Record(observe.Record{Principal: "p0", Outcome: "ok"}, nil)
	<-w.started // the writer holds p0 and is stuck in Write; the buffer is empty

	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for i := 1; i <= 5; i++ { // two fit the buffer, three do not
			a.Record(observe.Record{Outcome: "ok"}, nil)
		}
	}()
	select {
	case <-recorded:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked on a full buffer instead of dropping")
	}
	if got := a.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d, want 3", got)
	}
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(lines(t, buf.Bytes())); got != 3 {
		t.Errorf("wrote %d lines, want 3 (the one in flight and the two queued)", got)
	}
	a.Record(observe.Record{Outcome: "ok"}, nil)
	if got := a.Dropped(); got != 4 {
		t.Errorf("after Close, Dropped() = %d, want 4: a record after Close is dropped", got)
	}
}

func TestAuditCloseFlushesEverythingQueued(t *testing.T) {
	var buf bytes.Buffer
	release := make(chan struct{})
	a := observe.NewAudit(&gatedWriter{w: &buf, release: release}, observe.AuditOptions{Buffer: 1000})
	for range 500 {
		a.Record(observe.Record{Outcome: "ok"}, nil)
	}
	close(release) // the writer may only start now: all 500 are queued when Close starts
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(lines(t, buf.Bytes())); got != 500 || a.Dropped() != 0 {
		t.Errorf("after Close: %d lines and %d dropped, want 500 and 0", got, a.Dropped())
	}
	if err := a.Close(); err != nil {
		t.Errorf("a second Close = %v, want nil", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestAuditCloseReportsFailedWrites(t *testing.T) {
	a := observe.NewAudit(failingWriter{}, observe.AuditOptions{})
	a.Record(observe.Record{Outcome: "ok"}, nil)
	a.Record(observe.Record{Outcome: "ok"}, nil)
	err := a.Close()
	if err == nil || !strings.Contains(err.Error(), "file already closed") {
		t.Errorf("Close = %v, want the write error", err)
	}
	if a.Dropped() != 2 {
		t.Errorf("Dropped() = %d, want 2: failed writes lose records", a.Dropped())
	}
}

func TestNilAuditIsANoOp(t *testing.T) {
	var a *observe.Audit
	a.SetScrubber(observe.NewSecrets())
	a.Record(observe.Record{Outcome: "ok"}, json.RawMessage(`{}`))
	if a.Dropped() != 0 {
		t.Error("nil Audit counts drops")
	}
	if err := a.Close(); err != nil {
		t.Errorf("nil Close = %v", err)
	}
}

func TestAuditConcurrentRecordAndClose(t *testing.T) {
	var buf bytes.Buffer
	a := observe.NewAudit(&buf, observe.AuditOptions{Buffer: 64, IncludeArguments: true})
	s := observe.NewSecrets()
	s.Add("topsecret")
	a.SetScrubber(s)
	var wg sync.WaitGroup
	const workers, each = 8, 200
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if w == 0 && i == each/2 {
					a.Close() // Records racing with Close must not panic
				}
				a.Record(observe.Record{Outcome: "ok", Reason: "topsecret"}, json.RawMessage(`{"x":"topsecret"}`))
			}
		})
	}
	wg.Wait()
	a.Close()
	got := lines(t, buf.Bytes())
	if uint64(len(got))+a.Dropped() != workers*each {
		t.Errorf("%d written + %d dropped != %d recorded", len(got), a.Dropped(), workers*each)
	}
	if strings.Contains(buf.String(), "topsecret") {
		t.Error("a secret reached the audit log")
	}
}
