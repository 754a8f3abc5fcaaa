package auth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// wellKnown is where RFC 9728 puts protected resource metadata.
const wellKnown = "/.well-known/oauth-protected-resource"

// setResource checks Config.Resource and Config.AuthorizationServers and
// prepares the metadata that describes them.
func (a *Authenticator) setResource(cfg Config) error {
	u, err := checkURL(cfg.Resource)
	if err != nil {
		return fmt.Errorf("auth.resource: %w; write this server's URL as clients reach it, such as https://mcp.example.com/mcp", err)
	}
	for i, s := range cfg.AuthorizationServers {
		if _, err := checkURL(s); err != nil {
			return fmt.Errorf("auth.authorization_servers[%d]: %w; write the issuer URL of an authorization server, such as https://auth.example.com/", i, err)
		}
	}
	// RFC 9728 section 3.1: the well-known path goes between the host and
	// the resource's path, so https://h/mcp is described at
	// https://h/.well-known/oauth-protected-resource/mcp.
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	a.metadataURL = u.Scheme + "://" + u.Host + wellKnown + path
	a.metadataPaths = []string{wellKnown}
	if path != "" {
		a.metadataPaths = append(a.metadataPaths, wellKnown+path)
	}
	a.metadata = &oauthex.ProtectedResourceMetadata{
		Resource:               cfg.Resource,
		AuthorizationServers:   slices.Clone(cfg.AuthorizationServers),
		BearerMethodsSupported: []string{"header"},
	}
	if cfg.JWT != nil {
		for s := range cfg.JWT.ScopeRoles {
			a.metadata.ScopesSupported = append(a.metadata.ScopesSupported, s)
		}
		a.metadata.ScopesSupported = normalize(append(a.metadata.ScopesSupported, cfg.JWT.RequiredScopes...))
	}
	return nil
}

// MetadataURL is the URL of the protected resource metadata (RFC 9728) of
// Config.Resource, in the path form: for https://h/mcp it is
// https://h/.well-known/oauth-protected-resource/mcp. 401 responses point
// clients to it. Empty without Config.Resource.
func (a *Authenticator) MetadataURL() string { return a.metadataURL }

// MetadataPaths are the paths to serve [Authenticator.MetadataHandler] at:
// /.well-known/oauth-protected-resource and, when the resource has a path,
// the path form of MetadataURL, such as
// /.well-known/oauth-protected-resource/mcp. Nil without Config.Resource.
func (a *Authenticator) MetadataPaths() []string { return slices.Clone(a.metadataPaths) }

// MetadataHandler serves the protected resource metadata as JSON: the
// resource, its authorization servers, bearer_methods_supported ["header"]
// and, as scopes_supported, the scopes of ScopeRoles and RequiredScopes.
// It allows any origin, since the metadata is public. Without
// Config.Resource it answers 404.
func (a *Authenticator) MetadataHandler() http.Handler {
	if a.metadata == nil {
		return http.NotFoundHandler()
	}
	return auth.ProtectedResourceMetadataHandler(a.metadata)
}

// scopeHint is the scope parameter of a 403: what a client should ask for.
func (a *Authenticator) scopeHint() string {
	if a.metadata == nil {
		return ""
	}
	return strings.Join(a.metadata.ScopesSupported, " ")
}
