package fhirpath

import (
	"time"
)

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
	if r.Year < 1 || r.Year > 9999 {
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
