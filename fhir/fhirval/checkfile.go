package fhirval

import (
	"fmt"
	"os"
	"strconv"
)

// MaxFileSize bounds what CheckFile reads, like the doors' body limit.
const MaxFileSize = 64 << 20

// CheckFile validates one FHIR R4 JSON file for `gateway validate --format
// fhir [--strict] FILE...`. ok is false when the file cannot be read or has
// error findings; reason is then the first error ("error 101 at
// Patient.name: required element missing"), else "" or a warning count
// ("2 warnings"). reason never contains values from the file. It blocks on
// reading the file only.
func CheckFile(path string, strict bool) (ok bool, reason string) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Sprintf("cannot read file: %v", err)
	}
	if fi.Size() > MaxFileSize {
		return false, "file larger than " + strconv.Itoa(MaxFileSize>>20) + " MiB"
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Sprintf("cannot read file: %v", err)
	}
	_, fs := Validate(body, Options{Strict: strict})
	if f, bad := fs.FirstError(); bad {
		if n := len(fs); n > 1 {
			return false, f.String() + " (and " + strconv.Itoa(n-1) + " more)"
		}
		return false, f.String()
	}
	switch n := len(fs); n {
	case 0:
		return true, ""
	case 1:
		return true, "1 warning: " + fs[0].String()
	default:
		return true, strconv.Itoa(n) + " warnings, first: " + fs[0].String()
	}
}
