package fhirpath

import (
	"slices"
	"strings"
)

// children appends the elements called name under n to out. A choice
// element is found under any of its typed keys (value -> valueQuantity).
// Primitives expose id and extension from their "_name" sibling.
func (ec *evalCtx) children(n *Node, name string, out Collection) Collection {
	obj := n.Object()
	if obj == nil {
		if n.Ext != nil && (name == "extension" || name == "id") {
			return appendJSON(out, n, name, "", n.Ext[name], nil)
		}
		return out
	}
	typ, choice, known := ec.model.ElementType(n.Type, name)
	if v, ok := obj[name]; ok && !choice {
		return appendJSON(out, n, name, typ, v, obj["_"+name])
	}
	if ext, ok := obj["_"+name]; ok && !choice {
		return appendJSON(out, n, name, typ, nil, ext)
	}
	if known && !choice {
		return out
	}
	keys := sortedKeys(obj)
	for _, k := range keys {
		if len(k) > len(name) && strings.HasPrefix(k, name) && isChoiceSuffix(k[len(name):]) {
			out = appendJSON(out, n, name, choiceSuffixType(k[len(name):]), obj[k], obj["_"+k])
		}
	}
	for _, k := range keys {
		if len(k) > len(name)+1 && strings.HasPrefix(k, "_"+name) && isChoiceSuffix(k[len(name)+1:]) {
			if _, seen := obj[k[1:]]; !seen {
				out = appendJSON(out, n, name, choiceSuffixType(k[len(name)+1:]), nil, obj[k])
			}
		}
	}
	return out
}

// isChoiceSuffix reports whether a key's tail names a FHIR type, as the
// suffix of a choice element does (valueQuantity). Other keys that merely
// start with the name (codeFilter for code) are different elements.
func isChoiceSuffix(s string) bool {
	return isTypeName(s) && r4TypeNames[choiceSuffixType(s)]
}

// appendJSON appends the nodes for one JSON member: each array entry
// becomes a node, paired with the matching entry of the "_name" sibling.
func appendJSON(out Collection, parent *Node, name, typ string, v, ext any) Collection {
	if arr, ok := v.([]any); ok {
		exts, _ := ext.([]any)
		for i, item := range arr {
			var e any
			if i < len(exts) {
				e = exts[i]
			}
			out = appendOne(out, parent, name, typ, item, e)
		}
		if len(exts) > len(arr) {
			for _, e := range exts[len(arr):] {
				out = appendOne(out, parent, name, typ, nil, e)
			}
		}
		return out
	}
	if exts, ok := ext.([]any); ok && v == nil {
		for _, e := range exts {
			out = appendOne(out, parent, name, typ, nil, e)
		}
		return out
	}
	return appendOne(out, parent, name, typ, v, ext)
}

func appendOne(out Collection, parent *Node, name, typ string, v, ext any) Collection {
	em, _ := ext.(map[string]any)
	if v == nil && em == nil {
		return out
	}
	if m, ok := v.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			typ = rt
		}
	}
	if typ == "" || typ == "*" {
		typ = guessType(v)
	}
	return append(out, &Node{Name: name, Type: typ, JSON: v, Ext: em, Parent: parent})
}

// guessType names the type of a primitive the model does not know, from
// its JSON form; complex elements stay unnamed.
func guessType(v any) string {
	switch x := v.(type) {
	case bool:
		return "boolean"
	case string:
		return "string"
	case interface{ String() string }:
		if strings.ContainsAny(x.String(), ".eE") {
			return "decimal"
		}
		return "integer"
	case float64:
		return "decimal"
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// allChildren appends every child element of n, in key order.
func (ec *evalCtx) allChildren(n *Node, out Collection) Collection {
	obj := n.Object()
	if obj == nil {
		if n.Ext != nil {
			out = ec.children(n, "id", out)
			out = ec.children(n, "extension", out)
		}
		return out
	}
	for _, k := range sortedKeys(obj) {
		if k == "resourceType" || k == "fhir_comments" || k == "" || k == "_" {
			continue // "" and "_" name no element (the validator reports them)
		}
		name := strings.TrimPrefix(k, "_")
		if k[0] == '_' {
			if _, dup := obj[name]; dup {
				continue
			}
		}
		key := name
		typ, choice, known := ec.model.ElementType(n.Type, name)
		if !known || choice {
			if base, suffix, ok := ec.splitChoice(n.Type, name); ok {
				name, typ = base, choiceSuffixType(suffix)
			}
		}
		var ext any
		if k[0] == '_' {
			ext = obj[k]
		} else if len(obj) > 1 {
			ext = obj["_"+key]
		}
		out = appendJSON(out, n, name, typ, obj[key], ext)
	}
	return out
}

// splitChoice splits a typed choice key (valueQuantity) into the element
// name the model declares as a choice (value) and the type suffix.
func (ec *evalCtx) splitChoice(parentType, key string) (string, string, bool) {
	for i := 1; i < len(key); i++ {
		if key[i] < 'A' || key[i] > 'Z' {
			continue
		}
		if _, choice, ok := ec.model.ElementType(parentType, key[:i]); ok && choice {
			return key[:i], key[i:], true
		}
	}
	return "", "", false
}

// isOfType reports whether node n is of the named type or derives from
// it. With exact set, a primitive must be of the type itself: a code is a
// string for is(), but not for as() and ofType().
func (ec *evalCtx) isOfType(n *Node, t typeSpec, exact bool) bool {
	if t.ns == "System" || n.Type == "" {
		return false
	}
	if exact && isPrimitiveType(n.Type) {
		return n.Type == t.name
	}
	for typ := n.Type; typ != ""; typ = ec.model.BaseType(typ) {
		if typ == t.name {
			return true
		}
	}
	return false
}

// valueIs implements is for any value; exact gives as and ofType.
func (ec *evalCtx) valueIs(v Value, t typeSpec, exact bool) bool {
	if n, ok := v.(*Node); ok {
		return ec.isOfType(n, t, exact)
	}
	if t.ns == "FHIR" {
		return false
	}
	return v.TypeOf().Name == t.name
}
