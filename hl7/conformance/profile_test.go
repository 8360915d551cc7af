package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

func loadExample(t *testing.T) *Profile {
	t.Helper()
	p, err := LoadProfile("../../docs/profiles/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	mshLab = `MSH|^~\&|LIS|LAB1|EHR|HOSP|20240101120000||ORU^R01^ORU_R01|C1|P|2.5.1`
	mshOld = `MSH|^~\&|HIS|OLDHIS|EHR|HOSP|20240101120000||ADT^A01^ADT_A01|C2|P|2.5.1`
)

func TestProfileRules(t *testing.T) {
	p := loadExample(t)
	obr := "OBR|1||X|1^T|||20240101"
	tests := []struct {
		name  string
		opts  Options
		raw   []byte
		sev   validation.Severity
		wants []want
	}{
		{"the lab's results pass with their Z-segment after OBX", Options{Profile: p},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101|F", obr, "OBX|1|NM|1^T||1", "ZLR|1|20240101|R"), validation.SeverityError, nil},
		{"a profile-required field is enforced", Options{Profile: p},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J", obr, "OBX|1|NM|1^T||1"), validation.SeverityError, []want{{101, "PID-7"}}},
		{"a Z-segment in the wrong place is refused", Options{Profile: p},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101", "ZLR|1", obr, "OBX|1|NM|1^T||1"), validation.SeverityError, []want{{100, "ZLR"}}},
		{"a Z-segment field is typed", Options{Profile: p},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101", obr, "OBX|1|NM|1^T||1", "ZLR|x|2024"), validation.SeverityError, []want{{102, "ZLR-1"}}},
		{"a Z-segment value set is enforced", Options{Profile: p},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101", obr, "OBX|1|NM|1^T||1", "ZLR|1||Q"), validation.SeverityError, []want{{103, "ZLR-3"}}},
		{"a user table value set applies to every sender", Options{Profile: p, Strict: true, Full: true},
			msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101|X", obr, "OBX|1|NM|1^T||1"), validation.SeverityError, []want{{103, "PID-8"}}},
		{"the legacy sender is lenient even when the connector is strict", Options{Profile: p, Strict: true},
			msg(mshOld, evn, "QQQ|1", "ZPI|1", pid, pv1), validation.SeverityWarning, []want{{100, "QQQ"}}},
		{"the legacy sender must send its ZPI", Options{Profile: p},
			msg(mshOld, evn, pid, pv1), validation.SeverityWarning, []want{{100, "ZPI"}}},
		{"the legacy sender may not send undeclared Z-segments", Options{Profile: p},
			msg(mshOld, evn, pid, "ZPI|1", "ZZZ|1", pv1), validation.SeverityWarning, []want{{100, "ZZZ"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.opts, tt.raw, tt.sev, tt.wants) })
	}
}

func TestProfileRelaxesRequiredField(t *testing.T) {
	v, err := New(Options{Profile: loadExample(t), Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, msg(mshLab, "PID|1||1^^^H^MR||DOE^J||19700101", "OBR|1||X|1^T|||20240101", "OBX|1|NM|1^T||1"))
	for _, f := range v.Validate(m) {
		if f.Location == "OBX-11" {
			t.Errorf("relaxed OBX-11 still reported: %s", f)
		}
	}
}

func TestLoadProfileRejectsMistakes(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"an unknown key", "rules:\n  - naem: x\n"},
		{"a malformed field reference", "rules:\n  - require: [PID8]\n"},
		{"a Z-segment id that is not one", "rules:\n  - z_segments:\n      PID: {}\n"},
		{"a Z-segment field at position zero", "rules:\n  - z_segments:\n      ZAB:\n        fields: [{pos: 0}]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadProfile(path); err == nil {
				t.Error("accepted")
			} else if !strings.Contains(err.Error(), "conformance: load profile") {
				t.Errorf("error lacks context: %v", err)
			}
		})
	}
}
