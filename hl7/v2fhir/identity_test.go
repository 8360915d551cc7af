package v2fhir

import (
	"testing"
)

// TestStableIdentity: repeated messages about one patient or visit name
// the same resources, whatever the event and control id; another sender,
// or another assigning authority, names another Patient; Options.Sender
// lets two feeds share one namespace.
func TestStableIdentity(t *testing.T) {
	admit := msgOf("MSH|^~\\&|ADT|HOSP|||20240102030405||ADT^A01|MSG1|P|2.5",
		"PID|1||123^^^MRN^MR||DOE^JOHN",
		"PV1|1|I|W^1^2||||||||||||||||V77^^^VISITS")
	update := msgOf("MSH|^~\\&|ADT|HOSP|||20240105000000||ADT^A08|MSG2|P|2.5",
		"PID|1||999^^^SSA^SS~123^^^MRN^MR||DOE^JONATHAN",
		"PV1|1|I|W^1^3||||||||||||||||V77^^^VISITS")
	otherSender := msgOf("MSH|^~\\&|ADT|CLINIC|||20240102030405||ADT^A01|MSG1|P|2.5",
		"PID|1||123^^^MRN^MR||DOE^JOHN",
		"PV1|1|I|W^1^2||||||||||||||||V77^^^VISITS")
	otherAuthority := msgOf("MSH|^~\\&|ADT|HOSP|||20240102030405||ADT^A01|MSG1|P|2.5",
		"PID|1||123^^^LAB^MR||DOE^JOHN",
		"PV1|1|I|W^1^2||||||||||||||||V78^^^VISITS")

	a, u := mustConvert(t, admit), mustConvert(t, update)
	for _, typ := range []string{"Patient", "Encounter"} {
		if x, y := entryOf(t, a, typ).ID, entryOf(t, u, typ).ID; x != y {
			t.Errorf("%s: A01 names %s, A08 names %s", typ, x, y)
		}
	}
	if entryOf(t, a, "Provenance").ID == entryOf(t, u, "Provenance").ID {
		t.Error("two messages share one Provenance id")
	}
	if entryOf(t, a, "Patient").ID == entryOf(t, mustConvert(t, otherSender), "Patient").ID {
		t.Error("another sender (MSH-4) names the same Patient")
	}
	if entryOf(t, a, "Patient").ID == entryOf(t, mustConvert(t, otherAuthority), "Patient").ID {
		t.Error("another assigning authority (PID-3.4) names the same Patient")
	}

	opt := testOptions
	opt.Sender = "ENTERPRISE"
	conv := func(raw []byte) string {
		msg := mustParse(t, raw)
		res, err := Convert(msg, opt)
		if err != nil {
			t.Fatal(err)
		}
		return entryOf(t, res, "Patient").ID
	}
	if conv(admit) != conv(otherSender) {
		t.Error("with Options.Sender, two facilities' messages name different Patients")
	}
	if id := entryOf(t, a, "Patient").ID; !fhirID.MatchString(id) || len(id) != 32 {
		t.Errorf("Patient id %q is not 32 hex digits", id)
	}
}

// TestReferencesUseIDs: the Encounter's subject, the Observation's subject
// and basedOn, and the report's results use the ids of the resources of
// the same message.
func TestReferencesUseIDs(t *testing.T) {
	res := mustConvert(t, msgOf("MSH|^~\\&|LAB|FAC|||20240102030405||ORU^R01|1|P|2.5",
		"PID|1||123^^^HOSP^MR||DOE^JOHN",
		"PV1|1|O|CLINIC||||||||||||||||V9",
		"ORC|RE|P1^EPIC|F1^LAB",
		"OBR|1|P1^EPIC|F1^LAB|24317-0^CBC^LN|||20240102",
		"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL^g/dL^UCUM|12-16|N|||F"))
	p, enc := entryOf(t, res, "Patient"), entryOf(t, res, "Encounter")
	sr, dr, obs := entryOf(t, res, "ServiceRequest"), entryOf(t, res, "DiagnosticReport"), entryOf(t, res, "Observation")
	for _, want := range []struct {
		in   Entry
		what string
	}{
		{enc, `"subject":{"reference":"Patient/` + p.ID + `"}`},
		{obs, `"subject":{"reference":"Patient/` + p.ID + `"}`},
		{obs, `"encounter":{"reference":"Encounter/` + enc.ID + `"}`},
		{obs, `"basedOn":[{"reference":"ServiceRequest/` + sr.ID + `"}]`},
		{dr, `"result":[{"reference":"Observation/` + obs.ID + `"}]`},
		{dr, `"basedOn":[{"reference":"ServiceRequest/` + sr.ID + `"}]`},
	} {
		if !contains(want.in.JSON, want.what) {
			t.Errorf("%s lacks %s:\n%s", want.in.Type, want.what, want.in.JSON)
		}
	}
	for _, e := range res.Entries {
		switch e.Type {
		case "Patient", "Encounter", "Observation", "ServiceRequest", "DiagnosticReport":
			if e.Key != "Patient/"+p.ID {
				t.Errorf("%s keyed %s, want the Patient's key", e.Type, e.Key)
			}
		}
	}
}
