package fhirval

import (
	"strings"
	"unicode/utf8"
)

// plainNarrative reports whether div is certainly accepted by htmlChecks()
// (txt-1, txt-2): a plain XHTML fragment whose root is
// <div xmlns="http://www.w3.org/1999/xhtml">, with only the allowed
// elements, simple attributes (no namespace prefixes, no on*, no
// href/src, no xmlns besides the root's), the five XML entities and
// decimal character references, and nothing else. It is a fast path: a
// narrative it does not recognise is not refused, it goes to the FHIRPath
// engine's full check; one it accepts, the engine accepts too
// (TestPlainNarrativeImpliesHTMLChecks). Parsing XML with encoding/xml
// was a quarter of the definitions walk.
func plainNarrative(div string) bool {
	const root = `<div xmlns="http://www.w3.org/1999/xhtml"`
	s := strings.TrimLeft(div, " \t\r\n")
	if !strings.HasPrefix(s, root) {
		return false
	}
	p := &narrativeScan{s: s, i: len(root)}
	if !p.attrs() {
		return false
	}
	p.stack = append(p.stack, "div")
	for len(p.stack) > 0 {
		if !p.next() {
			return false
		}
	}
	return strings.TrimLeft(p.s[p.i:], " \t\r\n") == ""
}

type narrativeScan struct {
	s     string
	i     int
	stack []string
}

// next reads text up to the next tag and the tag itself.
func (p *narrativeScan) next() bool {
	for p.i < len(p.s) && p.s[p.i] != '<' {
		if c := p.s[p.i]; c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != ']' {
			p.i++ // plain text, the common case, without a call
			continue
		}
		if !p.char() {
			return false
		}
	}
	if p.i+1 >= len(p.s) {
		return false
	}
	p.i++ // <
	if p.s[p.i] == '/' {
		p.i++
		name := p.name()
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '>' || name != p.stack[len(p.stack)-1] {
			return false
		}
		p.i++
		p.stack = p.stack[:len(p.stack)-1]
		return true
	}
	name := p.name()
	if !narrativeTag[name] || !p.attrs() {
		return false
	}
	if strings.HasSuffix(p.s[:p.i], "/>") {
		return true
	}
	p.stack = append(p.stack, name)
	return len(p.stack) <= DefaultMaxDepth
}

// attrs reads attributes up to and including the tag's '>' or "/>".
func (p *narrativeScan) attrs() bool {
	var seen []string
	for {
		sp := p.space()
		if p.i >= len(p.s) {
			return false
		}
		switch {
		case p.s[p.i] == '>':
			p.i++
			return true
		case strings.HasPrefix(p.s[p.i:], "/>"):
			p.i += 2
			return true
		case !sp:
			return false
		}
		name := p.name()
		lower := strings.ToLower(name)
		if name == "" || strings.HasPrefix(lower, "on") || lower == "href" || lower == "src" || lower == "xmlns" || contains(seen, name) {
			return false
		}
		seen = append(seen, name)
		p.space()
		if p.i+1 >= len(p.s) || p.s[p.i] != '=' {
			return false
		}
		p.i++
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' && p.s[p.i] != '\'' {
			return false
		}
		q := p.s[p.i]
		p.i++
		for p.i < len(p.s) && p.s[p.i] != q {
			if p.s[p.i] == '<' || !p.char() {
				return false
			}
		}
		if p.i >= len(p.s) {
			return false
		}
		p.i++
	}
}

// char reads one character of text or of an attribute value: a valid XML
// character, or one of the five entities or a decimal reference.
func (p *narrativeScan) char() bool {
	c := p.s[p.i]
	switch {
	case c == '&':
		for _, e := range [...]string{"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"} {
			if strings.HasPrefix(p.s[p.i:], e) {
				p.i += len(e)
				return true
			}
		}
		j := p.i + 2
		for j < len(p.s) && j < p.i+7 && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if !strings.HasPrefix(p.s[p.i:], "&#") || j == p.i+2 || j >= len(p.s) || p.s[j] != ';' {
			return false
		}
		n := 0
		for _, d := range p.s[p.i+2 : j] {
			n = n*10 + int(d-'0')
		}
		p.i = j + 1
		return n == 0x9 || n == 0xA || n == 0xD || n >= 0x20 && n <= 0xD7FF || n >= 0xE000 && n <= 0xFFFD
	case c == ']' && strings.HasPrefix(p.s[p.i:], "]]>"):
		return false
	case c < utf8.RuneSelf:
		p.i++
		return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'
	}
	r, n := utf8.DecodeRuneInString(p.s[p.i:])
	p.i += n
	return r != utf8.RuneError && (r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF)
}

// name reads [A-Za-z][A-Za-z0-9-]*; no prefixes, no other characters.
func (p *narrativeScan) name() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.i > start && (c >= '0' && c <= '9' || c == '-') {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// space skips XML white space and reports whether there was any.
func (p *narrativeScan) space() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
	return p.i > start
}

// narrativeTag lists the elements R4 narratives may use (as htmlChecks
// in package fhirpath does).
var narrativeTag = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Fields(`a abbr acronym b big blockquote br caption cite code col colgroup
		dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup
		table tbody td tfoot th thead tr tt ul var`) {
		m[e] = true
	}
	return m
}()
