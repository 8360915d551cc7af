package hl7door

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/validation"
)

func TestACKPolicyChoosesTheERRSegments(t *testing.T) {
	warn := func(loc string) validation.Finding {
		return validation.Finding{Severity: validation.SeverityWarning, Code: validation.CodeTableValue, Location: loc}
	}
	var warnings validation.Findings
	for i := 1; i <= 46; i++ {
		warnings = append(warnings, warn("OBX("+strconv.Itoa(i)+")-2"))
	}
	cause := validation.Finding{Severity: validation.SeverityError, Code: validation.CodeDataType, Location: "PID-7", Message: "bad date"}
	tests := []struct {
		name   string
		policy ACKPolicy
		out    pipeline.Outcome
		want   []string // locations, in order
	}{
		{"an accepted message carries no ERR by default", ACKPolicy{}, pipeline.Outcome{Status: pipeline.Accepted, Findings: warnings}, nil},
		{"warnings in positive answers are capped when enabled", ACKPolicy{Warnings: true, MaxErrors: 3},
			pipeline.Outcome{Status: pipeline.Accepted, Findings: warnings}, []string{"OBX(1)-2", "OBX(2)-2", "OBX(3)-2"}},
		{"an error answer puts its cause first and keeps 5 by default", ACKPolicy{},
			pipeline.Outcome{Status: pipeline.Invalid, Findings: append(warnings[:6:6], cause)},
			[]string{"PID-7", "OBX(1)-2", "OBX(2)-2", "OBX(3)-2", "OBX(4)-2"}},
		{"a message not stored names its reason first", ACKPolicy{MaxErrors: 2},
			pipeline.Outcome{Status: pipeline.Unavailable, Reason: "paused", Findings: warnings[:3]}, []string{"", "OBX(1)-2"}},
		{"an invalid message the DLQ could not take names the reason first, then the content error", ACKPolicy{},
			pipeline.Outcome{Status: pipeline.Unavailable, Reason: "timeout", Findings: validation.Findings{warnings[0], cause}}, []string{"", "PID-7", "OBX(1)-2"}},
		{"a cap above 50 is 50", ACKPolicy{Warnings: true, MaxErrors: 500},
			pipeline.Outcome{Status: pipeline.Accepted, Findings: append(append(warnings, warnings...), warnings...)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := tt.policy.findings(tt.out)
			var got []string
			for _, f := range fs {
				got = append(got, f.Location)
			}
			if tt.policy.MaxErrors == 500 {
				if len(fs) != hl7.MaxACKErrors {
					t.Fatalf("%d findings, want %d", len(fs), hl7.MaxACKErrors)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("locations %q, want %q", got, tt.want)
			}
			if tt.out.Status == pipeline.Unavailable && (fs[0].Code != validation.CodeInternal || !strings.Contains(fs[0].Message, string(tt.out.Reason))) {
				t.Fatalf("first finding %+v, want code 207 naming the reason", fs[0])
			}
		})
	}
}
