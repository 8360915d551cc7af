package conformance

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hl7gw/gateway/hl7/conformance/internal/compact"
)

// specFS holds the compact tables written by internal/gen (see spec/LICENSE).
//
//go:embed spec/*.json.gz spec/segments.txt
var specFS embed.FS

// primKind says how a primitive value is checked.
type primKind uint8

const (
	kindString primKind = iota // ST, TX, FT, ... : no format
	kindDT
	kindDTM
	kindTM
	kindNM
	kindSI
	kindID // coded value, HL7 table
	kindIS // coded value, user table
)

var primKinds = map[string]primKind{
	"DT": kindDT, "DTM": kindDTM, "TM": kindTM, "NM": kindNM, "SI": kindSI,
	"ID": kindID, "IS": kindIS,
}

// typeDef is a data type; primitives have no components.
type typeDef struct {
	id    string
	kind  primKind
	comps []item
	// leaves is the compiled plan of a composite's checked positions.
	leaves leafPlan
}

// item is a segment field or a data type component, resolved.
type item struct {
	name  string
	typ   *typeDef
	usage byte // R, O, C, B, X, W
	rpt   int  // 0 = unbounded
	len   int
	table string
	// vals are the HL7 table's values (nil for tables without values).
	vals *codeSet
	// user is whether table is a user-defined table (its values are the
	// site's, checked only through a profile's value sets).
	user bool
	// notInTable and missing are the findings' texts for a value outside
	// the HL7 table and for a missing required value, built once here
	// rather than per finding.
	notInTable, missing string
	// loc is a segment field's location for its first occurrence
	// ("PID-3"), built once here rather than per finding; empty for
	// components.
	loc string
	// profile marks fields defined by a conformance profile (Z-segments),
	// whose rules are always enforced at the mode's severity.
	profile bool
	// check is whether a value of this item can fail a format or HL7
	// table check (else only presence, repetitions and length matter).
	check bool
}

// segDef is a segment's definition; id is the interned segment id.
type segDef struct {
	id     string
	num    segNum
	fields []item
	// lastReq is the highest field position the standard requires (0:
	// none).
	lastReq int
}

// unchecked is the type of values with no format to check.
var unchecked = &typeDef{id: "ST"}

// lookupType returns the named type without creating it (safe after load).
func (s *spec) lookupType(id []byte) *typeDef {
	if t, ok := s.types[string(id)]; ok {
		return t
	}
	return unchecked
}

// node is a segment or group of a message structure.
type node struct {
	seg      string
	num      segNum // seg's number
	group    string
	required bool
	rpt      int // 0 = unbounded
	children []*node
	// first holds the segments a group instance can start with.
	first segSet
	// all holds every segment the group (transitively) contains.
	all segSet
	// missing is the finding's text when the node is required and absent
	// from its parent group; outOfOrder, on a message's root, the text
	// for a segment the structure cannot place. Both are built once here
	// rather than per finding.
	missing, outOfOrder string
}

// spec is one version's tables, read-only after load.
type spec struct {
	version  string
	messages map[string]*node
	// segments are the version's segment definitions by number (nil:
	// not defined in this version).
	segments [maxSegNums]*segDef
	types    map[string]*typeDef
	tables   map[string]map[string]struct{}
	codes    map[string]*codeSet // tables compiled for lookup
	user     map[string]bool
	msgTypes map[string]bool // MSH-9.1 values known to this version
	// byType maps a message type to its only structure, or to ambiguous
	// when it has several.
	byType map[string]*node
}

// ambiguous marks a message type with several structures.
var ambiguous = &node{}

// specFiles maps every accepted MSH-12 value to its table file;
// v2.8.1 and v2.8.2 have no tables of their own and use v2.8.
var specFiles = map[string]string{
	"2.1": "2.1", "2.2": "2.2", "2.3": "2.3", "2.3.1": "2.3.1", "2.4": "2.4",
	"2.5": "2.5", "2.5.1": "2.5.1", "2.6": "2.6", "2.7": "2.7", "2.7.1": "2.7.1",
	"2.8": "2.8", "2.8.1": "2.8", "2.8.2": "2.8",
}

type lazySpec struct {
	once sync.Once
	spec *spec
	err  error
}

var loaded = func() map[string]*lazySpec {
	m := map[string]*lazySpec{}
	for _, f := range specFiles {
		m[f] = &lazySpec{}
	}
	return m
}()

// specFor returns the tables for an MSH-12 version, loading them on first
// use (once per version, safe for concurrent callers). ok is false for a
// version outside 2.1–2.8.2.
func specFor(version string) (s *spec, ok bool, err error) {
	file, ok := specFiles[version]
	if !ok {
		return nil, false, nil
	}
	l := loaded[file]
	l.once.Do(func() { l.spec, l.err = loadSpec(file) })
	return l.spec, true, l.err
}

func loadSpec(file string) (*spec, error) {
	raw, err := specFS.ReadFile("spec/v" + file + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("conformance: spec %s: %w", file, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("conformance: spec %s: %w", file, err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("conformance: spec %s: %w", file, err)
	}
	var c compact.Spec
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, fmt.Errorf("conformance: spec %s: %w", file, err)
	}
	return resolve(&c), nil
}

func resolve(c *compact.Spec) *spec {
	s := &spec{
		version:  c.Version,
		messages: make(map[string]*node, len(c.Messages)),
		types:    make(map[string]*typeDef, len(c.Types)+8),
		tables:   make(map[string]map[string]struct{}, len(c.Tables)),
		codes:    make(map[string]*codeSet, len(c.Tables)),
		user:     make(map[string]bool, len(c.User)),
		msgTypes: map[string]bool{},
		byType:   map[string]*node{},
	}
	for id, vals := range c.Tables {
		t := make(map[string]struct{}, len(vals))
		for _, v := range vals {
			t[v] = struct{}{}
		}
		s.tables[id] = t
		s.codes[id] = newCodeSet(id, t)
	}
	for _, id := range c.User {
		s.user[id] = true
	}
	for id := range c.Types {
		s.types[id] = &typeDef{id: id, kind: primKinds[id]}
	}
	for id, comps := range c.Types {
		s.types[id].comps = s.items(comps)
	}
	// Time stamps are checked as DTM whatever the version calls their
	// first component (ST in v2.3, absent in v2.1).
	dtm := s.typ("DTM")
	dtm.kind, dtm.comps = kindDTM, nil
	ts := s.typ("TS")
	ts.kind, ts.comps = kindString, []item{{name: "Time", typ: dtm, usage: 'R', rpt: 1}}
	for id, fields := range c.Segments {
		n := numberOf(id)
		if n == 0 {
			// Placeholders such as v2.8's "Hxx" are not segment ids a
			// message can hold (validSegID refuses them first); every
			// real id is in segments.txt, the union of the versions'.
			if segSlot([]byte(id)) >= 0 {
				panic("conformance: segment " + id + " of v" + c.Version + " missing from segments.txt")
			}
			continue
		}
		d := &segDef{id: id, num: n, fields: s.items(fields)}
		for k := range d.fields {
			d.fields[k].loc = location(id, 1, k+1, 0, 0)
			if d.fields[k].usage == 'R' {
				d.lastReq = k + 1
			}
		}
		s.segments[n] = d
	}
	for _, t := range s.types {
		s.compileLeaves(t)
	}
	for _, d := range s.segments {
		if d == nil {
			continue
		}
		for i := range d.fields {
			d.fields[i].check = s.itemNeeds(&d.fields[i])
		}
	}
	if _, ok := c.Messages["ACK"]; !ok { // v2.1 lists no general acknowledgment
		c.Messages["ACK"] = []compact.Node{{Seg: "MSH", Usage: "R", Rpt: 1}, {Seg: "MSA", Usage: "R", Rpt: 1}, {Seg: "ERR", Usage: "O", Rpt: 1}}
	}
	for id, children := range c.Messages {
		root := &node{group: id, required: true, rpt: 1, children: nodes(children),
			outOfOrder: "segment out of order or repeated more often than " + id + " allows"}
		root.index()
		s.messages[id] = root
		typ, _, _ := strings.Cut(id, "_")
		s.msgTypes[typ] = true
		if s.byType[typ] == nil {
			s.byType[typ] = root
		} else {
			s.byType[typ] = ambiguous
		}
	}
	for v := range s.tables["0076"] {
		s.msgTypes[v] = true
	}
	return s
}

// leafNeeds reports whether a primitive of kind with table can fail.
func (s *spec) leafNeeds(kind primKind, table string) bool {
	switch kind {
	case kindDT, kindDTM, kindTM, kindNM, kindSI:
		return true
	case kindID, kindIS:
		return table != "" && len(s.tables[table]) > 0
	}
	return false
}

// itemNeeds reports whether any value checked under it can fail.
func (s *spec) itemNeeds(it *item) bool {
	if it.typ.id == "VARIES" {
		return true
	}
	if len(it.typ.comps) == 0 {
		return s.leafNeeds(it.typ.kind, it.table)
	}
	for _, cd := range it.typ.comps {
		if len(cd.typ.comps) == 0 {
			if s.leafNeeds(cd.typ.kind, cd.table) {
				return true
			}
			continue
		}
		for _, sd := range cd.typ.comps {
			if s.leafNeeds(leafKind(sd.typ), sd.table) {
				return true
			}
		}
	}
	return false
}

// typ returns the named type, creating an unchecked one when the version
// does not define it.
func (s *spec) typ(id string) *typeDef {
	if t, ok := s.types[id]; ok {
		return t
	}
	t := &typeDef{id: id, kind: primKinds[id]}
	s.types[id] = t
	return t
}

func (s *spec) items(src []compact.Item) []item {
	out := make([]item, len(src))
	for i, it := range src {
		u := byte('O')
		if it.Usage != "" {
			u = it.Usage[0]
		}
		out[i] = item{name: it.Name, typ: s.typ(it.Type), usage: u, rpt: it.Rpt, len: it.Len, table: it.Table, vals: s.codes[it.Table],
			user: s.user[it.Table], notInTable: "value not in HL7 table " + it.Table}
		out[i].missing = requiredMsg(&out[i])
	}
	return out
}

func nodes(src []compact.Node) []*node {
	out := make([]*node, len(src))
	for i, n := range src {
		out[i] = &node{seg: n.Seg, num: numberOf(n.Seg), group: n.Group, required: n.Usage == "R", rpt: n.Rpt, children: nodes(n.Children)}
	}
	return out
}

// index fills first and all for a group and its subgroups.
func (n *node) index() {
	open := true
	for _, c := range n.children {
		what := "required segment " + c.seg
		if c.seg == "" {
			what = "required group " + c.group
		}
		c.missing = what + " missing in " + n.group + " before this position"
		if c.seg != "" {
			n.all.add(c.num)
			if open {
				n.first.add(c.num)
			}
		} else {
			c.index()
			n.all.union(&c.all)
			if open {
				n.first.union(&c.first)
			}
		}
		if c.required {
			open = false
		}
	}
}
