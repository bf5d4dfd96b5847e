package odata

import (
	"strings"

	"github.com/ostiary/ostiary/internal/query"
)

// filterResult is a parsed $filter: the tree and the first operator that
// needs advanced mode ("" if none), which Parse checks against the request.
type filterResult struct {
	expr    query.Expr
	needAdv string
}

// parseFilter parses and checks a $filter against s.
//
// Grammar (OData v4 as Graph's directory accepts it; keywords and function
// names are case-insensitive, lambda variables are not):
//
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" or ")" | func | path cmp | path "/" ("any"|"all") "(" var ":" or ")"
//	func    = ("startsWith"|"endsWith") "(" path "," string ")" [ "eq" "true" ]
//	cmp     = ("eq"|"ne"|"gt"|"ge"|"lt"|"le") literal | "in" "(" literal { "," literal } ")"
//	path    = ident { "/" ident }
//
// Recursion is bounded by MaxDepth and the tree by MaxNodes, so a hostile
// filter costs at most a few microseconds per byte and never overflows the
// stack.
func parseFilter(src string, s *Schema) (filterResult, error) {
	if len(src) > MaxFilterLen {
		return filterResult{}, badRequest("The $filter expression is too long (at most %d bytes).", MaxFilterLen)
	}
	toks, err := lex(src)
	if err != nil {
		return filterResult{}, err
	}
	p := &parser{src: src, toks: toks, s: s}
	x, err := p.parseOr()
	if err != nil {
		return filterResult{}, err
	}
	if t := p.peek(); t.kind != tEOF {
		return filterResult{}, p.unexpected(t)
	}
	return filterResult{expr: x, needAdv: p.needAdv}, nil
}

type parser struct {
	src   string
	toks  []token
	pos   int
	s     *Schema
	depth int
	nodes int
	// scopes are the lambda variables in force, innermost last.
	scopes []scope
	// refs are the properties the filter has named so far, so not(...) can
	// check every property it covers.
	refs []*Prop
	// needAdv is the first operator found that needs advanced mode.
	needAdv string
}

// scope is a lambda variable ranging over the elements of coll.
type scope struct {
	name string
	coll *Prop
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func isKeyword(t token, kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, syntaxError(p.src, t.pos, k.String()+" expected, found "+t.kind.String())
	}
	return t, nil
}

func (p *parser) unexpected(t token) error {
	what := t.kind.String()
	if t.kind == tIdent {
		what = "'" + t.text + "'"
	}
	return syntaxError(p.src, t.pos, "unexpected "+what)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return badRequest("The $filter expression is nested too deeply (at most %d levels).", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) node() error {
	p.nodes++
	if p.nodes > MaxNodes {
		return badRequest("The $filter expression has too many clauses (at most %d).", MaxNodes)
	}
	return nil
}

func (p *parser) parseOr() (query.Expr, error) {
	x, err := p.parseAnd()
	if err != nil || !isKeyword(p.peek(), "or") {
		return x, err
	}
	terms := appendFlat[query.Or](nil, x)
	for isKeyword(p.peek(), "or") {
		p.next()
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = appendFlat[query.Or](terms, y)
	}
	return query.Or(terms), p.node()
}

func (p *parser) parseAnd() (query.Expr, error) {
	x, err := p.parseUnary()
	if err != nil || !isKeyword(p.peek(), "and") {
		return x, err
	}
	terms := appendFlat[query.And](nil, x)
	for isKeyword(p.peek(), "and") {
		p.next()
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		terms = appendFlat[query.And](terms, y)
	}
	return query.And(terms), p.node()
}

// appendFlat appends x to terms, splicing in x's terms when it is of the
// same kind, so "(a and b) and c" and "a and b and c" give one tree.
func appendFlat[T query.And | query.Or](terms []query.Expr, x query.Expr) []query.Expr {
	if same, ok := x.(T); ok {
		return append(terms, same...)
	}
	return append(terms, x)
}

func (p *parser) parseUnary() (query.Expr, error) {
	if !isKeyword(p.peek(), "not") {
		return p.parsePrimary()
	}
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	first := len(p.refs)
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	// Graph documents "not" per property: every property under it must
	// allow it.
	for _, prop := range p.refs[first:] {
		if err := p.require(prop, OpNot, "not"); err != nil {
			return nil, err
		}
	}
	return query.Not{X: x}, p.node()
}

func (p *parser) parsePrimary() (query.Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.leave()
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return x, nil
	case t.kind == tIdent && p.peekAt(1).kind == tLParen:
		return p.parseFunc()
	case t.kind == tIdent:
		return p.parsePathExpr()
	}
	return nil, p.unexpected(t)
}

// unsupportedFuncs are OData functions Graph's directory does not implement;
// naming one is an unsupported query rather than a syntax error.
var unsupportedFuncs = map[string]bool{
	"contains": true, "substringof": true, "indexof": true, "length": true,
	"tolower": true, "toupper": true, "trim": true, "concat": true, "substring": true,
	"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true,
	"date": true, "time": true, "now": true, "round": true, "floor": true, "ceiling": true,
	"cast": true, "isof": true, "matchespattern": true,
}

func (p *parser) parseFunc() (query.Expr, error) {
	name := p.next()
	fn := strings.ToLower(name.text)
	var op FilterOp
	switch fn {
	case "startswith":
		op = OpStartsWith
	case "endswith":
		op = OpEndsWith
	default:
		if unsupportedFuncs[fn] {
			return nil, unsupported("The function '%s' is not supported in $filter.", name.text)
		}
		return nil, badRequest("An unknown function with name '%s' was found.", name.text)
	}
	p.next() // (
	segs, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	prop, field, err := p.resolve(segs)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tComma); err != nil {
		return nil, err
	}
	arg := p.next()
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if err := p.require(prop, op, filterOpNames[op]); err != nil {
		return nil, err
	}
	if field.Type != query.String || field.Collection {
		return nil, unsupportedClause(p.s, prop.Name)
	}
	if arg.kind != tString {
		return nil, badRequest("No function signature for the function with name '%s' matches the specified arguments.", name.text)
	}
	// Some OData clients write "startswith(x,'a') eq true"; it means the same.
	if isKeyword(p.peek(), "eq") && isKeyword(p.peekAt(1), "true") {
		p.pos += 2
	}
	if err := p.node(); err != nil {
		return nil, err
	}
	if op == OpStartsWith {
		return query.StartsWith{Field: field, Prefix: arg.text}, nil
	}
	return query.EndsWith{Field: field, Suffix: arg.text}, nil
}

// parsePathExpr parses a comparison, an "in" or a lambda on a path.
func (p *parser) parsePathExpr() (query.Expr, error) {
	segs, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tSlash {
		return p.parseLambda(segs)
	}
	prop, field, err := p.resolve(segs)
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	if opTok.kind != tIdent {
		return nil, syntaxError(p.src, opTok.pos, "operator expected after '"+strings.Join(segs, "/")+"'")
	}
	if strings.EqualFold(opTok.text, "in") {
		return p.parseIn(prop, field)
	}
	op, qop, ok := comparison(opTok.text)
	if !ok {
		return nil, syntaxError(p.src, opTok.pos, "unknown operator '"+opTok.text+"'")
	}
	lit := p.next()
	if err := p.require(prop, op, filterOpNames[op]); err != nil {
		return nil, err
	}
	if isKeyword(lit, "null") {
		if qop != query.Eq && qop != query.Ne {
			return nil, badRequest("The literal null can only be compared with eq or ne.")
		}
		if err := p.require(prop, OpNull, filterOpNames[op]); err != nil {
			return nil, err
		}
	}
	if field.Type == 0 || field.Collection {
		return nil, unsupportedClause(p.s, prop.Name)
	}
	v, err := p.literal(lit, field.Type, opKind[qop])
	if err != nil {
		return nil, err
	}
	return query.Cmp{Field: field, Op: qop, Value: v}, p.node()
}

func comparison(kw string) (FilterOp, query.Op, bool) {
	switch strings.ToLower(kw) {
	case "eq":
		return OpEq, query.Eq, true
	case "ne":
		return OpNe, query.Ne, true
	case "gt":
		return OpGt, query.Gt, true
	case "ge":
		return OpGe, query.Ge, true
	case "lt":
		return OpLt, query.Lt, true
	case "le":
		return OpLe, query.Le, true
	}
	return 0, 0, false
}

// opKind is the operator name OData's type errors print.
var opKind = map[query.Op]string{
	query.Eq: "Equal", query.Ne: "NotEqual", query.Gt: "GreaterThan",
	query.Ge: "GreaterThanOrEqual", query.Lt: "LessThan", query.Le: "LessThanOrEqual",
}

func (p *parser) parseIn(prop *Prop, field query.Field) (query.Expr, error) {
	if err := p.require(prop, OpIn, "in"); err != nil {
		return nil, err
	}
	if field.Type == 0 || field.Collection {
		return nil, unsupportedClause(p.s, prop.Name)
	}
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	var vals []query.Value
	for {
		lit := p.next()
		if isKeyword(lit, "null") {
			return nil, badRequest("The literal null is not allowed in an 'in' list.")
		}
		v, err := p.literal(lit, field.Type, "In")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		if len(vals) > MaxInValues {
			return nil, unsupported("Too many values in an 'in' list: at most %d are allowed.", MaxInValues)
		}
		sep := p.next()
		if sep.kind == tRParen {
			break
		}
		if sep.kind != tComma {
			return nil, syntaxError(p.src, sep.pos, "')' or ',' expected")
		}
	}
	return query.In{Field: field, Values: vals}, p.node()
}

// parseLambda parses coll/any(v: body); the path has been read and the
// parser is at the "/".
func (p *parser) parseLambda(segs []string) (query.Expr, error) {
	p.next() // /
	fn := p.next()
	p.next() // (
	if strings.EqualFold(fn.text, "all") {
		return nil, unsupported("The lambda operator 'all' is not supported in $filter.")
	}
	prop, field, err := p.resolve(segs)
	if err != nil {
		return nil, err
	}
	if !field.Collection {
		return nil, unsupportedClause(p.s, prop.Name)
	}
	if p.peek().kind == tRParen {
		return nil, unsupported("The lambda operator 'any' needs a condition.")
	}
	v, err := p.expect(tIdent)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(v.text, "$") {
		return nil, p.unexpected(v)
	}
	if _, err := p.expect(tColon); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.scopes = append(p.scopes, scope{name: v.text, coll: prop})
	body, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.scopes = p.scopes[:len(p.scopes)-1]
	p.leave()
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	return query.Any{Field: field, Pred: body}, p.node()
}

// require checks that op is allowed on prop, and notes the first operator
// that needs advanced mode.
func (p *parser) require(prop *Prop, op FilterOp, name string) error {
	switch prop.FilterSupport(op) {
	case None:
		return unsupportedClause(p.s, prop.Name)
	case Advanced:
		if p.needAdv == "" {
			p.needAdv = name
		}
	}
	return nil
}
