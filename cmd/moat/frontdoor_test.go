package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The front door, end to end: a moat with auth, roles, rate limits, a
// granted secret and an audit log, driven over real HTTP.

const (
	opsKey    = "moat_test_ops_key_0123456789abcdef"
	viewerKey = "moat_test_viewer_key_0123456789abcd"
	secret    = "s3cr3t-granted-value-42"
	issuer    = "https://issuer.test"
)

func digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type frontDoor struct {
	srv      *server
	audit    string
	jwtKey   ed25519.PrivateKey
	resource string
}

func startFrontDoor(t *testing.T) *frontDoor {
	t.Helper()
	needBuild(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(pluginsDir, "time.wasm"), filepath.Join(dir, "time.wasm"))
	watPlugin(t, "echo", dir, "echo")

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(pub),
	}}})
	writeFile(t, filepath.Join(dir, "jwks.json"), string(jwks))
	audit := filepath.Join(dir, "audit.log")
	resource := "http://127.0.0.1/mcp"
	writeFile(t, filepath.Join(dir, "moat.yaml"), fmt.Sprintf(`
plugins_dir: .
auth:
  resource: %s
  authorization_servers: [%s]
  api_keys:
    - {name: ops, sha256: %s, roles: [ops]}
    - {name: viewer, sha256: %s, roles: [viewer]}
  jwt:
    issuer: %s
    audience: %s
    jwks_file: jwks.json
    scope_roles: {"time:read": viewer}
roles:
  ops: {allow: ["*"]}
  viewer: {allow: ["time_*"], deny: ["time_convert_time"]}
rate_limits:
  per_principal_tool: {rate: "1/m", burst: 3}
audit: {path: audit.log}
plugins:
  echo:
    grants:
      config: {API_TOKEN: %s}
`, resource, issuer, digest(opsKey), digest(viewerKey), issuer, resource, secret))
	return &frontDoor{srv: startHTTP(t, "--config", filepath.Join(dir, "moat.yaml")), audit: audit, jwtKey: priv, resource: resource}
}

// bearer sends a token with every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func (f *frontDoor) client(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: bearer{token: token, base: http.DefaultTransport}}
	return connect(t, &mcp.StreamableClientTransport{Endpoint: f.srv.url, HTTPClient: hc}, "2025-11-25")
}

func (f *frontDoor) jwt(t *testing.T, claims jwt.MapClaims, method jwt.SigningMethod) string {
	t.Helper()
	base := jwt.MapClaims{"iss": issuer, "aud": f.resource, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "scope": "time:read"}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	tok := jwt.NewWithClaims(method, base)
	tok.Header["kid"] = "k1"
	var key any = f.jwtKey
	if method == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// post sends one raw JSON-RPC message, as a client without an SDK would.
func (f *frontDoor) post(t *testing.T, token, origin string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func toolNamesOf(t *testing.T, s *mcp.ClientSession) []string {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func TestFrontDoor(t *testing.T) {
	f := startFrontDoor(t)
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"time_get_current_time","arguments":{"timezone":"UTC"}}}`)

	t.Run("authentication", func(t *testing.T) {
		resp := f.post(t, "", "", call)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="`) {
			t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		cases := []struct {
			name  string
			token string
		}{
			{"wrong key", "moat_not_a_key_at_all_0000000000"},
			{"expired JWT", f.jwt(t, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}, jwt.SigningMethodEdDSA)},
			{"JWT for another audience", f.jwt(t, jwt.MapClaims{"aud": "https://elsewhere.test/mcp"}, jwt.SigningMethodEdDSA)},
			{"JWT without exp", f.jwt(t, jwt.MapClaims{"exp": nil}, jwt.SigningMethodEdDSA)},
			{"alg none", f.jwt(t, nil, jwt.SigningMethodNone)},
		}
		for _, c := range cases {
			if resp := f.post(t, c.token, "", call); resp.StatusCode != 401 {
				t.Errorf("%s: status %d, want 401", c.name, resp.StatusCode)
			}
		}
		// Signed by a key the JWKS does not hold.
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		stranger := &frontDoor{jwtKey: other, resource: f.resource}
		if resp := f.post(t, stranger.jwt(t, nil, jwt.SigningMethodEdDSA), "", call); resp.StatusCode != 401 {
			t.Errorf("JWT from an unknown key: status %d", resp.StatusCode)
		}
		// The metadata a client follows to find the authorization server.
		u := strings.TrimSuffix(f.srv.url, "/mcp") + "/.well-known/oauth-protected-resource/mcp"
		mresp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		json.NewDecoder(mresp.Body).Decode(&meta)
		mresp.Body.Close()
		if meta["resource"] != f.resource || fmt.Sprint(meta["authorization_servers"]) != "["+issuer+"]" {
			t.Fatalf("protected resource metadata: %v", meta)
		}
	})

	t.Run("roles filter what each principal sees", func(t *testing.T) {
		ops := toolNamesOf(t, f.client(t, opsKey))
		viewer := toolNamesOf(t, f.client(t, viewerKey))
		alice := toolNamesOf(t, f.client(t, f.jwt(t, nil, jwt.SigningMethodEdDSA)))
		if strings.Join(ops, ",") != "echo_echo,time_convert_time,time_get_current_time" {
			t.Errorf("ops sees %v", ops)
		}
		if strings.Join(viewer, ",") != "time_get_current_time" || strings.Join(alice, ",") != "time_get_current_time" {
			t.Errorf("viewer sees %v, alice (JWT scope time:read) sees %v", viewer, alice)
		}
	})

	t.Run("a denied call reads as an unknown tool", func(t *testing.T) {
		s := f.client(t, viewerKey)
		_, denied := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo_echo", Arguments: map[string]any{"text": "x"}})
		_, unknown := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo_nothing", Arguments: map[string]any{}})
		if denied == nil || unknown == nil {
			t.Fatalf("denied: %v, unknown: %v", denied, unknown)
		}
		if strings.ReplaceAll(denied.Error(), "echo_echo", "NAME") != strings.ReplaceAll(unknown.Error(), "echo_nothing", "NAME") {
			t.Fatalf("a denied call answers %q, an unknown tool %q", denied, unknown)
		}
	})

	t.Run("secrets come out redacted", func(t *testing.T) {
		s := f.client(t, opsKey)
		for _, leak := range []string{secret, "token=" + opsKey} {
			res := callTool(t, s, "echo_echo", map[string]any{"text": leak})
			if got := text(res); strings.Contains(got, secret) || strings.Contains(got, opsKey) || !strings.Contains(got, "[redacted]") {
				t.Errorf("echo of %q came out as %q", leak, got)
			}
		}
	})

	t.Run("rate limits: the burst, then 429 with Retry-After", func(t *testing.T) {
		s := f.client(t, opsKey)
		for i := range 3 {
			if res := callTool(t, s, "time_convert_time", map[string]any{"source_timezone": "UTC", "time": "10:00", "target_timezone": "UTC"}); res.IsError {
				t.Fatalf("call %d within the burst: %s", i+1, text(res))
			}
		}
		over := []byte(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"time_convert_time","arguments":{}}}`)
		resp := f.post(t, opsKey, "", over)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("past the burst: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// Another principal has its own bucket.
		if res := callTool(t, f.client(t, viewerKey), "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
			t.Fatalf("another principal: %s", text(res))
		}
	})

	t.Run("the HTTP edge", func(t *testing.T) {
		big := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"` + strings.Repeat("a", 5<<20) + `"}}}`)
		if resp := f.post(t, opsKey, "", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 5MiB body: %d, want 413", resp.StatusCode)
		}
		if resp := f.post(t, opsKey, "https://evil.example", call); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a foreign Origin: %d, want 403", resp.StatusCode)
		}
		// A page of this machine (the MCP Inspector, say) calling the
		// loopback listener is let in without http.allowed_origins; one
		// that only names localhost in its path or user is not.
		ping := []byte(`{"jsonrpc":"2.0","id":9,"method":"ping"}`) // no tool: spends no rate
		for _, origin := range []string{"http://localhost:6274", "http://127.0.0.1:5173", "http://[::1]:3000", "https://localhost"} {
			if resp := f.post(t, opsKey, origin, ping); resp.StatusCode == http.StatusForbidden {
				t.Errorf("the local Origin %s: 403; want it let in on a loopback listener", origin)
			}
		}
		for _, origin := range []string{"http://localhost.evil.example", "http://evil.example/localhost", "file://localhost", "null"} {
			if resp := f.post(t, opsKey, origin, ping); resp.StatusCode != http.StatusForbidden {
				t.Errorf("the Origin %s: %d, want 403", origin, resp.StatusCode)
			}
		}
		// DNS rebinding: a loopback listener refuses another Host.
		req, _ := http.NewRequest(http.MethodPost, f.srv.url, bytes.NewReader(call))
		req.Host = "attacker.example:80"
		req.Header.Set("Authorization", "Bearer "+opsKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a foreign Host on loopback: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("the audit log", func(t *testing.T) {
		f.srv.cmd.Process.Signal(os.Interrupt) // flush the audit log on the way out
		<-f.srv.done
		f.srv.done <- nil
		outcomes := map[string]int{}
		file, err := os.Open(f.audit)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			var rec struct {
				Principal, Outcome, Tool, ArgsSHA256 string `json:"-"`
			}
			var raw map[string]any
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				t.Fatalf("audit line is not JSON: %s", sc.Text())
			}
			rec.Outcome, _ = raw["outcome"].(string)
			outcomes[rec.Outcome]++
			if strings.Contains(sc.Text(), secret) || strings.Contains(sc.Text(), opsKey) {
				t.Errorf("the audit log holds a secret: %s", sc.Text())
			}
		}
		for _, want := range []string{"ok", "denied", "rate_limited", "unauthenticated"} {
			if outcomes[want] == 0 {
				t.Errorf("no audit line with outcome %q; outcomes: %v", want, outcomes)
			}
		}
	})
}

func TestNoAuthRefusesToListenBeyondLoopback(t *testing.T) {
	needBuild(t)
	_, stderr, code := runMoat(t, "serve", "--plugins", pluginsDir, "--listen", "0.0.0.0:0")
	if code != 1 || !strings.Contains(stderr, "moat key new") || !strings.Contains(stderr, "allow_anonymous") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestKeyNew(t *testing.T) {
	needBuild(t)
	out, stderr, code := runMoat(t, "key", "new", "--name", "ci", "--roles", "ops,viewer")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	key := strings.TrimSpace(lines[1])
	if len(key) < 32 || !strings.Contains(out, "sha256: "+digest(key)) || !strings.Contains(out, `roles: ["ops", "viewer"]`) {
		t.Fatalf("key %q, output:\n%s", key, out)
	}
}

// Over stdio the caller is the local user, with auth.stdio_roles, and a
// call over its rate is a JSON-RPC error that says when to retry.
func TestStdioRolesAndRateLimits(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, `
auth: {stdio_roles: [viewer]}
roles:
  viewer: {allow: ["time_get_*"]}
rate_limits:
  per_principal_tool: {rate: "1/m", burst: 2}
`)
	cmd := exec.Command(moatBin, "serve", "--config", config, "--plugins", pluginsDir)
	cmd.Env = moatEnv(t)
	s := connect(t, &mcp.CommandTransport{Command: cmd}, "2025-11-25")
	if names := toolNamesOf(t, s); strings.Join(names, ",") != "time_get_current_time" {
		t.Fatalf("the local user with role viewer sees %v", names)
	}
	for range 2 {
		if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
			t.Fatal(text(res))
		}
	}
	_, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "time_get_current_time", Arguments: map[string]any{"timezone": "UTC"}})
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) || !strings.Contains(rpcErr.Message, "rate limited") {
		t.Fatalf("past the burst over stdio: %v", err)
	}
	var data struct {
		RetryAfterMS int64 `json:"retryAfterMs"`
	}
	if json.Unmarshal(rpcErr.Data, &data); data.RetryAfterMS < 1000 {
		t.Fatalf("retryAfterMs = %d (data %s); the bucket refills in about a minute", data.RetryAfterMS, rpcErr.Data)
	}
}
