// Command xml2json converts the FHIR XML inputs of the FHIRPath test suite
// to FHIR JSON, once, so the engine's tests read JSON only.
//
// FHIR's XML-to-JSON rules need each element's cardinality (repeating
// elements become arrays) and the JSON kind of each primitive (booleans and
// numbers are unquoted). Neither is in the XML, so the converter learns them
// from the official JSON forms of other examples (-learn) and adds a small
// table (cardinality.go) for elements those examples do not show.
//
// Usage:
//
//	xml2json -learn a.json,b.json in.xml > out.json
//	xml2json -learn a.json,b.json -compare ref.json in.xml
package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	fhirNS  = "http://hl7.org/fhir"
	xhtmlNS = "http://www.w3.org/1999/xhtml"
)

// object is a JSON object that keeps its members in document order.
type object struct {
	keys []string
	vals map[string]any
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// converter holds the learned shape of FHIR JSON.
type converter struct {
	shapes *shapes
	src    []byte
}

// element is one parsed XML element before it is placed in its parent.
type element struct {
	name     string
	value    *string // the value attribute of a primitive
	id       string
	children *object // complex content, or the extensions of a primitive
}

// convert reads one FHIR XML resource and returns it as ordered JSON.
func (c *converter) convert(src []byte) (*object, error) {
	c.src = src
	d := xml.NewDecoder(bytes.NewReader(src))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no root element: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != fhirNS {
				return nil, fmt.Errorf("root <%s> is not in the FHIR namespace", se.Name.Local)
			}
			return c.resource(d, se)
		}
	}
}

// resource converts a resource element: resourceType first, then members.
func (c *converter) resource(d *xml.Decoder, se xml.StartElement) (*object, error) {
	o := newObject()
	o.set("resourceType", se.Name.Local)
	if err := c.members(d, se.Name.Local, o); err != nil {
		return nil, fmt.Errorf("%s: %w", se.Name.Local, err)
	}
	return o, nil
}

// members reads child elements until the parent's end tag and places them
// in o; path is the parent's element path (Patient.name) for shape lookups.
func (c *converter) members(d *xml.Decoder, path string, o *object) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := c.member(d, t, path, o); err != nil {
				return err
			}
		}
	}
}

func (c *converter) member(d *xml.Decoder, t xml.StartElement, path string, o *object) error {
	name := t.Name.Local
	childPath := path + "." + name
	if t.Name.Space == xhtmlNS {
		start := d.InputOffset()
		if err := d.Skip(); err != nil {
			return err
		}
		o.set(name, rawElement(c.src, start, d.InputOffset()))
		return nil
	}
	if name == "contained" || (name == "resource" || name == "outcome") && !c.shapes.complexResourceSlot(childPath) {
		r, err := c.wrappedResource(d)
		if err != nil {
			return err
		}
		c.place(o, childPath, name, r, nil)
		return nil
	}
	el := &element{name: name}
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "value":
			v := a.Value
			el.value = &v
		case "id":
			el.id = a.Value
		case "url":
			el.children = newObject()
			el.children.set("url", a.Value)
		}
	}
	if el.children == nil {
		el.children = newObject()
	}
	if err := c.members(d, childPath, el.children); err != nil {
		return err
	}
	primitive := c.shapes.isPrimitive(childPath) || siblingsArePrimitive(o, name)
	if el.value != nil || (len(el.children.keys) > 0 && primitive && el.children.onlyExtensions()) {
		c.placePrimitive(o, childPath, name, el)
		return nil
	}
	if el.id != "" {
		el.children.keys = append([]string{"id"}, el.children.keys...)
		el.children.vals["id"] = el.id
	}
	c.place(o, childPath, name, el.children, nil)
	return nil
}

// siblingsArePrimitive reports whether earlier elements of the same name
// in this parent were primitives, so a later one with only extensions is a
// primitive too.
func siblingsArePrimitive(o *object, name string) bool {
	arr, _ := o.vals[name].([]any)
	for _, v := range arr {
		switch v.(type) {
		case string, bool, json.Number:
			return true
		}
	}
	return false
}

func (o *object) onlyExtensions() bool {
	for _, k := range o.keys {
		if k != "extension" {
			return false
		}
	}
	return true
}

// rawElement returns the source text of an element that ended at end and
// whose start tag ended at startTagEnd, start tag included.
func rawElement(src []byte, startTagEnd, end int64) string {
	open := bytes.LastIndex(src[:startTagEnd], []byte("<"))
	return string(src[open:end])
}

func (c *converter) wrappedResource(d *xml.Decoder) (*object, error) {
	var r *object
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if r, err = c.resource(d, t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if r == nil {
				return nil, errors.New("empty resource wrapper")
			}
			return r, nil
		}
	}
}

// placePrimitive stores a primitive's value under name and its id and
// extensions under _name, keeping arrays of the two aligned.
func (c *converter) placePrimitive(o *object, path, name string, el *element) {
	var v any
	if el.value != nil {
		v = c.shapes.primitive(path, name, *el.value)
	}
	var ext *object
	if el.id != "" || len(el.children.keys) > 0 {
		ext = newObject()
		if el.id != "" {
			ext.set("id", el.id)
		}
		for _, k := range el.children.keys {
			ext.set(k, el.children.vals[k])
		}
	}
	c.place(o, path, name, v, ext)
}

// place adds a member, as an array entry when the element repeats.
func (c *converter) place(o *object, path, name string, v any, ext *object) {
	if !c.shapes.repeats(path) {
		if v != nil {
			o.set(name, v)
		}
		if ext != nil {
			o.set("_"+name, ext)
		}
		return
	}
	arr, _ := o.vals[name].([]any)
	exts, _ := o.vals["_"+name].([]any)
	n := max(len(arr), len(exts))
	if v != nil || n > 0 || ext == nil {
		for len(arr) < n {
			arr = append(arr, nil)
		}
		o.set(name, append(arr, v))
	}
	if ext != nil || len(exts) > 0 {
		for len(exts) < n {
			exts = append(exts, nil)
		}
		var e any
		if ext != nil {
			e = ext
		}
		o.set("_"+name, append(exts, e))
	}
}

// write prints ordered JSON with two-space indentation.
func write(w io.Writer, v any) error {
	var b bytes.Buffer
	encode(&b, v, "")
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func encode(b *bytes.Buffer, v any, indent string) {
	switch x := v.(type) {
	case *object:
		b.WriteString("{")
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "  ")
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(": ")
			encode(b, x.vals[k], indent+"  ")
		}
		b.WriteString("\n" + indent + "}")
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "  ")
			encode(b, e, indent+"  ")
		}
		b.WriteString("\n" + indent + "]")
	default:
		var eb bytes.Buffer
		enc := json.NewEncoder(&eb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		b.WriteString(strings.TrimSuffix(eb.String(), "\n"))
	}
}
