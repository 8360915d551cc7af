package v2fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// Options adjust a conversion. The zero value is ready to use.
type Options struct {
	// Sender replaces MSH-4 (and MSH-3) as the namespace of resource ids:
	// feeds that share an identifier space can be given one name.
	Sender string
	// Zone is the time zone of HL7 times written without an offset
	// (DTM "20240102103000"): FHIR needs one whenever a time is present.
	// nil means UTC.
	Zone *time.Location
	// Now is the clock for Provenance.recorded when MSH-7 has no time of
	// day; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Result is what one message becomes.
type Result struct {
	Entries []Entry
	// Warnings name the values that could not be converted and were left
	// out (a time that is not a DTM, ...): location and code, never the
	// value. A message with warnings is still converted.
	Warnings validation.Findings
}

// Entry is one resource of a Result.
type Entry struct {
	Type string // "Patient", "Encounter", ...
	ID   string // deterministic, a valid FHIR id
	Op   Op     // created, updated or deleted: topic fhir.<type>.<op>
	// Key is the record key, the FHIR door's rule (router.FHIRKey):
	// "Patient/<id>" for a Patient and for a resource whose subject or
	// patient is that Patient, else "<Type>/<id>".
	Key string
	// JSON is the resource, FHIR R4 JSON, with its id. The entries of one
	// Result share a buffer: read, copy or publish them, never modify.
	JSON []byte
}

// span is where one entry's JSON lies in a conv buffer.
type span struct {
	buf        uint8 // 0: c.w, 1: c.ref
	start, end int
}

// conv is the state of one conversion.
type conv struct {
	msg    *hl7.Message
	opt    Options
	ev     event
	d      hl7.Delimiters
	cs     charset
	sender string
	source string // meta.source
	zone   *time.Location

	w   jw // the resources of the message
	ref jw // Practitioners, Locations, Organizations: written while another resource is open

	entries  []Entry
	spans    []span
	warnings validation.Findings

	patientID     string   // "" until the PID is converted
	patientRecKey string   // "Patient/<patientID>", the key of what the Patient scopes
	encID         string   // "" when there is no Encounter
	tmp           []byte   // scratch for ids and text
	arena         []byte   // built strings of this conversion (see held)
	keys          []string // "<Type>/<id>" of every id made (see id)
	idBlock       []byte   // where keys are written; never pooled
	specIDs       []string // a group's Specimens (scratch of group)
	obsIDs        []string // a group's Observations (scratch of group)
	grp           groupScratch
	ix            segIndex  // the message's index (run's); its slices are reused
	split         compSplit // the repetition comp read last
}

// Convert maps one parsed HL7 v2 message to FHIR R4 resources. Unsupported
// message types return an *Error that matches ErrUnsupported. Convert never
// panics and does not retain msg.
func Convert(msg *hl7.Message, opt Options) (*Result, error) {
	h := msg.Header()
	ev, ok := events[h.MessageType+"^"+h.TriggerEvent]
	if !ok {
		switch h.MessageType {
		case "ADT", "ORU", "VXU", "ORM", "OML":
			return nil, unsupported(validation.CodeUnsupportedEvent, "trigger event not converted to FHIR")
		}
		return nil, unsupported(validation.CodeUnsupportedType, "message type not converted to FHIR")
	}
	c := convPool.Get().(*conv)
	defer c.release()
	c.msg, c.opt, c.ev, c.d, c.zone = msg, opt, ev, msg.Delimiters(), opt.Zone
	if c.zone == nil {
		c.zone = time.UTC
	}
	c.cs = charsetOf(h.Charset)
	if err := c.run(h); err != nil {
		return nil, err
	}
	return c.result(), nil
}

// convPool holds the scratch of finished conversions: the JSON buffers,
// entries and segment indexes, which grow to what the largest messages
// need and are then written again rather than allocated per message.
var convPool = sync.Pool{New: func() any {
	return &conv{w: jw{b: make([]byte, 0, 8<<10)}, ref: jw{b: make([]byte, 0, 1<<10)}}
}}

// maxPooledBuf bounds the JSON buffers kept between conversions.
const maxPooledBuf = 1 << 20

// release empties c (keeping its buffers' capacity) and returns it to
// convPool. Nothing of the message stays referenced.
func (c *conv) release() {
	keep := conv{
		w: jw{b: c.w.b[:0]}, ref: jw{b: c.ref.b[:0]},
		entries: c.entries[:0], spans: c.spans[:0], tmp: c.tmp[:0], arena: c.arena[:0],
		ix:   segIndex{nk1: c.ix.nk1[:0], al1: c.ix.al1[:0], dg1: c.ix.dg1[:0], in1: c.ix.in1[:0]},
		keys: c.keys[:0], specIDs: c.specIDs[:0], obsIDs: c.obsIDs[:0], grp: c.grp,
	}
	clear(c.entries)
	clear(c.keys)
	clear(c.specIDs)
	clear(c.obsIDs)
	*c = keep
	if cap(c.w.b) > maxPooledBuf || cap(c.ref.b) > maxPooledBuf || cap(c.arena) > maxPooledBuf {
		return // an outsized message's buffers are left to the collector
	}
	convPool.Put(c)
}

// result copies the entries' JSON out of the scratch buffers into one
// buffer of the exact size, in the Result's order: the message's own
// resources first, then the Practitioners, Locations and Organizations
// they reference, the Provenance last.
func (c *conv) result() *Result {
	res := &Result{Entries: make([]Entry, 0, len(c.entries)), Warnings: c.warnings}
	out := make([]byte, 0, len(c.w.b)+len(c.ref.b))
	for pass := 0; pass < 3; pass++ {
		for i, s := range c.spans {
			e := c.entries[i]
			rank := int(s.buf)
			if e.Type == "Provenance" {
				rank = 2
			}
			if rank != pass {
				continue
			}
			b := c.w.b
			if s.buf == 1 {
				b = c.ref.b
			}
			start := len(out)
			out = append(out, b[s.start:s.end]...)
			e.JSON = out[start:len(out):len(out)]
			res.Entries = append(res.Entries, e)
		}
	}
	return res
}

func (c *conv) run(h hl7.Header) error {
	c.sender = c.opt.Sender
	msh := c.msg.MSH()
	if c.sender == "" {
		c.sender = hdName(c, msh.Field(4).Rep(1))
	}
	if c.sender == "" {
		c.sender = hdName(c, msh.Field(3).Rep(1))
	}
	c.source = c.sourceURI(h.SendingApp, h.SendingFacility, h.ControlID)

	idx := c.index()
	if idx.pid >= 0 {
		if err := c.patient(idx); err != nil {
			return err
		}
	} else if c.ev.structure == adtMerge {
		return errorf(validation.CodeRequiredMissing, "PID", "a merge (A40) without the surviving patient's PID")
	}
	if c.ev.structure == adtMerge {
		if err := c.merge(idx); err != nil {
			return err
		}
	}
	if idx.pv1 >= 0 && !c.ev.noEncounter {
		var pv1 [64]hl7.Field
		c.segCopy(idx.pv1, &pv1)
		if hasVisit(&pv1) {
			if err := c.encounter(idx, &pv1); err != nil {
				return err
			}
		}
	}
	if err := c.clinical(idx); err != nil {
		return err
	}
	if err := c.groups(idx); err != nil {
		return err
	}
	return c.provenance(msh)
}

// hasVisit reports whether PV1 (f, split) says more than its set id
// ("PV1|1"): an empty PV1 makes no Encounter.
func hasVisit(f *[64]hl7.Field) bool {
	for n := 2; n < len(f); n++ {
		if v := trimB(f[n].Raw()); len(v) > 0 && string(v) != `""` {
			return true
		}
	}
	return false
}

// warn records a value left out.
func (c *conv) warn(code validation.Code, loc at, reason string) {
	c.warnings = append(c.warnings, validation.Finding{Severity: validation.SeverityWarning, Code: code, Location: loc.String(c), Message: reason})
}

// segIndex is where the segments the maps read are.
type segIndex struct {
	evn, pid, pd1, pv1, pv2, mrg int
	nk1, al1, dg1, in1           []int
	rest                         int // first segment after the patient and visit groups
}

func (c *conv) index() segIndex {
	x := segIndex{evn: -1, pid: -1, pd1: -1, pv1: -1, pv2: -1, mrg: -1, rest: -1,
		nk1: c.ix.nk1[:0], al1: c.ix.al1[:0], dg1: c.ix.dg1[:0], in1: c.ix.in1[:0]}
	n := c.msg.NumSegments()
	for i := 1; i < n; i++ {
		s := c.msg.SegmentAt(i)
		raw := s.Raw()
		if len(raw) < 3 {
			continue
		}
		switch string(raw[:3]) {
		case "EVN":
			setFirst(&x.evn, i)
		case "PID":
			setFirst(&x.pid, i)
		case "PD1":
			setFirst(&x.pd1, i)
		case "PV1":
			setFirst(&x.pv1, i)
		case "PV2":
			setFirst(&x.pv2, i)
		case "MRG":
			setFirst(&x.mrg, i)
		case "NK1":
			x.nk1 = append(x.nk1, i)
		case "AL1":
			x.al1 = append(x.al1, i)
		case "DG1":
			x.dg1 = append(x.dg1, i)
		case "IN1":
			x.in1 = append(x.in1, i)
		case "ORC", "OBR", "RXA":
			setFirst(&x.rest, i)
		}
	}
	c.ix = x // its slices are reused by the next message
	return x
}

func setFirst(p *int, i int) {
	if *p < 0 {
		*p = i
	}
}

// segCopy splits segment i into f: f[n] is field n (f[0] unused). f must
// be all empty (a new array); it is the caller's, on its stack: an array
// in the pooled conv would make every field written a pointer written to
// the heap.
func (c *conv) segCopy(i int, f *[64]hl7.Field) { splitInto(c.msg.SegmentAt(i), f) }

// field is field n of segment i, for a segment only one or two fields of
// which are read (NTE-3, EVN-6): found without splitting the others.
func (c *conv) field(i, n int) hl7.Field { return c.msg.SegmentAt(i).Field(n) }

// splitInto sets f[1..n] to the segment's fields, n being how many it has
// (at most 63), and returns n. f[n+1:] is left as it is: a zero Field
// reads as an empty one (no repetitions, components or text), so the
// fields past the segment's last need no writing when f is new, and
// splitting a segment of 20 fields costs 20 fields, not 63.
func splitInto(s hl7.Segment, f *[64]hl7.Field) int {
	n := min(s.NumFields(), len(f)-1)
	s.SplitFields(f[1 : n+1])
	return n
}

// id derives a resource id from the type, the sender and parts: the
// first 16 bytes of their SHA-256 in hex. It is hashed and hex-encoded on
// the stack; an id the message already made returns the same string, and
// a new one is written once as its record key "<typ>/<id>" (c.keys), the
// id being the key's tail, into c.idBlock: a block that is not pooled but
// belongs to this conversion's Result, written only past what its strings
// view, so the ids and keys of a message share one allocation.
func (c *conv) id(typ string, parts ...string) string {
	b := c.tmp[:0]
	b = append(b, typ...)
	b = append(b, 0)
	b = append(b, c.sender...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	c.tmp = b
	sum := sha256.Sum256(b)
	var h [32]byte
	hex.Encode(h[:], sum[:16])
	for _, k := range c.keys {
		if len(k) == len(typ)+1+len(h) && k[:len(typ)] == typ && k[len(typ)+1:] == string(h[:]) {
			return k[len(typ)+1:]
		}
	}
	need := len(typ) + 1 + len(h)
	if cap(c.idBlock)-len(c.idBlock) < need {
		c.idBlock = make([]byte, 0, max(idBlockSize, need))
	}
	start := len(c.idBlock)
	c.idBlock = append(c.idBlock, typ...)
	c.idBlock = append(c.idBlock, '/')
	c.idBlock = append(c.idBlock, h[:]...)
	k := view(c.idBlock[start:])
	c.keys = append(c.keys, k)
	return k[len(typ)+1:]
}

// idBlockSize is the size of the blocks record keys are written into:
// about twenty keys, a message's resources in one allocation.
const idBlockSize = 1024

// recordKey is "<typ>/<id>": the string id was cut from when c.id made
// it, so that the id and its record key share one allocation.
func (c *conv) recordKey(typ, id string) string {
	for _, k := range c.keys {
		if len(k) == len(typ)+1+len(id) && k[len(typ)+1:] == id && k[:len(typ)] == typ {
			return k
		}
	}
	return typ + "/" + id
}

// has reports whether a resource of that type and id is already in the
// result.
func (c *conv) has(typ, id string) bool {
	for i := range c.entries {
		if c.entries[i].ID == id && c.entries[i].Type == typ {
			return true
		}
	}
	return false
}

// unique returns id, or when the message already has a resource with that
// id (two OBX with the same code and set id), an id derived from it and the
// occurrence.
func (c *conv) unique(typ, id string) string {
	for n := 2; c.has(typ, id); n++ {
		id = c.id(typ, id, itoa(n))
	}
	return id
}

// begin starts a resource in w: {"resourceType":T,"id":I,"meta":{"source":S}.
func (c *conv) begin(w *jw, typ, id string) int {
	start := len(w.b)
	appendStr(&w.b, `{"resourceType":"`)
	appendStr(&w.b, typ)
	appendStr(&w.b, `","id":"`)
	appendStr(&w.b, id)
	w.b = append(w.b, '"')
	if c.source != "" {
		m := w.obj("meta")
		w.str("source", c.source)
		w.end(m, '}')
	}
	return start
}

// finish closes the resource begun at start and records its entry.
// patientScoped says whether its subject or patient is the message's
// Patient (the key is then the Patient's).
func (c *conv) finish(w *jw, start int, typ, id string, op Op, patientScoped bool) {
	w.b = append(w.b, '}')
	var key string
	if patientScoped && c.patientID != "" {
		if len(c.patientRecKey) <= len("Patient/") || c.patientRecKey[len("Patient/"):] != c.patientID {
			c.patientRecKey = c.recordKey("Patient", c.patientID)
		}
		key = c.patientRecKey
	} else {
		key = c.recordKey(typ, id)
	}
	var buf uint8
	if w == &c.ref {
		buf = 1
	}
	c.entries = append(c.entries, Entry{Type: typ, ID: id, Op: op, Key: key})
	c.spans = append(c.spans, span{buf: buf, start: start, end: len(w.b)})
}

// reference writes "k":{"reference":"T/id"}.
func (w *jw) reference(k, typ, id string) {
	m := w.obj(k)
	w.key("reference")
	w.b = append(w.b, '"')
	appendStr(&w.b, typ)
	w.b = append(w.b, '/')
	appendStr(&w.b, id)
	w.b = append(w.b, '"')
	w.end(m, '}')
}

// refElem writes {"reference":"T/id"} as an array element.
func (w *jw) refElem(typ, id string) {
	m := w.obj("")
	w.key("reference")
	w.b = append(w.b, '"')
	appendStr(&w.b, typ)
	w.b = append(w.b, '/')
	appendStr(&w.b, id)
	w.b = append(w.b, '"')
	w.end(m, '}')
}

// subject writes the Patient reference under k.
// A message without a PID has no Patient: required patient references
// then carry the data-absent-reason extension instead.
func (c *conv) subject(w *jw, k string) {
	if c.patientID != "" {
		w.reference(k, "Patient", c.patientID)
		return
	}
	m := w.obj(k)
	a := w.arr("extension")
	e := w.obj("")
	w.str("url", "http://hl7.org/fhir/StructureDefinition/data-absent-reason")
	w.str("valueCode", "unknown")
	w.end(e, '}')
	w.end(a, ']')
	w.end(m, '}')
}

// sourceURI is meta.source: "<MSH-3>|<MSH-4>#<MSH-10>", percent-encoding
// what a FHIR uri cannot hold (spaces, controls, '%').
// It is held in the conversion's arena.
func (c *conv) sourceURI(app, facility, control string) string {
	if app == "" && facility == "" && control == "" {
		return ""
	}
	start := len(c.arena)
	b := appendURIPart(c.arena, app)
	b = append(b, '|')
	b = appendURIPart(b, facility)
	b = append(b, '#')
	b = appendURIPart(b, control)
	c.arena = b
	return c.held(start)
}

func appendURIPart(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '%' || c >= 0x7f {
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}
