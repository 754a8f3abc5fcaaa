package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestMetadataServedAtItsPaths(t *testing.T) {
	iss := newTestIssuer(t)
	a := newTestAuthenticator(t, iss.config(), nil)
	if got := a.MetadataURL(); got != testMetadataURL {
		t.Errorf("MetadataURL = %q, want %q", got, testMetadataURL)
	}
	paths := a.MetadataPaths()
	if want := []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}; !slices.Equal(paths, want) {
		t.Fatalf("MetadataPaths = %q, want %q", paths, want)
	}
	mux := http.NewServeMux()
	for _, p := range paths {
		mux.Handle(p, a.MetadataHandler())
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, p := range paths {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			BearerMethods        []string `json:"bearer_methods_supported"`
			Scopes               []string `json:"scopes_supported"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, Content-Type %q; want 200 JSON", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got.Resource != testResource ||
			!slices.Equal(got.AuthorizationServers, []string{testIssuerName}) ||
			!slices.Equal(got.BearerMethods, []string{"header"}) ||
			!slices.Equal(got.Scopes, []string{"tools:admin", "tools:call"}) {
			t.Errorf("%s: metadata %+v; want the resource, the issuer as authorization server, header bearer and the mapped scopes", p, got)
		}
	}
}

func TestMetadataURLForms(t *testing.T) {
	_, digest := newKey(t)
	for _, tc := range []struct {
		resource, url string
		paths         []string
	}{
		{"https://h.example/mcp", "https://h.example/.well-known/oauth-protected-resource/mcp",
			[]string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}},
		{"http://127.0.0.1:8080/api/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api/mcp",
			[]string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/api/mcp"}},
		{"https://h.example/", "https://h.example/.well-known/oauth-protected-resource",
			[]string{"/.well-known/oauth-protected-resource"}},
		{"", "", nil},
	} {
		a := newTestAuthenticator(t, Config{
			APIKeys:              []APIKey{{Name: "k", SHA256: digest, Roles: []string{"r"}}},
			Resource:             tc.resource,
			AuthorizationServers: []string{"https://auth.example/"},
		}, nil)
		if a.MetadataURL() != tc.url || !slices.Equal(a.MetadataPaths(), tc.paths) {
			t.Errorf("resource %q: MetadataURL %q, paths %q; want %q, %q", tc.resource, a.MetadataURL(), a.MetadataPaths(), tc.url, tc.paths)
		}
	}
}
