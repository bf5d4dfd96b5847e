package sqlstore

import (
	"strconv"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// This file compiles a query.Expr into an SQL condition over the objects
// table (alias o). Semantics, common to both engines:
//
//   - Strings and GUIDs compare case-insensitively: indexed columns hold a
//     folded copy and the literal is folded in Go; document properties are
//     folded by the engine on both sides (Dialect.Fold).
//   - Null follows OData: "eq null" matches a missing or null property,
//     "ne null" a present one. For the indexed key and display name, the
//     empty string stands for null.
//   - "ne" with a value matches rows where the property is null: null is
//     not equal to anything. This is OData's rule (null ne 'x' is true) and
//     it keeps "p ne v" and "not(p eq v)" identical. Ordering comparisons
//     (gt, ge, lt, le) never match null.
//   - not(...) is two-valued: NOT COALESCE(x, FALSE), so a row whose
//     property is null matches not(p eq 'x') just as it matches p ne 'x'.
//   - A Time property in a document is compared as text, which orders
//     correctly because documents hold times in RFC 3339 with seconds in
//     UTC ("2006-01-02T15:04:05Z"), the form literals are formatted in.
//     Time columns (createdDateTime, deletedDateTime) compare as integers.
//   - startsWith on an indexed column is a range scan (col >= p AND
//     col < p || U+10FFFF) so the index serves it; elsewhere it is LIKE with
//     the metacharacters of the literal escaped.

// maxRune closes a prefix range: every string that starts with p sorts
// below p followed by the largest code point (bar strings that continue
// with that very code point, a permanently unassigned noncharacter).
const maxRune = "\U0010FFFF"

// class says how an operand compares with a literal.
type class int

const (
	clsID      class = iota + 1 // o.id: exact, GUID literals lower-cased
	clsFold                     // folded column: literal folded in Go
	clsMicros                   // time column in microseconds
	clsDocText                  // document string: Fold on both sides
	clsDocTime                  // document time: RFC 3339 text, bytewise
	clsBool                     // document bool
	clsInt                      // document number
)

// operand is a resolved field.
type operand struct {
	expr     string
	cls      class
	nullable bool
	// emptyNull marks a folded column where '' stands for null.
	emptyNull bool
	// keyCol marks o.key_fold, whose unique index is partial.
	keyCol bool
}

// fieldMap maps property paths to columns for the kinds being listed. A
// property maps to a column only if it does for every kind, otherwise it is
// read from the document (which always has it too).
type fieldMap struct {
	keyPath     string // "" when the kinds disagree
	createdPath string
}

func newFieldMap(kinds []iam.Kind) fieldMap {
	if len(kinds) == 0 {
		kinds = iam.DirectoryKinds
	}
	m := fieldMap{keyPath: store.KeyPath[kinds[0]], createdPath: store.CreatedAtPath(kinds[0])}
	for _, k := range kinds[1:] {
		if store.KeyPath[k] != m.keyPath {
			m.keyPath = ""
		}
		if store.CreatedAtPath(k) != m.createdPath {
			m.createdPath = ""
		}
	}
	return m
}

type compiler struct {
	b *builder
	d Dialect
	m fieldMap
	// elem is the current array element inside Any, nil outside.
	elem   *JSONDoc
	nalias int
}

// resolve maps a field to an operand. t is the literal's type; the field's
// declared type, when it has one, wins (a Time property compared with a
// string literal still compares as RFC 3339 text, unfolded).
func (c *compiler) resolve(f query.Field, t query.Type) (operand, error) {
	if f.Type != 0 {
		t = f.Type
	}
	if c.elem == nil {
		if f.Path == "" {
			return operand{}, errs.E(errs.Invalid, "A filter names no property.")
		}
		switch f.Path {
		case "id":
			return operand{expr: "o.id", cls: clsID}, nil
		case "displayName":
			return operand{expr: "o.display_name_fold", cls: clsFold, emptyNull: true}, nil
		case "deletedDateTime":
			return operand{expr: "o.deleted_at", cls: clsMicros, nullable: true}, nil
		case c.m.createdPath:
			return operand{expr: "o.created_at", cls: clsMicros}, nil
		case c.m.keyPath:
			return operand{expr: "o.key_fold", cls: clsFold, emptyNull: true, keyCol: true}, nil
		}
	}
	doc := JSONDoc{Expr: "o.data"}
	if c.elem != nil {
		doc = *c.elem
	}
	path, err := splitPath(f.Path)
	if err != nil {
		return operand{}, err
	}
	switch t {
	case query.Bool:
		return operand{expr: c.d.JSON(doc, path, query.Bool), cls: clsBool, nullable: true}, nil
	case query.Int:
		return operand{expr: c.d.JSON(doc, path, query.Int), cls: clsInt, nullable: true}, nil
	case query.Time:
		return operand{expr: c.d.Bytewise(c.d.JSON(doc, path, query.Time)), cls: clsDocTime, nullable: true}, nil
	default:
		return operand{expr: c.d.Fold(c.d.JSON(doc, path, query.String)), cls: clsDocText, nullable: true}, nil
	}
}

// lit returns the SQL for a non-null literal compared with op.
func (c *compiler) lit(op operand, v query.Value) (string, error) {
	text := v.Type == query.String || v.Type == query.GUID
	switch {
	case op.cls == clsID && text:
		s := v.Str
		if g, ok := iam.NormalizeGUID(s); ok {
			s = g
		}
		return c.b.ph(s), nil
	case op.cls == clsFold && text:
		return c.b.ph(fold(v.Str)), nil
	case op.cls == clsDocText && text:
		return c.d.Fold(c.b.ph(v.Str)), nil
	case op.cls == clsMicros && v.Type == query.Time:
		return c.b.ph(micros(v.Time)), nil
	case op.cls == clsDocTime && v.Type == query.Time:
		return c.b.ph(v.Time.UTC().Format("2006-01-02T15:04:05Z")), nil
	case op.cls == clsDocTime && text:
		return c.b.ph(v.Str), nil
	case op.cls == clsBool && v.Type == query.Bool:
		return c.b.ph(v.Bool), nil
	case op.cls == clsInt && v.Type == query.Int:
		return c.b.ph(v.Int), nil
	}
	return "", errs.E(errs.Invalid, "A literal's type does not match the property it is compared with.")
}

// isNull writes the condition "op is null".
func (c *compiler) isNull(op operand) {
	switch {
	case op.emptyNull:
		c.b.sql(op.expr, " = ''")
	case op.nullable:
		c.b.sql(op.expr, " IS NULL")
	default:
		c.b.sql("FALSE")
	}
}

func (c *compiler) notNull(op operand) {
	switch {
	case op.emptyNull:
		c.b.sql(op.expr, " <> ''")
	case op.nullable:
		c.b.sql(op.expr, " IS NOT NULL")
	default:
		c.b.sql("TRUE")
	}
}

var sqlOps = map[query.Op]string{query.Eq: " = ", query.Ne: " <> ", query.Gt: " > ", query.Ge: " >= ", query.Lt: " < ", query.Le: " <= "}

func (c *compiler) expr(e query.Expr) error {
	switch x := e.(type) {
	case nil:
		c.b.sql("TRUE")
	case query.And:
		return c.join(x, " AND ", "TRUE")
	case query.Or:
		return c.join(x, " OR ", "FALSE")
	case query.Not:
		c.b.sql("NOT COALESCE((")
		if err := c.expr(x.X); err != nil {
			return err
		}
		c.b.sql("), FALSE)")
	case query.Cmp:
		return c.cmp(x)
	case query.In:
		return c.in(x)
	case query.StartsWith:
		return c.like(x.Field, x.Prefix, true)
	case query.EndsWith:
		return c.like(x.Field, x.Suffix, false)
	case query.Any:
		return c.any(x)
	case query.Search:
		return c.search(x)
	case *query.And:
		return c.expr(*x)
	case *query.Or:
		return c.expr(*x)
	case *query.Not:
		return c.expr(*x)
	case *query.Cmp:
		return c.expr(*x)
	case *query.In:
		return c.expr(*x)
	case *query.StartsWith:
		return c.expr(*x)
	case *query.EndsWith:
		return c.expr(*x)
	case *query.Any:
		return c.expr(*x)
	case *query.Search:
		return c.expr(*x)
	default:
		return errs.E(errs.Unsupported, "This filter is not supported.")
	}
	return nil
}

func (c *compiler) join(xs []query.Expr, sep, empty string) error {
	if len(xs) == 0 {
		c.b.sql(empty)
		return nil
	}
	c.b.sql("(")
	for i, x := range xs {
		if i > 0 {
			c.b.sql(sep)
		}
		if err := c.expr(x); err != nil {
			return err
		}
	}
	c.b.sql(")")
	return nil
}

func (c *compiler) cmp(x query.Cmp) error {
	op, err := c.resolve(x.Field, x.Value.Type)
	if err != nil {
		return err
	}
	if _, ok := sqlOps[x.Op]; !ok {
		return errs.E(errs.Invalid, "Unknown comparison operator.")
	}
	if x.Value.Null {
		switch x.Op {
		case query.Eq:
			c.isNull(op)
		case query.Ne:
			c.notNull(op)
		default:
			c.b.sql("FALSE") // ordering against null never matches
		}
		return nil
	}
	if op.cls == clsBool && x.Op != query.Eq && x.Op != query.Ne {
		return errs.E(errs.Invalid, "Booleans support only eq and ne.")
	}
	c.b.sql("(")
	if x.Op == query.Ne && op.nullable {
		c.b.sql(op.expr, " IS NULL OR ")
	}
	if op.keyCol && x.Op == query.Eq {
		c.b.sql("o.key_fold <> '' AND ") // lets the planner use the partial key index
	}
	c.b.sql(op.expr, sqlOps[x.Op])
	l, err := c.lit(op, x.Value)
	if err != nil {
		return err
	}
	c.b.sql(l, ")")
	return nil
}

func (c *compiler) in(x query.In) error {
	var t query.Type
	for _, v := range x.Values {
		if !v.Null {
			t = v.Type
			break
		}
	}
	op, err := c.resolve(x.Field, t)
	if err != nil {
		return err
	}
	var vals []query.Value
	hasNull := false
	for _, v := range x.Values {
		if v.Null {
			hasNull = true
		} else {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 && !hasNull {
		c.b.sql("FALSE")
		return nil
	}
	c.b.sql("(")
	if len(vals) > 0 {
		if op.keyCol {
			c.b.sql("o.key_fold <> '' AND ")
		}
		c.b.sql(op.expr, " IN (")
		for i, v := range vals {
			if i > 0 {
				c.b.sql(", ")
			}
			l, err := c.lit(op, v)
			if err != nil {
				return err
			}
			c.b.sql(l)
		}
		c.b.sql(")")
		if hasNull {
			c.b.sql(" OR ")
		}
	}
	if hasNull {
		c.isNull(op)
	}
	c.b.sql(")")
	return nil
}

// escapeLike escapes LIKE's metacharacters; statements declare ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// textOperand resolves a field for a text match (startsWith, endsWith,
// search) and returns it with a function turning a LIKE pattern into SQL.
func (c *compiler) textOperand(f query.Field) (operand, func(pattern string) string, error) {
	op, err := c.resolve(f, query.String)
	if err != nil {
		return op, nil, err
	}
	switch op.cls {
	case clsID:
		return op, func(p string) string { return c.b.ph(p) }, nil
	case clsFold:
		return op, func(p string) string { return c.b.ph(fold(p)) }, nil
	case clsDocText:
		return op, func(p string) string { return c.d.Fold(c.b.ph(p)) }, nil
	}
	return op, nil, errs.E(errs.Invalid, "Property %q is not text.", f.Path)
}

func (c *compiler) like(f query.Field, s string, prefix bool) error {
	op, pattern, err := c.textOperand(f)
	if err != nil {
		return err
	}
	if prefix && op.cls != clsDocText {
		// Range scan on an indexed column.
		p := s
		if op.cls == clsFold {
			p = fold(s)
		}
		c.b.sql("(")
		if op.keyCol {
			c.b.sql("o.key_fold <> '' AND ")
		}
		c.b.sql(op.expr, " >= ").arg(p).sql(" AND ", op.expr, " < ").arg(p + maxRune).sql(")")
		return nil
	}
	pat := "%" + escapeLike(s)
	if prefix {
		pat = escapeLike(s) + "%"
	}
	c.b.sql(op.expr, " LIKE ", pattern(pat), ` ESCAPE '\'`)
	return nil
}

// any compiles collection/any(v: pred) as EXISTS over the array elements.
func (c *compiler) any(x query.Any) error {
	if c.elem == nil && x.Field.Path != "" {
		switch x.Field.Path {
		case "id", "displayName", "deletedDateTime", c.m.createdPath, c.m.keyPath:
			return errs.E(errs.Invalid, "Property %q is not a collection.", x.Field.Path)
		}
	}
	path, err := splitPath(x.Field.Path)
	if err != nil {
		return err
	}
	if len(path) == 0 {
		return errs.E(errs.Invalid, "A lambda needs a collection property.")
	}
	doc := JSONDoc{Expr: "o.data"}
	if c.elem != nil {
		doc = *c.elem
	}
	c.nalias++
	from, elem := c.d.JSONEach(doc, path, "e"+strconv.Itoa(c.nalias))
	outer := c.elem
	c.elem = &elem
	defer func() { c.elem = outer }()
	c.b.sql("EXISTS (SELECT 1 FROM ", from, " WHERE ")
	if err := c.expr(x.Pred); err != nil {
		return err
	}
	c.b.sql(")")
	return nil
}

// search is a word-prefix match: the term starts the value or follows a
// space in it. Fields are ORed; a collection field matches if any element
// does.
func (c *compiler) search(x query.Search) error {
	if x.Term == "" {
		c.b.sql("TRUE")
		return nil
	}
	if len(x.Fields) == 0 {
		c.b.sql("FALSE")
		return nil
	}
	t := escapeLike(x.Term)
	c.b.sql("(")
	for i, f := range x.Fields {
		if i > 0 {
			c.b.sql(" OR ")
		}
		if f.Collection {
			el := query.Field{Type: query.String}
			err := c.any(query.Any{Field: f, Pred: query.Search{Fields: []query.Field{el}, Term: x.Term}})
			if err != nil {
				return err
			}
			continue
		}
		op, pattern, err := c.textOperand(f)
		if err != nil {
			return err
		}
		c.b.sql("(", op.expr, " LIKE ", pattern(t+"%"), ` ESCAPE '\' OR `,
			op.expr, " LIKE ", pattern("% "+t+"%"), ` ESCAPE '\')`)
	}
	c.b.sql(")")
	return nil
}
