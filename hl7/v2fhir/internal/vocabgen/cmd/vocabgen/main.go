// Command vocabgen writes hl7/v2fhir/vocab_gen.go from the IG concept maps:
// vocabgen IG_DIR OUT_FILE.
package main

import (
	"fmt"
	"os"

	"github.com/hl7gw/gateway/hl7/v2fhir/internal/vocabgen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: vocabgen IG_DIR OUT_FILE")
		os.Exit(2)
	}
	src, err := vocabgen.Generate(os.Args[1])
	if err == nil {
		err = os.WriteFile(os.Args[2], src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vocabgen:", err)
		os.Exit(1)
	}
}
