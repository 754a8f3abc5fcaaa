package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// apiKeyTokenLife is the expiry reported to the go-sdk for API keys, which
// have none: it wants one, and checks it on every request anyway.
const apiKeyTokenLife = time.Hour

// principalExtra is the key of the Principal in auth.TokenInfo.Extra.
const principalExtra = "moat.principal"

// Middleware authenticates every request before next sees it.
//
// A request without a bearer token, or whose token [Authenticator.Authenticate]
// refuses, gets 401 and a WWW-Authenticate header pointing to the metadata:
//
//	Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp"
//	Bearer error="invalid_token", error_description="token expired", resource_metadata="..."
//
// A JWT lacking a RequiredScopes scope, or a caller holding no role at all,
// gets 403 with error="insufficient_scope" and the scopes to ask for. The
// body is JSON {"error", "error_description"}. onRefused, if not nil, is
// called for each refusal with the request, the [Reason] label and the error
// (which, unlike the response, holds operator-only details such as a JWKS
// fetch failure).
//
// An admitted request carries its Principal in its context ([PrincipalFrom])
// and passes through the go-sdk's auth.RequireBearerToken, so that it also
// carries an auth.TokenInfo whose UserID is the principal's ID: the go-sdk's
// streamable HTTP handler binds each session to that user and refuses the
// session to anyone else. Tool handlers, which see the TokenInfo rather than
// the request's context, get the principal back with [FromTokenInfo].
func (a *Authenticator) Middleware(next http.Handler, onRefused func(r *http.Request, reason string, err error)) http.Handler {
	inner := auth.RequireBearerToken(a.tokenInfo, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: a.metadataURL,
		ClockSkew:           leeway,
	})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			err := unauthenticated(reasonNoToken, "no bearer token; send the header Authorization: Bearer <token>", nil)
			a.refuse(w, r, http.StatusUnauthorized, "", "", err, onRefused)
			return
		}
		p, err := a.Authenticate(r.Context(), token)
		if err != nil {
			a.refuse(w, r, http.StatusUnauthorized, "invalid_token", "", err, onRefused)
			return
		}
		if scope, err := a.admit(p); err != nil {
			a.refuse(w, r, http.StatusForbidden, "insufficient_scope", scope, err, onRefused)
			return
		}
		inner.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// bearerToken reads the token the way auth.RequireBearerToken does, so that
// the two never disagree about whether a request carries one.
func bearerToken(r *http.Request) (string, bool) {
	fields := strings.Fields(r.Header.Get("Authorization"))
	if len(fields) != 2 || !strings.EqualFold(fields[0], "bearer") {
		return "", false
	}
	return fields[1], true
}

// admit refuses an identified caller who may not come in, returning the
// scopes it should ask for.
func (a *Authenticator) admit(p *Principal) (scope string, err error) {
	if p.Method == MethodJWT && a.jwt != nil {
		var missing []string
		for _, s := range a.jwt.required {
			if !slices.Contains(p.Scopes, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return strings.Join(a.jwt.required, " "),
				forbidden(reasonInsufficientScope, "token lacks the required scope "+strings.Join(missing, " "))
		}
	}
	if len(p.Roles) == 0 {
		message := "caller holds no role"
		if p.Method == MethodJWT && a.jwt != nil {
			message = fmt.Sprintf("token grants no role: it has no %q claim naming one, and none of its scopes maps to one", a.jwt.rolesClaim)
			if hint := a.scopeHint(); hint != "" {
				message += "; ask for one of the scopes " + hint
			}
		}
		return a.scopeHint(), forbidden(reasonNoRoles, message)
	}
	return "", nil
}

// refuse answers a refused request. code is the RFC 6750 error code, empty
// when the request carried no token at all (RFC 6750 section 3.1).
func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, status int, code, scope string, err error, onRefused func(*http.Request, string, error)) {
	if onRefused != nil {
		onRefused(r, Reason(err), err)
	}
	desc := description(err)
	var params []string
	if code != "" {
		params = append(params, fmt.Sprintf(`error="%s"`, code), fmt.Sprintf(`error_description="%s"`, desc))
	}
	if scope != "" {
		params = append(params, fmt.Sprintf(`scope="%s"`, scope))
	}
	if a.metadataURL != "" {
		params = append(params, fmt.Sprintf(`resource_metadata="%s"`, a.metadataURL))
	}
	challenge := "Bearer"
	if len(params) > 0 {
		challenge += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error       string `json:"error,omitempty"`
		Description string `json:"error_description"`
	}{code, desc})
}

// tokenInfo is the go-sdk's TokenVerifier. Middleware has verified the
// token already; this only hands the result over, without verifying twice.
func (a *Authenticator) tokenInfo(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	p := PrincipalFrom(ctx)
	if p == nil || p.Token != token {
		return nil, fmt.Errorf("%w: the request reached the go-sdk without passing through auth.Middleware", auth.ErrInvalidToken)
	}
	expires := p.Expires
	if expires.IsZero() {
		expires = time.Now().Add(apiKeyTokenLife)
	}
	return &auth.TokenInfo{
		UserID:     p.ID,
		Expiration: expires,
		Scopes:     p.Scopes,
		Extra:      map[string]any{principalExtra: p},
	}, nil
}

// FromTokenInfo returns the principal that [Authenticator.Middleware] put in
// ti, or nil. MCP tool handlers find ti in their request's Extra.TokenInfo.
func FromTokenInfo(ti *auth.TokenInfo) *Principal {
	if ti == nil {
		return nil
	}
	p, _ := ti.Extra[principalExtra].(*Principal)
	return p
}
