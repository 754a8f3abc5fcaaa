// Package auth tells who is calling moat over HTTP: the holder of an API
// key, or the subject of a JWT access token from an OAuth authorization
// server. The answer is a [Principal] with an ID for audit logs and rate
// limits and the roles that host/policy turns into permissions.
//
// The host builds one [Authenticator] from the auth section of the
// configuration, wraps its MCP endpoint in [Authenticator.Middleware], and
// serves [Authenticator.MetadataHandler] at [Authenticator.MetadataPaths]
// so that MCP clients can find the authorization server (RFC 9728):
//
//	a, err := auth.New(ctx, cfg)
//	if err != nil { ... }   // the error names the key at fault
//	defer a.Close()
//	mux.Handle("/mcp", a.Middleware(mcpHandler, audit))
//	for _, p := range a.MetadataPaths() {
//		mux.Handle(p, a.MetadataHandler())
//	}
//
// API keys are configured by their SHA-256 digest only ([NewAPIKey] makes a
// key and its digest) and compared in constant time. JWTs are accepted only
// if signed with an asymmetric algorithm (RS256, ES256 and EdDSA by
// default; never none or HS256) by a key in the configured JWK Set, issued
// by the configured issuer for this server's audience, and not expired,
// give or take a minute of clock skew. A JWK Set URL is refetched when a
// token names a key it does not hold, at most once a minute, so keys the
// authorization server rotates in work on first use.
//
// Stdio callers are the local user ([Local]); with no authentication
// configured, HTTP callers are [Anonymous].
package auth
