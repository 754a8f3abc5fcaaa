package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

const (
	// jwksRefetchEvery bounds the refetches that tokens naming an unknown
	// kid can cause: anyone can send such a token, and each must not cost
	// a request to the authorization server.
	jwksRefetchEvery = time.Minute
	// jwksRefreshEvery is how often a JWKS URL is fetched regardless, so
	// that a key the authorization server withdrew stops being accepted.
	jwksRefreshEvery = 15 * time.Minute
	// jwksFetchTimeout bounds one fetch of a JWKS URL.
	jwksFetchTimeout = 10 * time.Second
)

// Keys of unknown use are accepted, since many authorization servers leave
// "use" out; keys marked for encryption are not.
var signingUses = []jwkset.USE{jwkset.UseSig, ""}

// keySource holds the keys that JWTs are verified with.
//
// For a URL it is assembled from jwkset and keyfunc parts rather than with
// keyfunc.NewDefaultOverrideCtx, whose RefreshUnknownKID limiter is waited
// on: a token naming an unknown kid while the limiter is empty would hold
// its request for up to RateLimitWaitMax, and the same deadline would also
// cut the refetch short. Here the gate is asked without waiting, and on a
// clock tests can move.
type keySource struct {
	// cached finds a key among those held now and never fetches.
	cached keyfunc.Keyfunc
	// fetching, nil for a file, refetches the JWKS when cached misses.
	fetching keyfunc.Keyfunc
	// gate lets one refetch through per jwksRefetchEvery, on the clock now.
	// It is asked without waiting: a token arriving while the gate is shut
	// is refused at once instead of being held until it opens.
	gate *rate.Limiter
	now  func() time.Time
	// origin names the source in errors: the config key and its value.
	origin string
}

// loadJWKSFile reads a JWKS file once.
func loadJWKSFile(path string) (*keySource, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_file: %w", err)
	}
	store, err := parseJWKS(raw)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_file: %s: %w", path, err)
	}
	cached, err := keyfunc.New(keyfunc.Options{Storage: store, UseWhitelist: signingUses})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_file: %w", err)
	}
	return &keySource{cached: cached, origin: "auth.jwt.jwks_file (" + path + ")"}, nil
}

// parseJWKS reads a JWK Set, skipping keys of types jwkset does not know
// (as the URL path does) but refusing broken ones and a set left empty.
func parseJWKS(raw []byte) (jwkset.Storage, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf(`not a JWK Set (JSON {"keys": [...]}): %w`, err)
	}
	store := jwkset.NewMemoryStorage()
	for i, m := range set.Keys {
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if errors.Is(err, jwkset.ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys[%d] (kid %q): %w", i, m.KID, err)
		}
		if err := store.KeyWrite(context.Background(), k); err != nil {
			return nil, err
		}
	}
	if err := checkNotEmpty(store, len(set.Keys)); err != nil {
		return nil, err
	}
	return store, nil
}

// checkNotEmpty refuses a key set holding no usable key; listed is how
// many keys the document listed, or -1 if unknown.
func checkNotEmpty(store jwkset.Storage, listed int) error {
	keys, err := store.KeyReadAll(context.Background())
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return nil
	}
	if listed >= 0 {
		return fmt.Errorf("no usable signing key among the %d listed (moat uses RSA, EC and OKP public keys); check that this is your authorization server's JWKS", listed)
	}
	return fmt.Errorf("no usable signing key (moat uses RSA, EC and OKP public keys); check that this is your authorization server's JWKS")
}

// fetchErrKey carries, in the context of one refetch, where jwkset's
// error handler should put the reason the refetch failed.
type fetchErrKey struct{}

// fetchJWKS fetches a JWKS URL, failing if that fails: without keys no JWT
// could be accepted, and an operator had better learn of a wrong URL at
// start than from refused clients. The periodic refresh runs until life
// ends; life also bounds the first fetch, with jwksFetchTimeout.
func fetchJWKS(life context.Context, rawURL string, client *http.Client, now func() time.Time) (*keySource, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %w", err)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %s is plain http, so anyone on the way could swap the signing keys; use https (plain http is allowed only for loopback hosts)", rawURL)
	}
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	held, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:          client,
		Ctx:             life,
		HTTPTimeout:     jwksFetchTimeout,
		RefreshInterval: jwksRefreshEvery,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			if sink, ok := ctx.Value(fetchErrKey{}).(*error); ok {
				*sink = err
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: fetching the signing keys from %s: %w; check the URL and that the authorization server is reachable (moat does not start without them)", rawURL, err)
	}
	if err := checkNotEmpty(held, -1); err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %s: %w", rawURL, err)
	}
	// The refetching storage wraps the same held keys. Its own limiter is
	// left unlimited because gate does the limiting, without blocking.
	refetching, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{rawURL: held},
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %w", err)
	}
	cached, err := keyfunc.New(keyfunc.Options{Ctx: life, Storage: held, UseWhitelist: signingUses})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %w", err)
	}
	fetching, err := keyfunc.New(keyfunc.Options{Ctx: life, Storage: refetching, UseWhitelist: signingUses})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %w", err)
	}
	return &keySource{
		cached:   cached,
		fetching: fetching,
		gate:     rate.NewLimiter(rate.Every(jwksRefetchEvery), 1),
		now:      now,
		origin:   "auth.jwt.jwks_url (" + rawURL + ")",
	}, nil
}

// keyfunc finds the key a token was signed with. A kid the source does not
// hold makes a URL source refetch its JWKS, if the gate allows, so that a
// key the authorization server rotated in is accepted on its first use.
func (s *keySource) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		key, err := s.cached.KeyfuncCtx(ctx)(t)
		if !errors.Is(err, jwkset.ErrKeyNotFound) {
			return key, err
		}
		kid, _ := t.Header["kid"].(string)
		message := fmt.Sprintf("unknown signing key %q", kid)
		if s.fetching == nil {
			return nil, unauthenticated(reasonUnknownKID, message, fmt.Errorf("no key with this kid in %s", s.origin))
		}
		if !s.gate.AllowN(s.now(), 1) {
			return nil, unauthenticated(reasonUnknownKID, message, fmt.Errorf("no key with this kid in %s, last refetched less than %v ago", s.origin, jwksRefetchEvery))
		}
		// The refetch outlives a caller who hangs up: the gate is shut for a
		// minute now, and the callers after this one need its result.
		var fetchErr error
		ctx, cancel := context.WithTimeout(context.WithValue(context.WithoutCancel(ctx), fetchErrKey{}, &fetchErr), jwksFetchTimeout)
		defer cancel()
		key, err = s.fetching.KeyfuncCtx(ctx)(t)
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			if fetchErr != nil {
				return nil, unauthenticated(reasonUnknownKID, message, fmt.Errorf("refetching %s failed: %w", s.origin, fetchErr))
			}
			return nil, unauthenticated(reasonUnknownKID, message, fmt.Errorf("no key with this kid in %s, refetched just now", s.origin))
		}
		return key, err
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
