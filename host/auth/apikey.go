package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// apiKeyPrefix marks moat's keys, so that a key pasted where its digest
// belongs (or leaked into a log) is recognizable.
const apiKeyPrefix = "moat_"

// NewAPIKey returns a fresh API key, "moat_" and 32 random bytes in
// unpadded base64url, and the lowercase hex SHA-256 digest to configure
// under auth.api_keys. Give the key to the client and keep only the digest.
func NewAPIKey() (key, digest string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes for an API key: %w", err)
	}
	key = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:]), nil
}

// matchKey returns the configured key whose digest is token's, or nil. It
// compares against every key in constant time and never stops early, so
// how long it takes says nothing about which key, or how much of one,
// matched.
func (a *Authenticator) matchKey(token string) *apiKey {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.keys {
		eq := subtle.ConstantTimeCompare(sum[:], a.keys[i].digest[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil
	}
	return &a.keys[found]
}
