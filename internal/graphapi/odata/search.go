package odata

import (
	"strings"

	"github.com/ostiary/ostiary/internal/query"
)

// parseSearch parses Graph's directory $search syntax into query.Search
// nodes combined with query.And and query.Or:
//
//	or     = and { "OR" and }
//	and    = atom { "AND" atom }
//	atom   = '"' property ":" term '"' | "(" or ")"
//
// Inside quotes, \" and \\ escape a quote and a backslash. Every clause must
// name a searchable property: Graph's directory has no free-text $search.
// AND binds tighter than OR, as in KQL.
func parseSearch(src string, s *Schema) (query.Expr, error) {
	if len(src) > MaxFilterLen {
		return nil, badRequest("The $search expression is too long (at most %d bytes).", MaxFilterLen)
	}
	p := &searchParser{src: src, s: s}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.syntax("unexpected text")
	}
	return x, nil
}

type searchParser struct {
	src   string
	pos   int
	s     *Schema
	depth int
	nodes int
}

func (p *searchParser) syntax(what string) error {
	return badRequest("Syntax error at position %d in $search '%s': %s.", p.pos, p.src, what)
}

func (p *searchParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// keyword consumes the operator kw (case-insensitive) if it comes next.
func (p *searchParser) keyword(kw string) bool {
	p.skipSpace()
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end < len(p.src) && p.src[end] != ' ' && p.src[end] != '\t' && p.src[end] != '"' && p.src[end] != '(' {
		return false
	}
	p.pos = end
	return true
}

func (p *searchParser) node() error {
	p.nodes++
	if p.nodes > MaxNodes {
		return badRequest("The $search expression has too many clauses (at most %d).", MaxNodes)
	}
	return nil
}

func (p *searchParser) parseOr() (query.Expr, error) {
	x, err := p.parseAnd()
	if err != nil || !p.keyword("OR") {
		return x, err
	}
	terms := appendFlat[query.Or](nil, x)
	for {
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = appendFlat[query.Or](terms, y)
		if !p.keyword("OR") {
			return query.Or(terms), p.node()
		}
	}
}

func (p *searchParser) parseAnd() (query.Expr, error) {
	x, err := p.parseAtom()
	if err != nil || !p.keyword("AND") {
		return x, err
	}
	terms := appendFlat[query.And](nil, x)
	for {
		y, err := p.parseAtom()
		if err != nil {
			return nil, err
		}
		terms = appendFlat[query.And](terms, y)
		if !p.keyword("AND") {
			return query.And(terms), p.node()
		}
	}
}

func (p *searchParser) parseAtom() (query.Expr, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.syntax("a quoted \"property:value\" clause expected")
	}
	switch p.src[p.pos] {
	case '(':
		p.pos++
		p.depth++
		if p.depth > MaxDepth {
			return nil, badRequest("The $search expression is nested too deeply (at most %d levels).", MaxDepth)
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.depth--
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, p.syntax("')' expected")
		}
		p.pos++
		return x, nil
	case '"':
		return p.parseClause()
	}
	return nil, p.syntax("a quoted \"property:value\" clause expected")
}

func (p *searchParser) parseClause() (query.Expr, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	closed := false
	for p.pos < len(p.src) && !closed {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case c == '"':
			closed = true
			p.pos++
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	if !closed {
		p.pos = start
		return nil, p.syntax("unterminated quoted clause")
	}
	clause := b.String()
	name, term, ok := strings.Cut(clause, ":")
	name = strings.TrimSpace(name)
	term = strings.TrimSpace(term)
	if !ok || name == "" {
		return nil, unsupported("The $search clause \"%s\" must have the form \"property:value\".", clause)
	}
	prop := p.s.Prop(name)
	if prop == nil || !prop.Select {
		return nil, noSuchProperty(p.s, name)
	}
	if !prop.Search {
		return nil, unsupported("Unsupported or invalid query search clause specified for property '%s' of resource '%s'.", prop.Name, p.s.Resource)
	}
	if term == "" {
		return nil, badRequest("The $search clause \"%s\" has an empty value.", clause)
	}
	field := query.Field{Path: prop.Name, Type: prop.Type, Collection: prop.Collection}
	return query.Search{Fields: []query.Field{field}, Term: term}, p.node()
}
