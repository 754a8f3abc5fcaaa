package auth

import (
	"context"
	"time"
)

// The ways a principal can have been identified, as found in
// [Principal.Method].
const (
	MethodAPIKey    = "api_key"
	MethodJWT       = "jwt"
	MethodLocal     = "local"
	MethodAnonymous = "anonymous"
)

// Principal is who is calling.
type Principal struct {
	// ID names the caller in audit logs and rate limits: "key:NAME" for an
	// API key, "jwt:" and the token's sub for a JWT, "local" for the user of
	// stdio, "anonymous" when no authentication is configured.
	ID string
	// Roles are the role names the caller holds, sorted and without
	// duplicates.
	Roles []string
	// Method is how the caller was identified: MethodAPIKey, MethodJWT,
	// MethodLocal or MethodAnonymous.
	Method string
	// Scopes are the OAuth scopes of a JWT, sorted; nil for other methods.
	Scopes []string
	// Token is the raw bearer token of this request, so that the host can
	// scrub it from anything it sends out. Empty for local and anonymous.
	Token string
	// Expires is when the token stops being accepted; zero when it has no
	// end (API keys, local, anonymous).
	Expires time.Time
}

// Local is the principal of the user who started moat over stdio, holding
// roles.
func Local(roles []string) *Principal {
	return &Principal{ID: "local", Method: MethodLocal, Roles: normalize(roles)}
}

// Anonymous is the principal of every caller when no authentication is
// configured, holding roles.
func Anonymous(roles []string) *Principal {
	return &Principal{ID: "anonymous", Method: MethodAnonymous, Roles: normalize(roles)}
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil if there is none.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
