// Package query is the storage-neutral form of a list request: a filter
// expression tree, a sort order, a page size and an opaque position.
//
// The Graph layer parses OData into these values after checking them against
// an entity's schema; the store compiles them into parameterised SQL. Nothing
// here knows about HTTP or SQL.
package query

import "time"

// Type is the type of a field or literal.
type Type int

const (
	String Type = iota + 1
	Bool
	Int
	Time
	GUID
)

// Field is a property path such as "displayName" or "initiatedBy/user/id".
// Collection marks a multi-valued property (proxyAddresses, groupTypes).
type Field struct {
	Path       string
	Type       Type
	Collection bool
}

// Op is a comparison operator.
type Op int

const (
	Eq Op = iota + 1
	Ne
	Gt
	Ge
	Lt
	Le
)

func (o Op) String() string {
	return [...]string{"", "eq", "ne", "gt", "ge", "lt", "le"}[o]
}

// Value is a typed literal. Null is true for the literal null.
type Value struct {
	Type Type
	Null bool
	Str  string // String and GUID
	Bool bool
	Int  int64
	Time time.Time
}

// Expr is a node of a filter expression.
type Expr interface{ isExpr() }

// Cmp compares a field with a literal. For a collection field inside Any,
// Field is the lambda variable's element.
type Cmp struct {
	Field Field
	Op    Op
	Value Value
}

// In is "field in (v1, v2, ...)".
type In struct {
	Field  Field
	Values []Value
}

// StartsWith is "startsWith(field, 'prefix')"; case-insensitive as in Entra.
type StartsWith struct {
	Field  Field
	Prefix string
}

// EndsWith is "endsWith(field, 'suffix')"; case-insensitive.
type EndsWith struct {
	Field  Field
	Suffix string
}

// And is a conjunction of all its terms.
type And []Expr

// Or is a disjunction of its terms.
type Or []Expr

// Not negates its term.
type Not struct{ X Expr }

// Any is "collection/any(v: pred)": true if some element satisfies Pred.
// Inside Pred, a Field with Path "" denotes the element itself.
type Any struct {
	Field Field
	Pred  Expr
}

// Search is a $search term: word-prefix match on each of the fields, which
// are ORed. It is a separate node so the store can choose how to match.
type Search struct {
	Fields []Field
	Term   string
}

func (Cmp) isExpr()        {}
func (In) isExpr()         {}
func (StartsWith) isExpr() {}
func (EndsWith) isExpr()   {}
func (And) isExpr()        {}
func (Or) isExpr()         {}
func (Not) isExpr()        {}
func (Any) isExpr()        {}
func (Search) isExpr()     {}

// Sort orders by one field; ties are broken by object id.
type Sort struct {
	Field Field
	Desc  bool
}

// Limits on page sizes, as Graph applies them to directory collections.
const (
	DefaultTop = 100
	MaxTop     = 999
)

// Cursor is a keyset position: the sort value and id of the last item
// returned. The Graph layer encodes it into an opaque $skiptoken.
type Cursor struct {
	Value *Value `json:"v,omitempty"`
	ID    string `json:"id"`
}

// List is a whole list request.
type List struct {
	Filter Expr  // nil for all
	Sort   *Sort // nil for id order
	Top    int   // 1..MaxTop; 0 means DefaultTop
	After  *Cursor
	Count  bool // also return the total count of matching items
}

// PageSize returns Top with the default applied.
func (l List) PageSize() int {
	if l.Top <= 0 {
		return DefaultTop
	}
	if l.Top > MaxTop {
		return MaxTop
	}
	return l.Top
}
