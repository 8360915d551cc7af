package v2fhir

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// messageTypes are the message types issue 16 converts; the corpus files
// of other types are left out of the side-by-side run.
var messageTypes = []string{
	"ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06", "ADT^A07", "ADT^A08",
	"ADT^A11", "ADT^A13", "ADT^A28", "ADT^A31", "ADT^A40",
	"ORU^R01", "VXU^V04", "ORM^O01", "OML^O21",
}

// sampleDir holds the HL7 v2-to-FHIR IG's sample messages, when the
// converter's tests carry them.
const sampleDir = "hl7/v2fhir/testdata"

// message is one corpus message of a supported type.
type message struct {
	name string // path relative to the module root
	path string // absolute
	src  *source
}

// corpusMessages reads every message of a supported type from the
// project's HL7 v2 corpus (its valid messages, through internal/corpus) and
// the converter's sample messages, sorted by name.
func corpusMessages(t *testing.T) []message {
	t.Helper()
	root, err := gatewayproc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, c := range corpus.Select(t, corpus.HL7, corpus.Valid) {
		files = append(files, c.Path())
	}
	_ = filepath.WalkDir(filepath.Join(root, sampleDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".hl7") {
			files = append(files, p)
		}
		return nil
	})
	want := map[string]bool{}
	for _, m := range messageTypes {
		want[m] = true
	}
	var out []message
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src, err := readSource(b)
		if err != nil || !want[src.messageType] {
			continue // a batch, an ACK, another message type
		}
		rel, _ := filepath.Rel(root, f)
		out = append(out, message{name: rel, path: f, src: src})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
