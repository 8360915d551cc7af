package netallow

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    string // String() of the list; "" when an error is wanted
		badIdx  int
	}{
		{name: "no entries give the empty list", entries: nil, want: "any"},
		{name: "IPv4 and IPv6 addresses and prefixes", entries: []string{"10.1.2.3", "192.168.0.0/16", "2001:db8::1", "2001:db8:1::/48"},
			want: "10.1.2.3,192.168.0.0/16,2001:db8::1,2001:db8:1::/48"},
		{name: "white space is trimmed", entries: []string{" 10.0.0.1\t", "\n172.16.0.0/12 "}, want: "10.0.0.1,172.16.0.0/12"},
		{name: "host bits of a prefix are masked", entries: []string{"10.1.2.3/8"}, want: "10.0.0.0/8"},
		{name: "an IPv4-mapped address is stored as IPv4", entries: []string{"::ffff:10.1.2.3"}, want: "10.1.2.3"},
		{name: "an IPv4-mapped prefix is stored as IPv4", entries: []string{"::ffff:10.0.0.0/104"}, want: "10.0.0.0/8"},
		{name: "a host name is refused", entries: []string{"10.0.0.1", "localhost"}, badIdx: 1},
		{name: "a blank entry is refused", entries: []string{"10.0.0.1", "  "}, badIdx: 1},
		{name: "a prefix length out of range is refused", entries: []string{"10.0.0.0/33"}, badIdx: 0},
		{name: "an address with a port is refused", entries: []string{"10.0.0.1:80"}, badIdx: 0},
		{name: "an IPv6 zone is refused", entries: []string{"fe80::1%eth0"}, badIdx: 0},
		{name: "leading zeros are refused", entries: []string{"010.0.0.1"}, badIdx: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.entries)
			if tt.want == "" {
				var ee *EntryError
				if !errors.As(err, &ee) || ee.Index != tt.badIdx || ee.Entry != tt.entries[tt.badIdx] {
					t.Fatalf("Parse = %v, want an EntryError for entry %d", err, tt.badIdx)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := l.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntryErrorNamesTheEntry(t *testing.T) {
	_, err := Parse([]string{"10.0.0.1", "10.0.0.256"})
	if err == nil || err.Error() != `netallow: entry 1 "10.0.0.256" is not an IP address or CIDR prefix: ParseAddr("10.0.0.256"): IPv4 field has value >255` {
		t.Errorf("error = %v", err)
	}
}

func TestAllows(t *testing.T) {
	l, err := Parse([]string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		addr net.Addr
		want bool
	}{
		{name: "an IPv4 address inside a prefix", addr: &net.TCPAddr{IP: net.ParseIP("10.200.3.4"), Port: 5}, want: true},
		{name: "a listed single address", addr: &net.TCPAddr{IP: net.IPv4(192, 168, 1, 7)}, want: true},
		{name: "its neighbour is not listed", addr: &net.TCPAddr{IP: net.IPv4(192, 168, 1, 8)}, want: false},
		{name: "loopback is not listed", addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, want: false},
		{name: "an IPv6 address inside a prefix", addr: &net.TCPAddr{IP: net.ParseIP("2001:db8:5::1")}, want: true},
		{name: "an IPv6 address outside", addr: &net.TCPAddr{IP: net.ParseIP("2001:db9::1")}, want: false},
		{name: "an IPv4-mapped IPv6 address compares as IPv4", addr: &net.TCPAddr{IP: net.ParseIP("::ffff:10.1.1.1")}, want: true},
		{name: "a 16-byte IPv4 address compares as IPv4", addr: &net.TCPAddr{IP: net.ParseIP("192.168.1.7").To16()}, want: true},
		{name: "a zone does not matter", addr: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Zone: "eth0"}, want: true},
		{name: "a UDP address", addr: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1)}, want: true},
		{name: "an IP address", addr: &net.IPAddr{IP: net.IPv4(10, 0, 0, 1)}, want: true},
		{name: "another type is parsed from its String", addr: strAddr("[::ffff:10.9.9.9]:2575"), want: true},
		{name: "a bare IP string is parsed", addr: strAddr("2001:db8::2"), want: true},
		{name: "an address without an IP is refused", addr: strAddr("/run/gateway.sock"), want: false},
		{name: "a TCP address without an IP is refused", addr: &net.TCPAddr{}, want: false},
		{name: "a nil address is refused", addr: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Allows(tt.addr); got != tt.want {
				t.Errorf("Allows(%v) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestEmptyListAllowsEverything(t *testing.T) {
	empty, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*List{nil, empty} {
		if !l.Allows(strAddr("not an address")) || !l.Allows(nil) || !l.AllowsIP(netip.Addr{}) ||
			!l.AllowsIP(netip.MustParseAddr("203.0.113.9")) {
			t.Errorf("%v does not allow everything", l)
		}
		if l.String() != "any" || l.Len() != 0 {
			t.Errorf("String() = %q, Len() = %d", l.String(), l.Len())
		}
	}
}

func TestIPv6PrefixesDoNotMatchIPv4(t *testing.T) {
	l, err := Parse([]string{"::/0"})
	if err != nil {
		t.Fatal(err)
	}
	if l.AllowsIP(netip.MustParseAddr("10.0.0.1")) || l.AllowsIP(netip.MustParseAddr("::ffff:10.0.0.1")) {
		t.Error("::/0 allowed an IPv4 address")
	}
	if !l.AllowsIP(netip.MustParseAddr("fe80::1%eth0")) {
		t.Error("::/0 refused an IPv6 address")
	}
}

// strAddr is a net.Addr of another type than the net package's.
type strAddr string

func (a strAddr) Network() string { return "test" }
func (a strAddr) String() string  { return string(a) }
