package v2fhir

import (
	"time"
)

// dtmParts is a parsed HL7 DTM/TS: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
type dtmParts struct {
	digits  string // the date and time digits, 4 to 14 of them
	frac    string // fraction digits, without the point
	zone    string // "+hhmm" / "-hhmm", "" when absent
	hasZone bool
	yr, mo  int
	dy, hh  int
	mi, ss  int
}

// parseDTM parses a DTM (a TS's first component). ok is false for
// anything that is not one.
func parseDTM(s string) (p dtmParts, ok bool) {
	s = trim(s)
	if i := indexAny(s, "+-"); i >= 0 {
		p.zone, s = s[i:], s[:i]
		if len(p.zone) != 5 || !allDigits(p.zone[1:]) {
			return p, false
		}
		if h, m := atoi(p.zone[1:3]), atoi(p.zone[3:5]); h > 14 || m > 59 {
			return p, false
		}
		p.hasZone = true
	}
	if i := indexAny(s, "."); i >= 0 {
		p.frac, s = s[i+1:], s[:i]
		if len(p.frac) == 0 || len(p.frac) > 4 || !allDigits(p.frac) || len(s) != 14 {
			return p, false
		}
	}
	switch len(s) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return p, false
	}
	if !allDigits(s) {
		return p, false
	}
	p.digits = s
	p.yr, p.mo, p.dy = atoi(s[:4]), 1, 1
	if len(s) >= 6 {
		p.mo = atoi(s[4:6])
	}
	if len(s) >= 8 {
		p.dy = atoi(s[6:8])
	}
	if len(s) >= 10 {
		p.hh = atoi(s[8:10])
	}
	if len(s) >= 12 {
		p.mi = atoi(s[10:12])
	}
	if len(s) >= 14 {
		p.ss = atoi(s[12:14])
	}
	if p.yr < 1 || p.mo < 1 || p.mo > 12 || p.dy < 1 || p.dy > daysIn(p.yr, p.mo) || p.hh > 23 || p.mi > 59 || p.ss > 59 {
		return p, false
	}
	return p, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func indexAny(s, chars string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// date is the FHIR date of p: YYYY, YYYY-MM or YYYY-MM-DD (a time of day
// and zone are dropped: FHIR dates have none).
func (p dtmParts) date() string { return string(p.appendDate(make([]byte, 0, 10))) }

func (p dtmParts) appendDate(b []byte) []byte {
	b = append(b, p.digits[:4]...)
	if len(p.digits) >= 6 {
		b = append(b, '-')
		b = append(b, p.digits[4:6]...)
	}
	if len(p.digits) >= 8 {
		b = append(b, '-')
		b = append(b, p.digits[6:8]...)
	}
	return b
}

// dateTime is the FHIR dateTime of p, at its own precision: a date when
// no hour is given, else the time with seconds (":00" added when the HL7
// value stopped at hours or minutes, as FHIR requires seconds) and the
// fraction as sent, and the zone as sent, else zone's offset at that
// local time.
func (p dtmParts) dateTime(zone *time.Location) string {
	return string(p.appendDateTime(make([]byte, 0, 32), zone))
}

func (p dtmParts) appendDateTime(b []byte, zone *time.Location) []byte {
	b = p.appendDate(b)
	if len(p.digits) <= 8 {
		return b
	}
	b = append(b, 'T')
	b = append(b, p.digits[8:10]...)
	b = append(b, ':')
	if len(p.digits) >= 12 {
		b = append(b, p.digits[10:12]...)
	} else {
		b = append(b, '0', '0')
	}
	b = append(b, ':')
	if len(p.digits) >= 14 {
		b = append(b, p.digits[12:14]...)
	} else {
		b = append(b, '0', '0')
	}
	if p.frac != "" {
		b = append(b, '.')
		b = append(b, p.frac...)
	}
	if p.hasZone {
		b = append(b, p.zone[:3]...)
		b = append(b, ':')
		b = append(b, p.zone[3:]...)
	} else {
		t := time.Date(p.yr, time.Month(p.mo), p.dy, p.hh, p.mi, p.ss, 0, zone)
		b = t.AppendFormat(b, "Z07:00")
	}
	return b
}

// date is p.date() held in the conversion's arena.
func (c *conv) date(p dtmParts) string {
	start := len(c.arena)
	c.arena = p.appendDate(c.arena)
	return c.held(start)
}

// dateTime is p.dateTime(c.zone) held in the conversion's arena.
func (c *conv) dateTime(p dtmParts) string {
	start := len(c.arena)
	c.arena = p.appendDateTime(c.arena, c.zone)
	return c.held(start)
}

// instant is p as a FHIR instant, or "" when p has no time of day (an
// instant needs one).
// It is held in the conversion's arena.
func (c *conv) instant(p dtmParts) string {
	if len(p.digits) < 10 {
		return ""
	}
	return c.dateTime(p)
}

// dtm converts a DTM/TS field value (its first component) to a FHIR
// dateTime; "" when empty. A value that is not a DTM is left out with a
// warning at loc (Result.Warnings): one malformed time does not cost the
// message its conversion.
func (c *conv) dtm(raw []byte, loc at) string {
	p, ok := c.parseTime(raw, loc)
	if !ok {
		return ""
	}
	return c.dateTime(p)
}

// parseTime parses a DTM/TS field value; ok is false when it is empty or,
// with a warning at loc, not a DTM.
func (c *conv) parseTime(raw []byte, loc at) (dtmParts, bool) {
	v := c.str(firstComponent(raw, c.d.Component))
	if v == "" {
		return dtmParts{}, false
	}
	p, ok := parseDTM(v)
	if !ok {
		c.warn(codeDataType, loc, "not an HL7 date/time (DTM): left out")
	}
	return p, ok
}

// dtmQuiet is dtm for positions where a malformed value is left out
// rather than failing the message (identifier and name validity periods).
func (c *conv) dtmQuiet(raw []byte) string {
	v := c.str(firstComponent(raw, c.d.Component))
	p, ok := parseDTM(v)
	if !ok {
		return ""
	}
	return c.dateTime(p)
}

// firstComponent is raw up to its first component separator: a TS's
// DTM.
func firstComponent(raw []byte, sep byte) []byte {
	for i, ch := range raw {
		if ch == sep {
			return raw[:i]
		}
	}
	return raw
}
