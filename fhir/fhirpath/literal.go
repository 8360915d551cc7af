package fhirpath

import (
	"fmt"
	"strconv"
)

// calendarUnits are the FHIRPath calendar duration keywords, singular and
// plural, mapped to their singular form.
var calendarUnits = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond",
	"milliseconds": "millisecond",
}

// number parses an integer, decimal or long literal, and a quantity when a
// unit string or calendar keyword follows it.
func (p *parser) number() (*ast, error) {
	t := p.next()
	var v Value
	if t.kind == tokLong || !containsDot(t.text) {
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, &SyntaxError{t.pos, fmt.Sprintf("integer out of range: %s", t.text)}
		}
		v = Integer(i)
	} else {
		d, err := ParseDecimal(t.text)
		if err != nil {
			return nil, &SyntaxError{t.pos, err.Error()}
		}
		v = d
	}
	if t.kind == tokLong {
		return &ast{kind: astLiteral, pos: t.pos, lit: v}, nil
	}
	u := p.peek()
	unit := ""
	switch {
	case u.kind == tokString:
		unit = u.text
	case u.kind == tokIdent && calendarUnits[u.text] != "":
		unit = u.text
	default:
		return &ast{kind: astLiteral, pos: t.pos, lit: v}, nil
	}
	p.next()
	q := Quantity{Value: toDecimal(v), Unit: unit, Calendar: u.kind == tokIdent}
	return &ast{kind: astLiteral, pos: t.pos, lit: q}, nil
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// temporalLiteral turns @date, @dateTime and @Ttime tokens into values. A
// time literal with a zone offset parses (the grammar allows it) but fails
// when evaluated, as System.Time has no zone.
func temporalLiteral(t token) (*ast, error) {
	if t.kind == tokTime {
		body := t.text
		zone := ""
		for i := 0; i < len(body); i++ {
			if body[i] == 'Z' || body[i] == '+' || body[i] == '-' {
				body, zone = body[:i], body[i:]
				break
			}
		}
		v, err := ParseTime(body)
		if err != nil {
			return nil, &SyntaxError{t.pos, err.Error()}
		}
		n := &ast{kind: astLiteral, pos: t.pos, lit: v}
		if zone != "" {
			n.litErr = "a time literal cannot carry a time zone"
		}
		return n, nil
	}
	body := t.text
	var (
		v   Temporal
		err error
	)
	if containsByte(body, 'T') {
		v, err = ParseDateTime(body)
	} else {
		v, err = ParseDate(body)
	}
	if err != nil {
		return nil, &SyntaxError{t.pos, err.Error()}
	}
	return &ast{kind: astLiteral, pos: t.pos, lit: v}, nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
