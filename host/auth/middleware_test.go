package auth

import (
	"encoding/json"
	"fmt"
	"github.com/golang-jwt/jwt/v5"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// refusalLog records onRefused calls.
type refusalLog struct {
	mu      sync.Mutex
	reasons []string
}

func (l *refusalLog) record(r *http.Request, reason string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reasons = append(l.reasons, reason)
}

func (l *refusalLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reasons) == 0 {
		return ""
	}
	return l.reasons[len(l.reasons)-1]
}

// seen is what the protected handler saw of a request.
type seen struct {
	ID       string
	Roles    []string
	Method   string
	UserID   string
	FromInfo string
}

// serveProtected serves a handler behind a.Middleware on 127.0.0.1 that
// answers with what it saw.
func serveProtected(t *testing.T, a *Authenticator, log *refusalLog) string {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s seen
		if p := PrincipalFrom(r.Context()); p != nil {
			s.ID, s.Roles, s.Method = p.ID, p.Roles, p.Method
		}
		if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
			s.UserID = ti.UserID
			if p := FromTokenInfo(ti); p != nil {
				s.FromInfo = p.ID
			}
		}
		json.NewEncoder(w).Encode(s)
	})
	srv := httptest.NewServer(a.Middleware(next, log.record))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

type response struct {
	status    int
	challenge string
	body      string
}

func call(t *testing.T, url, authorization string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)}
}

const testMetadataURL = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"

func TestMiddlewareWithoutTokenPointsToMetadata(t *testing.T) {
	key, digest := newKey(t)
	a := newTestAuthenticator(t, Config{
		APIKeys:  []APIKey{{Name: "ci", SHA256: digest, Roles: []string{"reader"}}},
		Resource: testResource,
	}, nil)
	var log refusalLog
	url := serveProtected(t, a, &log)

	for _, authorization := range []string{"", "Basic " + key, "Bearer", "Bearer a b"} {
		r := call(t, url, authorization)
		if r.status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", authorization, r.status)
		}
		if want := `Bearer resource_metadata="` + testMetadataURL + `"`; r.challenge != want {
			t.Errorf("Authorization %q: WWW-Authenticate = %q, want %q", authorization, r.challenge, want)
		}
		if !strings.Contains(r.body, "no bearer token") {
			t.Errorf("Authorization %q: body %q does not say no bearer token was sent", authorization, r.body)
		}
		if log.last() != "no_token" {
			t.Errorf("Authorization %q: onRefused reason %q, want no_token", authorization, log.last())
		}
	}
}

func TestMiddlewareAPIKeys(t *testing.T) {
	key, digest := newKey(t)
	other, _ := newKey(t)
	a := newTestAuthenticator(t, Config{
		APIKeys:  []APIKey{{Name: "ci", SHA256: digest, Roles: []string{"writer", "reader"}}},
		Resource: testResource,
	}, nil)
	var log refusalLog
	url := serveProtected(t, a, &log)

	r := call(t, url, "Bearer "+key)
	if r.status != http.StatusOK {
		t.Fatalf("good key: status %d (%s), want 200", r.status, r.body)
	}
	var s seen
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	want := seen{ID: "key:ci", Roles: []string{"reader", "writer"}, Method: MethodAPIKey, UserID: "key:ci", FromInfo: "key:ci"}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("handler saw %+v, want %+v", s, want)
	}

	r = call(t, url, "Bearer "+other)
	if r.status != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d, want 401", r.status)
	}
	wantChallenge := `Bearer error="invalid_token", error_description="unknown API key", resource_metadata="` + testMetadataURL + `"`
	if r.challenge != wantChallenge {
		t.Errorf("wrong key: WWW-Authenticate = %q, want %q", r.challenge, wantChallenge)
	}
	if log.last() != "unknown_key" {
		t.Errorf("wrong key: onRefused reason %q, want unknown_key", log.last())
	}
}

func TestMiddlewareJWT(t *testing.T) {
	iss := newTestIssuer(t)
	cfg := iss.config()
	cfg.JWT.RequiredScopes = []string{"mcp"}
	a := newTestAuthenticator(t, cfg, nil)
	var log refusalLog
	url := serveProtected(t, a, &log)

	good := iss.claims()
	good["scope"] = "mcp tools:call"
	r := call(t, url, "Bearer "+iss.sign(jwt.SigningMethodES256, iss.ec, kidEC, good))
	if r.status != http.StatusOK {
		t.Fatalf("good token: status %d (%s), want 200", r.status, r.body)
	}
	var s seen
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "jwt:alice" || s.UserID != "jwt:alice" || !slices.Equal(s.Roles, []string{"caller", "reader"}) {
		t.Errorf("handler saw %+v, want jwt:alice with roles caller and reader, bound as the go-sdk user", s)
	}

	expired := iss.claims()
	expired["scope"] = "mcp"
	expired["exp"] = int64(1)
	r = call(t, url, "Bearer "+iss.rs256(expired))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.challenge, `error="invalid_token", error_description="token expired`) {
		t.Errorf("expired token: status %d, WWW-Authenticate %q; want 401 invalid_token saying it expired", r.status, r.challenge)
	}
	if log.last() != "expired" {
		t.Errorf("expired token: onRefused reason %q, want expired", log.last())
	}

	r = call(t, url, "Bearer "+iss.rs256(iss.claims()))
	if r.status != http.StatusForbidden {
		t.Errorf("token without the required scope: status %d, want 403", r.status)
	}
	for _, want := range []string{`error="insufficient_scope"`, `scope="mcp"`, `resource_metadata="` + testMetadataURL + `"`} {
		if !strings.Contains(r.challenge, want) {
			t.Errorf("token without the required scope: WWW-Authenticate %q lacks %s", r.challenge, want)
		}
	}
	if log.last() != "insufficient_scope" {
		t.Errorf("token without the required scope: onRefused reason %q, want insufficient_scope", log.last())
	}

	roleless := iss.claims()
	delete(roleless, "roles")
	roleless["scope"] = "mcp"
	r = call(t, url, "Bearer "+iss.rs256(roleless))
	if r.status != http.StatusForbidden || !strings.Contains(r.challenge, `error="insufficient_scope"`) ||
		!strings.Contains(r.challenge, `scope="mcp tools:admin tools:call"`) {
		t.Errorf("token granting no role: status %d, WWW-Authenticate %q; want 403 insufficient_scope naming the scopes that grant roles", r.status, r.challenge)
	}
	if log.last() != "no_roles" {
		t.Errorf("token granting no role: onRefused reason %q, want no_roles", log.last())
	}
}
