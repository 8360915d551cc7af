package hl7

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/validation"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files from the current output")

var ackTime = time.Date(2024, 3, 5, 14, 30, 15, 0, time.FixedZone("", -5*3600))

func errAt(code validation.Code, loc, msg string) validation.Finding {
	return validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: msg}
}

func warnAt(code validation.Code, loc, msg string) validation.Finding {
	return validation.Finding{Severity: validation.SeverityWarning, Code: code, Location: loc, Message: msg}
}

func TestBuildACKGolden(t *testing.T) {
	tests := []struct {
		name   string // golden file name
		orig   string // "" means nil
		opts   ACKOptions
		codes  []string
		locs   []string
		text   string
		noText bool
	}{
		{
			name: "v23-ae-err1",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01|MSG001|P|2.3\rPID|1\r",
			opts: ACKOptions{Code: "AE", Findings: validation.Findings{
				errAt(validation.CodeRequiredMissing, "PID-3", "PID-3 is required"),
				warnAt(validation.CodeTableValue, "PID-8", "not in table 0001"),
				errAt(validation.CodeDataType, "OBX(2)-5.1", "not a number"),
			}},
			codes: []string{"101", "102"}, locs: []string{"PID-3", "OBX(2)-5"}, text: "Required field missing",
		},
		{
			name: "v25-ae-err234",
			orig: "MSH|^~\\&|LAB^1.2.3^ISO|HOSP|GW|GWF|20240101||ORU^R01^ORU_R01|MSG002|P|2.5\rPID|1\r",
			opts: ACKOptions{Code: "AE", Text: "message invalid", Findings: validation.Findings{
				errAt(validation.CodeRequiredMissing, "PID-3.1", "PID-3.1 is required"),
				errAt(validation.CodeDataType, "OBX(2)-5(3).1.2", "value | not ^ numeric"),
				warnAt(validation.CodeTableValue, "PID-8", ""),
				errAt(validation.CodeSegmentSequence, "MSH", "segment order"),
				errAt(validation.CodeInternal, "Patient.birthDate", "not an HL7 path"),
			}},
			codes: []string{"101", "102", "103", "100", "207"},
			locs:  []string{"PID-3.1", "OBX(2)-5(3).1.2", "PID-8", "MSH", ""},
			text:  "message invalid",
		},
		{
			name:  "v251-ar",
			orig:  "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A08^ADT_A01|MSG003|T|2.5.1\r",
			opts:  ACKOptions{Code: "AR", Text: "not stored, retry later"},
			text:  "not stored, retry later",
			codes: nil, locs: nil,
		},
		{
			name: "v24-aa",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A04|MSG004|P|2.4\r",
			opts: ACKOptions{Code: "AA"},
		},
		{
			name: "v25-ca",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01^ADT_A01|MSG005|P|2.5|||AL|NE\r",
			opts: ACKOptions{Code: "CA"},
		},
		{
			name:  "v25-ce",
			orig:  "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01^ADT_A01|MSG006|P|2.5|||AL|NE\r",
			opts:  ACKOptions{Code: "CE", Findings: validation.Findings{errAt(validation.CodeRequiredMissing, "PID-5", "PID-5 is required")}},
			codes: []string{"101"}, locs: []string{"PID-5"}, text: "Required field missing",
		},
		{
			name: "v25-cr",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01^ADT_A01|MSG007|P|2.5|||ER|NE\r",
			opts: ACKOptions{Code: "CR", Text: "broker unavailable"},
			text: "broker unavailable",
		},
		{
			name:  "nil-orig",
			opts:  ACKOptions{Code: "AR", Findings: validation.Findings{errAt(validation.CodeSegmentSequence, "MSH", "message does not start with an MSH segment")}},
			codes: []string{"100"}, locs: []string{"MSH"}, text: "Segment sequence error",
		},
		{
			name:  "v27-truncation-no-msa3",
			orig:  "MSH|^~\\&#|LAB|HOSP|GW|GWF|20240101||ADT^A01^ADT_A01|MSG#8|P|2.7\r",
			opts:  ACKOptions{Code: "AE", Text: "ignored in v2.7", Findings: validation.Findings{errAt(validation.CodeValueTooLong, "PID-5.1", "too # long")}},
			codes: []string{"104"}, locs: []string{"PID-5.1"}, noText: true,
		},
		{
			name: "v21-no-err",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT|MSG009|P|2.1\r",
			opts: ACKOptions{Code: "AE", Findings: validation.Findings{errAt(validation.CodeRequiredMissing, "PID-3", "")}},
			text: "Required field missing",
		},
		{
			name: "v22-type-and-trigger",
			orig: "MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01|MSG010|P|2.2\r",
			opts: ACKOptions{Code: "AA"},
		},
		{
			name:  "custom-delimiters-charset-escaped-ids",
			orig:  "MSH*:+?$*LAB:X*HOSP*GW*GWF*20240101**ADT:A01:ADT_A01*ID?F?11*P*2.5.1:DEU******8859/1\r",
			opts:  ACKOptions{Code: "AE", ControlID: "ack*1", Text: "a:b", Findings: validation.Findings{errAt(validation.CodeDataType, "PID-7", "bad date")}},
			codes: []string{"102"}, locs: []string{"PID-7"}, text: "a:b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig *Message
			wantCtl := ""
			if tt.orig != "" {
				m, err := Parse([]byte(tt.orig))
				if err != nil {
					t.Fatal(err)
				}
				orig, wantCtl = m, m.Header().ControlID
			}
			opts := tt.opts
			opts.Time = ackTime
			if opts.ControlID == "" {
				opts.ControlID = "ACK-" + tt.name
			}
			got := BuildACK(orig, opts)
			golden := filepath.Join("testdata", "golden", tt.name+".hl7")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ACK differs from %s:\n got %q\nwant %q", golden, got, want)
			}
			info, err := ParseACK(got)
			if err != nil {
				t.Fatalf("ParseACK: %v", err)
			}
			if info.Code != opts.Code || info.ControlID != wantCtl {
				t.Errorf("MSA-1/2 = %q/%q, want %q/%q", info.Code, info.ControlID, opts.Code, wantCtl)
			}
			wantText := tt.text
			if tt.noText {
				wantText = ""
			}
			if info.Text != wantText {
				t.Errorf("MSA-3 = %q, want %q", info.Text, wantText)
			}
			if !reflect.DeepEqual(info.ErrorCodes, tt.codes) || !reflect.DeepEqual(info.ErrorLocations, tt.locs) {
				t.Errorf("ERR codes %v at %v, want %v at %v", info.ErrorCodes, info.ErrorLocations, tt.codes, tt.locs)
			}
			ack, err := Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if orig != nil {
				checkSwapped(t, orig, ack)
			}
			if !bytes.HasSuffix(got, []byte("\r")) || bytes.ContainsAny(got, "\n") {
				t.Error("ACK segments must end with a carriage return and hold no line feed")
			}
		})
	}
}

// checkSwapped checks the MSH rules: sender and receiver swapped byte for
// byte, same encoding characters, version and processing id.
func checkSwapped(t *testing.T, orig, ack *Message) {
	t.Helper()
	o, a := orig.MSH(), ack.MSH()
	pairs := [][2]int{{3, 5}, {4, 6}, {5, 3}, {6, 4}, {2, 2}, {11, 11}, {12, 12}, {18, 18}}
	for _, p := range pairs {
		if !bytes.Equal(a.Field(p[0]).Raw(), o.Field(p[1]).Raw()) {
			t.Errorf("ACK MSH-%d = %q, want original MSH-%d %q", p[0], a.Field(p[0]).Raw(), p[1], o.Field(p[1]).Raw())
		}
	}
	if ack.Delimiters() != orig.Delimiters() {
		t.Errorf("delimiters %+v, want %+v", ack.Delimiters(), orig.Delimiters())
	}
}

func TestACKMessageType(t *testing.T) {
	tests := []struct {
		name, version, msh9, want string
	}{
		{"v2.5 gets ACK, trigger and structure", "2.5", "ADT^A01^ADT_A01", "ACK^A01^ACK"},
		{"v2.3.1 is the first with a structure", "2.3.1", "ADT^A01", "ACK^A01^ACK"},
		{"v2.3 gets type and trigger", "2.3", "ADT^A01", "ACK^A01"},
		{"v2.1 gets ACK alone", "2.1", "ADT^A01", "ACK"},
		{"no trigger event gives ACK alone", "2.5", "ADT", "ACK"},
		{"an unknown version gets the v2.5 form", "2.999", "ADT^A01", "ACK^A01^ACK"},
		{"a nonsense version gets the v2.5 form", "1", "ADT^A01", "ACK^A01^ACK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte("MSH|^~\\&|||||||" + tt.msh9 + "|1|P|" + tt.version))
			if err != nil {
				t.Fatal(err)
			}
			ack, err := Parse(BuildACK(m, ACKOptions{Code: "AA", Time: ackTime}))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := ack.Get("MSH-9"); got != tt.want {
				t.Errorf("MSH-9 = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestACKBoundsItsErrors(t *testing.T) {
	m, err := Parse([]byte("MSH|^~\\&|||||||ADT^A01|1|P|2.5"))
	if err != nil {
		t.Fatal(err)
	}
	fs := make(validation.Findings, 200)
	for i := range fs {
		fs[i] = errAt(validation.CodeDataType, "OBX-5", "x")
	}
	info, err := ParseACK(BuildACK(m, ACKOptions{Code: "AE", Findings: fs}))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ErrorCodes) != MaxACKErrors {
		t.Errorf("%d ERR entries, want %d", len(info.ErrorCodes), MaxACKErrors)
	}
}

func TestACKStaysWithinOneReadOfASimpleClient(t *testing.T) {
	for _, v := range []string{"2.3", "2.5.1"} {
		t.Run("v"+v, func(t *testing.T) {
			m, err := Parse([]byte("MSH|^~\\&|APP|FAC|R|RF|||ADT^A01|1|P|" + v))
			if err != nil {
				t.Fatal(err)
			}
			fs := make(validation.Findings, MaxACKErrors)
			for i := range fs {
				fs[i] = errAt(validation.CodeDataType, "OBX-5", strings.Repeat("long reason ", 20))
			}
			ack := BuildACK(m, ACKOptions{Code: "AE", Findings: fs})
			if len(ack) > MaxACKBytes {
				t.Fatalf("ACK of %d bytes, want at most %d", len(ack), MaxACKBytes)
			}
			info, err := ParseACK(ack)
			if err != nil || info.ControlID != "1" || len(info.ErrorCodes) == 0 {
				t.Fatalf("ack %q: %+v %v: want a parseable ACK that keeps its first ERR", ack, info, err)
			}
			if !bytes.HasSuffix(ack, []byte("\r")) {
				t.Fatalf("ack %q does not end its last segment", ack)
			}
		})
	}
}

func TestParseACKRefusals(t *testing.T) {
	tests := []struct {
		name, raw, loc string
	}{
		{"a message without MSA is not an ACK", "MSH|^~\\&|||||||ACK|1|P|2.5\rERR|1", "MSA"},
		{"an ACK without MSH is refused as Parse refuses it", "MSA|AA|1", "MSH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseACK([]byte(tt.raw))
			if f := findingsOf(err); len(f) == 0 || f[0].Location != tt.loc {
				t.Errorf("got %v, want an error at %s", err, tt.loc)
			}
		})
	}
}

func TestParseACKReadsForeignACKs(t *testing.T) {
	raw := "MSH|^~\\&|R|RF|S|SF|2024||ACK^A01^ACK|9|P|2.4\rMSA|AE|ABC\\F\\1|bad\rERR|PID^1^3^101&Required&HL70357~OBX^2^5^102\r"
	info, err := ParseACK([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := ACKInfo{Code: "AE", ControlID: "ABC|1", Text: "bad",
		ErrorCodes: []string{"101", "102"}, ErrorLocations: []string{"PID-3", "OBX(2)-5"}, ErrorSeverities: []string{"E", "E"}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("got %+v\nwant %+v", info, want)
	}
	if !strings.Contains(raw, "HL70357") {
		t.Fatal("fixture lost its coding system")
	}
}
