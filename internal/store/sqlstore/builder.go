package sqlstore

import "strings"

// builder accumulates one statement and its arguments. Values only ever
// enter a statement through arg, as numbered placeholders; SQL text comes
// from constants in this package, validated property names and the dialect.
// Numbered placeholders (?NNN in SQLite, $n in PostgreSQL) let a fragment be
// produced before it is written without losing track of argument order.
type builder struct {
	d    Dialect
	sb   strings.Builder
	args []any
}

func newBuilder(d Dialect) *builder { return &builder{d: d} }

// sql appends SQL text.
func (b *builder) sql(parts ...string) *builder {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
	return b
}

// ph records v as the next argument and returns its placeholder, for
// fragments that need to wrap it (Fold(?)).
func (b *builder) ph(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

// arg appends a placeholder for v.
func (b *builder) arg(v any) *builder {
	b.sb.WriteString(b.ph(v))
	return b
}

// list appends "(?, ?, ...)" for vs.
func (b *builder) list(vs []string) *builder {
	b.sb.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.sb.WriteString(", ")
		}
		b.arg(v)
	}
	b.sb.WriteByte(')')
	return b
}

func (b *builder) String() string { return b.sb.String() }
