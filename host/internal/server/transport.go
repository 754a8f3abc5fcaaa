package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Handler is the HTTP handler of the streamable transport. It serves
// stateful sessions (clients of 2025-11-25 and earlier, with
// Mcp-Session-Id) and the stateless requests of 2026-07-28 alike.
//
// A request passes, in order: the edge (Origin, body cap, one reading of
// the message), authentication (when configured), the rate limits, the
// caps on open sessions and streams, the drain's count, the go-sdk.
func (s *Server) Handler() http.Handler {
	server := func(*http.Request) *mcp.Server { return s.mcp }
	// The go-sdk serves 2026-07-28 only from a stateless handler, and
	// sessions only from a stateful one: requests go to one or the other
	// by the protocol version they carry.
	// Both read bodies up to http.max_body (the edge refuses larger ones
	// first); a session idle past http.session_timeout is closed, and a
	// sessionless call ends when its client hangs up.
	// Sessions idle past http.session_timeout are closed by the session
	// book (admission.go), not the go-sdk: the calls moat answers itself
	// keep a session in use without the go-sdk seeing them.
	maxBody := int64(s.opts.HTTP.MaxBody)
	stateful := mcp.NewStreamableHTTPHandler(server, &mcp.StreamableHTTPOptions{
		MaxRequestBodyBytes: maxBody,
	})
	stateless := mcp.NewStreamableHTTPHandler(server, &mcp.StreamableHTTPOptions{
		Stateless:                    true,
		MaxRequestBodyBytes:          maxBody,
		PropagateRequestCancellation: true,
	})
	// A sessionless request whose answer nothing can precede (no progress
	// asked for; under 2026-07-28 a call sends the client no request and
	// no log) is answered as one application/json body, which spares the
	// event stream's framing and a flush.
	statelessJSON := mcp.NewStreamableHTTPHandler(server, &mcp.StreamableHTTPOptions{
		Stateless:                    true,
		JSONResponse:                 true,
		MaxRequestBodyBytes:          maxBody,
		PropagateRequestCancellation: true,
	})
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if statelessVersion(r.Header.Get("Mcp-Protocol-Version")) {
			if v := viewFrom(r.Context()); r.Method == http.MethodPost && v != nil && v.Request && s.serveTasks(w, r, v) {
				return
			}
			if v := viewFrom(r.Context()); r.Method == http.MethodPost && v != nil && !v.Progress && v.Method != "subscriptions/listen" {
				statelessJSON.ServeHTTP(w, r)
				return
			}
			stateless.ServeHTTP(w, r)
			return
		}
		s.serveSession(w, r, stateful)
	})
	h = s.countPosts(h)
	s.inner = s.admit(h)
	// Each request is served under one Front from start to end: the one
	// current when it arrives, named in a header for the MCP layer, and
	// held by a POST (which carries a call) until it is answered.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f *Front
		if r.Method == http.MethodPost {
			f = s.acquire()
			defer f.release()
		} else {
			f = s.front.Load()
		}
		r.Header.Del(frontHeader)
		r.Header.Set(frontHeader, f.key)
		f.once.Do(func() { f.handler = s.frontChain(f) })
		f.handler.ServeHTTP(w, r.WithContext(withFront(r.Context(), f)))
	})
}

// frontChain is the front door of one Front: the edge, authentication
// and the rate limits, before the chain every Front shares.
func (s *Server) frontChain(f *Front) http.Handler {
	h := s.rateLimitHTTP(s.inner)
	mux := http.NewServeMux()
	if a := f.Auth; a != nil {
		h = a.Middleware(h, s.refused)
		for _, path := range a.MetadataPaths() {
			mux.Handle(path, a.MetadataHandler())
		}
	}
	mux.Handle("/mcp", s.edge(f, h))
	return mux
}

// statelessVersion reports whether a protocol version is one of the
// sessionless ones, 2026-07-28 and later (dates compare as strings).
func statelessVersion(v string) bool { return v >= "2026-07-28" }

// refused audits a request the authentication middleware turned away.
func (s *Server) refused(r *http.Request, reason string, err error) {
	s.opts.Metrics.AuthFailed(reason)
	outcome := "unauthenticated"
	if errors.Is(err, auth.ErrInsufficientScope) {
		outcome = "forbidden"
	}
	a := frontFrom(r.Context()).Audit
	if a == nil {
		return
	}
	v := viewFrom(r.Context())
	if v == nil {
		v = &view{} // a GET or DELETE: no message
	}
	a.Record(observe.Record{
		Time: time.Now(), Principal: "unknown", Transport: "http", Method: v.Method, Tool: v.Name,
		Outcome: outcome, Reason: reason, Remote: r.RemoteAddr,
	}, v.Arguments)
}

// countPosts tracks POST requests so a drain can wait until the answers of
// the last calls are written, and refuses new ones once it has begun.
func (s *Server) countPosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if !s.posts.start() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, errDraining, http.StatusServiceUnavailable)
			return
		}
		defer s.posts.done()
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the streamable transport on ln until ctx ends, then
// drains: it stops accepting, lets in-flight calls finish within
// shutdownTimeout, closes the sessions and returns.
func (s *Server) ServeHTTP(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	s.transport = "http"
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: time.Duration(s.opts.HTTP.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(s.opts.HTTP.ReadTimeout),
		IdleTimeout:       time.Duration(s.opts.HTTP.IdleTimeout),
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	ln, err := listener(ln, s.opts.HTTP, s.opts.TLS)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	s.log.Info("shutting down: no new connections or calls", "in_flight", s.InFlight(), "timeout", shutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutCtx) }()
	if !s.Drain(shutCtx) || !s.posts.drain(shutCtx) {
		s.log.Warn("shutdown timeout passed with calls still running; they are cut off", "in_flight", s.InFlight())
		s.abandonCalls()
	}
	// Long-lived streams (a session's GET) would hold Shutdown until its
	// deadline; the calls are done or abandoned, so end the sessions.
	s.closeSessions(abandonGrace)
	select {
	case err := <-shutdown:
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	case <-shutCtx.Done():
	}
	_ = srv.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeStdio serves one client over t (stdin and stdout for moat serve)
// until the client closes it or ctx ends; then it drains like ServeHTTP.
func (s *Server) ServeStdio(ctx context.Context, t mcp.Transport, shutdownTimeout time.Duration) error {
	s.transport = "stdio"
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- s.mcp.Run(runCtx, t) }()
	select {
	case err := <-ran:
		return ignoreClosed(err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: no new calls", "in_flight", s.InFlight(), "timeout", shutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if !s.Drain(shutCtx) {
		s.log.Warn("shutdown timeout passed with calls still running; they are cut off", "in_flight", s.InFlight())
		s.abandonCalls()
	}
	stop()
	select {
	case err := <-ran:
		return ignoreClosed(err)
	case <-time.After(abandonGrace):
		return nil
	}
}

// abandonGrace is how long a shutdown waits, past shutdown_timeout, for
// abandoned calls to notice their cancellation and sessions to close.
const abandonGrace = 2 * time.Second

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return err
}
