package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRefusesBadConfig(t *testing.T) {
	iss := newTestIssuer(t)
	_, digest := newKey(t)
	key := func(name, sha string, roles ...string) APIKey { return APIKey{Name: name, SHA256: sha, Roles: roles} }
	dir := t.TempDir()
	notJWKS := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJWKS, []byte("<html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyJWKS := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(emptyJWKS, []byte(`{"keys": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	jwtWith := func(edit func(j *JWTConfig)) Config {
		cfg := iss.config()
		edit(cfg.JWT)
		return cfg
	}

	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // all must be in the error
	}{
		{"nothing configured", Config{}, []string{"auth:", "api_keys", "jwt"}},
		{"short digest", Config{APIKeys: []APIKey{key("a", digest, "r"), key("b", "abc123", "r")}},
			[]string{"auth.api_keys[1].sha256", "64 hex digits", "moat key new"}},
		{"digest not hex", Config{APIKeys: []APIKey{key("a", strings.Repeat("zz", 32), "r")}},
			[]string{"auth.api_keys[0].sha256", "not hex", "moat key new"}},
		{"the key instead of its digest", Config{APIKeys: []APIKey{key("a", "moat_abc", "r")}},
			[]string{"auth.api_keys[0].sha256", "a key, not its digest"}},
		{"duplicate name", Config{APIKeys: []APIKey{key("a", digest, "r"), key("a", strings.Repeat("0", 64), "r")}},
			[]string{"auth.api_keys[1].name", `"a"`, "auth.api_keys[0]"}},
		{"duplicate digest", Config{APIKeys: []APIKey{key("a", digest, "r"), key("b", digest, "r")}},
			[]string{"auth.api_keys[1].sha256", "auth.api_keys[0]"}},
		{"empty name", Config{APIKeys: []APIKey{key("", digest, "r")}}, []string{"auth.api_keys[0].name"}},
		{"no roles", Config{APIKeys: []APIKey{key("a", digest)}}, []string{"auth.api_keys[0].roles"}},
		{"resource not a URL", Config{APIKeys: []APIKey{key("a", digest, "r")}, Resource: "mcp.example.com"},
			[]string{"auth.resource", "https://mcp.example.com/mcp"}},
		{"authorization server not a URL", Config{APIKeys: []APIKey{key("a", digest, "r")}, Resource: testResource, AuthorizationServers: []string{"auth"}},
			[]string{"auth.authorization_servers[0]"}},
		{"no issuer", jwtWith(func(j *JWTConfig) { j.Issuer = "" }), []string{"auth.jwt.issuer"}},
		{"no audience", Config{JWT: &JWTConfig{Issuer: testIssuerName, JWKSURL: iss.jwksURL()}},
			[]string{"auth.jwt.audience", "auth.resource"}},
		{"no resource", Config{JWT: &JWTConfig{Issuer: testIssuerName, Audience: "api", JWKSURL: iss.jwksURL()}},
			[]string{"auth.resource"}},
		{"both JWKS sources", jwtWith(func(j *JWTConfig) { j.JWKSFile = notJWKS }), []string{"auth.jwt", "jwks_file", "jwks_url", "keep one"}},
		{"no JWKS source", jwtWith(func(j *JWTConfig) { j.JWKSURL = "" }), []string{"auth.jwt", "jwks_url", "jwks_file"}},
		{"JWKS file missing", jwtWith(func(j *JWTConfig) { j.JWKSURL, j.JWKSFile = "", filepath.Join(dir, "missing.json") }),
			[]string{"auth.jwt.jwks_file", "missing.json", "no such file"}},
		{"JWKS file not JSON", jwtWith(func(j *JWTConfig) { j.JWKSURL, j.JWKSFile = "", notJWKS }),
			[]string{"auth.jwt.jwks_file", "not a JWK Set"}},
		{"JWKS file without keys", jwtWith(func(j *JWTConfig) { j.JWKSURL, j.JWKSFile = "", emptyJWKS }),
			[]string{"auth.jwt.jwks_file", "no usable signing key"}},
		{"JWKS URL over plain http to a remote host", jwtWith(func(j *JWTConfig) { j.JWKSURL = "http://auth.example.com/jwks.json" }),
			[]string{"auth.jwt.jwks_url", "https"}},
		{"JWKS URL unreachable", jwtWith(func(j *JWTConfig) { j.JWKSURL = "http://127.0.0.1:1/jwks.json" }),
			[]string{"auth.jwt.jwks_url", "127.0.0.1:1", "reachable"}},
		{"symmetric algorithm", jwtWith(func(j *JWTConfig) { j.Algorithms = []string{"RS256", "HS256"} }),
			[]string{"auth.jwt.algorithms[1]", "HS256"}},
		{"alg none", jwtWith(func(j *JWTConfig) { j.Algorithms = []string{"none"} }),
			[]string{"auth.jwt.algorithms[0]", "none"}},
		{"scope role empty", jwtWith(func(j *JWTConfig) { j.ScopeRoles = map[string]string{"s": ""} }),
			[]string{"auth.jwt.scope_roles.s"}},
		{"required scope with a space", jwtWith(func(j *JWTConfig) { j.RequiredScopes = []string{"a b"} }),
			[]string{"auth.jwt.required_scopes[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(context.Background(), tc.cfg)
			if err == nil {
				a.Close()
				t.Fatal("New accepted the configuration")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewStopsWaitingWhenItsContextEnds(t *testing.T) {
	iss := newTestIssuer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a, err := New(ctx, iss.config()); err == nil {
		a.Close()
		t.Fatal("New succeeded with its context already cancelled")
	}
}
