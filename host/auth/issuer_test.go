package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// What the test authorization server and the resource call themselves.
const (
	testIssuerName = "https://auth.example.test/"
	testResource   = "https://mcp.example.test/mcp"
)

// testIssuer is an authorization server for tests: real RSA 2048, ECDSA
// P-256 and Ed25519 keys, and a JWKS served over real HTTP on 127.0.0.1
// that counts how often it is fetched.
type testIssuer struct {
	t   *testing.T
	srv *httptest.Server

	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey

	fetches atomic.Int64
	down    atomic.Bool

	mu        sync.Mutex
	published []jwkset.JWKMarshal
}

// Key IDs of the issuer's keys.
const (
	kidRSA = "rsa-1"
	kidEC  = "ec-1"
	kidEd  = "ed-1"
)

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	iss := &testIssuer{t: t}
	var err error
	if iss.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if iss.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, iss.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	iss.publish(kidRSA, "RS256", iss.rsa.Public())
	iss.publish(kidEC, "ES256", iss.ec.Public())
	iss.publish(kidEd, "EdDSA", iss.ed.Public())
	iss.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss.fetches.Add(1)
		if iss.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		iss.mu.Lock()
		defer iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: iss.published})
	}))
	t.Cleanup(iss.srv.Close)
	return iss
}

// jwksURL is where the issuer serves its key set.
func (iss *testIssuer) jwksURL() string { return iss.srv.URL + "/jwks.json" }

// jwksJSON is the key set as a document, for a jwks_file.
func (iss *testIssuer) jwksJSON() []byte {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	b, err := json.Marshal(jwkset.JWKSMarshal{Keys: iss.published})
	if err != nil {
		iss.t.Fatal(err)
	}
	return b
}

// publish adds a public key to the served key set.
func (iss *testIssuer) publish(kid, alg string, pub crypto.PublicKey) {
	iss.t.Helper()
	k, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: kid, ALG: jwkset.ALG(alg), USE: jwkset.UseSig,
	}})
	if err != nil {
		iss.t.Fatal(err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.published = append(iss.published, k.Marshal())
}

// claims are those of a good token for alice; edit the map to spoil it.
func (iss *testIssuer) claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":   testIssuerName,
		"aud":   testResource,
		"sub":   "alice",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"roles": []string{"reader"},
	}
}

// sign makes a token with method, key and kid ("" for none).
func (iss *testIssuer) sign(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	iss.t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		iss.t.Fatal(err)
	}
	return s
}

// rs256 is a good RS256 token with claims.
func (iss *testIssuer) rs256(claims jwt.MapClaims) string {
	return iss.sign(jwt.SigningMethodRS256, iss.rsa, kidRSA, claims)
}

// config accepts the issuer's tokens, fetching its JWKS URL.
func (iss *testIssuer) config() Config {
	return Config{
		JWT: &JWTConfig{
			Issuer:     testIssuerName,
			JWKSURL:    iss.jwksURL(),
			ScopeRoles: map[string]string{"tools:call": "caller", "tools:admin": "admin"},
		},
		Resource: testResource,
	}
}

// testClock is a clock a test moves forward by hand.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newTestAuthenticator is New on clock (time.Now if nil), closed when the
// test ends.
func newTestAuthenticator(t *testing.T, cfg Config, clock *testClock) *Authenticator {
	t.Helper()
	now := time.Now
	if clock != nil {
		now = clock.now
	}
	a, err := newAuthenticator(context.Background(), cfg, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}
