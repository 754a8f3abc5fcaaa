package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"golang.org/x/net/netutil"
)

// The HTTP edge: what every request passes before anything reads it as MCP.

type viewKey struct{}

// viewFrom returns the edge's reading of a POST's message, or nil.
func viewFrom(ctx context.Context) *view {
	v, _ := ctx.Value(viewKey{}).(*view)
	return v
}

// localOrigin reports whether origin is a page of this machine itself
// (http or https on localhost, 127.0.0.1 or [::1], any port) calling
// over loopback: the MCP Inspector and other local web clients. Such a
// page could reach the listener anyway; what the Origin check keeps out is
// a page of another site, which DNS rebinding would otherwise let in.
func localOrigin(r *http.Request, origin string) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	tcp, ok := local.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// edge refuses foreign browser origins (403), bodies over the cap (413)
// and bodies that are not one unambiguous JSON-RPC message (400, see
// readView). It reads each POST body once, and passes its view of the
// message on in the request context for the layers after it.
func (s *Server) edge(f *Front, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range f.AllowedOrigins {
		allowed[strings.TrimSuffix(o, "/")] = true
	}
	limit := int64(f.MaxBody)
	if limit <= 0 {
		limit = int64(config.DefaultMaxBody)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !allowed[origin] && !localOrigin(r, origin) {
			http.Error(w, fmt.Sprintf("origin %s may not call this server; an operator can add it to http.allowed_origins", origin), http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > limit {
			tooLarge(w, limit)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				tooLarge(w, limit)
				return
			}
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		v, verr := readView(body)
		if verr != nil {
			s.opts.Metrics.Reject("invalid_request")
			if f.Audit != nil {
				f.Audit.Record(observe.Record{
					Principal: "unknown", Transport: "http", Outcome: "invalid_request", Reason: verr.label, Remote: r.RemoteAddr,
				}, nil)
			}
			writeRPCError(w, http.StatusBadRequest, nil, verr.rpc())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewKey{}, v)))
	})
}

// writeRPCError answers with a JSON-RPC error object as the body.
func writeRPCError(w http.ResponseWriter, status int, id any, e *jsonrpc.Error) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func tooLarge(w http.ResponseWriter, limit int64) {
	http.Error(w, fmt.Sprintf("request body is larger than %s (http.max_body)", config.Size(limit)), http.StatusRequestEntityTooLarge)
}

// listener wraps ln with the connection cap and, when configured, TLS.
func listener(ln net.Listener, httpCfg config.HTTP, tlsCfg config.TLS) (net.Listener, error) {
	if httpCfg.MaxConnections > 0 {
		ln = netutil.LimitListener(ln, httpCfg.MaxConnections)
	}
	if !tlsCfg.Enabled() {
		return ln, nil
	}
	tc, err := tlsConfig(tlsCfg)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, tc), nil
}

func tlsConfig(c config.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("tls.cert and tls.key: %w; point them at a PEM certificate and its private key", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca: %s holds no PEM certificate; point it at the CA that signs client certificates", c.ClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
