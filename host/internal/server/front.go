package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/host/policy"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Front is the part of the front door built from one configuration:
// who may call, what each may use and how often, where calls are audited,
// what is scrubbed, and the edge's origin and body rules. A reload builds a
// new Front and swaps it in with SetFront; each request is served by one
// Front from its start to its end, old or new, never a mix.
type Front struct {
	// Auth authenticates HTTP requests; nil serves everyone as Fallback.
	Auth *auth.Authenticator
	// Policy decides what each principal may see and call, and how often;
	// nil allows everything without limits.
	Policy *policy.Policy
	// Audit receives one record per call and per refusal.
	Audit *observe.Audit
	// Secrets are scrubbed from results and error messages.
	Secrets *observe.Secrets
	// Fallback is who calls when no token names anyone: the anonymous
	// principal over HTTP without auth, the local user over stdio.
	Fallback *auth.Principal
	// AllowedOrigins and MaxBody are the edge's rules (http.allowed_origins
	// and http.max_body).
	AllowedOrigins []string
	MaxBody        config.Size
	// MaxInflight caps concurrent calls; zero means no cap.
	MaxInflight int
	// StateKey signs the requestState of input-required rounds; nil
	// answers a plugin's sample or elicit in a sessionless call with a
	// tool error.
	StateKey *StateKey
	// Registry is the plugins this Front serves: a request routes its
	// calls through the registry of the Front it was admitted under, so it
	// never sees the tools of one configuration under the roles of
	// another. Nil: the registry the Server was made with.
	Registry *plugin.Registry

	key     string // names it in the header that carries it to the MCP layer
	once    sync.Once
	handler http.Handler // the HTTP chain built on it

	mu       sync.Mutex
	users    int
	retiring bool
	idle     chan struct{}
	forget   func()
}

// WithRegistry is a copy of f's settings serving reg: what a rescan of
// plugins_dir swaps in when only the plugins changed.
func (f *Front) WithRegistry(reg *plugin.Registry) *Front {
	return &Front{Auth: f.Auth, Policy: f.Policy, Audit: f.Audit, Secrets: f.Secrets, Fallback: f.Fallback,
		AllowedOrigins: f.AllowedOrigins, MaxBody: f.MaxBody, MaxInflight: f.MaxInflight, StateKey: f.StateKey, Registry: reg}
}

// registry is the registry a request routes through: its Front's, else
// the Server's own.
func (s *Server) registry(ctx context.Context) *plugin.Registry {
	if f := frontFrom(ctx); f != nil && f.Registry != nil {
		return f.Registry
	}
	return s.reg
}

// current is the registry new requests route through.
func (s *Server) current() *plugin.Registry {
	if f := s.front.Load(); f != nil && f.Registry != nil {
		return f.Registry
	}
	return s.reg
}

// frontHeader carries the key of the Front an HTTP request was admitted
// under to the MCP layer, which the go-sdk hands only the request's
// headers. A client's own value is removed first.
const frontHeader = "X-Moat-Front"

type frontKey struct{}

// frontFrom is the Front a request is served under.
func frontFrom(ctx context.Context) *Front {
	f, _ := ctx.Value(frontKey{}).(*Front)
	return f
}

func withFront(ctx context.Context, f *Front) context.Context {
	return context.WithValue(ctx, frontKey{}, f)
}

// SetFront serves new requests under f from now on and returns the Front
// it replaces; its Idle closes once the requests it serves have ended.
func (s *Server) SetFront(f *Front) (old *Front) {
	f.key = strconv.FormatUint(s.frontSeq.Add(1), 10)
	s.fronts.Store(f.key, f)
	old = s.front.Swap(f)
	if old != nil {
		old.retire(func() { s.fronts.Delete(old.key) })
	}
	return old
}

// Front is the Front new requests are served under.
func (s *Server) Front() *Front { return s.front.Load() }

// acquire takes the current Front for one request.
func (s *Server) acquire() *Front {
	for {
		f := s.front.Load()
		f.mu.Lock()
		if !f.retiring {
			f.users++
			f.mu.Unlock()
			return f
		}
		f.mu.Unlock() // swapped meanwhile: take the new one
	}
}

// hold counts one more user of a Front its caller holds already, for work
// that outlives the request it came with (a task's run); release ends it.
func (f *Front) hold() {
	f.mu.Lock()
	f.users++
	f.mu.Unlock()
}

func (f *Front) release() {
	f.mu.Lock()
	f.users--
	ended := f.users == 0 && f.retiring && f.idle != nil
	if ended {
		close(f.idle)
		f.idle = nil
	}
	forget := f.forget
	f.mu.Unlock()
	if ended && forget != nil {
		forget()
	}
}

// retire marks f as replaced; forget runs once its last request ends, on
// the goroutine that ends it (no goroutine waits for it).
func (f *Front) retire(forget func()) {
	f.mu.Lock()
	f.retiring = true
	f.forget = forget
	ended := f.users == 0
	if ended {
		f.idle = nil // Idle reports it ended
	} else if f.idle == nil {
		f.idle = make(chan struct{})
	}
	f.mu.Unlock()
	if ended {
		forget()
	}
}

// Idle is closed once f is replaced and the requests it served have ended,
// when what it alone holds (its audit file, its key fetcher) may close.
func (f *Front) Idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.retiring {
		return nil
	}
	if f.idle == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return f.idle
}

// frontOf finds the Front an MCP request was admitted under: the one its
// HTTP request named, or, over stdio, the current one.
func (s *Server) frontOf(req mcp.Request) *Front {
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		if v, ok := s.fronts.Load(extra.Header.Get(frontHeader)); ok {
			return v.(*Front)
		}
	}
	return nil
}

// frontState is the part of Server that holds the Fronts.
type frontState struct {
	front    atomic.Pointer[Front]
	fronts   sync.Map // key -> *Front, while requests may name it
	frontSeq atomic.Uint64
}
