package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// leeway is how far apart the clocks of moat and an authorization server
// may be before exp, nbf and iat are held against a token.
const leeway = 60 * time.Second

// Authenticator tells who is calling from a bearer token. It is safe for
// concurrent use. Close it to stop refreshing a JWKS URL.
type Authenticator struct {
	keys     []apiKey
	jwt      *jwtVerifier // nil without Config.JWT
	metadata *oauthex.ProtectedResourceMetadata
	// metadataURL and metadataPaths are empty without Config.Resource.
	metadataURL   string
	metadataPaths []string
	stop          context.CancelFunc
}

// New checks cfg and returns an Authenticator for it. With a JWKS URL it
// fetches the key set before returning, bounded by ctx and a 10s timeout,
// and fails if that fails. Errors name the configuration key at fault
// (auth.api_keys[1].sha256, auth.jwt.jwks_url, ...) and how to fix it.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	return newAuthenticator(ctx, cfg, time.Now)
}

// newAuthenticator is New on the clock now, which tests move by hand.
func newAuthenticator(ctx context.Context, cfg Config, now func() time.Time) (*Authenticator, error) {
	if len(cfg.APIKeys) == 0 && cfg.JWT == nil {
		return nil, fmt.Errorf("auth: neither api_keys nor jwt is set, so no caller could get in; add a key (moat key new prints one) or configure jwt")
	}
	keys, err := parseAPIKeys(cfg.APIKeys)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{keys: keys}
	if cfg.Resource != "" {
		if err := a.setResource(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.JWT == nil {
		return a, nil
	}
	// The JWKS refresh lives until Close, not until ctx ends, but ctx may
	// cut short the wait for the first fetch.
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(ctx, stop)
	a.jwt, err = newJWTVerifier(life, cfg, now)
	if !unhook() && err == nil {
		err = fmt.Errorf("auth.jwt: %w before the signing keys were loaded", context.Cause(ctx))
	}
	if err != nil {
		stop()
		return nil, err
	}
	a.stop = stop
	if a.metadata != nil && len(a.metadata.AuthorizationServers) == 0 {
		a.metadata.AuthorizationServers = []string{cfg.JWT.Issuer}
	}
	return a, nil
}

// Close stops the periodic refresh of a JWKS URL. The Authenticator still
// answers afterwards, with the keys it last held.
func (a *Authenticator) Close() {
	if a.stop != nil {
		a.stop()
	}
}

// Authenticate tells who presents token: the holder of an API key, or else
// the subject of a JWT. A refusal wraps ErrUnauthenticated and says why in
// words a client can act on ("token expired", "unknown API key", ...);
// [Reason] gives it as a short label. Authenticate does not check
// RequiredScopes or roles; [Authenticator.Middleware] does.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, unauthenticated(reasonNoToken, "no bearer token", nil)
	}
	if k := a.matchKey(token); k != nil {
		return &Principal{
			ID:     "key:" + k.name,
			Roles:  append([]string(nil), k.roles...),
			Method: MethodAPIKey,
			Token:  token,
		}, nil
	}
	if a.jwt == nil || strings.Count(token, ".") != 2 {
		return nil, unauthenticated(reasonUnknownKey, "unknown API key", nil)
	}
	return a.jwt.verify(ctx, token)
}
