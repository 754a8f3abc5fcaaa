package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAcceptedForEveryDefaultAlgorithm(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	claims := iss.claims()
	claims["scope"] = "tools:call openid"
	exp := time.Unix(claims["exp"].(int64), 0)

	for _, tc := range []struct {
		method jwt.SigningMethod
		key    any
		kid    string
	}{
		{jwt.SigningMethodRS256, iss.rsa, kidRSA},
		{jwt.SigningMethodES256, iss.ec, kidEC},
		{jwt.SigningMethodEdDSA, iss.ed, kidEd},
	} {
		t.Run(tc.method.Alg(), func(t *testing.T) {
			token := iss.sign(tc.method, tc.key, tc.kid, claims)
			p, err := a.Authenticate(context.Background(), token)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.ID != "jwt:alice" || p.Method != MethodJWT || p.Token != token || !p.Expires.Equal(exp) {
				t.Errorf("principal = %+v, want jwt:alice by jwt with its token, expiring %v", p, exp)
			}
			// "reader" from the roles claim, "caller" from the scope.
			if want := []string{"caller", "reader"}; !slices.Equal(p.Roles, want) {
				t.Errorf("roles = %q, want %q", p.Roles, want)
			}
			if want := []string{"openid", "tools:call"}; !slices.Equal(p.Scopes, want) {
				t.Errorf("scopes = %q, want %q", p.Scopes, want)
			}
		})
	}
	if n := iss.fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want once (at New)", n)
	}
}

func TestJWTRolesFromClaimShapes(t *testing.T) {
	iss := newTestIssuer(t)
	for _, tc := range []struct {
		name       string
		rolesClaim string
		set        map[string]any
		want       []string
	}{
		{"array", "", map[string]any{"roles": []string{"b", "a", "b"}}, []string{"a", "b"}},
		{"space-separated string", "", map[string]any{"roles": "b a"}, []string{"a", "b"}},
		{"scp array mapped", "", map[string]any{"roles": nil, "scp": []string{"tools:admin"}}, []string{"admin"}},
		{"nested claim", "realm_access.roles", map[string]any{"realm_access": map[string]any{"roles": []string{"ops"}}}, []string{"ops"}},
		{"namespaced claim with dots", "https://example.test/roles", map[string]any{"https://example.test/roles": []string{"ops"}}, []string{"ops"}},
		{"wrong type holds none", "", map[string]any{"roles": 7}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := iss.config()
			cfg.JWT.RolesClaim = tc.rolesClaim
			a := newTestAuthenticator(t, cfg, nil)
			claims := iss.claims()
			for k, v := range tc.set {
				if v == nil {
					delete(claims, k)
				} else {
					claims[k] = v
				}
			}
			p, err := a.Authenticate(context.Background(), iss.rs256(claims))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !slices.Equal(p.Roles, tc.want) {
				t.Errorf("roles = %q, want %q", p.Roles, tc.want)
			}
		})
	}
}

func TestJWTRefused(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(iss.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	with := func(k string, v any) jwt.MapClaims {
		c := iss.claims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	for _, tc := range []struct {
		name    string
		token   string
		reason  string
		message string
	}{
		{"expired beyond the leeway", iss.rs256(with("exp", time.Now().Add(-2*time.Minute).Unix())),
			"expired", "token expired"},
		{"for another audience", iss.rs256(with("aud", "https://other.example.test/mcp")),
			"bad_audience", "token is for another audience (this server is " + testResource + ")"},
		{"from another issuer", iss.rs256(with("iss", "https://evil.example.test/")),
			"bad_issuer", "token is from another issuer"},
		{"without exp", iss.rs256(with("exp", nil)),
			"missing_claim", "token has no exp claim"},
		{"without aud", iss.rs256(with("aud", nil)),
			"missing_claim", "token has no aud claim"},
		{"without sub", iss.rs256(with("sub", nil)),
			"missing_claim", "token has no sub claim"},
		{"not valid yet", iss.rs256(with("nbf", time.Now().Add(10*time.Minute).Unix())),
			"not_yet_valid", "token is not valid yet"},
		{"alg none", iss.sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kidRSA, iss.claims()),
			"bad_alg", "alg none is not accepted"},
		{"HS256 keyed with the public key (algorithm confusion)", iss.sign(jwt.SigningMethodHS256, pubPEM, kidRSA, iss.claims()),
			"bad_alg", "alg HS256 is not accepted"},
		{"an algorithm not listed", iss.sign(jwt.SigningMethodRS384, iss.rsa, kidRSA, iss.claims()),
			"bad_alg", "alg RS384 is not accepted"},
		{"signed by another key under a known kid", iss.sign(jwt.SigningMethodRS256, stranger, kidRSA, iss.claims()),
			"bad_signature", "token signature does not verify"},
		{"signed by a key not in the JWKS", iss.sign(jwt.SigningMethodRS256, stranger, "stranger", iss.claims()),
			"unknown_kid", "unknown signing key 'stranger'"},
		{"not a JWT", "aaa.bbb.ccc", "malformed", "neither a known API key nor a well-formed JWT"},
		{"no dots", "just-a-string", "unknown_key", "unknown API key"},
		{"empty", "", "no_token", "no bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted as %+v", p)
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("error %v does not wrap ErrUnauthenticated", err)
			}
			if got := Reason(err); got != tc.reason {
				t.Errorf("Reason = %q, want %q (error: %v)", got, tc.reason, err)
			}
			if !strings.Contains(description(err), tc.message) {
				t.Errorf("client is told %q, want it to say %q", description(err), tc.message)
			}
		})
	}
}

func TestJWTWithinLeewayAccepted(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	claims := iss.claims()
	claims["exp"] = time.Now().Add(-20 * time.Second).Unix()
	if _, err := a.Authenticate(context.Background(), iss.rs256(claims)); err != nil {
		t.Errorf("a token expired 20s ago (within the 60s leeway) was refused: %v", err)
	}
}

func TestJWTUnknownKIDRefetchesAtMostOnceAMinute(t *testing.T) {
	iss := newTestIssuer(t)
	clock := &testClock{}
	a := newTestAuthenticator(t, iss.config(), clock)
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := iss.sign(jwt.SigningMethodES256, stranger, "stranger", iss.claims())

	// A burst of tokens naming an unknown key, all at once.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := a.Authenticate(context.Background(), forged)
			if Reason(err) != "unknown_kid" {
				t.Errorf("Reason = %q, want unknown_kid (error: %v)", Reason(err), err)
			}
		})
	}
	wg.Wait()
	if n := iss.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after 50 unknown-kid tokens, want 2 (at New, then one refetch)", n)
	}

	clock.advance(59 * time.Second)
	a.Authenticate(context.Background(), forged)
	if n := iss.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times 59s after the refetch, want still 2", n)
	}

	clock.advance(2 * time.Second)
	for range 5 {
		a.Authenticate(context.Background(), forged)
	}
	if n := iss.fetches.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times a minute after the refetch, want 3", n)
	}
}

func TestJWTKeyRotatedInIsAcceptedOnFirstUse(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss.publish("rsa-2", "RS256", next.Public())

	p, err := a.Authenticate(context.Background(), iss.sign(jwt.SigningMethodRS256, next, "rsa-2", iss.claims()))
	if err != nil {
		t.Fatalf("token signed with the rotated-in key refused: %v", err)
	}
	if p.ID != "jwt:alice" {
		t.Errorf("ID = %q, want jwt:alice", p.ID)
	}
	if n := iss.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (at New, then for the new kid)", n)
	}
	// The old keys are still served, so still accepted.
	if _, err := a.Authenticate(context.Background(), iss.rs256(iss.claims())); err != nil {
		t.Errorf("token signed with the first key refused after the refetch: %v", err)
	}
}

func TestJWTRefetchFailureIsToldToTheOperatorOnly(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	iss.down.Store(true)
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), iss.sign(jwt.SigningMethodRS256, next, "rsa-2", iss.claims()))
	if Reason(err) != "unknown_kid" {
		t.Fatalf("Reason = %q, want unknown_kid (error: %v)", Reason(err), err)
	}
	if !strings.Contains(err.Error(), "auth.jwt.jwks_url") || !strings.Contains(err.Error(), "503") {
		t.Errorf("operator's error %q does not say the refetch from auth.jwt.jwks_url failed with 503", err)
	}
	if d := description(err); d != `unknown signing key 'rsa-2'` {
		t.Errorf("client is told %q, want only that the key is unknown", d)
	}
	// Keys already held still work while the server is down.
	if _, err := a.Authenticate(context.Background(), iss.rs256(iss.claims())); err != nil {
		t.Errorf("token signed with a held key refused while the JWKS URL is down: %v", err)
	}
}

func TestJWKSFile(t *testing.T) {
	iss := newTestIssuer(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, iss.jwksJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := iss.config()
	cfg.JWT.JWKSURL, cfg.JWT.JWKSFile = "", path
	a := newTestAuthenticator(t, cfg, nil)

	if p, err := a.Authenticate(context.Background(), iss.sign(jwt.SigningMethodEdDSA, iss.ed, kidEd, iss.claims())); err != nil || p.ID != "jwt:alice" {
		t.Errorf("Authenticate = %+v, %v; want jwt:alice", p, err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), iss.sign(jwt.SigningMethodRS256, stranger, "stranger", iss.claims()))
	if Reason(err) != "unknown_kid" {
		t.Errorf("Reason = %q, want unknown_kid (error: %v)", Reason(err), err)
	}
	if n := iss.fetches.Load(); n != 0 {
		t.Errorf("JWKS URL fetched %d times with a jwks_file, want 0", n)
	}
}

func TestJWKSURLDownAtStart(t *testing.T) {
	iss := newTestIssuer(t)
	iss.down.Store(true)
	_, err := New(context.Background(), iss.config())
	if err == nil {
		t.Fatal("New succeeded with the JWKS URL answering 503")
	}
	for _, want := range []string{"auth.jwt.jwks_url", iss.jwksURL(), "503"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
