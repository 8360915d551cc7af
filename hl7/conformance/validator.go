// Package conformance validates parsed HL7 v2 messages against the standard's own
// tables (v2.1 to v2.8; v2.8.1 and v2.8.2 use v2.8) and an optional
// conformance profile.
//
// Checks: MSH-12 version (203), message type (200) and trigger event (201)
// for the version, processing id (202), message structure (segment order,
// groups, required segments, repetition limits, unknown segments: 100),
// required fields (101), primitive data type formats (DT, DTM/TS, TM, NM,
// SI: 102), coded values of HL7-defined tables (103) and lengths (104,
// always warnings). Findings name positions and rules, never values.
//
// Severity: lenient mode reports everything as warnings and never refuses.
// Strict mode makes errors of what breaks the message header, the typed
// observation values (OBX-5 against OBX-2), segments HL7 never defined, and
// whatever the profile asks for; the standard's structure, required fields,
// formats and table values elsewhere are errors only under full
// conformance (Options.Full or the profile's full_conformance), warnings
// otherwise. docs/profiles/README.md has the full table and the reasons.
//
// The tables are embedded compactly (see spec/LICENSE; regenerate with
// go run ./hl7/conformance/internal/gen) and each version is decoded on
// first use, once.
package conformance

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// Options configure a Validator.
type Options struct {
	// Strict turns every finding into an error (hl7.parser.strict).
	Strict bool
	// Version, when set, is the only MSH-12 accepted (hl7.version); others
	// get code 203.
	Version string
	// Profile adds per-sender and per-type rules (hl7.parser.config.file);
	// may be nil.
	Profile *Profile
	// Full enforces full conformance at the mode's severity: message
	// structure, required fields, table values and data types in every
	// segment (see the package doc); a profile can set it per rule.
	Full bool
	// CharsetFallback names the charset used when MSH-18 is empty and the
	// bytes are not UTF-8; default "windows-1252".
	CharsetFallback string
}

// Validator checks messages. It is immutable and safe for concurrent use.
type Validator struct {
	o        Options
	fallback charset
}

// New returns a Validator. It fails when Version is not an HL7 v2 version
// the tables cover or CharsetFallback is not a known charset. It does not
// block: tables are loaded on first use.
func New(o Options) (*Validator, error) {
	if o.Version != "" {
		if _, ok := specFiles[o.Version]; !ok {
			return nil, fmt.Errorf("conformance: version %q is not a supported HL7 v2 version (2.1 to 2.8.2)", o.Version)
		}
	}
	if o.CharsetFallback == "" {
		o.CharsetFallback = "windows-1252"
	}
	cs, ok := charsetByName(o.CharsetFallback)
	if !ok {
		return nil, fmt.Errorf("conformance: unknown fallback charset %q", o.CharsetFallback)
	}
	if o.Profile != nil {
		if err := o.Profile.compile(); err != nil {
			return nil, fmt.Errorf("conformance: profile: %w", err)
		}
	}
	return &Validator{o: o, fallback: cs}, nil
}

// checker holds the state of one Validate call.
type checker struct {
	m     *hl7.Message
	d     hl7.Delimiters
	spec  *spec
	rules applied
	sev   validation.Severity
	// full is whether the standard's structure, required fields and table
	// values outside the MSH are enforced at sev (full conformance) or
	// reported as warnings.
	full     bool
	findings validation.Findings
	// occ holds the segments' occurrences, built on the first finding
	// that needs them (occBuilt); occMore replaces it for messages of
	// more than len(occ) segments.
	occ      [32]int32
	occMore  []int32
	occBuilt bool
	cls      delimClasses // the message's separators, for composite values
}

// soft records a full-conformance finding: at the mode's severity under
// full conformance, a warning otherwise.
func (c *checker) soft(code validation.Code, loc, msg string) {
	if c.full {
		c.add(code, loc, msg)
		return
	}
	c.warn(code, loc, msg)
}

// add records a finding at the mode's severity.
func (c *checker) add(code validation.Code, loc, msg string) {
	if c.findings == nil {
		c.findings = make(validation.Findings, 0, 8)
	}
	c.findings = append(c.findings, validation.Finding{Severity: c.sev, Code: code, Location: loc, Message: msg})
}

// warn records a finding that is a warning in every mode.
func (c *checker) warn(code validation.Code, loc, msg string) {
	if c.findings == nil {
		c.findings = make(validation.Findings, 0, 8)
	}
	c.findings = append(c.findings, validation.Finding{Severity: validation.SeverityWarning, Code: code, Location: loc, Message: msg})
}

// Validate checks one parsed message and returns its findings (nil when
// clean). In lenient mode every finding is a Warning; in strict mode (the
// Options' or the matching profile rules') violations are Errors and
// lengths stay Warnings. It does not include charset findings (see
// Charset). Safe for concurrent use; it allocates only the findings and,
// for messages with many segments, a scratch slice.
func (v *Validator) Validate(m *hl7.Message) validation.Findings {
	c := &checker{m: m, d: m.Delimiters()}
	c.cls = newDelimClasses(c.d)
	var msh mshFields
	m.MSHFields(msh[:])
	mt := msh.Field(9).Rep(1)
	typ, event, structure := mt.Component(1).Sub(1), mt.Component(2).Sub(1), mt.Component(3).Sub(1)
	c.rules = v.o.Profile.match(msh.Field(4).Rep(1).Component(1).Sub(1), typ, event)
	if c.rules.strict(v.o.Strict) {
		c.sev = validation.SeverityError
	}
	c.full = c.rules.full(v.o.Full || v.o.Profile.fullDefault())
	version := bytes.TrimSpace(msh.Field(12).Rep(1).Component(1).Sub(1))
	switch {
	case len(version) == 0:
		c.add(validation.CodeRequiredMissing, "MSH-12", "required field missing (Version ID)")
	case v.o.Version != "" && string(version) != v.o.Version:
		c.add(validation.CodeUnsupportedVersion, "MSH-12", "version not accepted by this connector (hl7.version is "+v.o.Version+")")
	}
	sp, known, err := specFor(string(version))
	if len(version) > 0 && !known {
		c.add(validation.CodeUnsupportedVersion, "MSH-12", "not an HL7 v2 version (2.1 to 2.8.2)")
	}
	if err != nil {
		c.add(validation.CodeInternal, "MSH-12", "specification tables unavailable")
	}
	c.processingID(&msh)
	if sp == nil {
		c.headerOnly(&msh)
		return c.findings
	}
	c.spec = sp
	root := c.messageStructure(typ, event, structure)
	c.walk(root)
	return c.findings
}

// mshFields are the MSH fields the checks read (MSH-1 to MSH-18), split
// in one pass over the segment.
type mshFields [18]hl7.Field

// Field returns MSH-n, n from 1 to 18.
func (f *mshFields) Field(n int) hl7.Field { return f[n-1] }

// processingID checks MSH-11.1 against table 0103 (D, P, T), the same in
// every version.
func (c *checker) processingID(msh *mshFields) {
	pid := msh.Field(11).Rep(1).Component(1).Sub(1)
	switch {
	case len(pid) == 0:
		c.add(validation.CodeRequiredMissing, "MSH-11", "required field missing (Processing ID)")
	case len(pid) != 1 || (pid[0] != 'D' && pid[0] != 'P' && pid[0] != 'T'):
		c.add(validation.CodeUnsupportedProcessID, "MSH-11", "processing id not in HL7 table 0103")
	}
}

// headerOnly checks the MSH fields every version requires when no tables
// apply (unknown version).
func (c *checker) headerOnly(msh *mshFields) {
	if msh.Field(10).IsEmpty() {
		c.add(validation.CodeRequiredMissing, "MSH-10", "required field missing (Message Control ID)")
	}
}

// messageStructure resolves MSH-9 to a structure of the version: MSH-9.3
// when the version defines it, else TYPE_EVENT, else TYPE alone (ACK). It
// reports unknown types (200) and events (201) and returns nil then.
func (c *checker) messageStructure(typ, event, structure []byte) *node {
	if len(structure) > 0 {
		if n, ok := c.spec.messages[string(structure)]; ok {
			return n
		}
	}
	if !c.spec.msgTypes[string(typ)] {
		c.add(validation.CodeUnsupportedType, "MSH-9.1", "message type not defined in HL7 v"+c.spec.version)
		return nil
	}
	if len(event) > 0 {
		key := make([]byte, 0, 8)
		key = append(append(append(key, typ...), '_'), event...)
		if n, ok := c.spec.messages[string(key)]; ok {
			return n
		}
	}
	if n, ok := c.spec.messages[string(typ)]; ok {
		return n
	}
	if len(event) == 0 {
		c.soft(validation.CodeRequiredMissing, "MSH-9.2", "trigger event missing")
		if n := c.spec.byType[string(typ)]; n != ambiguous {
			return n
		}
		return nil
	}
	c.add(validation.CodeUnsupportedEvent, "MSH-9.2", "trigger event not defined for this message type in HL7 v"+c.spec.version)
	return nil
}

// location renders SEG[(occ)][-field[.comp[.sub]]].
func location(seg string, occ, field, comp, sub int) string {
	if occ <= 1 && field <= 0 {
		return seg // a segment's first occurrence: its id, no allocation
	}
	var buf [40]byte
	b := append(buf[:0], seg...)
	if occ > 1 {
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(occ), 10)
		b = append(b, ')')
	}
	if field > 0 {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(field), 10)
		if comp > 0 {
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(comp), 10)
			if sub > 0 {
				b = append(b, '.')
				b = strconv.AppendInt(b, int64(sub), 10)
			}
		}
	}
	return string(b)
}

// occurrence returns the 1-based occurrence of segment i among the
// segments with its name. The table is built on the first finding that
// needs it, once per message, in one pass: segments HL7 defines are
// counted by number, other names (Z-segments, malformed ids) by looking
// back for the same name.
func (c *checker) occurrence(i int) int {
	n := c.m.NumSegments()
	if i < 0 || i >= n {
		return 1
	}
	occ := c.occ[:]
	if c.occMore != nil {
		occ = c.occMore
	}
	if !c.occBuilt {
		c.occBuilt = true
		if n > len(occ) {
			c.occMore = make([]int32, n)
			occ = c.occMore
		}
		var seen [maxSegNums]int32
		for j := 0; j < n; j++ {
			name := c.segName(j)
			if num := segNumber(name); num != 0 {
				seen[num]++
				occ[j] = seen[num]
				continue
			}
			k := int32(1)
			for p := j - 1; p >= 0; p-- {
				if bytes.Equal(c.segName(p), name) {
					k = occ[p] + 1
					break
				}
			}
			occ[j] = k
		}
	}
	return int(occ[i])
}

// segName returns the id of segment i as written.
func (c *checker) segName(i int) []byte {
	raw := c.m.SegmentAt(i).Raw()
	if i == 0 {
		return raw[:3]
	}
	if j := bytes.IndexByte(raw, c.d.Field); j >= 0 {
		return raw[:j]
	}
	return raw
}
