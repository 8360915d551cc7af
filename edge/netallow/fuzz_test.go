package netallow

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParse feeds comma-separated entries to Parse. A list that parses must
// print (String) to entries that parse back to the same list, and every
// entry's own address must be allowed by it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/8, 2001:db8::/32", "::ffff:10.1.2.3/120", "fe80::1%eth0", " ", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries := strings.Split(s, ",")
		l, err := Parse(entries)
		if err != nil {
			if l != nil {
				t.Fatalf("Parse(%q) returned a list and the error %v", s, err)
			}
			return
		}
		if l.Len() != len(entries) {
			t.Fatalf("Parse(%q): %d prefixes for %d entries", s, l.Len(), len(entries))
		}
		again, err := Parse(strings.Split(l.String(), ","))
		if err != nil {
			t.Fatalf("String() %q of Parse(%q) does not parse: %v", l.String(), s, err)
		}
		if again.String() != l.String() {
			t.Fatalf("round trip of %q: %q != %q", s, again.String(), l.String())
		}
		for i, p := range l.prefixes {
			if !l.AllowsIP(p.Addr()) {
				t.Fatalf("entry %d (%v) of %q is not allowed by its own list", i, p, s)
			}
			if p.Addr().Is4In6() || p != p.Masked() {
				t.Fatalf("entry %d (%v) of %q is not canonical", i, p, s)
			}
		}
		l.AllowsIP(netip.Addr{})
	})
}
