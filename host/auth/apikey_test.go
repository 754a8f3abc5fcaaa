package auth

import (
	"context"
	"strings"
	"testing"
)

// newKey makes an API key and its digest.
func newKey(t *testing.T) (key, digest string) {
	t.Helper()
	key, digest, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	return key, digest
}

func TestNewAPIKeyDigestAuthenticates(t *testing.T) {
	seen := map[string]bool{}
	var keys []APIKey
	var plain []string
	for i := range 3 {
		key, digest := newKey(t)
		if !strings.HasPrefix(key, "moat_") || len(key) != len("moat_")+43 {
			t.Errorf("key %q is not moat_ and 43 base64url characters", key)
		}
		if seen[key] {
			t.Fatalf("NewAPIKey returned %q twice", key)
		}
		seen[key] = true
		keys = append(keys, APIKey{Name: string(rune('a' + i)), SHA256: digest, Roles: []string{"reader"}})
		plain = append(plain, key)
	}
	a := newTestAuthenticator(t, Config{APIKeys: keys}, nil)
	for i, key := range plain {
		p, err := a.Authenticate(context.Background(), key)
		if err != nil {
			t.Fatalf("key %d refused: %v", i, err)
		}
		if want := "key:" + keys[i].Name; p.ID != want || p.Method != MethodAPIKey || p.Token != key || !p.Expires.IsZero() {
			t.Errorf("key %d: principal %+v, want %s by api_key with its token and no expiry", i, p, want)
		}
	}
	// The digest itself is not a key.
	if _, err := a.Authenticate(context.Background(), keys[0].SHA256); Reason(err) != "unknown_key" {
		t.Errorf("the digest authenticated as a key: Reason %q, error %v", Reason(err), err)
	}
}

func BenchmarkAuthenticateAPIKey(b *testing.B) {
	var keys []APIKey
	var last string
	for i := range 20 {
		key, digest, err := NewAPIKey()
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, APIKey{Name: string(rune('a' + i)), SHA256: digest, Roles: []string{"r"}})
		last = key
	}
	a, err := New(context.Background(), Config{APIKeys: keys})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Authenticate(context.Background(), last); err != nil {
			b.Fatal(err)
		}
	}
}
