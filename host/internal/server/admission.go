package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-mcp/moat/host/auth"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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
			user := ""
			if ti := sdkauth.TokenInfoFromContext(r.Context()); ti != nil {
				user = ti.UserID
			}
			s.book.opened(s, w.Header().Get("Mcp-Session-Id"), id, user)
			s.book.prune(s, pruneEvery)
		case r.Method == http.MethodDelete:
			next.ServeHTTP(w, r)
			s.book.deleted(s, r.Header.Get("Mcp-Session-Id"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// sessionBook keeps what moat knows of each 2025-11-25 session: who opened
// it, so that its place goes back to its principal when it ends; the
// go-sdk's session once its client has initialized it; and when it was last
// used. moat, not the go-sdk, closes a session idle past
// http.session_timeout, since calls it answers itself (see fastCall) never
// reach the go-sdk's own idle timer. One timer sweeps every session, armed
// only while there are some: the book holds no goroutine per session.
//
// A session also ends by DELETE and at shutdown, which the go-sdk does not
// announce: the book asks it at once after a DELETE, and otherwise at most
// once every pruneEvery while sessions are opened, and every pruneRefusing
// before a session is refused.
type sessionBook struct {
	mu        sync.Mutex
	owners    map[string]string // session id → principal id
	lastPrune time.Time
	entries   sync.Map // session id → *sessionEntry
	sweep     *time.Timer
}

// sessionEntry is one session as the book knows it.
type sessionEntry struct {
	// ss is the go-sdk's session, set when its client sent
	// notifications/initialized.
	ss atomic.Pointer[mcp.ServerSession]
	// user is the TokenInfo user the session was opened by, which every
	// request to it must carry as well, as the go-sdk requires; written
	// before opened is set.
	user   string
	opened atomic.Bool
	// logs is set once the client asked for log messages
	// (logging/setLevel): they go out on a call's own stream.
	logs atomic.Bool
	// active counts the requests in progress; last is when the last one
	// ended (unix nanoseconds).
	active atomic.Int64
	last   atomic.Int64

	mu    sync.Mutex
	calls map[string]context.CancelFunc // calls moat answers itself, by request id
}

const (
	pruneEvery    = time.Second
	pruneRefusing = 100 * time.Millisecond
)

// entry is the book's record of session sid, nil if it has none.
func (b *sessionBook) entry(sid string) *sessionEntry {
	if sid == "" {
		return nil
	}
	if e, ok := b.entries.Load(sid); ok {
		return e.(*sessionEntry)
	}
	return nil
}

// record finds or makes the entry of sid, and arms the sweep.
func (b *sessionBook) record(s *Server, sid string) *sessionEntry {
	e, loaded := b.entries.LoadOrStore(sid, new(sessionEntry))
	entry := e.(*sessionEntry)
	if !loaded {
		entry.last.Store(time.Now().UnixNano())
		b.mu.Lock()
		b.armSweep(s)
		b.mu.Unlock()
	}
	return entry
}

// initialized records the go-sdk's session once its client initialized it.
func (b *sessionBook) initialized(s *Server, ss *mcp.ServerSession) {
	if sid := ss.ID(); sid != "" && live(s, sid) {
		b.record(s, sid).ss.Store(ss)
	}
}

// begin counts a request to the session as in progress.
func (e *sessionEntry) begin() { e.active.Add(1) }

// end counts it done, and the session idle from now if it was the last.
func (e *sessionEntry) end() {
	e.last.Store(time.Now().UnixNano())
	e.active.Add(-1)
}

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
// opened session sid, or gives it back when no session stayed open. user
// is the TokenInfo user of that request.
func (b *sessionBook) opened(s *Server, sid, id, user string) {
	if sid == "" || !live(s, sid) {
		s.sessions.release(id)
		return
	}
	e := b.record(s, sid)
	e.user = user
	e.opened.Store(true)
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
	if !live(s, sid) {
		b.forget(s, sid)
	}
}

// forget drops session sid from the book, giving its place back. b.mu is
// held.
func (b *sessionBook) forget(s *Server, sid string) {
	b.entries.Delete(sid)
	id, ok := b.owners[sid]
	if !ok {
		return
	}
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
	for sid := range b.owners {
		if !alive[sid] {
			b.forget(s, sid)
			freed = true
		}
	}
	return freed
}

// sweepEvery is how often the book looks for idle sessions: a quarter of
// the timeout, so that one ends between timeout and 1.25 times it, and at
// most a minute.
func sweepEvery(timeout time.Duration) time.Duration {
	return min(max(timeout/4, time.Millisecond), time.Minute)
}

// armSweep starts the sweep's timer if it is not running. b.mu is held.
func (b *sessionBook) armSweep(s *Server) {
	timeout := time.Duration(s.opts.HTTP.SessionTimeout)
	if timeout <= 0 || b.sweep != nil {
		return
	}
	b.sweep = time.AfterFunc(sweepEvery(timeout), func() { b.sweepIdle(s, timeout) })
}

// sweepIdle closes the sessions with no request in progress that have been
// idle for timeout, and arms the timer again while any are left.
func (b *sessionBook) sweepIdle(s *Server, timeout time.Duration) {
	cutoff := time.Now().Add(-timeout).UnixNano()
	var idle []string
	b.entries.Range(func(k, v any) bool {
		if e := v.(*sessionEntry); e.active.Load() == 0 && e.last.Load() < cutoff {
			idle = append(idle, k.(string))
		}
		return true
	})
	if len(idle) > 0 {
		closing := make(map[string]bool, len(idle))
		for _, sid := range idle {
			closing[sid] = true
		}
		for ss := range s.mcp.Sessions() {
			if closing[ss.ID()] {
				ss.Close()
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sid := range idle {
		b.forget(s, sid)
	}
	b.sweep = nil
	empty := true
	b.entries.Range(func(any, any) bool { empty = false; return false })
	if !empty {
		b.armSweep(s)
	}
}
