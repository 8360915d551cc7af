// Package compact defines the on-disk shape of the embedded HL7 v2
// specification tables, shared by the generator (internal/gen) and the
// loader in package conformance.
package compact

// Spec is one HL7 v2 version's tables.
type Spec struct {
	Version string `json:"v"`
	// Messages maps a message structure or trigger event id ("ADT_A01",
	// "ACK") to its segment tree.
	Messages map[string][]Node `json:"m"`
	// Segments maps a segment id to its fields; index i is field i+1.
	Segments map[string][]Item `json:"s"`
	// Types maps a data type id to its components; primitives have none.
	Types map[string][]Item `json:"d"`
	// Tables holds the values of HL7-defined tables by table id.
	Tables map[string][]string `json:"t"`
	// User lists the ids of user-defined (and local) tables.
	User []string `json:"u,omitempty"`
}

// Node is a segment or a group in a message structure.
type Node struct {
	Seg      string `json:"s,omitempty"`
	Group    string `json:"g,omitempty"`
	Usage    string `json:"u"`
	Rpt      int    `json:"r,omitempty"` // 0 = unbounded
	Children []Node `json:"c,omitempty"`
}

// Item is a segment field or a data type component.
type Item struct {
	Name  string `json:"n,omitempty"`
	Type  string `json:"t"`
	Usage string `json:"u"`
	Rpt   int    `json:"r,omitempty"` // 0 = unbounded
	Len   int    `json:"l,omitempty"`
	Table string `json:"b,omitempty"`
}
