package capability

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
)

// httpCap grants the test server's exact address, plus names used to
// reach the resolver check, and resolves every name to loopback.
func httpCap(t *testing.T, srv *httptest.Server, g config.HTTPGrant) *HTTP {
	t.Helper()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	g.Hosts = append(g.Hosts, "127.0.0.1:"+port, "localhost", "*.rebind.test")
	h := NewHTTP("web", &g)
	h.Resolve = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return h
}

func fetch(t *testing.T, h *HTTP, req abi.HTTPRequest) (abi.HTTPResponse, *Error) {
	t.Helper()
	b, _ := json.Marshal(req)
	out, err := h.Do(context.Background(), b)
	var resp abi.HTTPResponse
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v is not a *Error", req.URL, err)
		}
		return resp, ce
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp, nil
}

func TestHTTPAllowedAndHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Host", r.Host)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		if r.URL.Path == "/bin" {
			_, _ = w.Write([]byte{0xff, 0xfe, 0})
			return
		}
		_, _ = w.Write([]byte("hello " + r.Header.Get("X-Token")))
	}))
	defer srv.Close()
	h := httpCap(t, srv, config.HTTPGrant{})

	resp, ce := fetch(t, h, abi.HTTPRequest{URL: srv.URL + "/", Headers: map[string]string{"X-Token": "t1", "Host": "evil.example", "Connection": "close"}})
	if ce != nil || resp.Status != 200 || resp.Body != "hello t1" {
		t.Fatalf("allowed: %+v %v", resp, ce)
	}
	if got := resp.Headers["X-Got-Host"]; got != srv.Listener.Addr().String() {
		t.Fatalf("the server saw Host %q; want the URL's, not the plugin's", got)
	}
	if got := resp.Headers["X-Multi"]; got != "a, b" {
		t.Fatalf("X-Multi: %q; want a, b", got)
	}
	resp, ce = fetch(t, h, abi.HTTPRequest{URL: srv.URL + "/bin"})
	if ce != nil || resp.Body != "" || resp.BodyBase64 != "//4A" {
		t.Fatalf("binary body: %+v %v; want body_base64", resp, ce)
	}
}

func TestHTTPRefused(t *testing.T) {
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srvURL, "http://"))
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/", http.StatusFound)
	}))
	defer srv.Close()
	srvURL = srv.URL
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	h := httpCap(t, srv, config.HTTPGrant{})

	for _, tc := range []struct{ url, want string }{
		{"http://example.org/", `"example.org" (port 80) is not on the list of plugins.web.grants.http`},
		{"http://127.0.0.1:1/", "is not on the list"},
		{"http://localhost:" + port + "/", "resolves to 127.0.0.1, a loopback address"},
		{"http://a.rebind.test:" + port + "/", "resolves to 127.0.0.1, a loopback address"},
		{"http://127.0.0.2:" + port + "/", "not on the list"},
		{"http://[::1]:" + port + "/", "not on the list"},
		{"http://0.0.0.0:" + port + "/", "not on the list"},
		{"http://169.254.169.254/", "not on the list"},
		{"http://2130706433/", "is a number, not a name"},
		{"http://0x7f000001/", "is a number, not a name"},
		{"http://[::ffff:127.0.0.2]:" + port + "/", "not on the list"},
		{"ftp://127.0.0.1:" + port + "/", "not http or https"},
		{srv.URL + "/", `"127.0.0.2" (port ` + port + `) is not on the list`},
	} {
		_, ce := fetch(t, h, abi.HTTPRequest{URL: tc.url})
		if ce == nil || ce.Errno != abi.EPERM || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%s: %v; want EPERM with %q", tc.url, ce, tc.want)
		}
	}
	// Names the grant does not list are refused before any lookup, and
	// a granted name that resolves to a refused address after it.
	h.Resolve = nil
	if _, ce := fetch(t, h, abi.HTTPRequest{URL: "http://localhost:" + port + "/"}); ce == nil || ce.Errno != abi.EPERM || !strings.Contains(ce.Msg, "loopback") {
		t.Errorf("localhost with the system resolver: %v; want EPERM (loopback)", ce)
	}
}

func TestRefusedAddresses(t *testing.T) {
	for a, want := range map[string]string{
		"127.0.0.2":        "loopback",
		"::1":              "loopback",
		"::ffff:127.0.0.1": "loopback",
		"10.1.2.3":         "private",
		"192.168.0.1":      "private",
		"172.16.0.1":       "private",
		"fd12::1":          "private",
		"169.254.1.1":      "link-local",
		"fe80::1":          "link-local",
		"169.254.169.254":  "cloud metadata",
		"fd00:ec2::254":    "cloud metadata",
		"224.0.0.1":        "multicast",
		"ff02::1":          "multicast",
		"0.0.0.0":          "unspecified",
		"::":               "unspecified",
		"::ffff:10.0.0.1":  "private",
		"93.184.215.14":    "",
		"2606:4700::1":     "",
	} {
		if got := refused(netip.MustParseAddr(a)); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("%s: %q; want %q", a, got, want)
		}
	}
	// An internal address the grant does not name is refused at the dial,
	// even when the allow-list check let its name through.
	h := NewHTTP("web", &config.HTTPGrant{Hosts: []string{"*.rebind.test"}})
	h.Resolve = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("169.254.169.254")}, nil
	}
	if _, ce := fetch(t, h, abi.HTTPRequest{URL: "http://x.rebind.test/"}); ce == nil || ce.Errno != abi.EPERM || !strings.Contains(ce.Msg, "169.254.169.254, a cloud metadata address") {
		t.Errorf("a name with one metadata address: %v; want EPERM", ce)
	}
}

func TestHTTPCaps(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
	}))
	defer srv.Close()
	h := httpCap(t, srv, config.HTTPGrant{MaxResponse: 1000, Timeout: config.Duration(200 * time.Millisecond)})

	if _, ce := fetch(t, h, abi.HTTPRequest{URL: srv.URL + "/big"}); ce == nil || ce.Errno != abi.ETOOBIG || !strings.Contains(ce.Msg, "max_response") {
		t.Errorf("a response over max_response: %v; want ETOOBIG", ce)
	}
	// The slow handler answers 200 after 5s; only the grant's timeout turns
	// that into ETIMEDOUT.
	if _, ce := fetch(t, h, abi.HTTPRequest{URL: srv.URL + "/slow"}); ce == nil || ce.Errno != abi.ETIMEDOUT {
		t.Errorf("a slow server: %v; want ETIMEDOUT", ce)
	}
	h = httpCap(t, srv, config.HTTPGrant{})
	if _, ce := fetch(t, h, abi.HTTPRequest{URL: srv.URL + "/slow", TimeoutMS: 100}); ce == nil || ce.Errno != abi.ETIMEDOUT {
		t.Errorf("timeout_ms: %v; want ETIMEDOUT", ce)
	}
	if _, err := h.Do(context.Background(), []byte("{")); err == nil || err.(*Error).Errno != abi.EINVAL {
		t.Errorf("bad JSON: %v; want EINVAL", err)
	}
}

func TestHTTPHostPatterns(t *testing.T) {
	h := NewHTTP("web", &config.HTTPGrant{Hosts: []string{"*.Wikipedia.org", "Bücher.example", "api.example.com:8443"}})
	for host, want := range map[string]bool{
		"en.wikipedia.org:443":          true,
		"EN.WIKIPEDIA.ORG:80":           true,
		"wikipedia.org:443":             false,
		"xn--bcher-kva.example:443":     true,
		"BÜCHER.example:80":             true,
		"api.example.com:8443":          true,
		"api.example.com:443":           false,
		"evilwikipedia.org:443":         false,
		"en.wikipedia.org.evil.com:443": false,
	} {
		name, port, _ := net.SplitHostPort(host)
		c, err := canonicalHost(name)
		if got := err == nil && h.listed(c, port); got != want {
			t.Errorf("%s: listed %v; want %v", host, got, want)
		}
	}
}

// A page's markup crosses the boundary as written, not escaped to six
// bytes a character, so the payload stays near the page's own size.
func TestHTTPResponseKeepsMarkupCompact(t *testing.T) {
	page := strings.Repeat("<p>a &amp; b</p>\n", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()
	h := httpCap(t, srv, config.HTTPGrant{})
	out, err := h.Do(context.Background(), []byte(`{"method":"GET","url":"`+srv.URL+`/"}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp abi.HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.Body != page {
		t.Fatalf("body did not round-trip: %v", err)
	}
	if len(out) > len(page)+len(page)/10+1024 { // escaped, it would be 40000 bytes
		t.Fatalf("a %d-byte page became a %d-byte payload", len(page), len(out))
	}
}
