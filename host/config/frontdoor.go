package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// The front door: who may call (auth), what they may call (roles), how
// often (rate_limits), and the HTTP edge, TLS and audit.

// Auth configures authentication. With neither api_keys nor jwt, every HTTP
// caller is anonymous and moat serves HTTP on loopback only.
type Auth struct {
	APIKeys []APIKey `yaml:"api_keys"`
	JWT     *JWT     `yaml:"jwt"`
	// Resource is this server's resource URL (RFC 9728), such as
	// https://mcp.example.com/mcp; JWTs must name it as their audience
	// unless jwt.audience says otherwise.
	Resource             string   `yaml:"resource"`
	AuthorizationServers []string `yaml:"authorization_servers"`
	// StdioRoles are the roles of the local user over stdio. Unset, the
	// local user may call every tool.
	StdioRoles []string `yaml:"stdio_roles"`
	// AllowAnonymous lets moat serve HTTP beyond loopback with no
	// authentication. Only set it on purpose.
	AllowAnonymous bool `yaml:"allow_anonymous"`
}

// APIKey is one accepted key, stored as the hex SHA-256 of the key.
type APIKey struct {
	Name   string   `yaml:"name"`
	SHA256 string   `yaml:"sha256"`
	Roles  []string `yaml:"roles"`
}

// JWT configures OAuth 2.1 bearer tokens.
type JWT struct {
	Issuer         string            `yaml:"issuer"`
	Audience       string            `yaml:"audience"`
	JWKSFile       string            `yaml:"jwks_file"`
	JWKSURL        string            `yaml:"jwks_url"`
	RolesClaim     string            `yaml:"roles_claim"`
	ScopeRoles     map[string]string `yaml:"scope_roles"`
	RequiredScopes []string          `yaml:"required_scopes"`
}

// Configured reports whether any authentication is set up.
func (a Auth) Configured() bool { return len(a.APIKeys) > 0 || a.JWT != nil }

// Role is what a role's holders may see and call, over the names clients
// see, and optionally their own rate limits.
type Role struct {
	Allow      []string    `yaml:"allow"`
	Deny       []string    `yaml:"deny"`
	Resources  Rules       `yaml:"resources"`
	Prompts    Rules       `yaml:"prompts"`
	RateLimits *RateLimits `yaml:"rate_limits"`
}

// Rules are allow and deny glob patterns.
type Rules struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// RateLimits are token buckets; a nil one is unlimited.
type RateLimits struct {
	Global           *RateLimit `yaml:"global"`
	PerPrincipal     *RateLimit `yaml:"per_principal"`
	PerTool          *RateLimit `yaml:"per_tool"`
	PerPrincipalTool *RateLimit `yaml:"per_principal_tool"`
}

// RateLimit is one bucket: rate such as "100/s", "10/m" or "5000/h", and
// the burst it may absorb at once (default: the per-second rate, at least 1).
type RateLimit struct {
	Rate  string `yaml:"rate"`
	Burst int    `yaml:"burst"`
}

// HTTP configures the HTTP edge.
type HTTP struct {
	// MaxBody caps a request body; larger ones get 413. Default 4MiB.
	MaxBody Size `yaml:"max_body"`
	// ReadHeaderTimeout and ReadTimeout bound how slowly a client may send
	// (against slow-loris). Defaults 10s and 60s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 2m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnections caps concurrent connections. Default 1024.
	MaxConnections int `yaml:"max_connections"`
	// SessionTimeout closes a 2025-11-25 session that sent no request for
	// this long, as a client that vanished without ending it. Default 1h.
	SessionTimeout Duration `yaml:"session_timeout"`
	// AllowedOrigins are the browser origins (scheme://host[:port]) that
	// may call; a request with another Origin gets 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxStreams caps the event streams held open at once: a session's GET
	// stream and a subscriptions/listen POST, which no timeout closes.
	// Past it a new one gets 503. It must stay below MaxConnections, so
	// that streams never hold every connection. Default MaxConnections/2.
	MaxStreams int `yaml:"max_streams"`
	// MaxStreamsPerPrincipal caps the streams one principal holds; past it
	// a new one gets 429. Default MaxStreams/8, at least 1.
	MaxStreamsPerPrincipal int `yaml:"max_streams_per_principal"`
	// MaxSessions caps the 2025-11-25 sessions open at once; past it an
	// initialize gets 503. Default 4096 (an idle session holds about 8KiB
	// of heap and stack, so 4096 hold about 32MiB; see
	// docs/RELIABILITY.md).
	MaxSessions int `yaml:"max_sessions"`
	// MaxSessionsPerPrincipal caps the sessions one principal holds; past
	// it an initialize gets 429. Default MaxSessions/8, at least 1.
	MaxSessionsPerPrincipal int `yaml:"max_sessions_per_principal"`
}

// WithDefaults returns h with every unset (zero) key at its default. It is
// the one place the defaults of the http section are decided, those
// derived from other keys included.
func (h HTTP) WithDefaults() HTTP {
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.ReadHeaderTimeout == 0 {
		h.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if h.ReadTimeout == 0 {
		h.ReadTimeout = DefaultReadTimeout
	}
	if h.IdleTimeout == 0 {
		h.IdleTimeout = DefaultIdleTimeout
	}
	if h.SessionTimeout == 0 {
		h.SessionTimeout = DefaultSessionTimeout
	}
	if h.MaxConnections == 0 {
		h.MaxConnections = DefaultMaxConnections
	}
	if h.MaxStreams == 0 {
		h.MaxStreams = max(1, h.MaxConnections/2)
	}
	if h.MaxStreamsPerPrincipal == 0 {
		h.MaxStreamsPerPrincipal = max(1, h.MaxStreams/8)
	}
	if h.MaxSessions == 0 {
		h.MaxSessions = DefaultMaxSessions
	}
	if h.MaxSessionsPerPrincipal == 0 {
		h.MaxSessionsPerPrincipal = max(1, h.MaxSessions/8)
	}
	return h
}

// validate checks the http section once its defaults are set.
func (h HTTP) validate() error {
	for _, k := range []struct {
		key string
		n   int
	}{
		{"http.max_connections", h.MaxConnections}, {"http.max_streams", h.MaxStreams},
		{"http.max_streams_per_principal", h.MaxStreamsPerPrincipal},
		{"http.max_sessions", h.MaxSessions}, {"http.max_sessions_per_principal", h.MaxSessionsPerPrincipal},
	} {
		if k.n < 0 {
			return fmt.Errorf("%s: %d is negative; set 1 or more, or leave it out for the default", k.key, k.n)
		}
	}
	if h.MaxStreams >= h.MaxConnections {
		return fmt.Errorf("http.max_streams: %d is not below http.max_connections (%d); each open stream holds a connection, so set it lower (the default is half) to leave connections for requests", h.MaxStreams, h.MaxConnections)
	}
	if h.MaxStreamsPerPrincipal > h.MaxStreams {
		return fmt.Errorf("http.max_streams_per_principal: %d is above http.max_streams (%d); set it at most that", h.MaxStreamsPerPrincipal, h.MaxStreams)
	}
	if h.MaxSessionsPerPrincipal > h.MaxSessions {
		return fmt.Errorf("http.max_sessions_per_principal: %d is above http.max_sessions (%d); set it at most that", h.MaxSessionsPerPrincipal, h.MaxSessions)
	}
	return nil
}

// TLS serves HTTPS (TLS 1.2 or later); ClientCA requires client
// certificates signed by it (mutual TLS).
type TLS struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" }

// Audit configures the audit log: one JSON line per tools/call and per
// refused call.
type Audit struct {
	// Path is "stderr" or a file (created 0600, appended). Empty: no audit.
	Path             string `yaml:"path"`
	IncludeArguments bool   `yaml:"include_arguments"`
}

// RequestState is the key that signs the state of input-required rounds.
// Replicas that serve one another's rounds share the key.
type RequestState struct {
	// Key is the HMAC-SHA256 key, at least MinStateKey bytes; best given
	// by reference (${file:...} or ${env:...}). Empty: a key generated
	// once and kept in data_dir as StateKeyFile.
	Key string `yaml:"key"`
	// TTL is how long a state is honoured after moat wrote it. Default
	// 10m.
	TTL Duration `yaml:"ttl"`
}

// MinStateKey is the shortest request_state.key accepted, in bytes.
const MinStateKey = 32

// StateKeyFile is the generated request_state key under data_dir.
const StateKeyFile = "request-state.key"

// Grants are what the operator grants a plugin. Config values are secrets,
// scrubbed from everything that leaves the host.
type Grants struct {
	Config map[string]string `yaml:"config"`
	// KV grants a key-value namespace of the plugin's own in data_dir.
	// Nil: kv_get, kv_set, kv_delete and kv_list answer -EPERM.
	KV *KVGrant `yaml:"kv"`
	// HTTP grants outbound HTTP to the hosts it lists. Nil: http_request
	// answers -EPERM.
	HTTP *HTTPGrant `yaml:"http"`
	// FS mounts host folders in the plugin's WASI file system.
	FS []FSGrant `yaml:"fs"`
	// Sampling lets the plugin ask the calling client's model for a
	// completion (moat.sample); Elicitation lets it ask the client's user
	// (moat.elicit). Both reach only the client of the current call.
	Sampling    bool `yaml:"sampling"`
	Elicitation bool `yaml:"elicitation"`
}

// FSGrant mounts one host folder in a plugin's file system.
type FSGrant struct {
	// Path is the host folder, relative to the file that sets it.
	Path string `yaml:"path"`
	// Mount is where the plugin sees it: an absolute guest path such as
	// /data.
	Mount string `yaml:"mount"`
	// Mode is ro (the default) or rw.
	Mode string `yaml:"mode"`
}

// Writable reports whether the mount is granted read-write.
func (g FSGrant) Writable() bool { return g.Mode == "rw" }

// HTTPGrant is a plugin's outbound HTTP grant.
type HTTPGrant struct {
	// Hosts are the hosts the plugin may reach: "example.com",
	// "*.example.org" (subdomains, not the apex), "127.0.0.1:8089" (that
	// port only). A private, loopback or link-local address is reachable
	// only when an entry names that very address.
	Hosts []string `yaml:"hosts"`
	// MaxResponse caps a response body. 0 means DefaultHTTPMaxResponse.
	MaxResponse Size `yaml:"max_response"`
	// Timeout bounds one request, redirects and body included. 0 means
	// DefaultHTTPTimeout.
	Timeout Duration `yaml:"timeout"`
}

// Defaults of an http grant.
const (
	DefaultHTTPMaxResponse = 5 << 20
	DefaultHTTPTimeout     = 10e9 // 10s
)

// HostPattern is one parsed entry of grants.http.hosts.
type HostPattern struct {
	Host     string // lower case, IDNs in ASCII, IPv6 without brackets
	Port     string // "" for any port
	Wildcard bool   // "*.Host": subdomains of Host, not Host itself
}

// ParseHostPattern reads one entry of grants.http.hosts.
func ParseHostPattern(s string) (HostPattern, error) {
	var p HostPattern
	if s == "" || strings.Contains(s, "/") || strings.ContainsAny(s, " @?#") {
		return p, fmt.Errorf("%q is not a host; write a name such as example.com, *.example.org or 127.0.0.1:8089, without a scheme or path", s)
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("%q: the port %q is not a number from 1 to 65535", s, port)
		}
		host, p.Port = h, port
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		p.Wildcard, host = true, rest
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if p.Wildcard {
			return p, fmt.Errorf("%q: a wildcard applies to names, not addresses", s)
		}
		p.Host = a.Unmap().WithZone("").String()
		return p, nil
	}
	if strings.Contains(host, "*") || strings.Contains(host, ":") {
		return p, fmt.Errorf("%q is not a host; '*' may only begin an entry, as in *.example.org", s)
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil || ascii == "" {
		return p, fmt.Errorf("%q is not a valid host name", s)
	}
	p.Host = strings.ToLower(ascii)
	return p, nil
}

// HTTPMaxResponse is the grant's response cap, defaulted.
func (g *HTTPGrant) HTTPMaxResponse() int64 {
	if g.MaxResponse == 0 {
		return DefaultHTTPMaxResponse
	}
	return int64(g.MaxResponse)
}

// HTTPTimeout is the grant's timeout, defaulted.
func (g *HTTPGrant) HTTPTimeout() time.Duration {
	if g.Timeout == 0 {
		return DefaultHTTPTimeout
	}
	return time.Duration(g.Timeout)
}

// KVGrant is a plugin's key-value grant.
type KVGrant struct {
	// Quota caps the bytes the plugin stores: the sum of len(key) +
	// len(value) over its keys. 0 means DefaultKVQuota.
	Quota Size `yaml:"quota"`
}

// DefaultKVQuota is a kv grant's quota when it sets none.
const DefaultKVQuota = 10 << 20

// Defaults of the HTTP edge.
const (
	DefaultMaxBody           = 4 << 20
	DefaultReadHeaderTimeout = 10e9  // 10s
	DefaultReadTimeout       = 60e9  // 60s
	DefaultIdleTimeout       = 120e9 // 2m
	DefaultMaxConnections    = 1024
	DefaultSessionTimeout    = 60 * 60e9 // 1h
	DefaultMaxSessions       = 4096
)
