package main

import (
	"encoding/xml"
	"fmt"
	"io"
)

// node is one element of a FHIR XML document: its name, its value
// attribute (FHIR XML keeps primitive values there), its url attribute
// (extensions) and its children in order. Narrative XHTML is skipped.
type node struct {
	name, value, url string
	kids             []*node
}

// parseXML reads a whole FHIR XML document into a tree.
func parseXML(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	root := &node{}
	stack := []*node{root}
	skip := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 || t.Name.Space == "http://www.w3.org/1999/xhtml" {
				skip++
				continue
			}
			n := &node{name: t.Name.Local}
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "value":
					n.value = a.Value
				case "url":
					n.url = a.Value
				}
			}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(root.kids) != 1 {
		return nil, fmt.Errorf("xml: %d root elements", len(root.kids))
	}
	return root.kids[0], nil
}

// all returns the children named name.
func (n *node) all(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// one returns the first child named name, or an empty node.
func (n *node) one(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return &node{}
}

// val is the value attribute of the first child named name.
func (n *node) val(name string) string { return n.one(name).value }

// ext returns the value of the extension with the given url, whatever
// its value[x] type.
func (n *node) ext(url string) string {
	for _, e := range n.all("extension") {
		if e.url == url {
			for _, k := range e.kids {
				if len(k.name) > 5 && k.name[:5] == "value" {
					return k.value
				}
			}
		}
	}
	return ""
}

// resources returns the resources of a Bundle document (entry.resource.*).
func resources(bundle *node) []*node {
	var out []*node
	for _, e := range bundle.all("entry") {
		r := e.one("resource")
		if len(r.kids) == 1 {
			out = append(out, r.kids[0])
		}
	}
	return out
}
