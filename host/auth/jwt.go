package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtVerifier accepts JWT access tokens.
type jwtVerifier struct {
	parser     *jwt.Parser
	keys       *keySource
	issuer     string
	audience   string
	algs       []string
	rolesClaim string
	scopeRoles map[string]string
	required   []string
}

func newJWTVerifier(life context.Context, cfg Config, now func() time.Time) (*jwtVerifier, error) {
	j := cfg.JWT
	audience, algs, err := checkJWT(j, cfg.Resource)
	if err != nil {
		return nil, err
	}
	var keys *keySource
	if j.JWKSFile != "" {
		keys, err = loadJWKSFile(j.JWKSFile)
	} else {
		keys, err = fetchJWKS(life, j.JWKSURL, j.HTTPClient, now)
	}
	if err != nil {
		return nil, err
	}
	rolesClaim := j.RolesClaim
	if rolesClaim == "" {
		rolesClaim = defaultRolesClaim
	}
	return &jwtVerifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithIssuer(j.Issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
		),
		keys:       keys,
		issuer:     j.Issuer,
		audience:   audience,
		algs:       algs,
		rolesClaim: rolesClaim,
		scopeRoles: maps.Clone(j.ScopeRoles),
		required:   normalize(j.RequiredScopes),
	}, nil
}

// verify checks a JWT's signature and claims and returns its principal.
func (v *jwtVerifier) verify(ctx context.Context, token string) (*Principal, error) {
	claims := jwt.MapClaims{}
	parsed, err := v.parser.ParseWithClaims(token, claims, v.keys.keyfunc(ctx))
	if err != nil {
		return nil, v.refuse(parsed, claims, err)
	}
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return nil, unauthenticated(reasonMissingClaim, "token has no sub claim, so the caller cannot be named", err)
	}
	p := &Principal{ID: "jwt:" + sub, Method: MethodJWT, Token: token, Scopes: scopesOf(claims)}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		p.Expires = exp.Time
	}
	roles := stringsOf(lookupClaim(claims, v.rolesClaim))
	for _, s := range p.Scopes {
		if r, ok := v.scopeRoles[s]; ok {
			roles = append(roles, r)
		}
	}
	p.Roles = normalize(roles)
	return p, nil
}

// refuse turns a parse error into a refusal that says what is wrong with
// the token. The order matters where several things are wrong at once: the
// first that would stop a well-meaning client is named.
func (v *jwtVerifier) refuse(t *jwt.Token, claims jwt.MapClaims, err error) error {
	var r *refusal
	if errors.As(err, &r) {
		return r // from keySource: the reason is already known
	}
	if errors.Is(err, jwt.ErrTokenMalformed) || t == nil {
		return unauthenticated(reasonMalformed, "token is neither a known API key nor a well-formed JWT", err)
	}
	if alg, _ := t.Header["alg"].(string); !slices.Contains(v.algs, alg) {
		if alg == "" {
			return unauthenticated(reasonBadAlg, "token names no alg", err)
		}
		return unauthenticated(reasonBadAlg, fmt.Sprintf("alg %s is not accepted (accepted: %s)", alg, strings.Join(v.algs, ", ")), err)
	}
	switch {
	case errors.Is(err, jwt.ErrInvalidKeyType):
		return unauthenticated(reasonBadAlg, fmt.Sprintf("alg %v does not fit the signing key the token names", t.Header["alg"]), err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthenticated(reasonBadSignature, "token signature does not verify", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthenticated(reasonBadSignature, "token cannot be verified with the issuer's keys", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range []string{"exp", "iss", "aud"} {
			if _, ok := claims[c]; !ok {
				return unauthenticated(reasonMissingClaim, fmt.Sprintf("token has no %s claim", c), err)
			}
		}
		return unauthenticated(reasonMissingClaim, "token lacks a required claim", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthenticated(reasonExpired, "token expired; get a new one", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthenticated(reasonNotYetValid, "token is not valid yet (its nbf or iat is in the future; check the clocks)", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthenticated(reasonBadIssuer, fmt.Sprintf("token is from another issuer (this server accepts %s)", v.issuer), err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthenticated(reasonBadAudience, fmt.Sprintf("token is for another audience (this server is %s)", v.audience), err)
	}
	return unauthenticated(reasonMalformed, "token is not acceptable", err)
}

// scopesOf returns the scopes of a token, from "scope" (a space-separated
// string, RFC 8693 and 9068) and "scp" (an array or a string, as some
// authorization servers send), sorted.
func scopesOf(claims jwt.MapClaims) []string {
	return normalize(append(stringsOf(claims["scope"]), stringsOf(claims["scp"])...))
}

// stringsOf reads a claim holding an array of strings or a space-separated
// string; anything else holds none.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// lookupClaim returns the claim named name or, if there is none and name
// is dotted, the value reached by walking nested objects (Keycloak puts
// roles in realm_access.roles). The exact name wins so that namespaced
// claims such as https://example.com/roles keep working.
func lookupClaim(claims jwt.MapClaims, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var cur any = map[string]any(claims)
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
