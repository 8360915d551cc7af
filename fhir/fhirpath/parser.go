package fhirpath

import (
	"fmt"
	"strings"
)

// astKind classifies a syntax tree node.
type astKind int

const (
	astLiteral astKind = iota + 1
	astIdent           // a member name, resolved against the focus
	astFunc            // name(args...), applied to the focus or a target
	astInvoke          // target.member or target.func(...)
	astIndex           // target[index]
	astBinary          // left op right
	astUnary           // op operand
	astTypeOp          // left is/as TypeName
	astConst           // %name
	astSpecial         // $this, $index, $total
	astEmpty           // {}
)

// ast is the parsed form of an expression, before compilation.
type ast struct {
	kind     astKind
	pos      int
	name     string // identifier, function, operator, constant or type name
	lit      Value  // for literals
	litErr   string // a literal the grammar accepts but evaluation refuses
	children []*ast
}

// maxParseDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxParseDepth = 200

type parser struct {
	toks  []token
	i     int
	depth int
}

// parse turns source text into a syntax tree.
func parse(src string) (*ast, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == s
}

func (p *parser) expect(s string) error {
	if !p.isOp(s) {
		t := p.peek()
		return &SyntaxError{t.pos, fmt.Sprintf("expected %q, found %q", s, describe(t))}
	}
	p.i++
	return nil
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return t.text
}

// binaryPower gives the binding power of infix operators; higher binds
// tighter. The order is the FHIRPath N1 precedence table.
var binaryPower = map[string]int{
	"implies": 1, "or": 2, "xor": 2, "and": 3, "in": 4, "contains": 4,
	"=": 5, "~": 5, "!=": 5, "!~": 5, "<": 6, ">": 6, "<=": 6, ">=": 6,
	"|": 7, "is": 8, "as": 8, "+": 9, "-": 9, "&": 9,
	"*": 10, "/": 10, "div": 10, "mod": 10,
}

const unaryPower = 11

func (p *parser) infixOp() (string, int) {
	t := p.peek()
	if t.kind != tokOp && t.kind != tokIdent {
		return "", 0
	}
	bp, ok := binaryPower[t.text]
	if !ok {
		return "", 0
	}
	return t.text, bp
}

// expr parses an expression whose operators bind tighter than minPower.
func (p *parser) expr(minPower int) (*ast, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, &SyntaxError{p.peek().pos, "expression nested too deeply"}
	}
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op, bp := p.infixOp()
		if bp == 0 || bp <= minPower {
			return left, nil
		}
		t := p.next()
		if op == "is" || op == "as" {
			name, err := p.typeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &ast{kind: astTypeOp, pos: t.pos, name: op, children: []*ast{left, {kind: astIdent, pos: t.pos, name: name}}}
			continue
		}
		right, err := p.expr(bp)
		if err != nil {
			return nil, err
		}
		left = &ast{kind: astBinary, pos: t.pos, name: op, children: []*ast{left, right}}
	}
}

func (p *parser) unary() (*ast, error) {
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxParseDepth {
			return nil, &SyntaxError{t.pos, "expression nested too deeply"}
		}
		operand, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &ast{kind: astUnary, pos: t.pos, name: t.text, children: []*ast{operand}}, nil
	}
	return p.postfix()
}

// postfix parses a term followed by any number of .member, .func() and
// [index] suffixes.
func (p *parser) postfix() (*ast, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			m, err := p.invocation()
			if err != nil {
				return nil, err
			}
			n = &ast{kind: astInvoke, pos: m.pos, children: []*ast{n, m}}
		case p.isOp("["):
			t := p.next()
			idx, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = &ast{kind: astIndex, pos: t.pos, children: []*ast{n, idx}}
		default:
			return n, nil
		}
	}
}

// invocation parses a member name or a function call.
func (p *parser) invocation() (*ast, error) {
	t := p.next()
	if t.kind != tokIdent && t.kind != tokDelimIdent {
		return nil, &SyntaxError{t.pos, fmt.Sprintf("expected a name, found %q", describe(t))}
	}
	if t.kind == tokIdent && p.isOp("(") {
		return p.call(t)
	}
	return &ast{kind: astIdent, pos: t.pos, name: t.text}, nil
}

func (p *parser) call(name token) (*ast, error) {
	p.next() // (
	n := &ast{kind: astFunc, pos: name.pos, name: name.text}
	if p.isOp(")") {
		p.next()
		return n, nil
	}
	for {
		arg, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, arg)
		if p.isOp(")") {
			p.next()
			return n, nil
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
}

// typeSpecifier parses a possibly qualified type name such as FHIR.Patient.
func (p *parser) typeSpecifier() (string, error) {
	var parts []string
	for {
		t := p.next()
		if t.kind != tokIdent && t.kind != tokDelimIdent {
			return "", &SyntaxError{t.pos, fmt.Sprintf("expected a type name, found %q", describe(t))}
		}
		parts = append(parts, t.text)
		if !p.isOp(".") || len(parts) == 2 {
			return strings.Join(parts, "."), nil
		}
		p.next()
	}
}

func (p *parser) term() (*ast, error) {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		if t.text == "true" || t.text == "false" {
			p.next()
			return &ast{kind: astLiteral, pos: t.pos, lit: Boolean(t.text == "true")}, nil
		}
		return p.invocation()
	case tokDelimIdent:
		return p.invocation()
	case tokString:
		p.next()
		return &ast{kind: astLiteral, pos: t.pos, lit: String(t.text)}, nil
	case tokNumber, tokLong:
		return p.number()
	case tokDateTime, tokTime:
		p.next()
		return temporalLiteral(t)
	case tokConst:
		p.next()
		return &ast{kind: astConst, pos: t.pos, name: t.text}, nil
	case tokSpecial:
		p.next()
		return &ast{kind: astSpecial, pos: t.pos, name: t.text}, nil
	case tokOp:
		return p.opTerm(t)
	}
	return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %s", describe(t))}
}

func (p *parser) opTerm(t token) (*ast, error) {
	switch t.text {
	case "(":
		p.next()
		n, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	case "{":
		p.next()
		return &ast{kind: astEmpty, pos: t.pos}, p.expect("}")
	}
	return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", describe(t))}
}
