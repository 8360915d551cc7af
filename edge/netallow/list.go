// Package netallow decides which sources may connect to a listener: an
// allow-list of IP addresses and CIDR prefixes, a limit of open connections
// per source IP and one for the whole listener, applied together by
// Admission, the one admission path of every door (the MLLP server asks it
// for each connection; LimitListener wraps the HTTP and gRPC listeners),
// with one typed vocabulary of refusal reasons (Reason) and a sampled log
// of refusals (RefusalLog).
package netallow

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// List is an allow-list of IP prefixes. An empty or nil *List allows every
// address: configuring no entries means no restriction. A List is immutable
// and safe for concurrent use.
//
// IPv4-mapped IPv6 addresses (::ffff:10.1.2.3) are compared as the IPv4
// addresses they carry, both in entries and in the addresses checked. Other
// IPv6 prefixes, ::/0 included, match IPv6 addresses only.
type List struct {
	prefixes []netip.Prefix
}

// EntryError reports an entry that is neither an IP address nor a CIDR
// prefix.
type EntryError struct {
	Index int    // position in the entries given to Parse
	Entry string // the entry as given
	Err   error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("netallow: entry %d %q is not an IP address or CIDR prefix: %v", e.Index, e.Entry, e.Err)
}

// Unwrap returns the parse error.
func (e *EntryError) Unwrap() error { return e.Err }

// Parse builds a List from IP addresses ("10.1.2.3", "2001:db8::1") and
// CIDR prefixes ("10.0.0.0/8", "2001:db8::/32"); surrounding white space is
// trimmed. A prefix with host bits set ("10.1.2.3/8") is taken as its
// network (10.0.0.0/8). Addresses with an IPv6 zone and blank entries are
// refused. The first bad entry is returned as an *EntryError. No entries
// give an empty List, which allows everything.
func Parse(entries []string) (*List, error) {
	l := &List{prefixes: make([]netip.Prefix, 0, len(entries))}
	for i, raw := range entries {
		p, err := parseEntry(strings.TrimSpace(raw))
		if err != nil {
			return nil, &EntryError{Index: i, Entry: raw, Err: err}
		}
		l.prefixes = append(l.prefixes, p)
	}
	return l, nil
}

func parseEntry(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zone %q not allowed", a.Zone())
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// AllowsIP reports whether ip is in the list, or the list is empty. An
// invalid ip is allowed only by an empty list. The zone of ip is ignored.
func (l *List) AllowsIP(ip netip.Addr) bool {
	if l == nil || len(l.prefixes) == 0 {
		return true
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Allows reports whether the IP address of addr is in the list, or the list
// is empty. It reads *net.TCPAddr, *net.UDPAddr and *net.IPAddr directly and
// parses addr.String() ("host:port" or a bare IP) otherwise; an address
// without an IP is allowed only by an empty list.
func (l *List) Allows(addr net.Addr) bool {
	if l == nil || len(l.prefixes) == 0 {
		return true
	}
	ip, ok := AddrIP(addr)
	return ok && l.AllowsIP(ip)
}

// AddrIP returns the IP address of addr, unmapped from IPv4-mapped IPv6 and
// without its zone; ok is false when addr carries no IP address.
func AddrIP(addr net.Addr) (ip netip.Addr, ok bool) {
	var raw net.IP
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		raw = a.IP
	case *net.UDPAddr:
		raw = a.IP
	case *net.IPAddr:
		raw = a.IP
	default:
		s := addr.String()
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().WithZone(""), true
		}
		if a, err := netip.ParseAddr(s); err == nil {
			return a.Unmap().WithZone(""), true
		}
		return netip.Addr{}, false
	}
	if a, ok := netip.AddrFromSlice(raw); ok {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// Len returns the number of entries.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.prefixes)
}

// String lists the entries comma-separated in canonical form, single
// addresses without a prefix length; "any" for an empty list. Split on
// commas, the result parses back to the same List.
func (l *List) String() string {
	if l.Len() == 0 {
		return "any"
	}
	var b strings.Builder
	for i, p := range l.prefixes {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.IsSingleIP() {
			b.WriteString(p.Addr().String())
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}
