package v2fhir

import (
	"errors"

	"github.com/hl7gw/gateway/validation"
)

// ErrUnsupported is matched (errors.Is) by the error Convert returns for a
// message type or trigger event it does not convert.
var ErrUnsupported = errors.New("message type not converted to FHIR")

// Error is a conversion failure: the finding names the HL7 location
// ("PID-7", "OBX(2)-5") and a table 0357 code, never the value.
type Error struct {
	Finding validation.Finding
	kind    error
}

func (e *Error) Error() string { return "v2fhir: " + e.Finding.String() }

// Unwrap returns ErrUnsupported for an unsupported message, else nil.
func (e *Error) Unwrap() error { return e.kind }

// Location is the HL7 path the failure is about.
func (e *Error) Location() string { return e.Finding.Location }

// Code is the HL7 table 0357 code of the failure.
func (e *Error) Code() validation.Code { return e.Finding.Code }

func errorf(code validation.Code, loc, reason string) *Error {
	return &Error{Finding: validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: reason}}
}

func unsupported(code validation.Code, reason string) *Error {
	e := errorf(code, "MSH-9", reason)
	e.kind = ErrUnsupported
	return e
}

const (
	codeDataType        = validation.CodeDataType
	codeRequiredMissing = validation.CodeRequiredMissing
)
