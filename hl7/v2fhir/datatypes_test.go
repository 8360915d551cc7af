package v2fhir

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
)

func mustParse(t *testing.T, raw []byte) *hl7.Message {
	t.Helper()
	msg, err := hl7.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// TestDTM: HL7 times keep their precision; a time of day gets seconds
// (FHIR requires them) and its zone, as sent, else Options.Zone (UTC by
// default); a date never has a zone.
func TestDTM(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz database")
	}
	for _, tc := range []struct {
		in   string
		zone *time.Location
		date string
		dt   string
	}{
		{"2024", time.UTC, "2024", "2024"},
		{"202402", time.UTC, "2024-02", "2024-02"},
		{"20240229", time.UTC, "2024-02-29", "2024-02-29"},
		{"20240229-0500", time.UTC, "2024-02-29", "2024-02-29"},
		{"2024022913", time.UTC, "2024-02-29", "2024-02-29T13:00:00Z"},
		{"202402291330", time.UTC, "2024-02-29", "2024-02-29T13:30:00Z"},
		{"20240229133005.1234+0215", time.UTC, "2024-02-29", "2024-02-29T13:30:05.1234+02:15"},
		{"20240701133005", ny, "2024-07-01", "2024-07-01T13:30:05-04:00"},
		{"20240101133005", ny, "2024-01-01", "2024-01-01T13:30:05-05:00"},
	} {
		p, ok := parseDTM(tc.in)
		if !ok {
			t.Errorf("%s: not parsed", tc.in)
			continue
		}
		if d, dt := p.date(), p.dateTime(tc.zone); d != tc.date || dt != tc.dt {
			t.Errorf("%s: date %s dateTime %s, want %s %s", tc.in, d, dt, tc.date, tc.dt)
		}
	}
	for _, bad := range []string{"", "196203520", "20240230", "20241301", "2024022925", "19100000000000+0000", "20240101+05", "2024010112.5", "DTValue", "2007100914484648"} {
		if _, ok := parseDTM(bad); ok {
			t.Errorf("%q parsed as a DTM", bad)
		}
	}
}

func TestDecimal(t *testing.T) {
	for in, want := range map[string]string{"13.5": "13.5", "+007": "7", ".5": "0.5", "5.": "5", "-0.25": "-0.25", "-0": "0", "000.10": "0.10"} {
		if got, ok := decimal(in); !ok || got != want {
			t.Errorf("decimal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", ".", "1e5", "1,5", "<5", "12-16", "abc"} {
		if got, ok := decimal(bad); ok {
			t.Errorf("decimal(%q) = %q, want not a number", bad, got)
		}
	}
}

// TestCodesAreNeverDropped: a code the IG's concept map does not map is
// written as it is: with its v2 table's system when it is one of the
// table's codes, with the sender's coding system (CWE-3) when it names
// one, else (a local code in an HL7 table) without a system, never in a
// code system that does not have it. On a code element FHIR binds
// (gender, status: "unknown") it goes in the alternate-codes extension.
func TestCodesAreNeverDropped(t *testing.T) {
	res := mustConvert(t, msgOf("MSH|^~\\&|LAB|FAC|||20240102030405||ORU^R01|1|P|2.5",
		"PID|1||123^^^HOSP^MR||DOE^JOHN||19700101|X||||||||Q^Quasi-married|AME",
		"OBR|1|P1|F1|24317-0^CBC^LN",
		"OBX|1|CWE|X1^Local test^99LOC||POS^Positive^L||||||I"))
	p, obs := entryOf(t, res, "Patient"), entryOf(t, res, "Observation")
	for _, want := range []string{
		`"gender":"unknown","_gender":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/alternate-codes","valueCodeableConcept":{"coding":[{"code":"X"}]}}]}`,
		`"maritalStatus":{"coding":[{"code":"Q","display":"Quasi-married"}]}`,
		`/patient-religion","valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0006","code":"AME"}]}`,
	} {
		if !contains(p.JSON, want) {
			t.Errorf("Patient lacks %s:\n%s", want, p.JSON)
		}
	}
	for _, want := range []string{
		`"status":"unknown","_status":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/alternate-codes","valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0085","code":"I"}]}}]}`,
		`"code":{"coding":[{"system":"urn:id:99LOC","code":"X1","display":"Local test"}]}`,
		`"valueCodeableConcept":{"coding":[{"system":"urn:id:L","code":"POS","display":"Positive"}]}`,
	} {
		if !contains(obs.JSON, want) {
			t.Errorf("Observation lacks %s:\n%s", want, obs.JSON)
		}
	}
}

// TestObservationValues: OBX-2 picks value[x]; units are UCUM only when
// OBX-6.3 says so, else text; SN comparators, ratios and ranges; text
// repetitions become lines; reference ranges "low-high" get low and high.
func TestObservationValues(t *testing.T) {
	for _, tc := range []struct{ obx, want string }{
		{"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL^g/dL^UCUM|12-16", `"valueQuantity":{"value":13.5,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}`},
		{"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL|12-16", `"valueQuantity":{"value":13.5,"unit":"g/dL"}`},
		{"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL|12-16", `"referenceRange":[{"low":{"value":12,"unit":"g/dL"},"high":{"value":16,"unit":"g/dL"},"text":"12-16"}]`},
		{"OBX|1|NM|718-7^Hgb^LN||<5|g/dL", `"valueQuantity":{"value":5,"comparator":"<","unit":"g/dL"}`},
		{"OBX|1|NM|718-7^Hgb^LN||see note", `"valueString":"see note"`},
		{"OBX|1|SN|1554-5^Glucose^LN||>^182|mg/dL^^UCUM", `"valueQuantity":{"value":182,"comparator":">","unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}`},
		{"OBX|1|SN|1554-5^Titer^LN||^1^:^128", `"valueRatio":{"numerator":{"value":1},"denominator":{"value":128}}`},
		{"OBX|1|SN|1554-5^Range^LN||^10^-^20|mg", `"valueRange":{"low":{"value":10,"unit":"mg"},"high":{"value":20,"unit":"mg"}}`},
		{"OBX|1|TX|8251-1^Note^LN||line one~line two", `"valueString":"line one\nline two"`},
		{"OBX|1|FT|8251-1^Note^LN||a\\.br\\b", `"valueString":"a\nb"`},
		{"OBX|1|FT|8251-1^Note^LN||pH \\H\\7.28\\N\\\\.sp\\ok", `"valueString":"pH 7.28\nok"`},
		{"OBX|1|TS|8251-1^When^LN||202401021530-0500", `"valueDateTime":"2024-01-02T15:30:00-05:00"`},
		{"OBX|1|TM|8251-1^At^LN||1530", `"valueTime":"15:30:00"`},
	} {
		res := mustConvert(t, msgOf("MSH|^~\\&|LAB|FAC|||20240102030405||ORU^R01|1|P|2.5",
			"PID|1||123^^^HOSP^MR", "OBR|1|P1|F1|24317-0^CBC^LN", tc.obx+"||||F"[:0]))
		if obs := entryOf(t, res, "Observation"); !contains(obs.JSON, tc.want) {
			t.Errorf("%s: lacks %s:\n%s", tc.obx, tc.want, obs.JSON)
		}
	}
}

// TestContactPoints: XTN equipment and use codes through the IG's maps;
// CP (cellular) is a phone with use mobile, as the IG maps it; PID-13 is
// home and PID-14 work unless XTN-2 says otherwise (NET, which the IG
// leaves unmapped, gives no use).
func TestContactPoints(t *testing.T) {
	res := mustConvert(t, msgOf("MSH|^~\\&|ADT|FAC|||20240102030405||ADT^A08|1|P|2.5",
		"PID|1||123^^^HOSP^MR||DOE^JOHN||||||||(555)555-1234^PRN^PH~^NET^Internet^john@example.org~^^CP^^1^555^5551111|^WPN^FX^^^555^5552222"))
	p := string(entryOf(t, res, "Patient").JSON)
	for _, want := range []string{
		`{"system":"phone","value":"(555)555-1234","use":"home"}`,
		`{"system":"email","value":"john@example.org"}`,
		`{"system":"phone","value":"+1 555 5551111","use":"mobile"}`,
		`{"system":"fax","value":"555 5552222","use":"work"}`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("Patient lacks %s:\n%s", want, p)
		}
	}
}

// TestCharsets: text is UTF-8 in the resources: windows-1252 bytes when
// MSH-18 is empty and the bytes are not UTF-8, the declared 8859/1
// otherwise; escape sequences resolved.
func TestCharsets(t *testing.T) {
	for _, tc := range []struct {
		msh18, family, want string
	}{
		{"", "M\xfcller", "Müller"},
		{"", "M\xc3\xbcller", "Müller"},
		{"8859/1", "M\xfcller", "Müller"},
		{"UNICODE UTF-8", "M\xc3\xbcller", "Müller"},
		{"", `O\T\Brien\F\X`, "O&Brien|X"},
	} {
		res := mustConvert(t, msgOf("MSH|^~\\&|ADT|FAC|||20240102030405||ADT^A08|1|P|2.5||||||"+tc.msh18,
			"PID|1||123^^^HOSP^MR||"+tc.family+"^JOHN"))
		if p := entryOf(t, res, "Patient"); !contains(p.JSON, `"family":"`+tc.want+`"`) {
			t.Errorf("MSH-18 %q, %q: %s", tc.msh18, tc.family, p.JSON)
		}
	}
}
