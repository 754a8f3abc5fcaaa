package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/host/internal/store"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
)

// frontDoor holds the parts of the front door built from the configuration.
type frontDoor struct {
	auth    *auth.Authenticator
	policy  *policy.Policy
	audit   *observe.Audit
	secrets *observe.Secrets
	// shared keeps the rate buckets when store.redis is set; nil keeps
	// them in the process. It is the store's, and outlives every front
	// door.
	shared policy.Shared
}

// sharedBuckets are the rate buckets of the shared store, or nil.
func sharedBuckets(r *store.Redis) policy.Shared {
	if r == nil {
		return nil
	}
	return r.Buckets()
}

func (f *frontDoor) close(log hclog.Logger) {
	if f.auth != nil {
		f.auth.Close()
	}
	if err := f.audit.Close(); err != nil {
		log.Error("the audit log could not be written in full", "error", err)
	}
	if n := f.audit.Dropped(); n > 0 {
		log.Warn("audit records were dropped because the audit writer fell behind", "dropped", n)
	}
}

// rebuild builds the front door of cfg on a reload, reusing each part of
// f whose settings did not change (so rate buckets, the audit file and the
// key fetcher carry over), and building the others anew. The secrets are
// the one shared set. An error leaves f as it was, its parts open.
func (f *frontDoor) rebuild(ctx context.Context, old, cfg *config.Config) (*frontDoor, error) {
	g := &frontDoor{secrets: f.secrets, shared: f.shared}
	g.secrets.Add(cfg.SecretValues()...)
	var err error
	if reflect.DeepEqual(old.Auth, cfg.Auth) {
		g.auth = f.auth
	} else if cfg.Auth.Configured() {
		if g.auth, err = newAuth(ctx, cfg); err != nil {
			return nil, err
		}
	}
	samePolicy := reflect.DeepEqual(old.Roles, cfg.Roles) && reflect.DeepEqual(old.RateLimits, cfg.RateLimits) && old.Auth.Configured() == cfg.Auth.Configured()
	if samePolicy {
		g.policy = f.policy
	} else if cfg.Auth.Configured() || len(cfg.Roles) > 0 || hasLimits(cfg.RateLimits) {
		if g.policy, err = newPolicy(cfg, g.shared); err != nil {
			g.closeOwn(f, hclog.NewNullLogger())
			return nil, err
		}
	}
	if old.Audit == cfg.Audit {
		g.audit = f.audit
	} else if cfg.Audit.Path != "" {
		if g.audit, err = observe.OpenAudit(cfg.Audit.Path, observe.AuditOptions{IncludeArguments: cfg.Audit.IncludeArguments}); err != nil {
			g.closeOwn(f, hclog.NewNullLogger())
			return nil, err
		}
		g.audit.SetScrubber(g.secrets)
	}
	return g, nil
}

// closeOwn closes the parts of g that other does not share.
func (g *frontDoor) closeOwn(other *frontDoor, log hclog.Logger) {
	own := &frontDoor{}
	if g.auth != other.auth {
		own.auth = g.auth
	}
	if g.audit != other.audit {
		own.audit = g.audit
	}
	own.close(log)
}

// newFrontDoor builds authentication, the policy, the audit log and the
// secrets from cfg. Errors name the configuration key.
// secrets, when not nil, are the log's: the front door adds cfg's to them
// and scrubs with the same set.
func newFrontDoor(ctx context.Context, cfg *config.Config, secrets *observe.Secrets, shared policy.Shared) (*frontDoor, error) {
	if secrets == nil {
		secrets = observe.NewSecrets()
	}
	secrets.Add(cfg.SecretValues()...)
	f := &frontDoor{secrets: secrets, shared: shared}
	var err error
	if cfg.Auth.Configured() {
		if f.auth, err = newAuth(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Auth.Configured() || len(cfg.Roles) > 0 || hasLimits(cfg.RateLimits) {
		if f.policy, err = newPolicy(cfg, f.shared); err != nil {
			f.close(hclog.NewNullLogger())
			return nil, err
		}
	}
	if cfg.Audit.Path != "" {
		if f.audit, err = observe.OpenAudit(cfg.Audit.Path, observe.AuditOptions{IncludeArguments: cfg.Audit.IncludeArguments}); err != nil {
			f.close(hclog.NewNullLogger())
			return nil, err
		}
		f.audit.SetScrubber(f.secrets)
	}
	return f, nil
}

// newAuth builds the authenticator of cfg's auth section.
func newAuth(ctx context.Context, cfg *config.Config) (*auth.Authenticator, error) {
	ac := auth.Config{Resource: cfg.Auth.Resource, AuthorizationServers: cfg.Auth.AuthorizationServers}
	for _, k := range cfg.Auth.APIKeys {
		ac.APIKeys = append(ac.APIKeys, auth.APIKey{Name: k.Name, SHA256: k.SHA256, Roles: k.Roles})
	}
	if j := cfg.Auth.JWT; j != nil {
		ac.JWT = &auth.JWTConfig{Issuer: j.Issuer, Audience: j.Audience, JWKSFile: j.JWKSFile, JWKSURL: j.JWKSURL,
			RolesClaim: j.RolesClaim, ScopeRoles: j.ScopeRoles, RequiredScopes: j.RequiredScopes}
	}
	return auth.New(ctx, ac)
}

// front is the server's Front for this front door under cfg.
func (f *frontDoor) front(cfg *config.Config) *server.Front {
	fallback := auth.Anonymous(nil)
	if cfg.Listen == "" {
		fallback = auth.Local(cfg.Auth.StdioRoles)
	}
	return &server.Front{Auth: f.auth, Policy: f.policy, Audit: f.audit, Secrets: f.secrets, Fallback: fallback,
		AllowedOrigins: cfg.HTTP.AllowedOrigins, MaxBody: cfg.HTTP.MaxBody, MaxInflight: cfg.MaxInflight,
		StateKey: stateKey(cfg)}
}

// stateKey is request_state.key, or else the key kept in data_dir,
// generated there the first time a round needs it.
func stateKey(cfg *config.Config) *server.StateKey {
	ttl := time.Duration(cfg.RequestState.TTL)
	if k := cfg.RequestState.Key; k != "" {
		return server.NewStateKey([]byte(k), ttl)
	}
	return server.NewLazyStateKey(func() ([]byte, error) {
		dir, err := cfg.DataDirPath()
		if err != nil {
			return nil, err
		}
		key, err := keptKey(filepath.Join(dir, config.StateKeyFile))
		if err != nil {
			return nil, fmt.Errorf("request_state: %v; set request_state.key, or make data_dir writable", err)
		}
		return key, nil
	}, ttl)
}

// keptKey reads the key in path, creating it (0600, in a folder created
// 0700) with 32 random bytes, hex-encoded, if there is none.
func keptKey(path string) ([]byte, error) {
	for range 2 {
		if b, err := os.ReadFile(path); err == nil {
			if key := bytes.TrimSpace(b); len(key) >= config.MinStateKey {
				return key, nil
			}
			return nil, fmt.Errorf("%s holds fewer than %d bytes of key", path, config.MinStateKey)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // another moat on the same data_dir made it first
		}
		if err != nil {
			return nil, err
		}
		key := []byte(hex.EncodeToString(raw))
		_, err = f.Write(append(key, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, fmt.Errorf("%s could not be read or created", path)
}

// Secrets are the values moat must never let out: every value granted to
// a plugin under grants.config, and every value the configuration read
// through a ${env:} or ${file:} reference.
func Secrets(cfg *config.Config) *observe.Secrets {
	s := observe.NewSecrets()
	s.Add(cfg.SecretValues()...)
	return s
}

func hasLimits(l config.RateLimits) bool {
	return l.Global != nil || l.PerPrincipal != nil || l.PerTool != nil || l.PerPrincipalTool != nil
}

// newPolicy builds the policy of cfg, its rate buckets in shared when not
// nil.
func newPolicy(cfg *config.Config, shared policy.Shared) (*policy.Policy, error) {
	limits, err := policyLimits(cfg.RateLimits, "rate_limits")
	if err != nil {
		return nil, err
	}
	roles := map[string]policy.Role{}
	for name, r := range cfg.Roles {
		role := policy.Role{
			Tools:     policy.Rules{Allow: r.Allow, Deny: r.Deny},
			Resources: policy.Rules{Allow: r.Resources.Allow, Deny: r.Resources.Deny},
			Prompts:   policy.Rules{Allow: r.Prompts.Allow, Deny: r.Prompts.Deny},
		}
		if r.RateLimits != nil {
			l, err := policyLimits(*r.RateLimits, "roles."+name+".rate_limits")
			if err != nil {
				return nil, err
			}
			role.Limits = &l
		}
		roles[name] = role
	}
	opts := policy.Options{Shared: shared}
	if cfg.Store.Redis != nil {
		opts.OnSharedError = cfg.Store.Redis.RateLimitOnError
	}
	return policy.New(roles, limits, opts)
}

func policyLimits(c config.RateLimits, key string) (policy.Limits, error) {
	var out policy.Limits
	for _, l := range []struct {
		name string
		in   *config.RateLimit
		out  **policy.Limit
	}{
		{"global", c.Global, &out.Global},
		{"per_principal", c.PerPrincipal, &out.PerPrincipal},
		{"per_tool", c.PerTool, &out.PerTool},
		{"per_principal_tool", c.PerPrincipalTool, &out.PerPrincipalTool},
	} {
		if l.in == nil {
			continue
		}
		r, err := policy.ParseRate(l.in.Rate)
		if err != nil {
			return out, fmt.Errorf("%s.%s.rate: %w", key, l.name, err)
		}
		burst := l.in.Burst
		if burst < 0 {
			return out, fmt.Errorf("%s.%s.burst: %d is negative; set 1 or more, or leave it out for the per-second rate", key, l.name, burst)
		}
		if burst == 0 {
			burst = max(1, int(math.Ceil(float64(r))))
		}
		*l.out = &policy.Limit{Rate: r, Burst: burst}
	}
	return out, nil
}
