package conformance

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Profile is a conformance profile (hl7.parser.config.file): a list of
// rules, each applying to messages from one sending facility and/or of one
// message type. Every matching rule applies, in file order; a later rule's
// strict setting wins, lists add up. A Profile is read-only after
// LoadProfile and safe for concurrent use.
type Profile struct {
	// FullConformance enforces, for every message, the standard's message
	// structure, required fields and table values beyond the MSH at the
	// mode's severity (errors when strict); by default they are warnings.
	FullConformance bool   `yaml:"full_conformance"`
	Rules           []Rule `yaml:"rules"`
}

// Rule is one block of a profile. Empty match fields match everything.
type Rule struct {
	// Name labels the rule in error messages.
	Name string `yaml:"name"`
	// SendingFacility matches MSH-4.1 exactly; "" or "*" match any.
	SendingFacility string `yaml:"sending_facility"`
	// MessageType matches MSH-9: "ADT" (any event) or "ADT^A01"; "" or "*"
	// match any.
	MessageType string `yaml:"message_type"`
	// Strict overrides Options.Strict when set.
	Strict *bool `yaml:"strict"`
	// Full overrides Profile.FullConformance when set.
	Full *bool `yaml:"full_conformance"`
	// Require lists fields ("PID-8") that must be valued although the
	// standard leaves them optional.
	Require []string `yaml:"require"`
	// Relax lists fields the standard requires that may be empty.
	Relax []string `yaml:"relax"`
	// ValueSets gives the allowed codes of tables by id ("0001"). User
	// tables are only checked through value sets; for HL7 tables the codes
	// are added to the standard's.
	ValueSets map[string][]string `yaml:"value_sets"`
	// AllowUndeclaredZ says whether Z-segments not listed in ZSegments are
	// accepted (default true).
	AllowUndeclaredZ *bool `yaml:"allow_undeclared_z_segments"`
	// ZSegments defines site-specific segments by id ("ZPI").
	ZSegments map[string]ZSegment `yaml:"z_segments"`

	require, relax []fieldRef
	valueSets      map[string]map[string]struct{}
	event          string
	msgType        string
}

// ZSegment says where a Z-segment may appear and what it holds.
type ZSegment struct {
	// After lists the segments that may directly precede it (other
	// Z-segments in between are skipped); empty means anywhere.
	After []string `yaml:"after"`
	// Required makes its absence a segment sequence error (100).
	Required bool `yaml:"required"`
	// Max is the most occurrences allowed; 0 means unbounded.
	Max int `yaml:"max"`
	// Fields defines its fields by position.
	Fields []ZField `yaml:"fields"`
}

// ZField is one field of a Z-segment.
type ZField struct {
	Pos      int    `yaml:"pos"`
	Name     string `yaml:"name"`
	Type     string `yaml:"type"` // HL7 data type; default ST
	Required bool   `yaml:"required"`
	Repeat   int    `yaml:"repeat"` // most repetitions; 0 means 1, -1 unbounded
	Len      int    `yaml:"len"`
	Table    string `yaml:"table"`
}

type fieldRef struct {
	seg string
	pos int
}

// LoadProfile reads and checks a YAML conformance profile. It fails on
// unknown keys, malformed field references and bad Z-segment definitions.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: load profile: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("conformance: load profile %s: %w", path, err)
	}
	if err := p.compile(); err != nil {
		return nil, fmt.Errorf("conformance: load profile %s: %w", path, err)
	}
	return &p, nil
}

// compile checks the rules and builds their lookup forms.
func (p *Profile) compile() error {
	for i := range p.Rules {
		r := &p.Rules[i]
		label := r.Name
		if label == "" {
			label = "rule " + strconv.Itoa(i+1)
		}
		mt := r.MessageType
		if mt == "*" {
			mt = ""
		}
		r.msgType, r.event, _ = strings.Cut(mt, "^")
		if r.SendingFacility == "*" {
			r.SendingFacility = ""
		}
		var err error
		if r.require, err = fieldRefs(r.Require); err != nil {
			return fmt.Errorf("%s: require: %w", label, err)
		}
		if r.relax, err = fieldRefs(r.Relax); err != nil {
			return fmt.Errorf("%s: relax: %w", label, err)
		}
		r.valueSets = make(map[string]map[string]struct{}, len(r.ValueSets))
		for id, codes := range r.ValueSets {
			set := make(map[string]struct{}, len(codes))
			for _, c := range codes {
				set[c] = struct{}{}
			}
			r.valueSets[id] = set
		}
		for id, z := range r.ZSegments {
			if len(id) != 3 || id[0] != 'Z' {
				return fmt.Errorf("%s: z_segments: %q is not a Z-segment id", label, id)
			}
			for _, zf := range z.Fields {
				if zf.Pos < 1 {
					return fmt.Errorf("%s: z_segments: %s: field position %d", label, id, zf.Pos)
				}
			}
			if z.Max < 0 {
				return fmt.Errorf("%s: z_segments: %s: negative max", label, id)
			}
		}
	}
	return nil
}

// fieldRefs parses "PID-8" style references.
func fieldRefs(paths []string) ([]fieldRef, error) {
	out := make([]fieldRef, 0, len(paths))
	for _, p := range paths {
		seg, num, ok := strings.Cut(p, "-")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 1 || len(seg) != 3 {
			return nil, fmt.Errorf("%q is not a field reference like PID-8", p)
		}
		out = append(out, fieldRef{seg: seg, pos: n})
	}
	return out, nil
}

func (r *Rule) matches(facility, typ, event []byte) bool {
	if r.SendingFacility != "" && r.SendingFacility != string(facility) {
		return false
	}
	if r.msgType != "" && r.msgType != string(typ) {
		return false
	}
	return r.event == "" || r.event == string(event)
}

// maxRules bounds how many profile rules can apply to one message.
const maxRules = 16

// applied is the set of profile rules that match one message.
type applied struct {
	rules [maxRules]*Rule
	n     int
}

func (p *Profile) match(facility, typ, event []byte) applied {
	var a applied
	if p == nil {
		return a
	}
	for i := range p.Rules {
		if a.n < maxRules && p.Rules[i].matches(facility, typ, event) {
			a.rules[a.n] = &p.Rules[i]
			a.n++
		}
	}
	return a
}

func (a *applied) strict(def bool) bool {
	for _, r := range a.rules[:a.n] {
		if r.Strict != nil {
			def = *r.Strict
		}
	}
	return def
}

// required adjusts the standard's usage of seg-pos by the profile.
func (a *applied) required(seg string, pos int, std bool) bool {
	for _, r := range a.rules[:a.n] {
		for _, f := range r.relax {
			if f.pos == pos && f.seg == seg {
				std = false
			}
		}
		for _, f := range r.require {
			if f.pos == pos && f.seg == seg {
				std = true
			}
		}
	}
	return std
}

// valueSet reports whether some rule has a value set for table id and
// whether v is in one of them.
func (a *applied) valueSet(id string, v []byte) (in, has bool) {
	for _, r := range a.rules[:a.n] {
		if set, ok := r.valueSets[id]; ok {
			has = true
			if _, ok := set[string(v)]; ok {
				return true, true
			}
		}
	}
	return false, has
}

func (a *applied) zSegment(id string) (*ZSegment, bool) {
	var out *ZSegment
	for _, r := range a.rules[:a.n] {
		if z, ok := r.ZSegments[id]; ok {
			out = &z
		}
	}
	return out, out != nil
}

func (a *applied) allowUndeclaredZ() bool {
	allow := true
	for _, r := range a.rules[:a.n] {
		if r.AllowUndeclaredZ != nil {
			allow = *r.AllowUndeclaredZ
		}
	}
	return allow
}

// requiredZ lists the Z-segments some matching rule requires.
func (a *applied) requiredZ(yield func(string)) {
	for _, r := range a.rules[:a.n] {
		for id, z := range r.ZSegments {
			if z.Required {
				yield(id)
			}
		}
	}
}

func (a *applied) full(def bool) bool {
	for _, r := range a.rules[:a.n] {
		if r.Full != nil {
			def = *r.Full
		}
	}
	return def
}

func (p *Profile) fullDefault() bool {
	return p != nil && p.FullConformance
}
