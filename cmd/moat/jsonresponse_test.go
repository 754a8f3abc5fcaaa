package main_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Under 2026-07-28 a request whose answer nothing can precede (no progress
// asked for) is answered as one application/json body; one that asks for
// progress keeps its event stream, which carries the notifications.
func TestSessionlessCallsAnswerAsJSONUnlessTheyStream(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	srv := startHTTP(t, "--plugins", dir)
	call := func(meta string) (string, string) {
		t.Helper()
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}` + meta + `}}}`
		req, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "time_get_current_time")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), string(b)
	}
	if ct, body := call(""); !strings.HasPrefix(ct, "application/json") || !strings.Contains(body, `"timezone\":\"UTC\"`) {
		t.Errorf("a call without progress: %s %s; want application/json with the result", ct, body)
	}
	if ct, body := call(`,"progressToken":7`); !strings.HasPrefix(ct, "text/event-stream") || !strings.Contains(body, `"timezone\":\"UTC\"`) {
		t.Errorf("a call asking for progress: %s %s; want an event stream with the result", ct, body)
	}
}
