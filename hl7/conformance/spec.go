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

// anyVersion holds the ids of the segments defined in any version 2.1–2.8.
var anyVersion = func() map[string]bool {
	raw, err := specFS.ReadFile("spec/segments.txt")
	if err != nil {
		panic("conformance: embedded segments.txt missing: " + err.Error())
	}
	m := map[string]bool{}
	for _, id := range strings.Fields(string(raw)) {
		m[id] = true
	}
	return m
}()

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
	// vals are the HL7 table's values (nil for user tables and tables
	// without values).
	vals map[string]struct{}
	// user is whether table is a user-defined table (its values are the
	// site's, checked only through a profile's value sets).
	user bool
	// notInTable is the finding's text for a value outside the HL7
	// table, built once here rather than per finding.
	notInTable string
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
	fields []item
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
	group    string
	required bool
	rpt      int // 0 = unbounded
	children []*node
	// first holds the segments a group instance can start with.
	first map[string]bool
	// all holds every segment the group (transitively) contains.
	all map[string]bool
}

// spec is one version's tables, read-only after load.
type spec struct {
	version  string
	messages map[string]*node
	segments map[string]*segDef
	types    map[string]*typeDef
	tables   map[string]map[string]struct{}
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
		segments: make(map[string]*segDef, len(c.Segments)),
		types:    make(map[string]*typeDef, len(c.Types)+8),
		tables:   make(map[string]map[string]struct{}, len(c.Tables)),
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
		s.segments[id] = &segDef{id: id, fields: s.items(fields)}
	}
	for _, t := range s.types {
		s.compileLeaves(t)
	}
	for _, d := range s.segments {
		for i := range d.fields {
			d.fields[i].check = s.itemNeeds(&d.fields[i])
		}
	}
	if _, ok := c.Messages["ACK"]; !ok { // v2.1 lists no general acknowledgment
		c.Messages["ACK"] = []compact.Node{{Seg: "MSH", Usage: "R", Rpt: 1}, {Seg: "MSA", Usage: "R", Rpt: 1}, {Seg: "ERR", Usage: "O", Rpt: 1}}
	}
	for id, children := range c.Messages {
		root := &node{group: id, required: true, rpt: 1, children: nodes(children)}
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
		out[i] = item{name: it.Name, typ: s.typ(it.Type), usage: u, rpt: it.Rpt, len: it.Len, table: it.Table, vals: s.tables[it.Table],
			user: s.user[it.Table], notInTable: "value not in HL7 table " + it.Table}
	}
	return out
}

func nodes(src []compact.Node) []*node {
	out := make([]*node, len(src))
	for i, n := range src {
		out[i] = &node{seg: n.Seg, group: n.Group, required: n.Usage == "R", rpt: n.Rpt, children: nodes(n.Children)}
	}
	return out
}

// index fills first and all for a group and its subgroups.
func (n *node) index() {
	n.first, n.all = map[string]bool{}, map[string]bool{}
	open := true
	for _, c := range n.children {
		if c.seg != "" {
			n.all[c.seg] = true
			if open {
				n.first[c.seg] = true
			}
		} else {
			c.index()
			for k := range c.all {
				n.all[k] = true
			}
			if open {
				for k := range c.first {
					n.first[k] = true
				}
			}
		}
		if c.required {
			open = false
		}
	}
}

// inTable reports whether v is a value of HL7 table id; known is false
// when the version has no values for that table.
func (s *spec) inTable(id string, v []byte) (in, known bool) {
	return inValues(id, s.tables[id], v)
}

// inValues is inTable with the table's values already looked up.
func inValues(id string, t map[string]struct{}, v []byte) (in, known bool) {
	if len(t) == 0 {
		return false, false
	}
	if id == "0396" { // coding systems: 99zzz and L are local, HL7nnnn tables
		if bytes.HasPrefix(v, []byte("99")) || string(v) == "L" || bytes.HasPrefix(v, []byte("HL7")) {
			return true, true
		}
	}
	_, in = t[string(v)]
	return in, true
}
