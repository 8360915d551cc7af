package v2fhir

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// messageTypes are the message types issue 16 converts; the corpus files
// of other types are left out of the side-by-side run.
var messageTypes = []string{
	"ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06", "ADT^A07", "ADT^A08",
	"ADT^A11", "ADT^A13", "ADT^A28", "ADT^A31", "ADT^A40",
	"ORU^R01", "VXU^V04", "ORM^O01", "OML^O21",
}

// corpusDirs are where the project's HL7 v2 corpus has lived, newest
// first; the first that exists is read (its valid/ messages).
var corpusDirs = []string{"testdata/corpus/hl7", "hl7/testdata/corpus", "ingest/hl7/testdata/corpus"}

// sampleDir holds the HL7 v2-to-FHIR IG's sample messages, when the
// converter's tests carry them.
const sampleDir = "hl7/v2fhir/testdata"

// message is one corpus message of a supported type.
type message struct {
	name string // path relative to the module root
	path string // absolute
	src  *source
}

// corpusMessages reads every message of a supported type from the corpus
// and the converter's sample messages, sorted by name.
func corpusMessages(t *testing.T) []message {
	t.Helper()
	root, err := gatewayproc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, d := range corpusDirs {
		valid := filepath.Join(root, d, "valid")
		if st, err := os.Stat(valid); err == nil && st.IsDir() {
			ents, err := os.ReadDir(valid)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if e.Type().IsRegular() {
					files = append(files, filepath.Join(valid, e.Name()))
				}
			}
			break
		}
	}
	if len(files) == 0 {
		t.Fatalf("no HL7 corpus under %s in %s", strings.Join(corpusDirs, ", "), root)
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
