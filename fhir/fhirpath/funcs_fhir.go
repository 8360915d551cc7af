package fhirpath

import (
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
