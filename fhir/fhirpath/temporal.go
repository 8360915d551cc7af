package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Precision is how much of a date, date-time or time value is known.
type Precision int

// The precisions, coarsest first.
const (
	PrecYear Precision = iota + 1
	PrecMonth
	PrecDay
	PrecHour
	PrecMinute
	PrecSecond
	PrecMilli
)

// TemporalKind tells a System.Date, System.DateTime and System.Time apart.
type TemporalKind int

// The three temporal kinds.
const (
	KindDate TemporalKind = iota + 1
	KindDateTime
	KindTime
)

// Temporal is a System.Date, System.DateTime or System.Time with partial
// precision and, for date-times, an optional time-zone offset.
type Temporal struct {
	Kind                                   TemporalKind
	Year, Month, Day, Hour, Minute, Second int
	Milli                                  int
	Prec                                   Precision
	HasTZ                                  bool
	TZMinutes                              int // offset east of UTC
}

// ParseDate reads YYYY, YYYY-MM or YYYY-MM-DD.
func ParseDate(s string) (Temporal, error) {
	t := Temporal{Kind: KindDate}
	rest, err := t.parseDatePart(s)
	if err != nil || rest != "" {
		return Temporal{}, fmt.Errorf("not a date: %q", s)
	}
	return t, nil
}

// ParseDateTime reads a FHIR dateTime or instant, or a FHIRPath date-time
// literal body such as 2015-02-04T14 or 2015T (without the @).
func ParseDateTime(s string) (Temporal, error) {
	t := Temporal{Kind: KindDateTime}
	rest, err := t.parseDatePart(s)
	if err != nil {
		return Temporal{}, fmt.Errorf("not a dateTime: %q", s)
	}
	if rest == "" {
		return t, nil
	}
	if rest[0] != 'T' {
		return Temporal{}, fmt.Errorf("not a dateTime: %q", s)
	}
	rest = rest[1:]
	if rest == "" {
		return t, nil
	}
	if t.Prec != PrecDay {
		return Temporal{}, fmt.Errorf("not a dateTime: %q", s)
	}
	rest, err = t.parseTimePart(rest)
	if err == nil {
		err = t.parseZone(rest)
	}
	if err != nil {
		return Temporal{}, fmt.Errorf("not a dateTime: %q", s)
	}
	return t, nil
}

// ParseTime reads hh, hh:mm, hh:mm:ss or hh:mm:ss.fff.
func ParseTime(s string) (Temporal, error) {
	t := Temporal{Kind: KindTime}
	rest, err := t.parseTimePart(s)
	if err != nil || rest != "" {
		return Temporal{}, fmt.Errorf("not a time: %q", s)
	}
	return t, nil
}

func digitsAt(s string, n int) (int, bool) {
	if len(s) < n || !allDigits(s[:n]) {
		return 0, false
	}
	v, _ := strconv.Atoi(s[:n])
	return v, true
}

func (t *Temporal) parseDatePart(s string) (string, error) {
	bad := fmt.Errorf("bad date")
	var ok bool
	if t.Year, ok = digitsAt(s, 4); !ok {
		return "", bad
	}
	t.Prec, s = PrecYear, s[4:]
	if !strings.HasPrefix(s, "-") {
		return s, nil
	}
	if t.Month, ok = digitsAt(s[1:], 2); !ok || t.Month < 1 || t.Month > 12 {
		return "", bad
	}
	t.Prec, s = PrecMonth, s[3:]
	if !strings.HasPrefix(s, "-") {
		return s, nil
	}
	if t.Day, ok = digitsAt(s[1:], 2); !ok || t.Day < 1 || t.Day > daysIn(t.Year, t.Month) {
		return "", bad
	}
	t.Prec = PrecDay
	return s[3:], nil
}

func (t *Temporal) parseTimePart(s string) (string, error) {
	bad := fmt.Errorf("bad time")
	var ok bool
	if t.Hour, ok = digitsAt(s, 2); !ok || t.Hour > 23 {
		return "", bad
	}
	t.Prec, s = PrecHour, s[2:]
	if !strings.HasPrefix(s, ":") {
		return s, nil
	}
	if t.Minute, ok = digitsAt(s[1:], 2); !ok || t.Minute > 59 {
		return "", bad
	}
	t.Prec, s = PrecMinute, s[3:]
	if !strings.HasPrefix(s, ":") {
		return s, nil
	}
	if t.Second, ok = digitsAt(s[1:], 2); !ok || t.Second > 59 {
		return "", bad
	}
	t.Prec, s = PrecSecond, s[3:]
	if !strings.HasPrefix(s, ".") {
		return s, nil
	}
	n := 1
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 1 {
		return "", bad
	}
	frac := (s[1:n] + "00")[:3]
	t.Milli, _ = strconv.Atoi(frac)
	t.Prec = PrecMilli
	return s[n:], nil
}

func (t *Temporal) parseZone(s string) error {
	switch {
	case s == "":
		return nil
	case s == "Z":
		t.HasTZ = true
		return nil
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		h, ok1 := digitsAt(s[1:], 2)
		m, ok2 := digitsAt(s[4:], 2)
		if !ok1 || !ok2 || h > 14 || m > 59 {
			return fmt.Errorf("bad zone")
		}
		t.HasTZ, t.TZMinutes = true, h*60+m
		if s[0] == '-' {
			t.TZMinutes = -t.TZMinutes
		}
		return nil
	}
	return fmt.Errorf("bad zone")
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String prints the value in FHIR's lexical form (without the @ or T
// prefix that FHIRPath literals carry).
func (t Temporal) String() string {
	var b strings.Builder
	if t.Kind != KindTime {
		fmt.Fprintf(&b, "%04d", t.Year)
		if t.Prec >= PrecMonth {
			fmt.Fprintf(&b, "-%02d", t.Month)
		}
		if t.Prec >= PrecDay {
			fmt.Fprintf(&b, "-%02d", t.Day)
		}
		if t.Kind == KindDate || t.Prec < PrecHour {
			return b.String()
		}
		b.WriteByte('T')
	}
	fmt.Fprintf(&b, "%02d", t.Hour)
	if t.Prec >= PrecMinute {
		fmt.Fprintf(&b, ":%02d", t.Minute)
	}
	if t.Prec >= PrecSecond {
		fmt.Fprintf(&b, ":%02d", t.Second)
	}
	if t.Prec >= PrecMilli {
		fmt.Fprintf(&b, ".%03d", t.Milli)
	}
	if t.HasTZ {
		b.WriteString(zoneString(t.TZMinutes))
	}
	return b.String()
}

func zoneString(m int) string {
	if m == 0 {
		return "Z"
	}
	sign := '+'
	if m < 0 {
		sign, m = '-', -m
	}
	return fmt.Sprintf("%c%02d:%02d", sign, m/60, m%60)
}

// goTime returns the value as a time.Time in its own zone (UTC when it has
// none), with unknown fields at their lowest value.
func (t Temporal) goTime() time.Time {
	loc := time.UTC
	if t.HasTZ {
		loc = time.FixedZone("", t.TZMinutes*60)
	}
	y, mo, d := t.Year, max(t.Month, 1), max(t.Day, 1)
	if t.Kind == KindTime {
		y, mo, d = 2000, 1, 1
	}
	return time.Date(y, time.Month(mo), d, t.Hour, t.Minute, t.Second, t.Milli*1e6, loc)
}

// fromGoTime rebuilds a temporal of the same kind, precision and zone.
func (t Temporal) fromGoTime(g time.Time) Temporal {
	r := t
	r.Year, r.Month, r.Day = g.Year(), int(g.Month()), g.Day()
	r.Hour, r.Minute, r.Second, r.Milli = g.Hour(), g.Minute(), g.Second(), g.Nanosecond()/1e6
	if r.Kind == KindTime {
		r.Year, r.Month, r.Day = 0, 0, 0
	}
	return r.clearBelow()
}

// clearBelow zeroes the fields finer than the precision.
func (t Temporal) clearBelow() Temporal {
	fields := []*int{&t.Year, &t.Month, &t.Day, &t.Hour, &t.Minute, &t.Second, &t.Milli}
	for i := int(t.Prec); i < len(fields); i++ {
		*fields[i] = 0
	}
	return t
}

// compareTemporal orders two values of compatible kinds. ok is false when
// the answer is unknown because the values differ in precision and agree on
// every field they share.
func compareTemporal(a, b Temporal) (c int, ok bool) {
	if a.HasTZ != b.HasTZ && a.Prec >= PrecHour && b.Prec >= PrecHour {
		return 0, false
	}
	if a.HasTZ && b.HasTZ && a.Prec >= PrecHour && b.Prec >= PrecHour {
		a, b = a.inUTC(), b.inUTC()
	}
	av, bv := a.fieldValues(), b.fieldValues()
	pa, pb := mergeSeconds(a.Prec), mergeSeconds(b.Prec)
	n := min(pa, pb)
	first := 0
	if a.Kind == KindTime {
		first = 3
	}
	for i := first; i < n; i++ {
		if av[i] != bv[i] {
			if av[i] < bv[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

// mergeSeconds counts the comparable fields: seconds and milliseconds are
// one precision when comparing.
func mergeSeconds(p Precision) int {
	if p == PrecMilli {
		return int(PrecSecond)
	}
	return int(p)
}

func (t Temporal) fieldValues() [6]int {
	return [6]int{t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second*1000 + t.Milli}
}

func (t Temporal) inUTC() Temporal {
	r := t.fromGoTime(t.goTime().UTC())
	r.TZMinutes = 0
	return r
}

// durationUnit maps the units that may be added to dates to calendar
// keywords. UCUM 'a' and 'mo' are not definite calendar lengths, so they
// are refused.
var durationUnit = map[string]string{
	"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}

var unitPrecision = map[string]Precision{
	"year": PrecYear, "month": PrecMonth, "week": PrecDay, "day": PrecDay,
	"hour": PrecHour, "minute": PrecMinute, "second": PrecSecond, "millisecond": PrecMilli,
}

// unitMillis is the definite length of the units from week down.
var unitMillis = map[string]int64{
	"week": 604800000, "day": 86400000, "hour": 3600000, "minute": 60000, "second": 1000, "millisecond": 1,
}

var precMillis = map[Precision]int64{
	PrecDay: 86400000, PrecHour: 3600000, PrecMinute: 60000, PrecSecond: 1000, PrecMilli: 1,
}

// addDuration adds (or subtracts) a time-valued quantity to a date, date-
// time or time. The quantity's fraction is dropped; a unit finer than the
// value's precision is first converted to that precision and truncated.
func addDuration(t Temporal, q Quantity, subtract bool) (Value, error) {
	// A calendar keyword written as a quoted unit ('month') still means
	// the calendar duration.
	unit := calendarUnits[q.Unit]
	if !q.Calendar && unit == "" {
		unit = durationUnit[q.Unit]
	}
	if unit == "" {
		return nil, errorString("cannot add " + q.String() + " to a date or time")
	}
	amount, ok := q.Value.Truncate(0).Int64()
	if !ok || amount > 1e9 || amount < -1e9 {
		return nil, errorString("duration out of range")
	}
	if subtract {
		amount = -amount
	}
	if t.Kind == KindTime && unitPrecision[unit] < PrecHour {
		return nil, errorString("cannot add " + q.String() + " to a time")
	}
	if unitPrecision[unit] > t.Prec {
		unit, amount = coarsen(unit, amount, t.Prec)
	}
	g := t.goTime()
	switch unit {
	case "year":
		g = addMonths(g, 12*amount)
	case "month":
		g = addMonths(g, amount)
	default:
		g = g.Add(time.Duration(amount*unitMillis[unit]) * time.Millisecond)
	}
	r := t.fromGoTime(g)
	if r.Kind != KindTime && (r.Year < 1 || r.Year > 9999) {
		return nil, errorString("date out of range")
	}
	return r, nil
}

// coarsen expresses an amount of a fine unit in the unit of a coarser
// precision, truncating.
func coarsen(unit string, amount int64, p Precision) (string, int64) {
	switch p {
	case PrecYear:
		if unit == "month" {
			return "year", amount / 12
		}
		return "year", amount * unitMillis[unit] / (365 * 86400000)
	case PrecMonth:
		return "month", amount * unitMillis[unit] / (30 * 86400000)
	}
	pm := precMillis[p]
	target := map[Precision]string{PrecDay: "day", PrecHour: "hour", PrecMinute: "minute", PrecSecond: "second"}[p]
	return target, amount * unitMillis[unit] / pm
}

// addMonths moves by whole months, clamping the day to the last day of the
// target month (Jan 31 + 1 month is Feb 28 or 29).
func addMonths(g time.Time, months int64) time.Time {
	y, m, d := g.Date()
	total := int64(y)*12 + int64(m-1) + months
	ny, nm := int(total/12), time.Month(total%12+1)
	if last := daysIn(ny, int(nm)); d > last {
		d = last
	}
	return time.Date(ny, nm, d, g.Hour(), g.Minute(), g.Second(), g.Nanosecond(), g.Location())
}
