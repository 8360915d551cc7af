package v2fhir

import (
	"math/rand/v2"
	"testing"
)

// skipPlain agrees with jsonPlain on every byte value at every position
// of 8 and 9 bytes, and on random mixes.
func TestSkipPlain(t *testing.T) {
	want := func(s string) int {
		for i := 0; i < len(s); i++ {
			if !jsonPlain[s[i]] {
				return i
			}
		}
		return len(s)
	}
	check := func(b []byte) {
		if got, w := skipPlain(string(b), 0), want(string(b)); got != w {
			t.Fatalf("skipPlain(%q, 0) = %d, want %d", b, got, w)
		}
	}
	for _, base := range []string{"abcdefgh", "abcdefghi", "abcdefghijklmnopq"} {
		for pos := 0; pos < len(base); pos++ {
			for v := 0; v < 256; v++ {
				b := []byte(base)
				b[pos] = byte(v)
				check(b)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, 0x20, '"', '!', '#', '\\', '[', ']', 'a', 0x7f, 0x80, 0xff, 0xc3}
	for n := 0; n < 200000; n++ {
		b := make([]byte, 1+r.IntN(20))
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		check(b)
	}
}
