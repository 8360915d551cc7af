package fhirpath

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

func init() {
	register("extension", 1, 1, fnExtension)
	register("hasValue", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		if len(f) != 1 {
			return boolean(false), nil
		}
		_, ok := systemOf(f[0])
		return boolean(ok), nil
	})
	register("getValue", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		if len(f) != 1 {
			return nil, nil
		}
		if v, ok := systemOf(f[0]); ok {
			return one(v), nil
		}
		return nil, nil
	})
	register("resolve", 0, 0, fnResolve)
	register("htmlChecks", 0, 0, func(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		s, ok, err := c.stringInput(f)
		if !ok || err != nil {
			return nil, err
		}
		return boolean(checkNarrative(s) == nil), nil
	})
	register("conformsTo", 1, 1, fnConformsTo)
	register("memberOf", 1, 1, func(c *callExpr, _ *evalCtx, _ Collection, _ *frame) (Collection, error) {
		return nil, c.errorf("value set membership needs a terminology service, which this engine does not have")
	})
}

func fnExtension(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	url, ok, err := c.stringArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	var out Collection
	for _, v := range f {
		n, ok := v.(*Node)
		if !ok {
			continue
		}
		for _, e := range ec.children(n, "extension", nil) {
			m := e.(*Node).Object()
			if u, _ := m["url"].(string); u == url {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// fnResolve finds the resources that references point to: "#id" among the
// root resource's contained resources, and in a Bundle the entry whose
// fullUrl or Type/id matches. Other references resolve to nothing.
func fnResolve(_ *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
	var out Collection
	for _, v := range f {
		ref := ""
		if n, ok := v.(*Node); ok && n.Object() != nil {
			ref, _ = n.Object()["reference"].(string)
		} else if s, ok := asString(v); ok {
			ref = s
		}
		if ref == "" {
			continue
		}
		if r := ec.resolveReference(ref); r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func (ec *evalCtx) resolveReference(ref string) *Node {
	root, _ := ec.variable("rootResource")
	res, _ := ec.variable("resource")
	for _, rv := range append(append(Collection{}, root...), res...) {
		root, ok := rv.(*Node)
		if !ok {
			continue
		}
		if id, local := strings.CutPrefix(ref, "#"); local {
			for _, c := range ec.children(root, "contained", nil) {
				if cid, _ := c.(*Node).Object()["id"].(string); cid == id {
					return c.(*Node)
				}
			}
			continue
		}
		for _, e := range ec.children(root, "entry", nil) {
			en := e.(*Node)
			full, _ := en.Object()["fullUrl"].(string)
			res := ec.children(en, "resource", nil)
			if len(res) == 0 {
				continue
			}
			rn := res[0].(*Node)
			typeID := rn.Type + "/" + stringField(rn, "id")
			if full == ref || typeID == ref || strings.HasSuffix(full, "/"+ref) {
				return rn
			}
		}
	}
	return nil
}

func stringField(n *Node, name string) string {
	s, _ := n.Object()[name].(string)
	return s
}

// fnConformsTo answers for the core StructureDefinitions only
// (http://hl7.org/fhir/StructureDefinition/Type): whether the input is of
// that type. Any other profile is an error, as profiles are not loaded.
func fnConformsTo(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	url, ok, err := c.stringArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	typ, core := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/")
	if !core || !isTypeName(typ) || strings.Contains(typ, "/") {
		return nil, c.errorf("unknown profile %q: only core resource types are known", url)
	}
	v, ok, err := c.singleInput(f)
	if !ok || err != nil {
		return nil, err
	}
	return boolean(ec.valueIs(v, typeSpec{ns: "FHIR", name: typ}, false)), nil
}

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
// only the allowed elements, and carry no event handler attributes (on*)
// and no javascript: links. Like the HL7 Java validator's htmlChecks, it
// does not require content: official R4 examples (ActivityDefinition
// heart-valve-replacement, Questionnaire zika-virus-exposure-assessment)
// have whitespace-only narratives and pass the reference validator.
func checkNarrative(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	depth := 0
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
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				if depth == 0 {
					return errors.New("narrative has text outside the div")
				}
			}
		case xml.Directive, xml.ProcInst:
			return errors.New("narrative contains a processing instruction or directive")
		}
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
