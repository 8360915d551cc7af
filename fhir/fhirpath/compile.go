package fhirpath

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Expression is a compiled FHIRPath expression. It is immutable and safe
// for concurrent use by many goroutines.
type Expression struct {
	src  string
	root expr
}

// Compile parses and compiles an expression. Syntax errors are returned as
// *SyntaxError and unknown functions or wrong argument counts as
// *SemanticError, both with the byte offset of the problem.
func Compile(src string) (*Expression, error) {
	a, err := parse(src)
	if err != nil {
		return nil, err
	}
	root, err := compileAST(a, true)
	if err != nil {
		return nil, err
	}
	return &Expression{src: src, root: root}, nil
}

// MustCompile is Compile for expressions known at build time; it panics on
// an error.
func MustCompile(src string) *Expression {
	e, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source text.
func (e *Expression) String() string { return e.src }

// Default budgets for one evaluation.
const (
	DefaultMaxSteps = 1_000_000
	DefaultMaxDepth = 400
)

// EvalOption adjusts one evaluation.
type EvalOption func(*evalCtx)

// WithVariable binds %name to a collection.
func WithVariable(name string, c Collection) EvalOption {
	return func(ec *evalCtx) {
		if ec.vars == nil {
			ec.vars = map[string]Collection{}
		}
		ec.vars[name] = c
	}
}

// WithModel replaces the built-in partial R4 model.
func WithModel(m Model) EvalOption { return func(ec *evalCtx) { ec.model = m } }

// WithNow fixes the instant now(), today() and timeOfDay() report.
func WithNow(t time.Time) EvalOption { return func(ec *evalCtx) { ec.now = t } }

// WithMaxSteps bounds the work of one evaluation; beyond it Evaluate fails
// with an error wrapping ErrBudget.
func WithMaxSteps(n int) EvalOption { return func(ec *evalCtx) { ec.maxSteps = n } }

// WithTrace receives the collections passed to trace(name).
func WithTrace(f func(name string, c Collection)) EvalOption {
	return func(ec *evalCtx) { ec.trace = f }
}

// Evaluate runs the expression against a resource: decoded FHIR JSON (a
// map[string]any from encoding/json, ideally with UseNumber), a *Node, a
// Value, or nil for no context. The resource is also %resource, %context
// and %rootResource.
func (e *Expression) Evaluate(resource any, opts ...EvalOption) (Collection, error) {
	ec := evalCtx{model: builtinModel, maxSteps: DefaultMaxSteps}
	for _, o := range opts {
		o(&ec)
	}
	return e.evaluate(&ec, resource)
}

// Env is a set of evaluation options applied once, for many evaluations
// with the same variables, model and budget: building WithVariable's
// bindings for every evaluation costs more than a small invariant's
// evaluation. An Env is read-only once made and safe for concurrent use.
type Env struct{ ec evalCtx }

// NewEnv applies opts to a fresh set of options.
func NewEnv(opts ...EvalOption) *Env {
	env := &Env{ec: evalCtx{model: builtinModel, maxSteps: DefaultMaxSteps}}
	for _, o := range opts {
		o(&env.ec)
	}
	return env
}

// EvaluateIn is Evaluate with the options of env.
func (e *Expression) EvaluateIn(env *Env, resource any) (Collection, error) {
	ec := evalCtxs.Get().(*evalCtx)
	*ec = env.ec // a copy: the step count and the clock are the evaluation's own
	c, err := e.evaluate(ec, resource)
	*ec = evalCtx{} // keep no references in the pool
	evalCtxs.Put(ec)
	return c, err
}

// evalCtxs recycles EvaluateIn's evaluation state, which would otherwise
// be an allocation per evaluation; nothing an evaluation returns refers to
// it.
var evalCtxs = sync.Pool{New: func() any { return new(evalCtx) }}

// EvaluateBoolIn is EvaluateBool with the options of env.
func (e *Expression) EvaluateBoolIn(env *Env, resource any) (v, ok bool, err error) {
	return boolResult(e.EvaluateIn(env, resource))
}

func (e *Expression) evaluate(ec *evalCtx, resource any) (Collection, error) {
	var focus Collection
	switch r := resource.(type) {
	case nil:
	case map[string]any:
		n := &Node{JSON: r}
		n.Type, _ = r["resourceType"].(string)
		focus = Collection{n}
	case *Node:
		focus = Collection{r}
	case Value:
		focus = Collection{r}
	default:
		return nil, fmt.Errorf("fhirpath: cannot evaluate against %T", resource)
	}
	ec.root = focus
	fr := &frame{}
	if len(focus) == 1 {
		fr.this, fr.hasThis = focus[0], true
	}
	return e.root.eval(ec, focus, fr)
}

// EvaluateBool evaluates and reads the result as a boolean: true or false
// for a single boolean, ok false for an empty result.
func (e *Expression) EvaluateBool(resource any, opts ...EvalOption) (v, ok bool, err error) {
	return boolResult(e.Evaluate(resource, opts...))
}

func boolResult(c Collection, err error) (v, ok bool, _ error) {
	if err != nil || len(c) == 0 {
		return false, false, err
	}
	b, err := singletonBool(c, 0)
	if err != nil {
		return false, false, err
	}
	return b == triTrue, b != triEmpty, nil
}

// variable returns %name: a WithVariable binding, or the evaluation root
// for resource, context and rootResource.
func (ec *evalCtx) variable(name string) (Collection, bool) {
	if c, ok := ec.vars[name]; ok {
		return c, true
	}
	switch name {
	case "resource", "context", "rootResource":
		return ec.root, true
	}
	return nil, false
}

// clock returns the evaluation's instant, fixed at its first use so that
// now() is the same throughout one evaluation.
func (ec *evalCtx) clock() time.Time {
	if ec.now.IsZero() {
		ec.now = time.Now()
	}
	return ec.now
}

// evalCtx carries the state of one evaluation.
type evalCtx struct {
	vars     map[string]Collection // nil unless WithVariable was used
	model    Model
	root     Collection // also %resource, %context, %rootResource by default
	now      time.Time  // zero until now() first asks, unless WithNow
	trace    func(string, Collection)
	steps    int
	maxSteps int
	depth    int
}

// frame holds the iteration variables $this, $index and $total.
type frame struct {
	this     Value
	hasThis  bool
	index    int
	total    Collection
	hasTotal bool
}

// thisFocus is the input of an argument evaluated outside any iteration.
func (fr *frame) thisFocus() Collection {
	if fr.hasThis {
		return Collection{fr.this}
	}
	return nil
}

// expr is a compiled node of the evaluation tree: it maps the focus
// collection to a result.
type expr interface {
	eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error)
}

// step charges one unit of the budget.
func (ec *evalCtx) step(pos int) error {
	ec.steps++
	if ec.steps > ec.maxSteps {
		return &EvalError{Pos: pos, Msg: "too many steps", Err: ErrBudget}
	}
	return nil
}

// charge bills n units of work, so that operations producing or scanning
// large collections consume the budget in proportion.
func (ec *evalCtx) charge(pos, n int) error {
	ec.steps += n
	if ec.steps > ec.maxSteps {
		return &EvalError{Pos: pos, Msg: "too many steps", Err: ErrBudget}
	}
	return nil
}

func (ec *evalCtx) enter(pos int) error {
	ec.depth++
	if ec.depth > DefaultMaxDepth {
		return &EvalError{Pos: pos, Msg: "recursion too deep", Err: ErrBudget}
	}
	return nil
}

func (ec *evalCtx) leave() { ec.depth-- }

// compileAST turns a syntax tree into an evaluation tree. head is true for
// the first element of a path, where a type name selects the focus.
func compileAST(a *ast, head bool) (expr, error) {
	switch a.kind {
	case astLiteral:
		return &literalExpr{pos: a.pos, v: Collection{a.lit}, err: a.litErr}, nil
	case astEmpty:
		return &literalExpr{pos: a.pos}, nil
	case astIdent:
		return &memberExpr{pos: a.pos, name: a.name, head: head}, nil
	case astFunc:
		return compileCall(a)
	case astInvoke:
		target, err := compileAST(a.children[0], head)
		if err != nil {
			return nil, err
		}
		m, err := compileAST(a.children[1], false)
		if err != nil {
			return nil, err
		}
		return &invokeExpr{pos: a.pos, target: target, member: m}, nil
	case astIndex:
		return compileIndex(a, head)
	case astBinary:
		return compileBinary(a)
	case astUnary:
		operand, err := compileAST(a.children[0], head)
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: a.pos, op: a.name, operand: operand}, nil
	case astTypeOp:
		left, err := compileAST(a.children[0], head)
		if err != nil {
			return nil, err
		}
		t, err := resolveType(a.children[1].name, a.pos)
		if err != nil {
			return nil, err
		}
		return &typeOpExpr{pos: a.pos, op: a.name, left: left, typ: t}, nil
	case astConst:
		return &constExpr{pos: a.pos, name: a.name}, nil
	case astSpecial:
		return &specialExpr{pos: a.pos, name: a.name}, nil
	}
	return nil, &SemanticError{a.pos, "unsupported syntax"}
}

func compileIndex(a *ast, head bool) (expr, error) {
	target, err := compileAST(a.children[0], head)
	if err != nil {
		return nil, err
	}
	idx, err := compileAST(a.children[1], true)
	if err != nil {
		return nil, err
	}
	return &indexExpr{pos: a.pos, target: target, index: idx}, nil
}

// typeSpec is a resolved type name: a namespace ("" when unqualified) and a
// name.
type typeSpec struct {
	ns, name string
}

func resolveType(name string, pos int) (typeSpec, error) {
	ns, n, ok := strings.Cut(name, ".")
	if !ok {
		return typeSpec{name: name}, nil
	}
	if ns != "FHIR" && ns != "System" {
		return typeSpec{}, &SemanticError{pos, fmt.Sprintf("unknown type namespace %q", ns)}
	}
	return typeSpec{ns: ns, name: n}, nil
}

// typeFromAST reads a type specifier written as a function argument, such
// as ofType(FHIR.Patient) or is(`Patient`).
func typeFromAST(a *ast) (typeSpec, bool) {
	switch {
	case a.kind == astIdent:
		return typeSpec{name: a.name}, true
	case a.kind == astInvoke && a.children[0].kind == astIdent && a.children[1].kind == astIdent:
		ns := a.children[0].name
		if ns != "FHIR" && ns != "System" {
			return typeSpec{}, false
		}
		return typeSpec{ns: ns, name: a.children[1].name}, true
	}
	return typeSpec{}, false
}

// SemanticError reports an expression that parses but cannot be compiled:
// an unknown function, a wrong number of arguments, an unknown type.
type SemanticError struct {
	Pos int
	Msg string
}

func (e *SemanticError) Error() string {
	return fmt.Sprintf("fhirpath: semantic error at %d: %s", e.Pos, e.Msg)
}

// EvalError reports a failure while evaluating, at the position of the
// operator or function that failed.
type EvalError struct {
	Pos int
	Msg string
	Err error // the underlying cause, if any
}

func (e *EvalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fhirpath: evaluation error at %d: %s: %v", e.Pos, e.Msg, e.Err)
	}
	return fmt.Sprintf("fhirpath: evaluation error at %d: %s", e.Pos, e.Msg)
}

func (e *EvalError) Unwrap() error { return e.Err }

// ErrBudget is wrapped by the EvalError returned when an evaluation exceeds
// its step or depth budget.
var ErrBudget = fmt.Errorf("fhirpath: evaluation budget exhausted")

func evalErr(pos int, format string, args ...any) error {
	return &EvalError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// errTooLarge reports a string or number past the size limits; it wraps
// ErrBudget.
var errTooLarge = fmt.Errorf("value too large: %w", ErrBudget)
