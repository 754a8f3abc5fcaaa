package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A session that one caller opened cannot be used by another, even one
// with valid credentials who learned its Mcp-Session-Id: Middleware hands
// the go-sdk the principal as the session's user.
func TestSessionBelongsToTheCallerWhoOpenedIt(t *testing.T) {
	alice, aliceDigest, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	mallory, malloryDigest, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(context.Background(), auth.Config{
		APIKeys: []auth.APIKey{
			{Name: "alice", SHA256: aliceDigest, Roles: []string{"reader"}},
			{Name: "mallory", SHA256: malloryDigest, Roles: []string{"reader"}},
		},
		Resource: "http://127.0.0.1/mcp",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	server := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	srv := httptest.NewServer(a.Middleware(handler, nil))
	defer srv.Close()

	post := func(key, session, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := post(alice, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize as alice: status %d, session %q (%s)", resp.StatusCode, session, body)
	}
	initialized := `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	if resp, body := post(mallory, session, initialized); resp.StatusCode != http.StatusForbidden {
		t.Errorf("mallory in alice's session: status %d (%s), want 403", resp.StatusCode, body)
	}
	if resp, body := post(alice, session, initialized); resp.StatusCode != http.StatusAccepted {
		t.Errorf("alice in her own session: status %d (%s), want 202", resp.StatusCode, body)
	}
}
