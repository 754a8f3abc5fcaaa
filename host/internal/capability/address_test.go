package capability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
)

// Every range of the IANA special-purpose registries that is not globally
// reachable, the cloud metadata addresses, and each way of carrying an IPv4
// address inside an IPv6 one, go through refused, the check the dialer makes
// on every resolved address.
func TestRefusedSpecialPurposeAddresses(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		// IPv4 special-purpose registry.
		{"0.1.2.3", "this network"},
		{"10.200.0.1", "private"},
		{"100.64.0.1", "shared"},
		{"100.127.255.254", "shared"},
		{"127.1.2.3", "loopback"},
		{"169.254.3.4", "link-local"},
		{"172.31.255.1", "private"},
		{"192.0.0.1", "IETF protocol assignment"},
		{"192.0.0.9", "IETF protocol assignment"},
		{"192.0.0.170", "IETF protocol assignment"},
		{"192.0.2.7", "documentation"},
		{"192.88.99.1", "6to4 relay"},
		{"192.168.1.1", "private"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.7", "documentation"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"},
		{"224.0.0.251", "multicast"},
		{"239.255.255.250", "multicast"},
		// Cloud metadata, even where the registry would not refuse it.
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"168.63.129.16", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		// IPv6 special-purpose registry and address space.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"100::1", "discard"},
		{"100:0:0:1::1", "dummy"},
		{"2001:2::1", "IETF protocol assignment"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"5f00::1", "segment routing"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fe80::1", "link-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"4000::1", "global unicast"},
		{"e000::1", "global unicast"},
		// IPv4 carried in IPv6: each form of 169.254.169.254 and of a
		// private address.
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:10.0.0.1", "private"},
		{"::169.254.169.254", "169.254.169.254, a cloud metadata address"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"64:ff9b::a9fe:a9fe", "169.254.169.254, a cloud metadata address"},
		{"64:ff9b::100.100.100.200", "100.100.100.200, a cloud metadata address"},
		{"64:ff9b::7f00:1", "127.0.0.1, a loopback address"},
		{"64:ff9b:1::a9fe:a9fe", "169.254.169.254, a cloud metadata address"},
		{"64:ff9b:1::808:808", "local-use"},
		{"2002:a9fe:a9fe::1", "169.254.169.254, a cloud metadata address"},
		{"2002:c0a8:0101::1", "192.168.1.1, a private address"},
		{"2002:6464:64c8:1::1", "100.100.100.200, a cloud metadata address"},
		// Teredo: server 192.0.2.45, client 169.254.169.254 stored
		// with every bit flipped.
		{"2001:0:c000:22d::5601:5601", "169.254.169.254, a cloud metadata address"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		// Globally reachable: allowed.
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"100.128.0.1", ""},
		{"198.20.0.1", ""},
		{"192.31.196.1", ""},
		{"2606:4700::1", ""},
		{"2620:4f:8000::1", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	} {
		got := refused(netip.MustParseAddr(tc.addr))
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: refused %q; want %q", tc.addr, got, tc.want)
		}
	}
}

// A granted wildcard whose names resolve to special-purpose addresses,
// directly or through a redirect, is refused before any connection: the
// check runs in the dialer, on the addresses the name resolved to.
func TestHTTPRefusesSpecialPurposeAddressesByName(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.URL.Query().Get("to")+"/", http.StatusFound)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	h := NewHTTP("web", &config.HTTPGrant{Hosts: []string{"*.meta.test", "127.0.0.1:" + port}})
	addrs := []string{
		"100.100.100.200", "169.254.169.254", "168.63.129.16", "100.64.0.1", "198.18.0.1",
		"240.0.0.1", "192.0.0.170", "fec0::1", "fd00:ec2::254",
		"64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", "2002:a9fe:a9fe::1",
		"2001:0:c000:22d::5601:5601", "::a9fe:a9fe", "::ffff:a9fe:a9fe",
	}
	// Name nI.meta.test resolves to addrs[I].
	h.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		var i int
		if _, err := fmt.Sscanf(host, "n%d.meta.test", &i); err != nil || i >= len(addrs) {
			return nil, fmt.Errorf("no such name %q", host)
		}
		return []netip.Addr{netip.MustParseAddr(addrs[i])}, nil
	}
	var dialled []string
	h.connect = func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(address); host == "127.0.0.1" {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		}
		dialled = append(dialled, address)
		return nil, errors.New("the test dials nothing outside loopback")
	}
	for i, a := range addrs {
		name := fmt.Sprintf("n%d.meta.test", i)
		for _, url := range []string{"http://" + name + "/", srv.URL + "/?to=" + name} {
			_, ce := fetch(t, h, abi.HTTPRequest{URL: url})
			if ce == nil || ce.Errno != abi.EPERM || !strings.Contains(ce.Msg, "resolves to") {
				t.Errorf("%s (%s): %v; want EPERM, resolves to", url, a, ce)
			}
		}
	}
	if len(dialled) > 0 {
		t.Fatalf("dialled %v: the addresses were not refused before the connection", dialled)
	}
}
