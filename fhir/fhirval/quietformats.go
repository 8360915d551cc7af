package fhirval

import "strings"

// The primitive formats quietForGoogle accepts. Each accepts a subset of
// what google/fhir's R4 unmarshaller and fhirvalidate accept for the type
// (their regular expressions, time layouts and ranges), never more; values
// outside the subset send the resource to google/fhir.

// maxQuietString is google/fhir's limit on a string (1 MiB).
const maxQuietString = 1 << 20

// quietString is fhirvalidate's string check: at most 1 MiB and no
// control character other than tab, line feed and carriage return.
func quietString(s string) bool {
	if len(s) > maxQuietString {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// isRegexSpace is Go regexp's \s: tab, line feed, form feed, carriage
// return and space.
func isRegexSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// quietCode is R4's code pattern [^\s]+(\s[^\s]+)*: no leading, trailing or
// doubled whitespace; and a valid string.
func quietCode(s string) bool {
	if s == "" || !quietString(s) || isRegexSpace(s[0]) || isRegexSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isRegexSpace(s[i]) && isRegexSpace(s[i-1]) {
			return false
		}
	}
	return true
}

// ValidID reports whether s follows R4's id rule [A-Za-z0-9\-\.]{1,64}.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// quietInt accepts a JSON integer of at most nine digits (so within
// int32), without a leading zero, a plus sign or "-0"; neg allows a minus
// sign, zero allows 0.
func quietInt(s string, neg, zero bool) bool {
	if neg && len(s) > 1 && s[0] == '-' {
		s = s[1:]
		if s == "0" {
			return false
		}
	}
	if s == "0" {
		return zero
	}
	if len(s) == 0 || len(s) > 9 || s[0] == '0' {
		return false
	}
	return allDigits(s)
}

// quietDecimal is R4's decimal pattern
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, which google/fhir
// applies to the number as written.
func quietDecimal(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if exp == "" || !allDigits(exp) {
			return false
		}
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if whole == "" || !allDigits(whole) || len(whole) > 1 && whole[0] == '0' {
		return false
	}
	return !dot || frac != "" && allDigits(frac)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// num reads the n-digit number at s[i:], or -1.
func num(s string, i, n int) int {
	if i+n > len(s) {
		return -1
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// quietDate is YYYY, YYYY-MM or YYYY-MM-DD of a real calendar day, year
// 1000 to 9999.
func quietDate(s string) bool {
	y := num(s, 0, 4)
	if y < 1000 {
		return false
	}
	switch len(s) {
	case 4:
		return true
	case 7:
		m := num(s, 5, 2)
		return s[4] == '-' && m >= 1 && m <= 12
	case 10:
		m, d := num(s, 5, 2), num(s, 8, 2)
		return s[4] == '-' && s[7] == '-' && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
	}
	return false
}

func daysIn(y, m int) int {
	switch m {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// quietDateTime is a date (not for an instant) or
// YYYY-MM-DDThh:mm:ss[.ffffff](Z|+hh:mm|-hh:mm), offsets up to 14:00.
func quietDateTime(s string, instant bool) bool {
	if len(s) <= 10 {
		return !instant && quietDate(s)
	}
	if s[10] != 'T' || !quietDate(s[:10]) {
		return false
	}
	rest, ok := quietClock(s[11:])
	if !ok {
		return false
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return false
	}
	h, m := num(rest, 1, 2), num(rest, 4, 2)
	return h >= 0 && m >= 0 && (h <= 13 && m <= 59 || h == 14 && m == 0)
}

// quietClock reads hh:mm:ss[.f{1,6}] at the start of s and returns what
// follows.
func quietClock(s string) (rest string, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return "", false
	}
	h, m, sec := num(s, 0, 2), num(s, 3, 2), num(s, 6, 2)
	if h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return "", false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 1 || n > 7 {
			return "", false
		}
		s = s[n:]
	}
	return s, true
}

// quietTime is hh:mm:ss[.ffffff].
func quietTime(s string) bool {
	rest, ok := quietClock(s)
	return ok && rest == ""
}
