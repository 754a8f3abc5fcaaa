package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A hostile client, end to end: raw HTTP against the built binary, with
// the bodies and request patterns a client without an SDK can send.

// hostile is a moat started with a configuration of the test's own.
type hostile struct {
	srv   *server
	dir   string
	audit string
}

// startHostile runs moat with the time and echo plugins and the given YAML
// after plugins_dir and the audit path.
func startHostile(t *testing.T, yaml string) *hostile {
	t.Helper()
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	watPlugin(t, "echo", dir, "echo")
	audit := filepath.Join(dir, "audit.log")
	writeFile(t, filepath.Join(dir, "moat.yaml"), "plugins_dir: .\naudit: {path: audit.log, include_arguments: true}\n"+yaml)
	return &hostile{srv: startHTTP(t, "--config", filepath.Join(dir, "moat.yaml")), dir: dir, audit: audit}
}

// reply is what moat answered to one raw request.
type reply struct {
	status int
	header http.Header
	body   string
}

// ran reports whether the reply carries a JSON-RPC result: the request ran.
func (r reply) ran() bool { return r.status == http.StatusOK && strings.Contains(r.body, `"result"`) }

// send makes one raw request, with the session and headers of a
// 2025-11-25 client.
func (h *hostile) send(t *testing.T, method, session string, body []byte, header ...string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

const initBody = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}`

// session opens a 2025-11-25 session by hand and returns its id.
func (h *hostile) session(t *testing.T, header ...string) string {
	t.Helper()
	r := h.send(t, http.MethodPost, "", []byte(initBody), header...)
	id := r.header.Get("Mcp-Session-Id")
	if r.status != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d %s", r.status, r.body)
	}
	if r := h.send(t, http.MethodPost, id, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), header...); r.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", r.status, r.body)
	}
	return id
}

// auditLines waits until the audit file's lines satisfy until, and
// returns them, each checked to be strict JSON.
func (h *hostile) auditLines(t *testing.T, until func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(h.audit)
		var lines []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var rec map[string]any
			if err := strictJSON(sc.Bytes(), &rec); err != nil {
				t.Fatalf("audit line is not strict JSON (%v): %q", err, sc.Text())
			}
			lines = append(lines, rec)
		}
		if until(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log did not show what was awaited within 30s; it holds %d lines:\n%s", len(lines), data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// strictJSON decodes one JSON document and refuses what a strict parser
// refuses and encoding/json lets through: invalid UTF-8.
func strictJSON(line []byte, v any) error {
	if !json.Valid(line) {
		return fmt.Errorf("not JSON")
	}
	if !utf8.Valid(line) {
		return fmt.Errorf("invalid UTF-8")
	}
	return json.Unmarshal(line, v)
}

func callBody(id int, extra string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}%s}}`, id, extra)
}

// Two readers of one body must not disagree: a body the rate limiter
// would read differently from the MCP layer is refused before either, so
// no extra key, case variant or wrong type can make a call skip a limit.
func TestHostileBodiesCannotSkipRateLimits(t *testing.T) {
	// Bodies that encoding/json and the SDK read differently: a case
	// variant of a key it matches case-insensitively, a member of the wrong
	// type that makes it give up, a duplicate key.
	variants := []struct {
		name string
		body func(id int) []byte
	}{
		{"case-variant Method", func(id int) []byte {
			return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}},"Method":"ping"}`, id)
		}},
		{"case-variant NAME of the wrong type", func(id int) []byte { return callBody(id, `,"NAME":7`) }},
		{"case-variant Params", func(id int) []byte {
			return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}},"Params":{"name":"echo_echo"}}`, id)
		}},
		{"duplicate method", func(id int) []byte {
			return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"ping","method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}}}`, id)
		}},
		{"wrong-type Method", func(id int) []byte {
			return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}},"Method":1}`, id)
		}},
	}
	limits := []struct {
		name, yaml string
		burst      int // calls a session may make after its handshake
	}{
		{"per_tool", "rate_limits:\n  per_tool: {rate: \"1/h\", burst: 2}\n", 2},
		// The handshake (initialize, notifications/initialized) spends two.
		{"global", "rate_limits:\n  global: {rate: \"1/h\", burst: 4}\n", 2},
	}
	for _, l := range limits {
		t.Run(l.name, func(t *testing.T) {
			h := startHostile(t, l.yaml)
			session := h.session(t)
			id := 1
			for _, v := range variants {
				for range l.burst + 1 {
					id++
					r := h.send(t, http.MethodPost, session, v.body(id))
					if r.ran() {
						t.Fatalf("%s: a hostile body ran under the %s limit (status %d): %s", v.name, l.name, r.status, r.body)
					}
					if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":-326`) {
						t.Fatalf("%s: %d %s; want 400 with a JSON-RPC error", v.name, r.status, r.body)
					}
				}
			}
			// The limit still holds for honest calls: the burst, then 429.
			for i := range l.burst {
				id++
				if r := h.send(t, http.MethodPost, session, callBody(id, "")); !r.ran() {
					t.Fatalf("honest call %d within the burst: %d %s", i+1, r.status, r.body)
				}
			}
			id++
			if r := h.send(t, http.MethodPost, session, callBody(id, "")); r.status != http.StatusTooManyRequests {
				t.Fatalf("honest call past the burst: %d %s", r.status, r.body)
			}
		})
	}
}

// One unauthenticated request carrying a batch of 250,000 messages is
// refused whole, as one audit record; a flood of refusals after it does not
// crowd out the denied call that follows.
func TestRefusalFloodKeepsDeniedRecords(t *testing.T) {
	h := startHostile(t, fmt.Sprintf(`
http: {max_body: 16MiB}
auth:
  api_keys:
    - {name: viewer, sha256: %s, roles: [viewer]}
roles:
  viewer: {allow: ["time_*"]}
`, digest(viewerKey)))
	batch := []byte("[" + strings.Repeat(`{"jsonrpc":"2.0","method":"ping"},`, 250000))
	batch[len(batch)-1] = ']'
	r := h.send(t, http.MethodPost, "", batch)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":-32600`) || !strings.Contains(r.body, "batch") {
		t.Fatalf("a batch: %d %s; want 400 with a JSON-RPC error naming batches", r.status, r.body)
	}
	const flood = 300
	for i := range flood {
		if r := h.send(t, http.MethodPost, "", callBody(i, "")); r.status != http.StatusUnauthorized {
			t.Fatalf("no token: %d %s", r.status, r.body)
		}
	}
	auth := []string{"Authorization", "Bearer " + viewerKey}
	session := h.session(t, auth...)
	denied := []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"x"}}}`)
	if r := h.send(t, http.MethodPost, session, denied, auth...); strings.Contains(r.body, `"result"`) {
		t.Fatalf("a call the role does not allow ran: %s", r.body)
	}
	// Refusals are written once a second: wait until the flood is all
	// counted, then look at what the file holds.
	var counts map[string]float64
	var kinds map[string]int
	h.auditLines(t, func(lines []map[string]any) bool {
		counts, kinds = map[string]float64{}, map[string]int{}
		for _, rec := range lines {
			outcome, _ := rec["outcome"].(string)
			if outcome == "denied" && (rec["tool"] != "echo_echo" || rec["principal"] != "key:viewer") {
				continue
			}
			n, ok := rec["count"].(float64)
			if !ok {
				n = 1
			}
			counts[outcome] += n
			kinds[outcome]++
		}
		return counts["denied"] == 1 && counts["unauthenticated"] >= flood && counts["invalid_request"] >= 1
	})
	if counts["invalid_request"] != 1 {
		t.Errorf("the batch is %v audit records, want 1", counts["invalid_request"])
	}
	if counts["unauthenticated"] != flood || kinds["unauthenticated"] > flood/10 {
		t.Errorf("%d refusals are %d lines counting %v; want a few lines counting %d", flood, kinds["unauthenticated"], counts["unauthenticated"], flood)
	}
}

// capsConfig serves two API-key principals, ops and viewer, under caps of
// the test's choosing.
func capsConfig(http string) string {
	return fmt.Sprintf(`
http: %s
auth:
  api_keys:
    - {name: ops, sha256: %s, roles: [ops]}
    - {name: viewer, sha256: %s, roles: [ops]}
roles:
  ops: {allow: ["*"]}
`, http, digest(opsKey), digest(viewerKey))
}

// openStream starts a session's GET event stream and returns its status,
// leaving the stream open until the test ends when it was admitted.
func (h *hostile) openStream(t *testing.T, session, key string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode, "", resp.Header
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Event streams held open cannot lock other clients out: past a
// principal's share a new stream gets 429, past the total 503, each naming
// the key, and requests still have connections to use.
func TestHeldStreamsCannotLockOthersOut(t *testing.T) {
	h := startHostile(t, capsConfig("{max_connections: 8, max_streams: 3, max_streams_per_principal: 2}"))
	ops := []string{"Authorization", "Bearer " + opsKey}
	viewer := []string{"Authorization", "Bearer " + viewerKey}
	for i := range 2 {
		if code, body, _ := h.openStream(t, h.session(t, ops...), opsKey); code != http.StatusOK {
			t.Fatalf("ops stream %d: %d %s", i+1, code, body)
		}
	}
	code, body, hdr := h.openStream(t, h.session(t, ops...), opsKey)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(body, "http.max_streams_per_principal") {
		t.Fatalf("ops's third stream: %d (Retry-After %q) %s; want 429 naming http.max_streams_per_principal", code, hdr.Get("Retry-After"), body)
	}
	if code, body, _ := h.openStream(t, h.session(t, viewer...), viewerKey); code != http.StatusOK {
		t.Fatalf("viewer's first stream: %d %s", code, body)
	}
	code, body, hdr = h.openStream(t, h.session(t, viewer...), viewerKey)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "http.max_streams") {
		t.Fatalf("a stream past the total: %d (Retry-After %q) %s; want 503 naming http.max_streams", code, hdr.Get("Retry-After"), body)
	}
	// Three streams hold three of eight connections: calls still get through.
	for i := range 3 {
		session := h.session(t, viewer...)
		if r := h.send(t, http.MethodPost, session, callBody(i+1, ""), viewer...); !r.ran() {
			t.Fatalf("a call with the streams held: %d %s", r.status, r.body)
		}
	}
}

// Sessions are capped per principal and in total, counted in metrics, and
// a session ended by DELETE gives its place back.
func TestSessionsAreCapped(t *testing.T) {
	h := startHostile(t, capsConfig("{max_sessions: 4, max_sessions_per_principal: 3}"))
	ops := []string{"Authorization", "Bearer " + opsKey}
	viewer := []string{"Authorization", "Bearer " + viewerKey}
	var opsSessions []string
	for range 3 {
		opsSessions = append(opsSessions, h.session(t, ops...))
	}
	r := h.send(t, http.MethodPost, "", []byte(initBody), ops...)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "http.max_sessions_per_principal") || !strings.Contains(r.body, `"jsonrpc"`) {
		t.Fatalf("ops's fourth session: %d (Retry-After %q) %s; want 429 naming http.max_sessions_per_principal", r.status, r.header.Get("Retry-After"), r.body)
	}
	h.session(t, viewer...)
	r = h.send(t, http.MethodPost, "", []byte(initBody), viewer...)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "http.max_sessions") {
		t.Fatalf("a session past the total: %d (Retry-After %q) %s; want 503 naming http.max_sessions", r.status, r.header.Get("Retry-After"), r.body)
	}
	admin := adminURL(t, h.srv.log)
	if _, metrics := get(t, admin+"/metrics"); metricValue(t, metrics, `moat_http_open{kind="sessions"}`) != 4 {
		t.Fatalf("moat_http_open{kind=\"sessions\"} is not 4:\n%s", metrics)
	}
	if r := h.send(t, http.MethodDelete, opsSessions[0], nil, ops...); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.send(t, http.MethodPost, "", []byte(initBody), ops...)
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a DELETE, a new session is still refused: %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Arguments that are not UTF-8 reach the audit log, with
// include_arguments, as a line every strict JSON parser reads.
func TestAuditLinesStayValidJSON(t *testing.T) {
	h := startHostile(t, "")
	session := h.session(t)
	body := []byte("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo_echo\",\"arguments\":{\"text\":\"caf\xe9 \xff\xfe end\"}}}")
	if r := h.send(t, http.MethodPost, session, body); r.status != http.StatusOK {
		t.Fatalf("a call with arguments that are not UTF-8: %d %s", r.status, r.body)
	}
	// auditLines checks each line with a strict parser as it reads it.
	lines := h.auditLines(t, func(lines []map[string]any) bool {
		for _, rec := range lines {
			if rec["tool"] == "echo_echo" && rec["arguments"] != nil {
				return true
			}
		}
		return false
	})
	for _, rec := range lines {
		if rec["tool"] == "echo_echo" {
			if text, _ := rec["arguments"].(map[string]any)["text"].(string); !strings.HasSuffix(text, " end") || !strings.Contains(text, "\uFFFD") {
				t.Fatalf("arguments written as %v", rec["arguments"])
			}
		}
	}
}
