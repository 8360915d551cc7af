package fhirpath

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// narrativeElements are the XHTML elements FHIR R4 allows in a narrative
// (the txt-1 rule): no script, form, frame or object elements.
var narrativeElements = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`a abbr acronym b big blockquote br caption cite code col colgroup
		dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup
		table tbody td tfoot th thead tr tt ul var`) {
		narrativeElements[e] = true
	}
}

// checkNarrative applies the R4 narrative rules (txt-1, txt-2) to an
// XHTML div: it must be well-formed XML whose root is an XHTML div, use
// only the allowed elements, carry no event handler attributes (on*) and
// no javascript: links, and contain some text or an image.
func checkNarrative(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	depth, content := 0, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("narrative is not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := checkElement(t, depth); err != nil {
				return err
			}
			content = content || t.Name.Local == "img"
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				if depth == 0 {
					return errors.New("narrative has text outside the div")
				}
				content = true
			}
		case xml.Directive, xml.ProcInst:
			return errors.New("narrative contains a processing instruction or directive")
		}
	}
	if !content {
		return errors.New("narrative has no content")
	}
	return nil
}

func checkElement(t xml.StartElement, depth int) error {
	if depth == 0 && (t.Name.Local != "div" || t.Name.Space != "http://www.w3.org/1999/xhtml") {
		return errors.New("narrative root is not an XHTML div")
	}
	if !narrativeElements[t.Name.Local] {
		return fmt.Errorf("narrative element <%s> is not allowed", t.Name.Local)
	}
	for _, a := range t.Attr {
		name := strings.ToLower(a.Name.Local)
		if strings.HasPrefix(name, "on") {
			return fmt.Errorf("narrative attribute %s is not allowed", a.Name.Local)
		}
		if (name == "href" || name == "src") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "javascript:") {
			return errors.New("narrative contains a javascript: link")
		}
	}
	return nil
}
