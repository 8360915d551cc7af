package v2fhir

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/fhir/fhirpath"
)

// element is one key FHIR element of the coverage table: where a converter
// writes it (FHIRPath expressions headed by a resource type; the element
// is filled when one resource of that type in the Bundle yields anything)
// and the HL7 v2 fields it comes from (present when one of them has a
// value, and when is nil or true).
type element struct {
	name string
	fhir []string
	src  []string
	when func(*source) bool
}

// elements is the coverage table: issue 16's key elements and the other
// elements both converters map from the segments issue 16 lists. The
// source fields follow the HL7 v2-to-FHIR IG's segment maps.
var elements = []element{
	{name: "Patient.identifier", fhir: []string{"Patient.identifier.value"}, src: []string{"PID-3.1"}},
	{name: "Patient.identifier.system", fhir: []string{"Patient.identifier.system"}, src: []string{"PID-3.4"}},
	{name: "Patient.identifier.type", fhir: []string{"Patient.identifier.type"}, src: []string{"PID-3.5"}},
	{name: "Patient.name.family", fhir: []string{"Patient.name.family"}, src: []string{"PID-5.1"}},
	{name: "Patient.name.given", fhir: []string{"Patient.name.given"}, src: []string{"PID-5.2", "PID-5.3"}},
	{name: "Patient.name.prefix|suffix", fhir: []string{"Patient.name.prefix | Patient.name.suffix"}, src: []string{"PID-5.4", "PID-5.5", "PID-5.6"}},
	{name: "Patient.birthDate", fhir: []string{"Patient.birthDate"}, src: []string{"PID-7"}},
	{name: "Patient.gender", fhir: []string{"Patient.gender"}, src: []string{"PID-8"}},
	{name: "Patient.address.line", fhir: []string{"Patient.address.line"}, src: []string{"PID-11.1", "PID-11.2"}},
	{name: "Patient.address.city", fhir: []string{"Patient.address.city"}, src: []string{"PID-11.3"}},
	{name: "Patient.address.state", fhir: []string{"Patient.address.state"}, src: []string{"PID-11.4"}},
	{name: "Patient.address.postalCode", fhir: []string{"Patient.address.postalCode"}, src: []string{"PID-11.5"}},
	{name: "Patient.address.country", fhir: []string{"Patient.address.country"}, src: []string{"PID-11.6"}},
	{name: "Patient.telecom", fhir: []string{"Patient.telecom.value"}, src: []string{"PID-13", "PID-14"}},
	{name: "Patient.maritalStatus", fhir: []string{"Patient.maritalStatus"}, src: []string{"PID-16"}},
	{name: "Patient.communication.language", fhir: []string{"Patient.communication.language"}, src: []string{"PID-15"}},
	{name: "Patient.deceased[x]", fhir: []string{"Patient.deceased"}, src: []string{"PID-29", "PID-30"}},
	{name: "Patient.multipleBirth[x]", fhir: []string{"Patient.multipleBirth"}, src: []string{"PID-24", "PID-25"}},
	{name: "Patient race extension", fhir: []string{"Patient.extension.where(url.lower().contains('race'))"}, src: []string{"PID-10"}},
	{name: "Patient.generalPractitioner", fhir: []string{"Patient.generalPractitioner"}, src: []string{"PD1-4"}},
	{name: "Patient.link (merge)", fhir: []string{"Patient.link"}, src: []string{"MRG-1"}},
	{name: "next of kin (contact|RelatedPerson)", fhir: []string{"Patient.contact", "RelatedPerson.name | RelatedPerson.relationship"}, src: []string{"NK1-2", "NK1-3"}},

	{name: "Encounter.identifier", fhir: []string{"Encounter.identifier.value"}, src: []string{"PV1-19.1"}},
	{name: "Encounter.class", fhir: []string{"Encounter.class"}, src: []string{"PV1-2"}},
	{name: "Encounter.type", fhir: []string{"Encounter.type"}, src: []string{"PV1-4"}},
	{name: "Encounter.period.start", fhir: []string{"Encounter.period.start"}, src: []string{"PV1-44"}},
	{name: "Encounter.period.end", fhir: []string{"Encounter.period.end"}, src: []string{"PV1-45"}},
	{name: "Encounter.location", fhir: []string{"Encounter.location.location"}, src: []string{"PV1-3"}},
	{name: "Encounter.participant", fhir: []string{"Encounter.participant.individual"}, src: []string{"PV1-7", "PV1-8", "PV1-9", "PV1-17"}},
	{name: "Encounter.serviceType", fhir: []string{"Encounter.serviceType"}, src: []string{"PV1-10"}},
	{name: "Encounter.hospitalization.admitSource", fhir: []string{"Encounter.hospitalization.admitSource"}, src: []string{"PV1-14"}},
	{name: "Encounter.hospitalization.reAdmission", fhir: []string{"Encounter.hospitalization.reAdmission"}, src: []string{"PV1-13"}},
	{name: "Encounter.hospitalization.dischargeDisposition", fhir: []string{"Encounter.hospitalization.dischargeDisposition"}, src: []string{"PV1-36"}},
	{name: "Encounter.reasonCode", fhir: []string{"Encounter.reasonCode"}, src: []string{"PV2-3"}},

	{name: "Observation.code", fhir: []string{"Observation.code"}, src: []string{"OBX-3"}},
	{name: "Observation.value[x]", fhir: []string{"Observation.value"}, src: []string{"OBX-5"}},
	{name: "Observation.valueQuantity.unit", fhir: []string{"Observation.value.ofType(Quantity).unit | Observation.value.ofType(Quantity).code"}, when: numericWithUnit},
	{name: "Observation.status", fhir: []string{"Observation.status"}, src: []string{"OBX-11"}},
	{name: "Observation.effective[x]", fhir: []string{"Observation.effective"}, src: []string{"OBX-14"}},
	{name: "Observation.referenceRange", fhir: []string{"Observation.referenceRange"}, src: []string{"OBX-7"}},
	{name: "Observation.interpretation", fhir: []string{"Observation.interpretation"}, src: []string{"OBX-8"}},
	{name: "Observation.method", fhir: []string{"Observation.method"}, src: []string{"OBX-17"}},
	{name: "Observation.performer", fhir: []string{"Observation.performer"}, src: []string{"OBX-16", "OBX-23", "OBX-25"}},

	{name: "DiagnosticReport.code", fhir: []string{"DiagnosticReport.code"}, src: []string{"OBR-4"}, when: isType("ORU")},
	{name: "DiagnosticReport.status", fhir: []string{"DiagnosticReport.status"}, src: []string{"OBR-25"}, when: isType("ORU")},
	{name: "DiagnosticReport.effective[x]", fhir: []string{"DiagnosticReport.effective"}, src: []string{"OBR-7"}, when: isType("ORU")},
	{name: "DiagnosticReport.issued", fhir: []string{"DiagnosticReport.issued"}, src: []string{"OBR-22"}, when: isType("ORU")},
	{name: "DiagnosticReport.result", fhir: []string{"DiagnosticReport.result"}, src: []string{"OBX-3"}, when: isType("ORU")},
	{name: "Specimen (SPM)", fhir: []string{"Specimen.type | Specimen.identifier", "DiagnosticReport.specimen"}, src: []string{"SPM-2", "SPM-4"}},

	{name: "Immunization.vaccineCode", fhir: []string{"Immunization.vaccineCode"}, src: []string{"RXA-5"}},
	{name: "Immunization.occurrence[x]", fhir: []string{"Immunization.occurrence"}, src: []string{"RXA-3"}},
	{name: "Immunization.lotNumber", fhir: []string{"Immunization.lotNumber"}, src: []string{"RXA-15"}},
	{name: "Immunization.expirationDate", fhir: []string{"Immunization.expirationDate"}, src: []string{"RXA-16"}},
	{name: "Immunization.manufacturer", fhir: []string{"Immunization.manufacturer"}, src: []string{"RXA-17"}},
	{name: "Immunization.doseQuantity", fhir: []string{"Immunization.doseQuantity"}, when: realDose},
	{name: "Immunization.route", fhir: []string{"Immunization.route"}, src: []string{"RXR-1"}},
	{name: "Immunization.site", fhir: []string{"Immunization.site"}, src: []string{"RXR-2"}},
	{name: "Immunization.performer", fhir: []string{"Immunization.performer"}, src: []string{"RXA-10"}},

	{name: "ServiceRequest.code", fhir: []string{"ServiceRequest.code"}, src: []string{"OBR-4"}},
	{name: "ServiceRequest.identifier", fhir: []string{"ServiceRequest.identifier.value"}, src: []string{"ORC-2", "ORC-3", "OBR-2", "OBR-3"}},
	{name: "ServiceRequest.requester", fhir: []string{"ServiceRequest.requester"}, src: []string{"ORC-12", "OBR-16"}},
	{name: "ServiceRequest.authoredOn", fhir: []string{"ServiceRequest.authoredOn"}, src: []string{"ORC-9"}},
	{name: "ServiceRequest.occurrence[x]", fhir: []string{"ServiceRequest.occurrence"}, src: []string{"ORC-15", "OBR-7", "OBR-27.4", "TQ1-7"}},
	{name: "ServiceRequest.reasonCode", fhir: []string{"ServiceRequest.reasonCode"}, src: []string{"OBR-31"}},

	{name: "AllergyIntolerance.code", fhir: []string{"AllergyIntolerance.code"}, src: []string{"AL1-3"}},
	{name: "AllergyIntolerance.criticality", fhir: []string{"AllergyIntolerance.criticality"}, src: []string{"AL1-4"}},
	{name: "AllergyIntolerance.reaction", fhir: []string{"AllergyIntolerance.reaction.manifestation"}, src: []string{"AL1-5"}},
	{name: "Condition.code", fhir: []string{"Condition.code"}, src: []string{"DG1-3"}},
	{name: "Coverage.identifier", fhir: []string{"Coverage.identifier.value"}, src: []string{"IN1-2"}},
	{name: "Coverage.payor", fhir: []string{"Coverage.payor"}, src: []string{"IN1-3", "IN1-4"}},
	{name: "Procedure.code", fhir: []string{"Procedure.code"}, src: []string{"PR1-3"}},
	{name: "source message (MessageHeader|Provenance)", fhir: []string{"MessageHeader.source", "Provenance.entity"}, src: []string{"MSH-10"}},
}

// isType is a when for elements of one message type ("ORU").
func isType(typ string) func(*source) bool {
	return func(s *source) bool { return strings.HasPrefix(s.messageType, typ+"^") }
}

// numericWithUnit: an OBX with a unit and a numeric value: an NM whose
// OBX-5 is a number, or an SN whose first number (component 2) is one.
func numericWithUnit(s *source) bool {
	return s.anySegment("OBX", func(get func(int, int) []string) bool {
		vt := get(2, 0)
		if len(vt) == 0 || len(get(6, 1)) == 0 {
			return false
		}
		var num []string
		switch vt[0] {
		case "NM":
			num = get(5, 0)
		case "SN":
			num = get(5, 2)
		}
		if len(num) == 0 {
			return false
		}
		_, err := strconv.ParseFloat(strings.TrimSpace(num[0]), 64)
		return err == nil
	})
}

// realDose: RXA-6 present and not 999, the "amount unknown" of the CDC's
// implementation guide.
func realDose(s *source) bool {
	return s.anySegment("RXA", func(get func(int, int) []string) bool {
		d := get(6, 0)
		return len(d) > 0 && d[0] != "999"
	})
}

// compiled is an element's expressions, by resource type.
type compiled struct {
	element
	exprs map[string][]*fhirpath.Expression
}

func compileElements() ([]compiled, error) {
	out := make([]compiled, 0, len(elements))
	for _, e := range elements {
		c := compiled{element: e, exprs: map[string][]*fhirpath.Expression{}}
		for _, src := range e.fhir {
			typ, _, _ := strings.Cut(src, ".")
			x, err := fhirpath.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("element %s: %w", e.name, err)
			}
			c.exprs[typ] = append(c.exprs[typ], x)
		}
		out = append(out, c)
	}
	return out, nil
}

// present reports whether the message has the element's source fields.
func (c *compiled) present(s *source) bool {
	if len(c.src) > 0 && !s.has(c.src...) {
		return false
	}
	return c.when == nil || c.when(s)
}

// filled reports whether some resource of the Bundle has the element.
func (c *compiled) filled(b map[string]any) (bool, error) {
	for _, r := range resources(b) {
		typ, _ := r["resourceType"].(string)
		for _, x := range c.exprs[typ] {
			got, err := x.Evaluate(r)
			if err != nil {
				return false, fmt.Errorf("element %s on %s: %w", c.name, typ, err)
			}
			if len(got) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// resources are the entry resources of a Bundle.
func resources(b map[string]any) []map[string]any {
	entries, _ := b["entry"].([]any)
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		em, _ := e.(map[string]any)
		if r, ok := em["resource"].(map[string]any); ok {
			out = append(out, r)
		}
	}
	return out
}
