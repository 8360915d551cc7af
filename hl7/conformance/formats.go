package conformance

// Format checks for HL7 v2 primitive data types. Each takes the value as
// written (escape sequences are not expected in these types) and reports
// whether it conforms; none allocates.

// digits reports whether b is non-empty and all ASCII digits.
func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// validDT checks DT: YYYY[MM[DD]].
func validDT(b []byte) bool {
	if !digits(b) {
		return false
	}
	switch len(b) {
	case 4:
		return true
	case 6:
		return validMonth(b[4:6])
	case 8:
		return validMonth(b[4:6]) && validDay(b[6:8])
	}
	return false
}

func validMonth(b []byte) bool { m := num2(b); return m >= 1 && m <= 12 }
func validDay(b []byte) bool   { d := num2(b); return d >= 1 && d <= 31 }

// splitZone cuts a trailing +ZZZZ/-ZZZZ offset; ok is false when a sign is
// present but the offset is malformed.
func splitZone(b []byte) (rest []byte, ok bool) {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '+' || b[i] == '-' {
			z := b[i+1:]
			if len(z) != 4 || !digits(z) || num2(z[:2]) > 14 || num2(z[2:]) > 59 {
				return nil, false
			}
			return b[:i], true
		}
	}
	return b, true
}

// splitFraction cuts a trailing .S[S[S[S]]]; ok is false when the fraction
// is malformed.
func splitFraction(b []byte) (rest []byte, hasFrac, ok bool) {
	for i, c := range b {
		if c == '.' {
			f := b[i+1:]
			return b[:i], true, len(f) >= 1 && len(f) <= 4 && digits(f)
		}
	}
	return b, false, true
}

// validClock checks HH[MM[SS]] digits; full says seconds are present.
func validClock(b []byte) (ok, full bool) {
	if !digits(b) {
		return false, false
	}
	switch len(b) {
	case 2, 4, 6:
	default:
		return false, false
	}
	if num2(b) > 23 {
		return false, false
	}
	if len(b) >= 4 && num2(b[2:4]) > 59 {
		return false, false
	}
	if len(b) == 6 && num2(b[4:6]) > 59 {
		return false, false
	}
	return true, len(b) == 6
}

// validTM checks TM: HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ].
func validTM(b []byte) bool {
	b, ok := splitZone(b)
	if !ok {
		return false
	}
	b, frac, ok := splitFraction(b)
	if !ok {
		return false
	}
	clk, full := validClock(b)
	return clk && (!frac || full)
}

// validDTM checks DTM (and the time of a TS):
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
func validDTM(b []byte) bool {
	b, ok := splitZone(b)
	if !ok {
		return false
	}
	b, frac, ok := splitFraction(b)
	if !ok {
		return false
	}
	if len(b) <= 8 {
		return !frac && validDT(b)
	}
	if !validDT(b[:8]) {
		return false
	}
	clk, full := validClock(b[8:])
	return clk && (!frac || full)
}

// validNM checks NM: an optional sign, digits and at most one decimal
// point, with at least one digit. Surrounding spaces are tolerated.
func validNM(b []byte) bool {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	dot, nd := false, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			nd++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return nd > 0
}

// validSI checks SI: a non-negative integer.
func validSI(b []byte) bool { return digits(b) }
