package hl7

import (
	"bytes"
	"strconv"
	"time"

	"github.com/hl7gw/gateway/validation"
)

// ACKOptions says what an acknowledgement answers.
type ACKOptions struct {
	Code      string              // MSA-1: AA, AE, AR, CA, CE or CR
	Text      string              // MSA-3, optional; never patient data
	Findings  validation.Findings // become ERR segments (errors and warnings)
	ControlID string              // MSH-10 of the ACK
	Time      time.Time           // MSH-7 of the ACK; zero means time.Now()
}

// MaxACKErrors bounds the ERR segments (or ERR-1 repetitions) of one ACK;
// an ACK policy asking for more gets this many.
const MaxACKErrors = 50

// MaxACKBytes bounds an acknowledgement with ERR segments: one that
// would be longer loses its last ERR segments (ERR-1 repetitions), so
// that with MLLP's 3 framing bytes it fits the 4 KB that simple clients
// (python-hl7) read in one call. Only the MSH and MSA, copied from a
// message with very long MSH fields, can make it longer.
const MaxACKBytes = 4096 - 3

// ackVersion is the version that shapes an ACK without a usable MSH-12.
const ackVersion = "2.5"

// BuildACK builds the acknowledgement of orig (see DESIGN.md "Answers"):
// MSH-3/4 and MSH-5/6 swapped byte for byte, the same encoding characters,
// MSH-11, MSH-12 and MSH-18 as orig, a fresh MSH-7 and MSH-10 from opts,
// MSH-9 "ACK^<trigger>^ACK" from v2.3.1 on ("ACK^<trigger>" in v2.2 and
// v2.3, "ACK" in v2.1 or without trigger event), MSA-1 = opts.Code and
// MSA-2 = orig's MSH-10 as written. MSA-3 carries opts.Text, or the table
// 0357 text of the first error, in versions before v2.7 (where it is
// withdrawn).
//
// Findings become ERR segments shaped by the version: none in v2.1; before
// v2.5 one ERR whose repeating ERR-1 (ELD: segment^sequence^field^code&text
// &HL70357) lists the error findings; from v2.5 on one ERR per finding with
// ERR-2 (ERL: segment^occurrence^field^repetition^component^subcomponent),
// ERR-3 (code^text^HL70357), ERR-4 (E or W) and ERR-8 (the finding's
// message). Findings are written in the order given, at most 50, and only
// while the ACK stays within MaxACKBytes. An unparseable MSH-12 gets the
// v2.5 shape.
//
// When orig is nil (no parseable MSH) the ACK uses DefaultDelimiters,
// version 2.5, processing id P and an empty MSA-2. Text is escaped;
// segments end with '\r'. BuildACK never fails or panics.
func BuildACK(orig *Message, opts ACKOptions) []byte {
	a := ackParts{d: DefaultDelimiters, enc: []byte(DefaultDelimiters.encodingChars()), version: []byte(ackVersion), procID: []byte("P")}
	if orig != nil {
		a.fromMessage(orig)
	}
	v := parseVersion(a.versionID())
	t := opts.Time
	if t.IsZero() {
		t = time.Now()
	}
	d := a.d
	b := make([]byte, 0, 256)
	b = append(b, "MSH"...)
	b = append(b, d.Field)
	b = append(b, a.enc...)
	for _, f := range [][]byte{a.rcvApp, a.rcvFac, a.sndApp, a.sndFac} {
		b = append(b, d.Field)
		b = append(b, f...)
	}
	b = append(b, d.Field)
	b = t.AppendFormat(b, "20060102150405-0700")
	b = append(b, d.Field, d.Field)
	b = appendACKType(b, a.trigger, v, d)
	b = append(b, d.Field)
	b = append(b, Escape(opts.ControlID, d)...)
	b = append(b, d.Field)
	b = append(b, a.procID...)
	b = append(b, d.Field)
	b = append(b, a.version...)
	if len(a.charset) > 0 {
		b = append(b, bytes.Repeat([]byte{d.Field}, 6)...)
		b = append(b, a.charset...)
	}
	b = append(b, '\r')

	b = append(b, "MSA"...)
	b = append(b, d.Field)
	b = append(b, Escape(opts.Code, d)...)
	b = append(b, d.Field)
	b = append(b, a.controlID...)
	if text := msaText(opts); text != "" && !v.atLeast(2, 7, 0) {
		b = append(b, d.Field)
		b = append(b, Escape(text, d)...)
	}
	b = append(b, '\r')

	switch {
	case !v.atLeast(2, 2, 0):
	case !v.atLeast(2, 5, 0):
		b = appendELD(b, opts.Findings, d)
	default:
		b = appendERR(b, opts.Findings, d)
	}
	return b
}

// ackParts are the pieces of orig an ACK reuses, as written.
type ackParts struct {
	d                                   Delimiters
	enc                                 []byte
	sndApp, sndFac, rcvApp, rcvFac      []byte
	trigger, controlID, procID, version []byte
	charset                             []byte
}

func (a *ackParts) fromMessage(m *Message) {
	msh := m.MSH()
	f := m.mshFields() // one pass over the MSH instead of one per field
	a.d = m.delims
	a.enc = msh.Field(2).Raw()
	a.sndApp, a.sndFac = f[3], f[4]
	a.rcvApp, a.rcvFac = f[5], f[6]
	a.trigger = Field{raw: f[9], d: m.delims}.Rep(1).Component(2).Raw()
	a.controlID = f[10]
	if p := f[11]; len(p) > 0 {
		a.procID = p
	}
	a.version = f[12]
	a.charset = f[18]
}

// versionID is MSH-12.1 (the VID's version id) of the ACK.
func (a *ackParts) versionID() string {
	f := Field{raw: a.version, d: a.d}
	return f.Rep(1).Component(1).String()
}

// appendACKType writes MSH-9 for the version: ACK, ACK^trigger or
// ACK^trigger^ACK.
func appendACKType(b, trigger []byte, v version, d Delimiters) []byte {
	b = append(b, "ACK"...)
	if len(trigger) == 0 || !v.atLeast(2, 2, 0) {
		return b
	}
	b = append(b, d.Component)
	b = append(b, trigger...)
	if v.atLeast(2, 3, 1) {
		b = append(b, d.Component)
		b = append(b, "ACK"...)
	}
	return b
}

// msaText is MSA-3: the caller's text, else the first error's code text.
func msaText(opts ACKOptions) string {
	if opts.Text != "" {
		return opts.Text
	}
	if f, ok := opts.Findings.FirstError(); ok {
		return f.Code.Text()
	}
	return ""
}

// appendELD writes one ERR segment with one ERR-1 repetition per error
// finding (v2.2 to v2.4).
func appendELD(b []byte, fs validation.Findings, d Delimiters) []byte {
	n := 0
	for _, f := range fs {
		if f.Severity != validation.SeverityError {
			continue
		}
		if n == MaxACKErrors {
			break
		}
		mark := len(b)
		if n == 0 {
			b = append(b, "ERR"...)
			b = append(b, d.Field)
		} else {
			b = append(b, d.Repetition)
		}
		n++
		if p, ok := parseLocation(f.Location); ok {
			b = append(b, p.seg...)
			b = append(b, d.Component)
			b = strconv.AppendInt(b, int64(p.occ), 10)
			b = append(b, d.Component)
			if p.field > 0 {
				b = strconv.AppendInt(b, int64(p.field), 10)
			}
		} else {
			b = append(b, d.Component, d.Component)
		}
		b = append(b, d.Component)
		b = strconv.AppendInt(b, int64(f.Code), 10)
		b = append(b, d.Subcomponent)
		b = append(b, Escape(f.Code.Text(), d)...)
		b = append(b, d.Subcomponent)
		b = append(b, "HL70357"...)
		if len(b)+1 > MaxACKBytes { // +1: the segment's '\r'
			b = b[:mark]
			n--
			break
		}
	}
	if n > 0 {
		b = append(b, '\r')
	}
	return b
}

// appendERR writes one ERR segment per finding (v2.5 on).
func appendERR(b []byte, fs validation.Findings, d Delimiters) []byte {
	for i, f := range fs {
		if i == MaxACKErrors {
			break
		}
		mark := len(b)
		b = append(b, "ERR"...)
		b = append(b, d.Field, d.Field)
		if p, ok := parseLocation(f.Location); ok {
			b = appendERL(b, p, d)
		}
		b = append(b, d.Field)
		b = strconv.AppendInt(b, int64(f.Code), 10)
		b = append(b, d.Component)
		b = append(b, Escape(f.Code.Text(), d)...)
		b = append(b, d.Component)
		b = append(b, "HL70357"...)
		b = append(b, d.Field)
		if f.Severity == validation.SeverityError {
			b = append(b, 'E')
		} else {
			b = append(b, 'W')
		}
		if f.Message != "" {
			b = append(b, d.Field, d.Field, d.Field, d.Field)
			b = append(b, Escape(f.Message, d)...)
		}
		b = append(b, '\r')
		if len(b) > MaxACKBytes {
			return b[:mark]
		}
	}
	return b
}

// appendERL writes an ERL: segment^occurrence^field^rep^component^sub,
// stopping after the last position the location names.
func appendERL(b []byte, p path, d Delimiters) []byte {
	b = append(b, p.seg...)
	b = append(b, d.Component)
	b = strconv.AppendInt(b, int64(p.occ), 10)
	if p.field == 0 {
		return b
	}
	nums := []int{p.field, max(p.rep, 1), p.comp, p.sub}
	last := 0
	switch {
	case p.sub > 0:
		last = 3
	case p.comp > 0:
		last = 2
	case p.rep > 0:
		last = 1
	}
	for _, n := range nums[:last+1] {
		b = append(b, d.Component)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return b
}

// parseLocation parses a finding location: a path, or a segment id with an
// optional occurrence ("MSH", "OBX(2)").
func parseLocation(loc string) (path, bool) {
	if p, ok := parsePath(loc); ok {
		return p, true
	}
	p, ok := parsePath(loc + "-1")
	if !ok {
		return path{}, false
	}
	p.field = 0
	return p, true
}

// version is a parsed HL7 version id such as 2.3.1.
type version struct{ major, minor, patch int }

// parseVersion reads "2.5.1"-style ids; anything else, or a major version
// other than 2, gives the ACK default (2.5).
func parseVersion(s string) version {
	var n [3]int
	part := 0
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' && n[part] < 1000:
			n[part] = n[part]*10 + int(c-'0')
			digits++
		case c == '.' && digits > 0 && part < 2:
			part++
			digits = 0
		default:
			return version{2, 5, 0}
		}
	}
	if digits == 0 || n[0] != 2 {
		return version{2, 5, 0}
	}
	return version{n[0], n[1], n[2]}
}

func (v version) atLeast(major, minor, patch int) bool {
	if v.major != major {
		return v.major > major
	}
	if v.minor != minor {
		return v.minor > minor
	}
	return v.patch >= patch
}

// ACKInfo is what ParseACK reads from an acknowledgement.
type ACKInfo struct {
	Code, ControlID, Text string // MSA-1, MSA-2, MSA-3
	// ErrorCodes, ErrorLocations and ErrorSeverities are parallel: one
	// entry per ERR segment (v2.5 style, ERR-3.1 / ERR-2 / ERR-4) or per
	// ERR-1 repetition (older style, ELD.4.1 / ELD.1-3 / "E"). Locations
	// are paths such as "PID-3.1" or "" when the ERR gives none.
	ErrorCodes      []string
	ErrorLocations  []string
	ErrorSeverities []string
}

// ParseACK reads an acknowledgement, for clients and tests. It fails with
// the *validation.Error of Parse, or code 100 at "MSA" when there is no MSA.
func ParseACK(raw []byte) (ACKInfo, error) {
	m, err := Parse(raw)
	if err != nil {
		return ACKInfo{}, err
	}
	msa, ok := m.Segment("MSA", 1)
	if !ok {
		return ACKInfo{}, validation.Errorf(validation.CodeSegmentSequence, "MSA", "acknowledgement has no MSA segment")
	}
	info := ACKInfo{
		Code:      msa.Field(1).String(),
		ControlID: msa.Field(2).String(),
		Text:      msa.Field(3).String(),
	}
	for i := 0; i < m.NumSegments(); i++ {
		s := m.SegmentAt(i)
		if string(s.nameBytes()) != "ERR" {
			continue
		}
		if code := s.Field(3).Rep(1).Component(1); len(code.Raw()) > 0 {
			sev := s.Field(4).Rep(1).Component(1).String()
			info.add(code.String(), erlPath(s.Field(2).Rep(1), 6), sev)
			continue
		}
		f := s.Field(1)
		for r := 1; r <= f.NumReps(); r++ {
			eld := f.Rep(r)
			code := string(Unescape(eld.Component(4).Sub(1), m.delims))
			info.add(code, erlPath(eld, 3), "E")
		}
	}
	return info, nil
}

func (a *ACKInfo) add(code, loc, sev string) {
	a.ErrorCodes = append(a.ErrorCodes, code)
	a.ErrorLocations = append(a.ErrorLocations, loc)
	a.ErrorSeverities = append(a.ErrorSeverities, sev)
}

// erlPath renders the first n components of an ERL (n = 6) or an ELD
// (n = 3) as a path; "" when they name no segment.
func erlPath(r Rep, n int) string {
	var p path
	p.seg = r.Component(1).String()
	if _, ok := parsePath(p.seg + "-1"); !ok {
		return ""
	}
	num := func(i int) int {
		if i > n {
			return 0
		}
		v, err := strconv.Atoi(r.Component(i).String())
		if err != nil || v < 1 {
			return 0
		}
		return v
	}
	p.occ = max(num(2), 1)
	p.field, p.rep, p.comp, p.sub = num(3), num(4), num(5), num(6)
	if p.field == 0 {
		p.rep, p.comp, p.sub = 0, 0, 0
	}
	if p.comp == 0 {
		p.sub = 0
	}
	return p.String()
}
