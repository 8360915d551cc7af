package hl7

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

func TestParseDelimiters(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Delimiters
	}{
		{"the usual encoding characters give the defaults", "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r", DefaultDelimiters},
		{"a fifth character is the v2.7 truncation character", "MSH|^~\\&#|A|B|C|D|20240101||ADT^A01|1|P|2.7\r", Delimiters{'|', '^', '~', '\\', '&', '#'}},
		{"unusual but valid separators are read from MSH-1 and MSH-2", "MSH*:+?$*A*B*C*D*2024**ADT:A01*1*P*2.3\r", Delimiters{'*', ':', '+', '?', '$', 0}},
		{"a message that ends right after MSH-9 still parses", "MSH|^~\\&|||||||ADT", DefaultDelimiters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Delimiters(); got != tt.want {
				t.Errorf("delimiters %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		code validation.Code
		loc  string
	}{
		{"an empty buffer has no MSH", "", validation.CodeSegmentSequence, "MSH"},
		{"only line breaks have no MSH", "\r\n\r\n", validation.CodeSegmentSequence, "MSH"},
		{"a PID first is a segment sequence error", "PID|1\rMSH|^~\\&|||||||ADT^A01|1|P|2.5", validation.CodeSegmentSequence, "MSH"},
		{"a batch header is not a message", "BHS|^~\\&\rMSH|^~\\&|||||||ADT^A01|1|P|2.5", validation.CodeSegmentSequence, "MSH"},
		{"a lower-case msh is not MSH", "msh|^~\\&|||||||ADT^A01|1|P|2.5", validation.CodeSegmentSequence, "MSH"},
		{"MSH alone lacks the field separator", "MSH", validation.CodeRequiredMissing, "MSH-1"},
		{"a letter cannot be the field separator", "MSHX^~\\&X", validation.CodeDataType, "MSH-1"},
		{"empty encoding characters are missing", "MSH||||||||ADT^A01|1|P|2.5", validation.CodeRequiredMissing, "MSH-2"},
		{"three encoding characters are too few", "MSH|^~\\|||||||ADT^A01|1|P|2.5", validation.CodeDataType, "MSH-2"},
		{"six encoding characters are too many", "MSH|^~\\&#!|||||||ADT^A01|1|P|2.5", validation.CodeDataType, "MSH-2"},
		{"repeated encoding characters are refused", "MSH|^^\\&|||||||ADT^A01|1|P|2.5", validation.CodeDataType, "MSH-2"},
		{"an encoding character equal to the field separator is refused", "MSH|^~\\|x|||||||ADT|1", validation.CodeDataType, "MSH-2"},
		{"a non-ASCII encoding character is refused", "MSH|^\xe9\\&|||||||ADT^A01|1|P|2.5", validation.CodeDataType, "MSH-2"},
		{"a missing MSH-9 is a required field error", "MSH|^~\\&|A|B|C|D|2024\rPID|1", validation.CodeRequiredMissing, "MSH-9"},
		{"an MSH-9 without MSH-9.1 is a required field error", "MSH|^~\\&|A|B|C|D|2024||^A01|1|P|2.5", validation.CodeRequiredMissing, "MSH-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw))
			if err == nil {
				t.Fatalf("parsed %q, want an error", m.Raw())
			}
			var ve *validation.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *validation.Error", err)
			}
			f := ve.Findings[0]
			if f.Code != tt.code || f.Location != tt.loc || f.Severity != validation.SeverityError {
				t.Errorf("got %v, want code %d at %s", f, tt.code, tt.loc)
			}
		})
	}
}

func TestSegmentSplitting(t *testing.T) {
	const msh = "MSH|^~\\&|||||||ADT^A01|1|P|2.5"
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"carriage returns separate segments", msh + "\rPID|1\rPV1|1", []string{msh, "PID|1", "PV1|1"}},
		{"a trailing carriage return adds no segment", msh + "\rPID|1\r", []string{msh, "PID|1"}},
		{"line feeds are tolerated", msh + "\nPID|1\nPV1|1\n", []string{msh, "PID|1", "PV1|1"}},
		{"CR LF pairs are tolerated", msh + "\r\nPID|1\r\nPV1|1\r\n", []string{msh, "PID|1", "PV1|1"}},
		{"mixed endings and empty lines are skipped", "\r\n" + msh + "\r\r\nPID|1\n\n\rPV1|1", []string{msh, "PID|1", "PV1|1"}},
		{"8-bit and UTF-8 bytes pass through", msh + "\rPID|1||\xe9t\xc3\xa9\xff", []string{msh, "PID|1||\xe9t\xc3\xa9\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			m, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			segs := m.Segments()
			if len(segs) != len(tt.want) || m.NumSegments() != len(tt.want) {
				t.Fatalf("%d segments, want %d", len(segs), len(tt.want))
			}
			for i, s := range segs {
				if string(s.Raw()) != tt.want[i] {
					t.Errorf("segment %d = %q, want %q", i, s.Raw(), tt.want[i])
				}
				if !within(raw, s.Raw()) {
					t.Errorf("segment %d is a copy, not a sub-slice", i)
				}
			}
		})
	}
}

func TestSegmentFieldsAndNumbering(t *testing.T) {
	raw := []byte("MSH|^~\\&|APP^FAC|F2|||||ADT^A01^ADT_A01|C1|P|2.5\rPID|1||123^^^HOSP^MR~456^^^OTHER||\"\"|\rZZZ\rMSH|^~\\&|X\r")
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	msh := m.MSH()
	pid, _ := m.Segment("PID", 1)
	zzz, _ := m.Segment("ZZZ", 1)
	msh2, _ := m.Segment("MSH", 2)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"MSH-1 is the field separator itself", string(msh.Field(1).Raw()), "|"},
		{"MSH-2 is the encoding characters", string(msh.Field(2).Raw()), "^~\\&"},
		{"MSH-2 is one value, not split on its own characters", msh.Field(2).Rep(1).NumComponents(), 1},
		{"MSH-2 is not unescaped", msh.Field(2).String(), "^~\\&"},
		{"MSH-3 is the first field after the encoding characters", msh.Field(3).String(), "APP^FAC"},
		{"MSH-9 components are found", msh.Field(9).Rep(1).Component(3).String(), "ADT_A01"},
		{"MSH counts fields as the standard does", msh.NumFields(), 12},
		{"PID counts the trailing empty field", pid.NumFields(), 6},
		{"a segment with no separator has no fields", zzz.NumFields(), 0},
		{"a segment with no separator is named by all its bytes", zzz.Name(), "ZZZ"},
		{"a field beyond the last is empty", pid.Field(40).IsEmpty(), true},
		{"field zero is empty", pid.Field(0).IsEmpty(), true},
		{"repetitions are counted", pid.Field(3).NumReps(), 2},
		{"the second repetition is reachable", pid.Field(3).Rep(2).Component(4).String(), "OTHER"},
		{"an empty field has no repetitions", pid.Field(2).NumReps(), 0},
		{"the null value is recognised", pid.Field(5).IsNull(), true},
		{"the null value is not empty", pid.Field(5).IsEmpty(), false},
		{"an empty field is not null", pid.Field(6).IsNull(), false},
		{"components beyond the last are empty", len(pid.Field(3).Rep(1).Component(9).Raw()), 0},
		{"subcomponents beyond the last are nil", pid.Field(3).Rep(1).Component(1).Sub(2) == nil, true},
		{"common segment names come back", pid.Name(), "PID"},
		{"a repeated MSH keeps the MSH numbering", msh2.Field(3).String(), "X"},
		{"segments are counted by name", m.Count("MSH"), 2},
		{"a missing segment counts zero", m.Count("OBX"), 0},
		{"a repetition reads unescaped", pid.Field(3).Rep(2).String(), "456^^^OTHER"},
		{"MSH-2 has one repetition only", len(msh.Field(2).Rep(2).Raw()), 0},
		{"MSH-2 has one component only", len(msh.Field(2).Rep(1).Component(2).Raw()), 0},
		{"MSH-2 has one subcomponent only", msh.Field(2).Rep(1).Component(1).Sub(2) == nil, true},
		{"MSH-1 is a single subcomponent", string(msh.Field(1).Rep(1).Component(1).Sub(1)), "|"},
		{"repetition zero is empty", len(pid.Field(3).Rep(0).Raw()), 0},
		{"component zero is empty", len(pid.Field(3).Rep(1).Component(0).Raw()), 0},
		{"subcomponent zero is nil", pid.Field(3).Rep(1).Component(1).Sub(0) == nil, true},
		{"occurrence zero finds nothing", func() bool { _, ok := m.Segment("PID", 0); return ok }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	raw := []byte("MSH|^~\\&|LAB\\T\\X^1.2^ISO|HOSP|GW|GWFAC|20240101||ORU^R01^ORU_R01|CTRL\\F\\9|T^A|2.5.1^^|||AL|NE||UNICODE UTF-8~8859/1\rPID|1")
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header()
	want := Header{
		SendingApp: "LAB&X", SendingFacility: "HOSP", ReceivingApp: "GW", ReceivingFacility: "GWFAC",
		MessageType: "ORU", TriggerEvent: "R01", Structure: "ORU_R01", ControlID: "CTRL|9",
		ProcessingID: "T", Version: "2.5.1", AcceptAckType: "AL", AppAckType: "NE", Charset: "UNICODE UTF-8",
	}
	if string(h.SendingAppRaw) != "LAB\\T\\X^1.2^ISO" || string(h.ReceivingFacilityRaw) != "GWFAC" {
		t.Errorf("raw fields %q %q", h.SendingAppRaw, h.ReceivingFacilityRaw)
	}
	h.SendingAppRaw, h.SendingFacilityRaw, h.ReceivingAppRaw, h.ReceivingFacilityRaw = nil, nil, nil, nil
	if !reflect.DeepEqual(h, want) {
		t.Errorf("header\n got %+v\nwant %+v", h, want)
	}
	// Trailing subcomponent separators in MSH-9 are insignificant.
	m, err = Parse([]byte("MSH|^~\\&|||||||ACK^A01&&^ACK&~|20|P|2.4"))
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Header(); h.MessageType != "ACK" || h.TriggerEvent != "A01" || h.Structure != "ACK" {
		t.Errorf("MSH-9 ACK^A01&&^ACK& read as %q %q %q, want ACK A01 ACK", h.MessageType, h.TriggerEvent, h.Structure)
	}
}

// SplitFields gives every field exactly as Field does, MSH's shifted
// numbering and its atomic MSH-1 and MSH-2 included, for every segment of
// the valid corpus and for segments cut short.
func TestSplitFieldsIsField(t *testing.T) {
	raws := [][]byte{[]byte("MSH|^~\\&|A"), []byte("MSH|^~\\&"), []byte("MSH|^~\\&|||||||ADT^A01|1|P|2.5|")}
	_, valid := corpusFiles(t, corpus.Valid)
	raws = append(raws, valid...)
	for _, raw := range raws {
		m, err := Parse(raw)
		if err != nil {
			continue
		}
		for _, seg := range m.Segments() {
			var got [30]Field
			seg.SplitFields(got[:])
			for n := 1; n <= len(got); n++ {
				want := seg.Field(n)
				g := got[n-1]
				if !bytes.Equal(g.Raw(), want.Raw()) || (g.Raw() == nil) != (want.Raw() == nil) || g.String() != want.String() {
					t.Fatalf("%s-%d: SplitFields %q, Field %q", seg.Name(), n, g.Raw(), want.Raw())
				}
			}
		}
	}
}
