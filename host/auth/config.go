package auth

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Config says how callers prove who they are. Its fields mirror the auth
// section of moat's configuration file, and errors from [New] name them by
// their keys there (auth.api_keys[0].sha256, auth.jwt.issuer, ...).
type Config struct {
	// APIKeys are the accepted API keys.
	APIKeys []APIKey
	// JWT, when set, accepts OAuth 2.1 access tokens that are JWTs.
	JWT *JWTConfig
	// Resource is this server's resource URL (RFC 9728) as clients reach
	// it, such as https://mcp.example.com/mcp. It is the default JWT
	// audience and the subject of the protected resource metadata that
	// tells clients where to get tokens. Required with JWT.
	Resource string
	// AuthorizationServers are the issuers clients may get tokens from,
	// listed in the metadata. Default with JWT: the JWT issuer.
	AuthorizationServers []string
}

// APIKey is one accepted API key. Only its digest is configured, so the
// configuration file holds no secret.
type APIKey struct {
	// Name identifies the key in audit logs as "key:NAME"; unique.
	Name string
	// SHA256 is the lowercase hex SHA-256 digest of the key, as printed by
	// moat key new (or NewAPIKey).
	SHA256 string
	// Roles are the roles the key's holder has; at least one.
	Roles []string
}

// JWTConfig accepts JWT access tokens signed by an authorization server.
type JWTConfig struct {
	// Issuer must equal the token's iss claim. Required.
	Issuer string
	// Audience must be among the token's aud claim. Default: Config.Resource.
	Audience string
	// JWKSFile is a JSON Web Key Set read once at New. JWKSURL is one
	// fetched at New, refreshed every 15 minutes, and refetched when a
	// token names a key it does not hold (at most once a minute). Set
	// exactly one; a URL must be https unless its host is loopback.
	JWKSFile, JWKSURL string
	// RolesClaim names the claim holding the caller's roles, as an array
	// of strings or one space-separated string. A dotted name such as
	// realm_access.roles reaches into nested objects when no claim has that
	// exact name. Default "roles".
	RolesClaim string
	// ScopeRoles grants a role for a scope: a token whose scope (or scp)
	// claim holds the key gets the value as a role.
	ScopeRoles map[string]string
	// RequiredScopes must all be in a token's scopes; otherwise the caller
	// gets 403 insufficient_scope.
	RequiredScopes []string
	// Algorithms are the accepted signing algorithms. Default RS256,
	// ES256 and EdDSA. Only asymmetric algorithms may be listed.
	Algorithms []string
	// HTTPClient fetches JWKSURL. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

// The defaults of JWTConfig.
var (
	defaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}
	// Symmetric algorithms are refused outright: with them, anyone holding
	// the verification key could mint tokens.
	asymmetricAlgorithms = []string{
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512", "EdDSA",
	}
)

const defaultRolesClaim = "roles"

var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

// apiKey is an APIKey ready for comparison.
type apiKey struct {
	name   string
	digest [32]byte
	roles  []string
}

func parseAPIKeys(keys []APIKey) ([]apiKey, error) {
	out := make([]apiKey, 0, len(keys))
	names := map[string]int{}
	digests := map[[32]byte]int{}
	for i, k := range keys {
		at := fmt.Sprintf("auth.api_keys[%d]", i)
		if k.Name == "" {
			return nil, fmt.Errorf("%s.name: empty; name the key (callers using it appear as key:NAME in the audit log)", at)
		}
		if !keyNamePattern.MatchString(k.Name) {
			return nil, fmt.Errorf("%s.name: %q may hold only letters, digits, '_', '.', '@' and '-'", at, k.Name)
		}
		if j, dup := names[k.Name]; dup {
			return nil, fmt.Errorf("%s.name: %q is already the name of auth.api_keys[%d]; give each key its own name", at, k.Name, j)
		}
		names[k.Name] = i
		d, err := parseDigest(k.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s.sha256: %v; generate a key and its digest with moat key new", at, err)
		}
		if j, dup := digests[d]; dup {
			return nil, fmt.Errorf("%s.sha256: the same digest as auth.api_keys[%d], so one key would have two names; generate a new key with moat key new", at, j)
		}
		digests[d] = i
		roles := normalize(k.Roles)
		if len(roles) == 0 {
			return nil, fmt.Errorf("%s.roles: empty, so every call with this key would be refused; give it at least one role", at)
		}
		out = append(out, apiKey{name: k.Name, digest: d, roles: roles})
	}
	return out, nil
}

func parseDigest(s string) ([32]byte, error) {
	var d [32]byte
	if strings.HasPrefix(s, apiKeyPrefix) {
		return d, fmt.Errorf("this is a key, not its digest; put the key's SHA-256 here and keep the key itself out of the configuration")
	}
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("%d characters, want 64 hex digits (a SHA-256 digest)", len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("not hex (%v), want 64 hex digits (a SHA-256 digest)", err)
	}
	return d, nil
}

// checkURL reports whether s is an absolute http(s) URL without fragment.
func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return nil, fmt.Errorf("%q has a fragment (#...), which a resource URL must not have", s)
	}
	return u, nil
}

// checkJWT validates the parts of a JWTConfig that need no I/O and returns
// the audience and algorithms to use.
func checkJWT(j *JWTConfig, resource string) (audience string, algs []string, err error) {
	if j.Issuer == "" {
		return "", nil, fmt.Errorf("auth.jwt.issuer: empty; set it to the iss claim your authorization server puts in its tokens, such as https://auth.example.com/")
	}
	audience = j.Audience
	if audience == "" {
		audience = resource
	}
	if audience == "" {
		return "", nil, fmt.Errorf("auth.jwt.audience: empty and auth.resource is not set; set auth.resource to this server's URL (tokens must then name it as their aud), or set auth.jwt.audience")
	}
	if resource == "" {
		return "", nil, fmt.Errorf("auth.resource: empty; with auth.jwt set it to this server's URL as clients reach it, such as https://mcp.example.com/mcp, so that they can discover where to get tokens (RFC 9728)")
	}
	switch {
	case j.JWKSFile != "" && j.JWKSURL != "":
		return "", nil, fmt.Errorf("auth.jwt: both jwks_file and jwks_url are set; keep one")
	case j.JWKSFile == "" && j.JWKSURL == "":
		return "", nil, fmt.Errorf("auth.jwt: set jwks_url to your authorization server's JWKS endpoint (such as https://auth.example.com/.well-known/jwks.json), or jwks_file to a JWKS file")
	}
	for scope, role := range j.ScopeRoles {
		if scope == "" || strings.ContainsAny(scope, " \t\"\\") {
			return "", nil, fmt.Errorf("auth.jwt.scope_roles: scope %q must be one non-empty word without quotes or backslashes", scope)
		}
		if role == "" {
			return "", nil, fmt.Errorf("auth.jwt.scope_roles.%s: empty; name the role this scope grants", scope)
		}
	}
	for i, s := range j.RequiredScopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			return "", nil, fmt.Errorf("auth.jwt.required_scopes[%d]: %q must be one non-empty word without quotes or backslashes", i, s)
		}
	}
	algs = defaultAlgorithms
	if len(j.Algorithms) > 0 {
		algs = nil
		for i, a := range j.Algorithms {
			if !slices.Contains(asymmetricAlgorithms, a) {
				return "", nil, fmt.Errorf("auth.jwt.algorithms[%d]: %q is not accepted; list asymmetric ones only (%s)", i, a, strings.Join(asymmetricAlgorithms, ", "))
			}
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	return audience, algs, nil
}

// normalize returns names sorted, without duplicates or empty strings, or
// nil when none are left.
func normalize(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
