package capability

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"golang.org/x/net/idna"
)

// MaxRedirects is how many redirects one http_request follows.
const MaxRedirects = 5

// Headers a plugin may not set: Host is the URL's, and the hop-by-hop
// headers belong to the host's connection, not the plugin's. They are
// dropped silently.
var droppedHeaders = map[string]bool{
	"Host": true, "Connection": true, "Keep-Alive": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// HTTP serves http_request for one plugin under its grant. Every URL,
// redirects included, must name a granted host; the name is resolved once,
// every address it resolves to is checked, and the connection goes to the
// checked address, so a name cannot be rebound to an internal one between
// the check and the dial. It is safe for concurrent use.
type HTTP struct {
	grant       string // "plugins.NAME.grants.http", for messages
	hosts       []config.HostPattern
	maxResponse int64
	timeout     time.Duration
	client      *http.Client

	// Resolve looks a name up; tests replace it. Nil: net.DefaultResolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	// connect opens a connection to an address that passed the checks;
	// tests replace it to see what would have been dialled without
	// sending anything. Nil: a net.Dialer.
	connect func(ctx context.Context, network, address string) (net.Conn, error)
}

// NewHTTP returns the http capability of plugin under grant g, which the
// configuration has validated (entries that do not parse are ignored).
func NewHTTP(plugin string, g *config.HTTPGrant) *HTTP {
	h := &HTTP{
		grant:       "plugins." + plugin + ".grants.http",
		maxResponse: g.HTTPMaxResponse(),
		timeout:     g.HTTPTimeout(),
	}
	for _, s := range g.Hosts {
		if p, err := config.ParseHostPattern(s); err == nil {
			h.hosts = append(h.hosts, p)
		}
	}
	h.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // never a proxy from the environment
			DialContext:           h.dial,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return &Error{abi.EIO, fmt.Sprintf("stopped after %d redirects", MaxRedirects)}
			}
			_, _, err := h.checkURL(req.URL)
			return err
		},
	}
	return h
}

// Do performs one http_request: req is its JSON argument, the result the
// JSON response. Errors are *Error.
func (h *HTTP) Do(ctx context.Context, req []byte) ([]byte, error) {
	var in abi.HTTPRequest
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, &Error{abi.EINVAL, fmt.Sprintf("the request is not valid JSON: %v", err)}
	}
	if in.Body != "" && in.BodyBase64 != "" {
		return nil, &Error{abi.EINVAL, "the request sets both body and body_base64; set one"}
	}
	if in.TimeoutMS < 0 {
		return nil, &Error{abi.EINVAL, fmt.Sprintf("timeout_ms is %d; set a positive number of milliseconds", in.TimeoutMS)}
	}
	body := []byte(in.Body)
	if in.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(in.BodyBase64)
		if err != nil {
			return nil, &Error{abi.EINVAL, fmt.Sprintf("body_base64 is not standard base64: %v", err)}
		}
		body = b
	}
	u, err := url.Parse(in.URL)
	if err != nil {
		return nil, &Error{abi.EINVAL, fmt.Sprintf("the url %q does not parse: %v", in.URL, err)}
	}
	if _, _, err := h.checkURL(u); err != nil {
		return nil, err
	}
	method := in.Method
	if method == "" {
		method = http.MethodGet
	}

	timeout := h.timeout
	if in.TimeoutMS > 0 && time.Duration(in.TimeoutMS)*time.Millisecond < timeout {
		timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var rd io.Reader
	if len(body) > 0 {
		rd = strings.NewReader(string(body))
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, &Error{abi.EINVAL, fmt.Sprintf("the request is not valid: %v", err)}
	}
	for k, v := range in.Headers {
		ck := http.CanonicalHeaderKey(k)
		if droppedHeaders[ck] || strings.HasPrefix(ck, "Proxy-") {
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := h.client.Do(hr)
	if err != nil {
		return nil, h.failure(ctx, u, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, h.maxResponse+1))
	if err != nil {
		return nil, h.failure(ctx, u, err)
	}
	if int64(len(got)) > h.maxResponse {
		return nil, &Error{abi.ETOOBIG, fmt.Sprintf("the response from %s is more than %d bytes, the max_response of %s", u.Host, h.maxResponse, h.grant)}
	}
	out := abi.HTTPResponse{Status: resp.StatusCode, Headers: map[string]string{}}
	for k, v := range resp.Header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	if utf8.Valid(got) {
		out.Body = string(got)
	} else {
		out.BodyBase64 = base64.StdEncoding.EncodeToString(got)
	}
	// Without HTML escaping: json.Marshal would write each <, > and & of a
	// page as six bytes, and a page would pass limits.output far sooner.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// failure turns a transport error into the plugin's errno.
func (h *HTTP) failure(ctx context.Context, u *url.URL, err error) error {
	var ce *Error
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		return &Error{abi.ETIMEDOUT, fmt.Sprintf("the request to %s ran out of time", u.Host)}
	}
	return &Error{abi.EIO, fmt.Sprintf("the request to %s failed: %v", u.Host, err)}
}

// checkURL refuses a URL that is not http or https, or whose host is not
// granted. It returns the host (ASCII, lower case) and the port.
func (h *HTTP) checkURL(u *url.URL) (string, string, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", &Error{abi.EPERM, fmt.Sprintf("the url %q is not http or https", u.Redacted())}
	}
	if u.User != nil {
		return "", "", &Error{abi.EINVAL, "the url carries a user name or password; send credentials in a header"}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	name, err := canonicalHost(host)
	if err != nil {
		return "", "", &Error{abi.EPERM, fmt.Sprintf("the host %q is refused: %v", host, err)}
	}
	if !h.listed(name, port) {
		return "", "", &Error{abi.EPERM, fmt.Sprintf("the host %q (port %s) is not on the list of %s", name, port, h.grant)}
	}
	return name, port, nil
}

// canonicalHost is host as the allow-list is written: an address in its
// standard form, or a name in lower-case ASCII. A name that is all digits
// or starts with 0x is refused, since a resolver may read it as an
// address ("2130706433" is 127.0.0.1).
func canonicalHost(host string) (string, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", errors.New("an address with a zone is not allowed")
		}
		return a.Unmap().String(), nil
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil || ascii == "" {
		return "", errors.New("it is not a valid host name")
	}
	ascii = strings.ToLower(ascii)
	last := ascii[strings.LastIndex(ascii, ".")+1:]
	if strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "" {
		return "", errors.New("it is a number, not a name; write the address in dotted form")
	}
	return ascii, nil
}

func (h *HTTP) listed(host, port string) bool {
	for _, p := range h.hosts {
		if p.Port != "" && p.Port != port {
			continue
		}
		if p.Wildcard && strings.HasSuffix(host, "."+p.Host) || !p.Wildcard && host == p.Host {
			return true
		}
	}
	return false
}

// namesAddr reports whether an entry of the grant names a exactly (and
// port, when the entry has one).
func (h *HTTP) namesAddr(a netip.Addr, port string) bool {
	for _, p := range h.hosts {
		if !p.Wildcard && p.Host == a.String() && (p.Port == "" || p.Port == port) {
			return true
		}
	}
	return false
}

// dial resolves addr's host once, checks every address it resolves to,
// and connects to a checked one. A loopback, private, link-local or other
// internal address is reachable only when the URL names it as an address
// and the grant lists that address; a name that resolves to one is
// refused, whatever the grant.
func (h *HTTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		resolve := h.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		addrs, err = resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("%s resolves to no address", host)
		}
	}
	literal := len(addrs) == 1 && addrs[0].String() == host
	for i, a := range addrs {
		a = a.Unmap().WithZone("")
		addrs[i] = a
		why := refused(a)
		switch {
		case why == "":
		case literal && h.namesAddr(a, port):
			// The operator granted this very address.
		case literal:
			return nil, &Error{abi.EPERM, fmt.Sprintf("the host %q is refused: it is %s, and %s does not name it", host, why, h.grant)}
		default:
			return nil, &Error{abi.EPERM, fmt.Sprintf("the host %q is refused: it resolves to %s, %s; only an address written in %s itself may be one", host, a, why, h.grant)}
		}
	}
	connect := h.connect
	if connect == nil {
		var d net.Dialer
		connect = d.DialContext
	}
	var last error
	for _, a := range addrs {
		c, err := connect(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}
