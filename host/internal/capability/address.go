package capability

import (
	"fmt"
	"net/netip"
)

// The http capability dials only globally reachable addresses. The ranges
// below follow the IANA IPv4 and IPv6 Special-Purpose Address Registries:
// every entry not marked globally reachable is refused, and so is all of
// IPv6 outside 2000::/3, which the IPv6 address space registry leaves
// reserved, apart from the forms that carry an IPv4 address (checked by
// what they carry). docs/SECURITY.md tables them with the reasons.

// ipRange is a block of addresses the http capability does not dial, and
// what to call an address in it.
type ipRange struct {
	prefix netip.Prefix
	what   string
}

func block(prefix, what string) ipRange {
	return ipRange{netip.MustParsePrefix(prefix), what}
}

// cloudMetadata are the instance metadata services of cloud providers.
// Each hands out credentials to whatever on the machine asks, and some sit
// in ranges the registries call global (168.63.129.16) or that are refused
// only as a whole, so they are named apart.
var cloudMetadata = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task credentials
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"):   true, // Azure WireServer
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud Classic
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS, over IPv6
}

// refused4 are the IPv4 blocks refused, more specific ones first.
var refused4 = []ipRange{
	block("0.0.0.0/32", "an unspecified address"),
	block("0.0.0.0/8", `an address of "this network" (0.0.0.0/8)`),
	block("10.0.0.0/8", "a private address"),
	block("100.64.0.0/10", "a shared address (100.64.0.0/10, carrier-grade NAT)"),
	block("127.0.0.0/8", "a loopback address"),
	block("169.254.0.0/16", "a link-local address"),
	block("172.16.0.0/12", "a private address"),
	block("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)"),
	block("192.0.2.0/24", "a documentation address (192.0.2.0/24)"),
	block("192.88.99.0/24", "a deprecated 6to4 relay anycast address (192.88.99.0/24)"),
	block("192.168.0.0/16", "a private address"),
	block("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
	block("198.51.100.0/24", "a documentation address (198.51.100.0/24)"),
	block("203.0.113.0/24", "a documentation address (203.0.113.0/24)"),
	block("224.0.0.0/4", "a multicast address"),
	block("255.255.255.255/32", "the broadcast address"),
	block("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
}

// The IPv6 blocks that carry an IPv4 address, checked by what they carry.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	globalUnicast  = netip.MustParsePrefix("2000::/3")
)

// refused6 are the IPv6 blocks refused, more specific ones first.
var refused6 = []ipRange{
	block("::/128", "an unspecified address"),
	block("::1/128", "a loopback address"),
	block("100::/64", "a discard-only address (100::/64)"),
	block("100:0:0:1::/64", "a dummy IPv6 prefix address (100:0:0:1::/64)"),
	block("2001:db8::/32", "a documentation address (2001:db8::/32)"),
	block("2001::/23", "an IETF protocol assignment (2001::/23)"),
	block("3fff::/20", "a documentation address (3fff::/20)"),
	block("5f00::/16", "a segment routing SID (5f00::/16)"),
	block("fc00::/7", "a private address (unique local, fc00::/7)"),
	block("fe80::/10", "a link-local address"),
	block("fec0::/10", "a site-local address (fec0::/10, deprecated)"),
	block("ff00::/8", "a multicast address"),
}

// refused says why a is not dialled without an exact grant, or "" when it
// is a globally reachable address.
func refused(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return "not an address"
	}
	if cloudMetadata[a] {
		return "a cloud metadata address"
	}
	if a.Is4() {
		return within(a, refused4)
	}
	b := a.As16()
	switch {
	case a.IsUnspecified() || a.IsLoopback():
		return within(a, refused6)
	case ipv4Compatible.Contains(a):
		return carried(a, "an IPv4-compatible address (::/96, deprecated)", netip.AddrFrom4([4]byte(b[12:16])), true)
	case nat64.Contains(a):
		return carried(a, "a NAT64 address", netip.AddrFrom4([4]byte(b[12:16])), false)
	case nat64Local.Contains(a):
		return carried(a, "a local-use NAT64 address (64:ff9b:1::/48)", netip.AddrFrom4([4]byte(b[12:16])), true)
	case sixToFour.Contains(a):
		return carried(a, "a 6to4 address", netip.AddrFrom4([4]byte(b[2:6])), false)
	case teredo.Contains(a):
		// The client's address is stored with every bit flipped.
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return carried(a, "a Teredo address (2001::/32)", netip.AddrFrom4(client), true)
	}
	if why := within(a, refused6); why != "" {
		return why
	}
	if !globalUnicast.Contains(a) {
		return "outside IPv6 global unicast (2000::/3), which IANA has not allocated"
	}
	return ""
}

// within names the block of blocks that holds a, or "".
func within(a netip.Addr, blocks []ipRange) string {
	for _, r := range blocks {
		if r.prefix.Contains(a) {
			return r.what
		}
	}
	return ""
}

// carried checks the IPv4 address v4 that a, of the kind what, carries.
// A refused v4 refuses a, named; so does a kind that is refused whatever
// it carries (always).
func carried(a netip.Addr, what string, v4 netip.Addr, always bool) string {
	if why := refused(v4); why != "" {
		return fmt.Sprintf("%s carrying %s, %s", what, v4, why)
	}
	if always {
		return what
	}
	return ""
}
