// Package validation holds the vocabulary every format's checks share: a
// Finding (what is wrong, where, how bad) and the codes that doors translate
// into HL7 ERR segments and FHIR OperationOutcome issues.
//
// Findings never carry message content: a location and a reason that names
// the rule, never the offending value, so that they are safe to log, to
// count in metrics and to put in Kafka headers.
package validation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Severity says whether a finding stops the message.
type Severity uint8

const (
	// SeverityWarning findings are reported (hl7.warnings header, OperationOutcome
	// with severity warning) but do not stop the message.
	SeverityWarning Severity = iota
	// SeverityError findings stop the message: it goes to the DLQ (or is refused
	// when errors.tolerance is none).
	SeverityError
)

func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// Code is an HL7 v2 table 0357 message error condition code. FHIR findings
// use the same numbers so that metrics and DLQ headers speak one language;
// FHIRIssueType maps them to OperationOutcome issue types.
type Code int

// Table 0357 codes used by the gateway.
const (
	CodeOK                   Code = 0
	CodeSegmentSequence      Code = 100 // segment sequence error
	CodeRequiredMissing      Code = 101 // required field missing
	CodeDataType             Code = 102 // data type error
	CodeTableValue           Code = 103 // table value not found
	CodeValueTooLong         Code = 104 // value too long (v2.7+)
	CodeUnsupportedType      Code = 200 // unsupported message type
	CodeUnsupportedEvent     Code = 201 // unsupported event code
	CodeUnsupportedProcessID Code = 202 // unsupported processing id
	CodeUnsupportedVersion   Code = 203 // unsupported version id
	CodeUnknownKey           Code = 204 // unknown key identifier
	CodeDuplicateKey         Code = 205 // duplicate key identifier
	CodeRecordLocked         Code = 206 // application record locked
	CodeInternal             Code = 207 // application internal error
)

// Reason is a short, stable, lower-case label for a code, used as a metric
// label value and in logs.
func (c Code) Reason() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeSegmentSequence:
		return "segment_sequence"
	case CodeRequiredMissing:
		return "required_missing"
	case CodeDataType:
		return "data_type"
	case CodeTableValue:
		return "table_value"
	case CodeValueTooLong:
		return "value_too_long"
	case CodeUnsupportedType:
		return "unsupported_message_type"
	case CodeUnsupportedEvent:
		return "unsupported_event"
	case CodeUnsupportedProcessID:
		return "unsupported_processing_id"
	case CodeUnsupportedVersion:
		return "unsupported_version"
	case CodeUnknownKey:
		return "unknown_key"
	case CodeDuplicateKey:
		return "duplicate_key"
	case CodeRecordLocked:
		return "record_locked"
	default:
		return "internal"
	}
}

// Text is the HL7 table 0357 description of the code, as it appears in
// ERR-3.2 / ERR-1.4.2.
func (c Code) Text() string {
	switch c {
	case CodeOK:
		return "Message accepted"
	case CodeSegmentSequence:
		return "Segment sequence error"
	case CodeRequiredMissing:
		return "Required field missing"
	case CodeDataType:
		return "Data type error"
	case CodeTableValue:
		return "Table value not found"
	case CodeValueTooLong:
		return "Value too long"
	case CodeUnsupportedType:
		return "Unsupported message type"
	case CodeUnsupportedEvent:
		return "Unsupported event code"
	case CodeUnsupportedProcessID:
		return "Unsupported processing id"
	case CodeUnsupportedVersion:
		return "Unsupported version id"
	case CodeUnknownKey:
		return "Unknown key identifier"
	case CodeDuplicateKey:
		return "Duplicate key identifier"
	case CodeRecordLocked:
		return "Application record locked"
	default:
		return "Application internal error"
	}
}

// FHIRIssueType maps the code to a FHIR R4 IssueType code.
func (c Code) FHIRIssueType() string {
	switch c {
	case CodeSegmentSequence:
		return "structure"
	case CodeRequiredMissing:
		return "required"
	case CodeDataType, CodeTableValue:
		return "value"
	case CodeValueTooLong:
		return "too-long"
	case CodeUnsupportedType, CodeUnsupportedEvent, CodeUnsupportedVersion, CodeUnsupportedProcessID:
		return "not-supported"
	case CodeDuplicateKey:
		return "duplicate"
	case CodeUnknownKey:
		return "not-found"
	case CodeRecordLocked:
		return "conflict"
	case CodeOK:
		return "informational"
	default:
		return "exception"
	}
}

// Finding is one problem found in a message. Location is an HL7 path such
// as "PID-3.1" or "OBX(2)-5" (segment, optional 1-based occurrence, field,
// component, subcomponent) or a FHIRPath such as "Patient.birthDate".
// Message names the rule that failed and must never contain the value that
// failed it.
type Finding struct {
	Severity Severity
	Code     Code
	Location string
	Message  string
}

// String renders "error 101 at PID-3: required field missing" for logs and
// headers.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Severity.String())
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(f.Code)))
	if f.Location != "" {
		b.WriteString(" at ")
		b.WriteString(f.Location)
	}
	if f.Message != "" {
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Findings is a list of findings with helpers for the questions doors ask.
type Findings []Finding

// HasErrors reports whether any finding has severity Error.
func (fs Findings) HasErrors() bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// FirstError returns the first Error finding, or false when there is none.
func (fs Findings) FirstError() (Finding, bool) {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return f, true
		}
	}
	return Finding{}, false
}

// Warnings returns only the Warning findings. When every finding is a
// Warning (an accepted message's usual case) it returns fs itself, capped
// so that an append copies instead of writing into fs.
func (fs Findings) Warnings() Findings {
	all := true
	for _, f := range fs {
		if f.Severity != SeverityWarning {
			all = false
			break
		}
	}
	if all {
		if len(fs) == 0 {
			return nil
		}
		return fs[:len(fs):len(fs)]
	}
	var out Findings
	for _, f := range fs {
		if f.Severity == SeverityWarning {
			out = append(out, f)
		}
	}
	return out
}

// Error is a typed error carrying the findings that stopped a message. Parse
// steps return it (wrapped or not) so the pipeline can report the stage,
// code and location of the failure.
type Error struct {
	Findings Findings
}

// Errorf builds an Error with a single Error-severity finding.
func Errorf(code Code, location, format string, args ...any) *Error {
	return &Error{Findings: Findings{{Severity: SeverityError, Code: code, Location: location, Message: fmt.Sprintf(format, args...)}}}
}

func (e *Error) Error() string {
	f, ok := e.Findings.FirstError()
	if !ok {
		if len(e.Findings) == 0 {
			return "validation failed"
		}
		f = e.Findings[0]
	}
	n := len(e.Findings)
	if n > 1 {
		return fmt.Sprintf("%s (and %d more)", f, n-1)
	}
	return f.String()
}

// FindingsOf is what a failure says as findings: the Findings of the
// *Error in err's chain (errors.As), else one internal error whose message
// is err's text.
func FindingsOf(err error) Findings {
	var ve *Error
	if errors.As(err, &ve) && len(ve.Findings) > 0 {
		return ve.Findings
	}
	return Findings{{Severity: SeverityError, Code: CodeInternal, Message: err.Error()}}
}
