package server

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/moat-mcp/moat/host/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Admission: what a client may hold open. A session (2025-11-25) holds a
// goroutine and memory until it ends or idles past http.session_timeout;
// an event stream (a session's GET, a subscriptions/listen POST) holds a
// connection until the client lets go, which no read or idle timeout
// forces. Both are capped per principal and in total, so that one client
// cannot hold what every other needs.

// tally counts what is held open, per principal and in total.
type tally struct {
	kind        string // sessions or streams, for metrics and messages
	key, perKey string // the configuration keys of the caps
	max, perMax int
	mu          sync.Mutex
	total       int
	byPrincipal map[string]int
}

func newTally(kind, key string, max, perMax int) *tally {
	return &tally{kind: kind, key: key, perKey: key + "_per_principal", max: max, perMax: perMax, byPrincipal: map[string]int{}}
}

// acquire takes one for principal id; when it may not, it says which cap
// refused it. Without a share of its own (the anonymous principal, who is
// every client when there is no authentication) only the total applies.
func (t *tally) acquire(id string, share bool) (refusedBy string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if share && t.byPrincipal[id] >= t.perMax {
		return t.perKey
	}
	if t.total >= t.max {
		return t.key
	}
	t.total++
	t.byPrincipal[id]++
	return ""
}

func (t *tally) release(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.byPrincipal[id]--; t.byPrincipal[id] <= 0 {
		delete(t.byPrincipal, id)
	}
}

// refuse answers a request over a cap: 429 when the principal holds its
// share, 503 when the server holds its total, each with Retry-After and a
// message naming the key.
func (t *tally) refuse(w http.ResponseWriter, r *http.Request, by string) {
	status, msg := http.StatusServiceUnavailable,
		fmt.Sprintf("moat holds its limit of %d open %s (%s); retry later, or an operator can raise %s", t.max, t.kind, t.key, t.key)
	if by == t.perKey {
		status, msg = http.StatusTooManyRequests,
			fmt.Sprintf("you hold the most open %s one principal may (%d, %s); end one (DELETE the session, close the stream) or an operator can raise %s", t.kind, t.perMax, t.perKey, t.perKey)
	}
	w.Header().Set("Retry-After", "5")
	if v := viewFrom(r.Context()); v != nil {
		writeRPCError(w, status, v.ID, &jsonrpc.Error{Code: codeRateLimited, Message: msg})
		return
	}
	http.Error(w, msg, status)
}

// admit caps the sessions and streams each principal holds open.
func (s *Server) admit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if statelessVersion(r.Header.Get("Mcp-Protocol-Version")) && r.Method != http.MethodPost {
			next.ServeHTTP(w, r) // the sessionless handler holds nothing open outside a POST
			return
		}
		p := auth.PrincipalFrom(r.Context())
		if p == nil {
			p = frontFrom(r.Context()).Fallback
		}
		id, share := "anonymous", false
		if p != nil {
			id, share = p.ID, p.Method != auth.MethodAnonymous
		}
		v := viewFrom(r.Context())
		switch {
		case r.Method == http.MethodGet, v != nil && v.Method == "subscriptions/listen":
			if by := s.streams.acquire(id, share); by != "" {
				s.opts.Metrics.Reject("max_streams")
				s.streams.refuse(w, r, by)
				return
			}
			s.opts.Metrics.OpenAdd("streams", 1)
			defer func() {
				s.streams.release(id)
				s.opts.Metrics.OpenAdd("streams", -1)
			}()
			next.ServeHTTP(w, r)
		case r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" && !statelessVersion(r.Header.Get("Mcp-Protocol-Version")):
			// Without a session id the go-sdk opens a session; it stays
			// open only after an initialize succeeds.
			by := s.sessions.acquire(id, share)
			if by != "" && s.book.prune(s, pruneRefusing) {
				by = s.sessions.acquire(id, share)
			}
			if by != "" {
				s.opts.Metrics.Reject("max_sessions")
				s.sessions.refuse(w, r, by)
				return
			}
			next.ServeHTTP(w, r)
			s.book.opened(s, w.Header().Get("Mcp-Session-Id"), id)
			s.book.prune(s, pruneEvery)
		case r.Method == http.MethodDelete:
			next.ServeHTTP(w, r)
			s.book.deleted(s, r.Header.Get("Mcp-Session-Id"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// sessionBook remembers who opened each session, so that its place goes
// back to its principal when it ends. The go-sdk says nothing when a
// session ends (by DELETE, by http.session_timeout, at shutdown), so the
// book asks it: at once after a DELETE, and otherwise at most once every
// pruneEvery while sessions are opened, and every pruneRefusing before a
// session is refused. It holds no goroutine per session.
type sessionBook struct {
	mu        sync.Mutex
	owners    map[string]string // session id → principal id
	lastPrune time.Time
}

const (
	pruneEvery    = time.Second
	pruneRefusing = 100 * time.Millisecond
)

// live reports whether the go-sdk holds session sid.
func live(s *Server, sid string) bool {
	for ss := range s.mcp.Sessions() {
		if ss.ID() == sid {
			return true
		}
	}
	return false
}

// opened keeps the place principal id took for the request that may have
// opened session sid, or gives it back when no session stayed open.
func (b *sessionBook) opened(s *Server, sid, id string) {
	if sid == "" || !live(s, sid) {
		s.sessions.release(id)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.owners == nil {
		b.owners = map[string]string{}
	}
	b.owners[sid] = id
	s.opts.Metrics.OpenAdd("sessions", 1)
}

// deleted gives back the place of a session a DELETE ended.
func (b *sessionBook) deleted(s *Server, sid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id, ok := b.owners[sid]; ok && !live(s, sid) {
		b.forget(s, sid, id)
	}
}

func (b *sessionBook) forget(s *Server, sid, id string) {
	delete(b.owners, sid)
	s.sessions.release(id)
	s.opts.Metrics.OpenAdd("sessions", -1)
}

// prune gives back the places of sessions that ended, if it has not done
// so within every; it reports whether it gave any back.
func (b *sessionBook) prune(s *Server, every time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.owners) == 0 || time.Since(b.lastPrune) < every {
		return false
	}
	b.lastPrune = time.Now()
	alive := make(map[string]bool, len(b.owners))
	for ss := range s.mcp.Sessions() {
		alive[ss.ID()] = true
	}
	freed := false
	for sid, id := range b.owners {
		if !alive[sid] {
			b.forget(s, sid, id)
			freed = true
		}
	}
	return freed
}
