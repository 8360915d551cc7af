package conformance

import (
	"strings"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// msg joins segments with '\r'.
func msg(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

const (
	msh251 = `MSH|^~\&|APP|FAC|RAPP|RFAC|20240101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1`
	evn    = `EVN|A01|20240101120000`
	pid    = `PID|1||12345^^^HOSP^MR||DOE^JOHN||19700101|M`
	pv1    = `PV1|1|I`
)

func parse(t testing.TB, raw []byte) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

// want is one expected finding: code and location.
type want struct {
	code validation.Code
	loc  string
}

func check(t *testing.T, o Options, raw []byte, wantSev validation.Severity, wants []want) {
	t.Helper()
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	fs := v.Validate(parse(t, raw))
	for _, w := range wants {
		found := false
		for _, f := range fs {
			if f.Code == w.code && f.Location == w.loc {
				found = true
				if f.Severity != wantSev {
					t.Errorf("%d at %s: severity %s, want %s", w.code, w.loc, f.Severity, wantSev)
				}
			}
		}
		if !found {
			t.Errorf("missing finding %d at %s; got %v", w.code, w.loc, fs)
		}
	}
	if len(wants) == 0 && fs.HasErrors() {
		t.Errorf("unexpected errors: %v", fs)
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		raw   []byte
		sev   validation.Severity
		wants []want
	}{
		{"a clean ADT^A01 has no errors", Options{Strict: true}, msg(msh251, evn, pid, pv1), validation.SeverityError, nil},
		{"an unpublished version is refused with 203", Options{Strict: true},
			msg(strings.Replace(msh251, "2.5.1", "2.9.9", 1), evn, pid, pv1), validation.SeverityError, []want{{203, "MSH-12"}}},
		{"a version other than hl7.version is refused with 203", Options{Strict: true, Version: "2.4"},
			msg(msh251, evn, pid, pv1), validation.SeverityError, []want{{203, "MSH-12"}}},
		{"an unknown message type gives 200", Options{Strict: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "QQQ^A01", 1), evn), validation.SeverityError, []want{{200, "MSH-9.1"}}},
		{"an unknown trigger event gives 201", Options{Strict: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "ADT^Z99", 1), evn), validation.SeverityError, []want{{201, "MSH-9.2"}}},
		{"a processing id outside table 0103 gives 202", Options{Strict: true},
			msg(strings.Replace(msh251, "|P|", "|X|", 1), evn, pid, pv1), validation.SeverityError, []want{{202, "MSH-11"}}},
		{"a missing control id gives 101", Options{Strict: true},
			msg(strings.Replace(msh251, "CTRL1", "", 1), evn, pid, pv1), validation.SeverityError, []want{{101, "MSH-10"}}},
		{"a bad MSH-7 time stamp gives 102", Options{Strict: true},
			msg(strings.Replace(msh251, "20240101120000", "2024-01-01", 1), evn, pid, pv1), validation.SeverityError, []want{{102, "MSH-7"}}},
		{"an acknowledgment type outside table 0155 gives 103", Options{Strict: true},
			msg(msh251+"|||XX", evn, pid, pv1), validation.SeverityError, []want{{103, "MSH-15"}}},
		{"OBX-5 not numeric for NM gives 102", Options{Strict: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "ORU^R01^ORU_R01", 1), pid, "OBR|1||X|1^T", "OBX|1|NM|1^T||abc||||||F"),
			validation.SeverityError, []want{{102, "OBX-5"}}},
		{"OBX-5 negative for SI gives 102", Options{Strict: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "ORU^R01^ORU_R01", 1), pid, "OBR|1||X|1^T", "OBX|1|SI|1^T||-1||||||F"),
			validation.SeverityError, []want{{102, "OBX-5"}}},
		{"the second OBX is located with its occurrence", Options{Strict: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "ORU^R01^ORU_R01", 1), pid, "OBR|1||X|1^T", "OBX|1|NM|1^T||1||||||F", "OBX|2|DT|1^T||2024013||||||F"),
			validation.SeverityError, []want{{102, "OBX(2)-5"}}},
		{"an unknown non-Z segment gives 100", Options{Strict: true},
			msg(msh251, evn, pid, "QQQ|1", pv1), validation.SeverityError, []want{{100, "QQQ"}}},
		{"lenient turns every finding into a warning", Options{},
			msg(strings.Replace(msh251, "2.5.1", "9", 1), evn, pid, "QQQ|1", pv1), validation.SeverityWarning, []want{{203, "MSH-12"}}},
		{"full conformance refuses a missing required segment", Options{Strict: true, Full: true},
			msg(msh251, pid, pv1), validation.SeverityError, []want{{100, "PID"}}},
		{"full conformance refuses a segment out of order", Options{Strict: true, Full: true},
			msg(msh251, evn, pid, pv1, "PD1|"), validation.SeverityError, []want{{100, "PD1"}}},
		{"full conformance refuses a missing required field", Options{Strict: true, Full: true},
			msg(msh251, evn, "PID|1||12345", pv1), validation.SeverityError, []want{{101, "PID-5"}}},
		{"full conformance refuses an HL7 table value", Options{Strict: true, Full: true},
			msg(strings.Replace(msh251, "ADT^A01^ADT_A01", "ORU^R01^ORU_R01", 1), pid, "OBR|1||X|1^T", "OBX|1|NM|1^T||1||||||Q"),
			validation.SeverityError, []want{{103, "OBX-11"}}},
		{"full conformance refuses a bad date component", Options{Strict: true, Full: true},
			msg(msh251, evn, "PID|1||12345^^^HOSP^MR^^2024139||DOE^JOHN", pv1), validation.SeverityError, []want{{102, "PID-3.7"}}},
		{"without full conformance structure problems are warnings", Options{Strict: true},
			msg(msh251, pid, pv1), validation.SeverityWarning, []want{{100, "PID"}}},
		{"a too long value is a warning even in strict mode", Options{Strict: true},
			msg(strings.Replace(msh251, "CTRL1", strings.Repeat("C", 30), 1), evn, pid, pv1), validation.SeverityWarning, []want{{104, "MSH-10"}}},
		{"v2.8.2 uses the v2.8 tables", Options{Strict: true},
			msg(strings.Replace(msh251, "2.5.1", "2.8.2", 1), evn, pid, pv1), validation.SeverityError, nil},
		{"a v2.1 ACK without event is understood", Options{Strict: true, Full: true},
			msg(`MSH|^~\&|A|B|C|D|199305021848||ACK|1|P|2.1`, "MSA|AA|1"), validation.SeverityError, nil},
		{"Z-segments are accepted anywhere by default", Options{Strict: true, Full: true},
			msg(msh251, "ZZZ|1", evn, pid, "ZPI|x", pv1), validation.SeverityError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.opts, tt.raw, tt.sev, tt.wants) })
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{Version: "3.0"}); err == nil {
		t.Error("version 3.0 accepted")
	}
	if _, err := New(Options{CharsetFallback: "klingon"}); err == nil {
		t.Error("unknown fallback charset accepted")
	}
}

func TestFindingsNeverCarryValues(t *testing.T) {
	secret := "SECRETVALUE"
	raw := msg(strings.Replace(msh251, "|P|", "|"+secret+"|", 1), evn,
		"PID|"+secret+"||"+secret+"||"+secret+"||"+secret, "PV1|1|"+secret, "OBX|1|NM|x||"+secret)
	v, _ := New(Options{Strict: true, Full: true})
	fs := v.Validate(parse(t, raw))
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range fs {
		if strings.Contains(f.String(), secret) {
			t.Errorf("finding carries a value: %s", f)
		}
	}
}

// TestValidateConcurrently runs one Validator from several goroutines over
// messages of every version, so that -race sees the lazy table loading.
func TestValidateConcurrently(t *testing.T) {
	v, err := New(Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*hl7.Message
	for _, ver := range []string{"2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1"} {
		msgs = append(msgs, parse(t, msg(strings.Replace(msh251, "2.5.1", ver, 1), evn, pid, pv1)))
	}
	want := make([]int, len(msgs))
	done := make(chan []int)
	for g := 0; g < 4; g++ {
		go func() {
			got := make([]int, len(msgs))
			for i, m := range msgs {
				got[i] = len(v.Validate(m))
			}
			done <- got
		}()
	}
	for g := 0; g < 4; g++ {
		got := <-done
		if g == 0 {
			copy(want, got)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("version %d: %d findings in one goroutine, %d in another", i, got[i], want[i])
			}
		}
	}
}
