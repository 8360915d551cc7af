package v2fhir

// Op is what a message does to one resource; it picks the topic
// fhir.<type>.<created|updated|deleted>.
type Op uint8

// The operations. Deleted is part of the contract for the stream; no event
// converted here deletes a resource: cancellations and deletions in HL7
// (A11, A13, OBX-11 "D", RXA-21 "D", ORC-1 "CA") become updates that set a
// status (entered-in-error, revoked), as the IG maps them, so that the
// resource's history stays readable.
const (
	Created Op = iota
	Updated
	Deleted
)

func (o Op) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	default:
		return "deleted"
	}
}

// structure is which message map a trigger event follows.
type structure uint8

const (
	adt structure = iota
	adtMerge
	oru
	vxu
	order // ORM^O01, OML^O21
)

// event is one supported MSH-9 message type and trigger event.
type event struct {
	structure structure
	// patient is the operation on the PID's Patient (and on the
	// AllergyIntolerance, Condition and Coverage of its AL1, DG1, IN1).
	patient Op
	// encounter is the operation on the PV1's Encounter (a PV1 with
	// nothing but its set id makes none); noEncounter leaves PV1 out.
	encounter   Op
	noEncounter bool
	// encounterStatus, when set, is Encounter.status whatever PV1 says.
	encounterStatus string
}

// events is the operation table. A01/A04/A05 (admit, register,
// pre-admit) and A28 (add person) introduce their Patient and Encounter:
// created (an A28's PV1, when it has one, describes a visit the person
// message does not start: updated). Every other ADT event changes them:
// updated. A03 sets the
// Encounter finished; A11 (cancel admit) sets it entered-in-error and A13
// (cancel discharge) back to in-progress. A40 (merge) updates the
// surviving Patient and the merged-away one (MRG-1), which gets
// active=false and a replaced-by link. Orders, results and immunizations
// update the Patient they name; their own resources' operations depend on
// the order control, result status or action code (see orders.go and
// immunization.go). Practitioners, Locations and Organizations are always
// updated (reference data upserts); the Provenance is always created.
var events = map[string]event{
	"ADT^A01": {structure: adt, patient: Created, encounter: Created},
	"ADT^A02": {structure: adt, patient: Updated, encounter: Updated},
	"ADT^A03": {structure: adt, patient: Updated, encounter: Updated, encounterStatus: "finished"},
	"ADT^A04": {structure: adt, patient: Created, encounter: Created},
	"ADT^A05": {structure: adt, patient: Created, encounter: Created, encounterStatus: "planned"},
	"ADT^A06": {structure: adt, patient: Updated, encounter: Updated},
	"ADT^A07": {structure: adt, patient: Updated, encounter: Updated},
	"ADT^A08": {structure: adt, patient: Updated, encounter: Updated},
	"ADT^A11": {structure: adt, patient: Updated, encounter: Updated, encounterStatus: "entered-in-error"},
	"ADT^A13": {structure: adt, patient: Updated, encounter: Updated, encounterStatus: "in-progress"},
	"ADT^A28": {structure: adt, patient: Created, encounter: Updated},
	"ADT^A31": {structure: adt, patient: Updated, encounter: Updated},
	"ADT^A40": {structure: adtMerge, patient: Updated, noEncounter: true},
	"ORU^R01": {structure: oru, patient: Updated, encounter: Updated},
	"VXU^V04": {structure: vxu, patient: Updated, encounter: Updated},
	"ORM^O01": {structure: order, patient: Updated, encounter: Updated},
	"OML^O21": {structure: order, patient: Updated, encounter: Updated},
}

// Supported lists the MSH-9 types Convert accepts ("ADT^A01", ...).
func Supported() []string {
	out := make([]string, 0, len(events))
	for k := range events {
		out = append(out, k)
	}
	return out
}
