package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/validation"
)

// validateCmd implements `gateway validate --format hl7|fhir [--strict |
// --lenient] [--profile FILE] FILE...`: one line per file,
// PATH<TAB>OK|ERROR<TAB>reason, exit 1 when any file is an ERROR. It reads
// files only; nothing is sent. The checks are the doors' own: HL7 files go
// through hl7door.Check (the door's batch split, parse and validation
// steps), FHIR files through fhirval.Validate (what the FHIR door's
// Validate step computes). Strictness defaults to the server's
// defaults: FHIR strict (fhir.parser.strict), HL7 lenient
// (hl7.parser.strict).
func validateCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", args, stdout, stderr, nil)
	format := fs.String("format", "hl7", "hl7 or fhir")
	strictFlag := fs.Bool("strict", false, "strict validation (HL7: structure, required fields, data types, tables; FHIR: errors instead of warnings); default: true for fhir, false for hl7, as the server")
	lenient := fs.Bool("lenient", false, "lenient validation, the same as --strict=false")
	profile := fs.String("profile", "", "HL7 conformance profile (YAML), as hl7.parser.config.file")
	version := fs.String("hl7-version", "", "accept only this HL7 version (hl7.version)")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return usageErr(err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no files", errUsage)
	}
	strict, err := strictness(fs, *format, *strictFlag, *lenient)
	if err != nil {
		return err
	}
	var check func([]byte) validation.Findings
	switch *format {
	case "hl7":
		opts := conformance.Options{Strict: strict, Version: *version}
		if *profile != "" {
			p, err := conformance.LoadProfile(*profile)
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			opts.Profile = p
		}
		v, err := conformance.New(opts)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		check = func(b []byte) validation.Findings { return hl7door.Check(v, b) }
	case "fhir":
		check = func(b []byte) validation.Findings {
			_, f := fhirval.Validate(b, fhirval.Options{Strict: strict})
			return f
		}
	default:
		return fmt.Errorf("%w: --format must be hl7 or fhir", errUsage)
	}
	failed := false
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stdout, "%s\tERROR\tcannot read file: %v\n", path, err)
			failed = true
			continue
		}
		line, ok := verdict(check(b))
		failed = failed || !ok
		fmt.Fprintf(stdout, "%s\t%s\n", path, line)
	}
	if failed {
		return errFailed
	}
	return nil
}

// strictness resolves --strict and --lenient against the format's
// default (the server's): FHIR strict, HL7 lenient.
func strictness(fs *flag.FlagSet, format string, strict, lenient bool) (bool, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["strict"] && set["lenient"] && strict == lenient:
		return false, fmt.Errorf("%w: --strict and --lenient contradict each other", errUsage)
	case set["strict"]:
		return strict, nil
	case set["lenient"]:
		return !lenient, nil
	}
	return format == "fhir", nil
}

// verdict renders "OK<TAB>n warnings" or "ERROR<TAB>first error (and n more)".
func verdict(fs validation.Findings) (string, bool) {
	if f, ok := fs.FirstError(); ok {
		n := 0
		for _, g := range fs {
			if g.Severity == validation.SeverityError {
				n++
			}
		}
		reason := f.String()
		if n > 1 {
			reason += fmt.Sprintf(" (and %d more errors)", n-1)
		}
		return "ERROR\t" + reason, false
	}
	if w := len(fs); w > 0 {
		return fmt.Sprintf("OK\t%d warnings (first: %s)", w, fs[0]), true
	}
	return "OK\t", true
}
