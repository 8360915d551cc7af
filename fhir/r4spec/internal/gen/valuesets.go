package main

import (
	"sort"
	"strings"
)

// codeSystem is a core CodeSystem: its content mode and its concepts with
// their parents (for is-a filters).
type codeSystem struct {
	content string
	codes   []string
	parent  map[string]string
}

// expandRequired expands every required-binding value set whose codes the
// core package enumerates: includes of listed concepts, of whole complete
// CodeSystems, of is-a / descendent-of filters on them, and of other such
// value sets; excludes of listed concepts. Anything else (external systems
// such as SNOMED CT, LOINC, UCUM, BCP-47 or MIME types, other filters,
// fragments) leaves the value set unchecked, with the reason.
func expandRequired(terms []*node, required map[string]bool) (rows, unchecked []string) {
	systems := map[string]*codeSystem{}
	valueSets := map[string]*node{}
	for _, r := range terms {
		switch r.name {
		case "CodeSystem":
			cs := &codeSystem{content: r.val("content"), parent: map[string]string{}}
			collectConcepts(r, "", cs)
			systems[r.val("url")] = cs
		case "ValueSet":
			valueSets[r.val("url")] = r
		}
	}
	e := &expander{systems: systems, valueSets: valueSets}
	urls := make([]string, 0, len(required))
	for u := range required {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	for _, u := range urls {
		codes, why := e.expand(u, 0)
		if why != "" {
			unchecked = append(unchecked, u+"\t"+why)
			continue
		}
		for _, sys := range sortedKeys(codes) {
			cs := sortedKeys(codes[sys])
			rows = append(rows, u+"\t"+sys+"\t"+strings.Join(cs, "\t"))
		}
	}
	return rows, unchecked
}

func collectConcepts(n *node, parent string, cs *codeSystem) {
	for _, c := range n.all("concept") {
		code := c.val("code")
		cs.codes = append(cs.codes, code)
		if parent != "" {
			cs.parent[code] = parent
		}
		collectConcepts(c, code, cs)
	}
}

type expander struct {
	systems   map[string]*codeSystem
	valueSets map[string]*node
}

// expand returns system -> code set for the value set url, or a reason it
// cannot be enumerated.
func (e *expander) expand(url string, depth int) (map[string]map[string]bool, string) {
	vs := e.valueSets[url]
	switch {
	case depth > 10:
		return nil, "value sets include each other too deeply"
	case vs == nil:
		return nil, "value set not in the core package"
	}
	out := map[string]map[string]bool{}
	compose := vs.one("compose")
	for _, inc := range compose.all("include") {
		got, why := e.include(inc, depth)
		if why != "" {
			return nil, why
		}
		for sys, codes := range got {
			if out[sys] == nil {
				out[sys] = map[string]bool{}
			}
			for c := range codes {
				out[sys][c] = true
			}
		}
	}
	for _, exc := range compose.all("exclude") {
		if len(exc.all("concept")) == 0 || len(exc.all("filter")) > 0 {
			return nil, "exclude without a concept list"
		}
		for _, c := range exc.all("concept") {
			delete(out[exc.val("system")], c.val("code"))
		}
	}
	if len(out) == 0 {
		return nil, "no codes"
	}
	return out, ""
}

func (e *expander) include(inc *node, depth int) (map[string]map[string]bool, string) {
	sys := inc.val("system")
	if vsRefs := inc.all("valueSet"); len(vsRefs) > 0 {
		if sys != "" || len(vsRefs) > 1 {
			return nil, "include intersects value sets"
		}
		ref, _, _ := strings.Cut(vsRefs[0].value, "|")
		return e.expand(ref, depth+1)
	}
	codes := map[string]bool{}
	if cs := inc.all("concept"); len(cs) > 0 {
		for _, c := range cs {
			codes[c.val("code")] = true
		}
		return map[string]map[string]bool{sys: codes}, ""
	}
	cs := e.systems[sys]
	switch {
	case cs == nil:
		return nil, "code system " + sys + " is not in the core package (external terminology)"
	case cs.content != "complete":
		return nil, "code system " + sys + " is not complete in the core package (" + cs.content + ")"
	}
	filters := inc.all("filter")
	for _, c := range cs.codes {
		codes[c] = true
	}
	for _, f := range filters {
		op, prop, val := f.val("op"), f.val("property"), f.val("value")
		if prop != "concept" || op != "is-a" && op != "descendent-of" {
			return nil, "filter " + prop + " " + op + " needs a terminology server"
		}
		for c := range codes {
			if !descends(cs, c, val, op == "is-a") {
				delete(codes, c)
			}
		}
	}
	return map[string]map[string]bool{sys: codes}, ""
}

// descends reports whether code is below ancestor in the CodeSystem's
// hierarchy (or is it, when self).
func descends(cs *codeSystem, code, ancestor string, self bool) bool {
	if code == ancestor {
		return self
	}
	for i := 0; i < 64; i++ {
		p, ok := cs.parent[code]
		if !ok {
			return false
		}
		if p == ancestor {
			return true
		}
		code = p
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
