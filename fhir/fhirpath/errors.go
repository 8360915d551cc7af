package fhirpath

import "fmt"

// SemanticError reports an expression that parses but cannot be compiled:
// an unknown function, a wrong number of arguments, an unknown type.
type SemanticError struct {
	Pos int
	Msg string
}

func (e *SemanticError) Error() string {
	return fmt.Sprintf("fhirpath: semantic error at %d: %s", e.Pos, e.Msg)
}

// EvalError reports a failure while evaluating, at the position of the
// operator or function that failed.
type EvalError struct {
	Pos int
	Msg string
	Err error // the underlying cause, if any
}

func (e *EvalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fhirpath: evaluation error at %d: %s: %v", e.Pos, e.Msg, e.Err)
	}
	return fmt.Sprintf("fhirpath: evaluation error at %d: %s", e.Pos, e.Msg)
}

func (e *EvalError) Unwrap() error { return e.Err }

// ErrBudget is wrapped by the EvalError returned when an evaluation exceeds
// its step or depth budget.
var ErrBudget = fmt.Errorf("fhirpath: evaluation budget exhausted")

func evalErr(pos int, format string, args ...any) error {
	return &EvalError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// errTooLarge reports a string or number past the size limits; it wraps
// ErrBudget.
var errTooLarge = fmt.Errorf("value too large: %w", ErrBudget)
