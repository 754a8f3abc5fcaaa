package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/moat-mcp/moat/host/auth"
)

func ExampleAuthenticator_Middleware() {
	key, digest, err := auth.NewAPIKey() // give key to the client, configure digest
	if err != nil {
		panic(err)
	}
	a, err := auth.New(context.Background(), auth.Config{
		APIKeys:  []auth.APIKey{{Name: "ci", SHA256: digest, Roles: []string{"reader"}}},
		Resource: "https://mcp.example.com/mcp",
	})
	if err != nil {
		panic(err)
	}
	defer a.Close()

	tools := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "%s %v", p.ID, p.Roles)
	})
	refused := func(r *http.Request, reason string, err error) {
		fmt.Println("refused:", reason)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", a.Middleware(tools, refused))
	for _, path := range a.MetadataPaths() {
		mux.Handle(path, a.MetadataHandler())
	}

	for _, authorization := range []string{"", "Bearer " + key} {
		req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, rec.Body)
		} else {
			fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// refused: no_token
	// 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// 200 key:ci [reader]
}
