package fhirval

import (
	"testing"

	"github.com/hl7gw/gateway/fhir/fhirpath"
)

var htmlChecks = fhirpath.MustCompile("text.div.htmlChecks()")

// engineAccepts is the FHIRPath engine's verdict on a narrative.
func engineAccepts(div string) bool {
	r := map[string]any{"resourceType": "Patient", "text": map[string]any{"div": div}}
	ok, known, err := htmlChecks.EvaluateBool(r)
	return err == nil && known && ok
}

const xhtmlDiv = `<div xmlns="http://www.w3.org/1999/xhtml">`

func TestPlainNarrative(t *testing.T) {
	tests := []struct {
		name, div string
		plain     bool
	}{
		{"a paragraph of text", xhtmlDiv + `<p>Hello &amp; welcome &#233;</p></div>`, true},
		{"a table with attributes and an empty element", xhtmlDiv + "\n<table class=\"grid\"><tr><td colspan='2'>x<br/></td></tr></table>\n</div>", true},
		{"an empty div", xhtmlDiv + "\n  </div>", true},
		{"a script goes to the engine", xhtmlDiv + `<script>x()</script></div>`, false},
		{"an event handler goes to the engine", xhtmlDiv + `<p onClick="x()">a</p></div>`, false},
		{"a link goes to the engine", xhtmlDiv + `<a href="http://x.org">a</a></div>`, false},
		{"an HTML entity goes to the engine", xhtmlDiv + `&reg;</div>`, false},
		{"a comment goes to the engine", xhtmlDiv + `<!-- c --></div>`, false},
		{"mismatched tags go to the engine", xhtmlDiv + `<p><b>a</p></b></div>`, false},
		{"another namespace goes to the engine", `<div xmlns="http://www.w3.org/1999/xhtmlx">a</div>`, false},
		{"text after the root goes to the engine", xhtmlDiv + `a</div>b`, false},
		{"a control character goes to the engine", xhtmlDiv + "a\x01</div>", false},
		{"an unclosed div goes to the engine", xhtmlDiv + `<p>a</p>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainNarrative(tt.div); got != tt.plain {
				t.Errorf("plainNarrative = %v, want %v", got, tt.plain)
			}
			if tt.plain && !engineAccepts(tt.div) {
				t.Errorf("the engine refuses a narrative plainNarrative accepts")
			}
		})
	}
}

// Every narrative of the corpus that the fast path accepts, the engine
// accepts; and the fast path takes most of them, or it would be useless.
func TestPlainNarrativeImpliesHTMLChecks(t *testing.T) {
	var divs []string
	for _, body := range corpusBodies(t) {
		if v, ok := decodeGeneric(withoutBOM(body)); ok {
			collectDivs(v, &divs)
		}
	}
	plain := 0
	for _, d := range divs {
		if plainNarrative(d) {
			plain++
			if !engineAccepts(d) {
				t.Errorf("the engine refuses a narrative plainNarrative accepts: %.200q", d)
			}
		}
	}
	t.Logf("%d of %d corpus narratives take the fast path", plain, len(divs))
	if plain*10 < len(divs)*7 {
		t.Errorf("only %d of %d narratives take the fast path", plain, len(divs))
	}
}

func collectDivs(v any, out *[]string) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			collectDivs(e, out)
		}
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok && k == "div" {
				*out = append(*out, s)
			}
			collectDivs(e, out)
		}
	}
}

// FuzzPlainNarrative: whatever the fast path accepts, the engine accepts.
func FuzzPlainNarrative(f *testing.F) {
	f.Add(xhtmlDiv + `<p class="a">x &lt; y<br/></p></div>`)
	f.Add(xhtmlDiv + `<table><tr><td>&#10;</td></tr></table></div>`)
	f.Fuzz(func(t *testing.T, div string) {
		if plainNarrative(div) && !engineAccepts(div) {
			t.Fatalf("the engine refuses %q", div)
		}
	})
}
