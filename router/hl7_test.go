package router

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestUTF8(t *testing.T) {
	tests := []struct {
		name, in, charset, want string
	}{
		{"ASCII is returned as it is", "SMITH^JOHN", "ISO-8859-1", "SMITH^JOHN"},
		{"Latin-1 bytes are decoded", "M\xdcLLER", "ISO-8859-1", "MÜLLER"},
		{"Latin-1 bytes that happen to be valid UTF-8 are still decoded as Latin-1", "\xc3\xa9", "ISO-8859-1", "Ã©"},
		{"windows-1252 decodes its own punctuation", "\x80 \x93x\x94", "windows-1252", "€ “x”"},
		{"ISO-8859-15 has the euro sign where Latin-1 has the currency sign", "\xa4", "ISO-8859-15", "€"},
		{"UTF-8 stays UTF-8", "MÜLLER", "UTF-8", "MÜLLER"},
		{"invalid bytes in UTF-8 become replacement characters", "M\xdcLLER", "UTF-8", "M\uFFFDLLER"},
		{"without a charset invalid bytes become replacement characters", "M\xdcLLER", "", "M\uFFFDLLER"},
		{"an unknown charset falls back to replacement characters", "M\xdcLLER", "JAS2020", "M\uFFFDLLER"},
		{"Shift_JIS is decoded", "\x93\xfa\x96\x7b", "Shift_JIS", "日本"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UTF8(tt.in, tt.charset)
			if got != tt.want || !utf8.ValidString(got) {
				t.Fatalf("UTF8(%q, %q) = %q, want %q", tt.in, tt.charset, got, tt.want)
			}
		})
	}
}

// TestHL7RecordHeadersAreUTF8UnderTheCloudEventsBinding: a Latin-1 message
// (MSH-18 8859/1) gets UTF-8 headers and key while its value keeps the
// Latin-1 bytes.
func TestHL7RecordHeadersAreUTF8UnderTheCloudEventsBinding(t *testing.T) {
	raw := []byte("MSH|^~\\&|L\xc4B|H\xd6SPITAL|R|RF|20240101||ADT^A01|ID\xe91|P|2.5|||||8859/1\rPID|1||\xc5123^^^H\xd6S\r")
	meta := HL7Meta{MessageType: "ADT", TriggerEvent: "A01", Version: "2.5", ControlID: "ID\xe91",
		SendingApp: "L\xc4B", SendingFacility: "H\xd6SPITAL", Charset: "ISO-8859-1",
		PatientID: "\xc5123", PatientAuthority: "H\xd6S"}
	rec, err := HL7Record(raw, "", "adt feed", meta, nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Value) != string(raw) {
		t.Fatal("the value must stay byte for byte")
	}
	if string(rec.Key) != "Å123^^^HÖS" {
		t.Errorf("key = %q, want the decoded patient id", rec.Key)
	}
	got := headers(rec)
	want := map[string]string{
		"ce_id": "IDé1", "ce_source": "/gateway/adt%20feed/H%C3%96SPITAL/L%C3%84B",
		"hl7.control_id": "IDé1", "hl7.sending_application": "LÄB", "hl7.sending_facility": "HÖSPITAL",
		"hl7.charset": "ISO-8859-1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	for _, h := range rec.Headers {
		if !utf8.Valid(h.Value) {
			t.Errorf("header %s = %q is not UTF-8", h.Key, h.Value)
		}
	}
}

func TestHL7SourceAndIDAreUniquePerSender(t *testing.T) {
	a := HL7Source("mllp", "FAC", "LAB")
	b := HL7Source("mllp", "FAC", "ADT")
	if a == b {
		t.Fatalf("two applications of one facility share ce_source %q", a)
	}
	if HL7Source("mllp", "F/A", "B") == HL7Source("mllp", "F", "A/B") {
		t.Fatal("a slash in a name must not make two senders share a source")
	}
	if HL7Source("mllp", "", "APP") != "/gateway/mllp//APP" {
		t.Fatalf("empty facility: %q", HL7Source("mllp", "", "APP"))
	}
	if got := HL7EventID("C1", []byte("x")); got != "C1" {
		t.Fatalf("ce_id = %q, want the control id", got)
	}
	one, two := HL7EventID("", []byte("MSH|a")), HL7EventID("", []byte("MSH|b"))
	if !strings.HasPrefix(one, "sha256:") || len(one) != len("sha256:")+32 || one == two {
		t.Fatalf("ids without a control id = %q, %q: want distinct sha256: ids", one, two)
	}
	if HL7EventID("", []byte("MSH|a")) != one {
		t.Fatal("a resend of the same bytes must keep its id")
	}
}
