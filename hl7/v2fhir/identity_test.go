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

// TestSpecimensAndOrders: an SPM becomes a Specimen the report, the
// request and the observations reference; an ORU's OBR makes a
// ServiceRequest even without an ORC; its occurrence falls back from
// OBR-6 to OBR-7.
func TestSpecimensAndOrders(t *testing.T) {
	res := mustConvert(t, msgOf("MSH|^~\\&|LAB|FAC|||20240102030405||ORU^R01|1|P|2.5",
		"PID|1||123^^^HOSP^MR||DOE^JOHN",
		"OBR|1|P1^EPIC|F1^LAB|24317-0^CBC^LN|||202401020800",
		"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL^g/dL^UCUM|12-16|N|||F",
		"SPM|1|S1&EPIC^S1F&LAB||119297000^Blood^SCT|||||||||||||20240102075500"))
	sp, sr := entryOf(t, res, "Specimen"), entryOf(t, res, "ServiceRequest")
	for _, want := range []struct {
		in   Entry
		what string
	}{
		{sp, `"type":{"coding":[{"system":"http://snomed.info/sct","code":"119297000","display":"Blood"}]}`},
		{sp, `"collection":{"collectedDateTime":"2024-01-02T07:55:00Z"}`},
		{sp, `"request":[{"reference":"ServiceRequest/` + sr.ID + `"}]`},
		{sr, `"occurrenceDateTime":"2024-01-02T08:00:00Z"`},
		{sr, `"specimen":[{"reference":"Specimen/` + sp.ID + `"}]`},
		{entryOf(t, res, "DiagnosticReport"), `"specimen":[{"reference":"Specimen/` + sp.ID + `"}]`},
		{entryOf(t, res, "Observation"), `"specimen":{"reference":"Specimen/` + sp.ID + `"}`},
	} {
		if !contains(want.in.JSON, want.what) {
			t.Errorf("%s lacks %s:\n%s", want.in.Type, want.what, want.in.JSON)
		}
	}
}

// TestRaceAndEthnicity: PID-10 and PID-22 as the US Core extensions, CDC
// codes as OMB categories or detailed, table 0189's codes in their own
// system.
func TestRaceAndEthnicity(t *testing.T) {
	res := mustConvert(t, msgOf("MSH|^~\\&|ADT|FAC|||20240102030405||ADT^A08|1|P|2.5",
		"PID|1||123^^^HOSP^MR||DOE^JOHN|||||2106-3^White^CDCREC~2029-7^Asian Indian^CDCREC||||||||||||N^Not Hispanic^HL70189"))
	p := entryOf(t, res, "Patient")
	for _, want := range []string{
		`{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},{"url":"detailed","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2029-7","display":"Asian Indian"}},{"url":"text","valueString":"White, Asian Indian"}]}`,
		`{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":[{"url":"detailed","valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0189","code":"N","display":"Not Hispanic"}},{"url":"text","valueString":"Not Hispanic"}]}`,
	} {
		if !contains(p.JSON, want) {
			t.Errorf("Patient lacks %s:\n%s", want, p.JSON)
		}
	}
}
