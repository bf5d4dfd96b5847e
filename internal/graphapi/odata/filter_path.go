package odata

import (
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Property paths and literals of $filter: how a name in a filter becomes a
// schema property and a query.Field, and a literal a typed query.Value.

// parsePath reads ident { "/" ident }, stopping before "/any(", "/all(" and
// "/$count", which the caller handles.
func (p *parser) parsePath() ([]string, error) {
	first, err := p.expect(tIdent)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(first.text, "$") {
		return nil, p.unexpected(first)
	}
	segs := []string{first.text}
	for p.peek().kind == tSlash {
		seg := p.peekAt(1)
		if seg.kind != tIdent {
			return nil, p.unexpected(seg)
		}
		if seg.text == "$count" {
			return nil, unsupported("The '/$count' segment is not supported in $filter.")
		}
		if (isKeyword(seg, "any") || isKeyword(seg, "all")) && p.peekAt(2).kind == tLParen {
			break
		}
		if strings.HasPrefix(seg.text, "$") {
			return nil, p.unexpected(seg)
		}
		p.pos += 2
		segs = append(segs, seg.text)
		if len(segs) > MaxDepth {
			return nil, badRequest("The property path is too long.")
		}
	}
	return segs, nil
}

// resolve maps a path to its schema property and the query field. Inside a
// lambda a path must start with the innermost variable and the field is
// relative to the element ("" for the element itself).
func (p *parser) resolve(segs []string) (*Prop, query.Field, error) {
	if n := len(p.scopes); n > 0 {
		sc := p.scopes[n-1]
		if segs[0] != sc.name {
			for _, outer := range p.scopes[:n-1] {
				if segs[0] == outer.name {
					return nil, query.Field{}, unsupported("Only the innermost lambda variable ('%s') may be used here.", sc.name)
				}
			}
			if prop := p.s.Prop(strings.Join(segs, "/")); prop != nil {
				return nil, query.Field{}, unsupportedClause(p.s, prop.Name)
			}
			return nil, query.Field{}, noSuchProperty(p.s, strings.Join(segs, "/"))
		}
		p.refs = append(p.refs, sc.coll)
		if len(segs) == 1 {
			return sc.coll, query.Field{Type: sc.coll.Type}, nil
		}
		prop, err := p.lookup(sc.coll.Name, segs[1:])
		if err != nil {
			return nil, query.Field{}, err
		}
		rel := prop.Name[len(sc.coll.Name)+1:]
		return prop, query.Field{Path: rel, Type: prop.Type, Collection: prop.Collection}, nil
	}
	prop, err := p.lookup("", segs)
	if err != nil {
		return nil, query.Field{}, err
	}
	return prop, query.Field{Path: prop.Name, Type: prop.Type, Collection: prop.Collection}, nil
}

// lookup finds base/segs in the schema. A path that passes through a
// collection (targetResources/id outside a lambda) is refused: its elements
// can only be reached with any().
func (p *parser) lookup(base string, segs []string) (*Prop, error) {
	path := base
	for i, seg := range segs {
		if path != "" {
			path += "/"
		}
		path += seg
		prop := p.s.Prop(path)
		if prop == nil {
			if i == len(segs)-1 {
				return nil, noSuchProperty(p.s, strings.Join(segs, "/"))
			}
			continue // an intermediate complex value (initiatedBy/user)
		}
		path = prop.Name
		if i < len(segs)-1 && prop.Collection {
			return nil, unsupportedClause(p.s, prop.Name)
		}
		if i == len(segs)-1 {
			p.refs = append(p.refs, prop)
			return prop, nil
		}
	}
	return nil, noSuchProperty(p.s, strings.Join(segs, "/"))
}

// literal converts a literal token to a value of the field's type. Graph is
// strict: timestamps are unquoted, booleans are not strings; GUIDs may be
// quoted or not and are lower-cased.
func (p *parser) literal(t token, typ query.Type, opName string) (query.Value, error) {
	if isKeyword(t, "null") {
		return query.Value{Type: typ, Null: true}, nil
	}
	var litType query.Type
	switch {
	case t.kind == tString:
		litType = query.String
	case t.kind == tGUID:
		litType = query.GUID
	case t.kind == tInt:
		litType = query.Int
	case t.kind == tTime:
		litType = query.Time
	case isKeyword(t, "true") || isKeyword(t, "false"):
		litType = query.Bool
	default:
		return query.Value{}, syntaxError(p.src, t.pos, "literal expected, found "+t.kind.String())
	}
	switch {
	case typ == litType && typ == query.Bool:
		return query.Value{Type: typ, Bool: isKeyword(t, "true")}, nil
	case typ == litType && typ == query.Int:
		return query.Value{Type: typ, Int: t.ival}, nil
	case typ == litType && typ == query.Time:
		return query.Value{Type: typ, Time: t.tval}, nil
	case typ == litType: // String or GUID
		return query.Value{Type: typ, Str: t.text}, nil
	case typ == query.GUID && litType == query.String:
		if g, ok := iam.NormalizeGUID(t.text); ok {
			return query.Value{Type: typ, Str: g}, nil
		}
		return query.Value{}, badRequest("Invalid object identifier '%s'.", t.text)
	}
	return query.Value{}, badRequest("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", edmName(typ), edmName(litType), opName)
}
