package conformance

import (
	"strings"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

func TestCharset(t *testing.T) {
	base := `MSH|^~\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1||||||`
	tests := []struct {
		name     string
		opts     Options
		msh18    string
		body     string
		want     string
		wantLoc  string // "" = no finding
		wantSev  validation.Severity
		wantCode validation.Code
	}{
		{"pure ASCII without MSH-18 is US-ASCII", Options{}, "", "PID|1||X", "US-ASCII", "", 0, 0},
		{"valid UTF-8 without MSH-18 is UTF-8", Options{}, "", "PID|1||Jos\u00e9", "UTF-8", "", 0, 0},
		{"UNICODE UTF-8 maps to UTF-8", Options{}, "UNICODE UTF-8", "PID|1||Jos\u00e9", "UTF-8", "", 0, 0},
		{"8859/1 maps to ISO-8859-1", Options{}, "8859/1", "PID|1||Jos\xe9", "ISO-8859-1", "", 0, 0},
		{"non-UTF-8 without MSH-18 uses the fallback with a warning", Options{Strict: true}, "", "PID|1||a\x96b", "windows-1252", "MSH-18", validation.SeverityWarning, 102},
		{"the fallback can be configured", Options{CharsetFallback: "ISO-8859-1"}, "", "PID|1||Jos\xe9", "ISO-8859-1", "MSH-18", validation.SeverityWarning, 102},
		{"bytes invalid in declared UTF-8 are an error when strict", Options{Strict: true}, "UNICODE UTF-8", "PID|1||ok|a\xffb", "UTF-8", "PID-4", validation.SeverityError, 102},
		{"bytes invalid in declared UTF-8 are a warning when lenient", Options{}, "UNICODE UTF-8", "PID|1||a\xffb", "UTF-8", "PID-3", validation.SeverityWarning, 102},
		{"C1 bytes are invalid in ISO 8859", Options{Strict: true}, "8859/1", "PID|1||a\x96b", "ISO-8859-1", "PID-3", validation.SeverityError, 102},
		{"ASCII declared with high bytes is flagged", Options{Strict: true}, "ASCII", "PID|1||Jos\xe9", "US-ASCII", "PID-3", validation.SeverityError, 102},
		{"a common alias outside table 0211 is named and warned about", Options{Strict: true}, "UTF-8", "PID|1||x", "UTF-8", "MSH-18", validation.SeverityWarning, 103},
		{"an unknown charset is a table error when strict", Options{Strict: true}, "KLINGON", "PID|1||x", "US-ASCII", "MSH-18", validation.SeverityError, 103},
		{"GB 18030 is checked by decoding", Options{Strict: true}, "GB 18030-2000", "PID|1||\xd6\xd0\xce\xc4", "GB18030", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			raw := msg(base+tt.msh18, tt.body)
			name, fs := v.Charset(parse(t, raw))
			if name != tt.want {
				t.Errorf("charset %q, want %q", name, tt.want)
			}
			if tt.wantLoc == "" {
				if len(fs) != 0 {
					t.Errorf("unexpected findings %v", fs)
				}
				return
			}
			if len(fs) == 0 || fs[0].Location != tt.wantLoc || fs[0].Severity != tt.wantSev || fs[0].Code != tt.wantCode {
				t.Errorf("findings %v, want %s %d at %s", fs, tt.wantSev, tt.wantCode, tt.wantLoc)
			}
			for _, f := range fs {
				if strings.ContainsAny(f.Message, "\x96\xff\xe9") {
					t.Errorf("finding carries bytes: %q", f.Message)
				}
			}
		})
	}
}
