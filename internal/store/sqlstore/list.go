package sqlstore

import (
	"strconv"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Paging is keyset paging: a page is "the first n rows after the cursor in
// (sort value, id) order", so a page costs the same wherever it is and no
// row is skipped or repeated when rows are added between pages. The cursor
// holds the SQL sort key of the last row (the folded string, the RFC 3339
// text of a document time) rather than the property's value, because that
// is what the next page compares with. Null sort values are the lowest:
// first in ascending order, last in descending order, in both engines.

// sortKey is a resolved sort order.
type sortKey struct {
	expr     string // "" when the order is by id alone
	cls      class
	nullable bool
	desc     bool
}

func (c *compiler) sortKey(s *query.Sort) (sortKey, error) {
	if s == nil {
		return sortKey{}, nil
	}
	if s.Field.Collection {
		return sortKey{}, errs.E(errs.Invalid, "A collection cannot be sorted by.")
	}
	op, err := c.resolve(s.Field, 0)
	if err != nil {
		return sortKey{}, err
	}
	k := sortKey{expr: op.expr, cls: op.cls, nullable: op.nullable, desc: s.Desc}
	if op.cls == clsID {
		k.expr = ""
	}
	return k, nil
}

// cursorArg is the SQL parameter for a cursor's sort value.
func (k sortKey) cursorArg(v query.Value) any {
	switch k.cls {
	case clsMicros:
		return micros(v.Time)
	case clsBool:
		return v.Bool
	case clsInt:
		return v.Int
	default:
		return v.Str
	}
}

// cursorValue turns a scanned sort key into a cursor value.
func (k sortKey) cursorValue(raw any) (query.Value, error) {
	if raw == nil {
		return query.Value{Null: true}, nil
	}
	bad := errs.E(errs.Internal, "A sort value has an unexpected type.")
	switch k.cls {
	case clsMicros:
		n, ok := raw.(int64)
		if !ok {
			return query.Value{}, bad
		}
		return query.Value{Type: query.Time, Time: fromMicros(n)}, nil
	case clsBool:
		switch b := raw.(type) {
		case bool:
			return query.Value{Type: query.Bool, Bool: b}, nil
		case int64:
			return query.Value{Type: query.Bool, Bool: b != 0}, nil
		}
		return query.Value{}, bad
	case clsInt:
		switch n := raw.(type) {
		case int64:
			return query.Value{Type: query.Int, Int: n}, nil
		case float64:
			return query.Value{Type: query.Int, Int: int64(n)}, nil
		case string:
			i, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(n, 64)
				if ferr != nil {
					return query.Value{}, bad
				}
				i = int64(f)
			}
			return query.Value{Type: query.Int, Int: i}, nil
		}
		return query.Value{}, bad
	default:
		switch s := raw.(type) {
		case string:
			return query.Value{Type: query.String, Str: s}, nil
		case []byte:
			return query.Value{Type: query.String, Str: string(s)}, nil
		}
		return query.Value{}, bad
	}
}

// after writes the keyset condition for rows after cur.
func (k sortKey) after(b *builder, cur *query.Cursor) error {
	gt, lt := " > ", " < "
	if k.desc {
		gt, lt = lt, gt
	}
	if k.expr == "" {
		b.sql("o.id", gt).arg(cur.ID)
		return nil
	}
	if cur.Value == nil {
		return errs.E(errs.Invalid, "The page cursor does not match the sort order.")
	}
	v := *cur.Value
	switch {
	case !k.nullable:
		if v.Null {
			return errs.E(errs.Invalid, "The page cursor does not match the sort order.")
		}
		b.sql("(", k.expr, ", o.id)", gt, "(").arg(k.cursorArg(v)).sql(", ").arg(cur.ID).sql(")")
	case v.Null && !k.desc:
		// Nulls come first: the rest of the nulls, then every non-null.
		b.sql("((", k.expr, " IS NULL AND o.id > ").arg(cur.ID).sql(") OR ", k.expr, " IS NOT NULL)")
	case v.Null && k.desc:
		// Nulls come last: only the rest of the nulls.
		b.sql("(", k.expr, " IS NULL AND o.id < ").arg(cur.ID).sql(")")
	default:
		p := b.ph(k.cursorArg(v))
		b.sql("(", k.expr, gt, p, " OR (", k.expr, " = ", p, " AND o.id", gt).arg(cur.ID).sql(")")
		if k.desc {
			b.sql(" OR ", k.expr, " IS NULL")
		}
		b.sql(")")
	}
	return nil
}

func (k sortKey) orderBy(b *builder) {
	dir := ""
	if k.desc {
		dir = " DESC"
	}
	b.sql(" ORDER BY ")
	if k.expr != "" {
		b.sql(k.expr, dir)
		if k.nullable {
			if k.desc {
				b.sql(" NULLS LAST")
			} else {
				b.sql(" NULLS FIRST")
			}
		}
		b.sql(", ")
	}
	b.sql("o.id", dir)
}

// list runs a listing: base writes the conditions that select the
// candidate rows (tenant, kind, scope or link), kinds decides which
// properties map to columns.
func (t *tx) list(kinds []iam.Kind, base func(*builder), q query.List) (store.Page, error) {
	page := store.Page{Count: -1}
	m := newFieldMap(kinds)
	n := q.PageSize()

	b := newBuilder(t.d)
	c := &compiler{b: b, d: t.d, m: m}
	key, err := c.sortKey(q.Sort)
	if err != nil {
		return page, err
	}
	// A filtered page in id order (Graph's order without $orderby) picks
	// its keys first, in a subquery, and reads only their rows: SQLite
	// sorts whole rows, documents included, so a filter answered by an
	// index range of thousands (a display name prefix) would otherwise
	// read and sort thousands of documents to keep a hundred. The subquery
	// is answered from a covering index when the filter is on columns; it
	// costs one more key lookup per row of the page otherwise. A sorted
	// page is left alone: its index usually yields rows in order already.
	keysFirst := q.Filter != nil && key.expr == ""
	b.sql("SELECT ", objectCols)
	if key.expr != "" {
		b.sql(", ", key.expr)
	}
	b.sql(" FROM objects o WHERE ")
	if keysFirst {
		b.sql("(o.tenant_id, o.kind, o.id) IN (SELECT o.tenant_id, o.kind, o.id FROM objects o WHERE ")
	}
	base(b)
	if q.Filter != nil {
		b.sql(" AND ")
		if err := c.expr(q.Filter); err != nil {
			return page, err
		}
	}
	if q.After != nil {
		b.sql(" AND ")
		if err := key.after(b, q.After); err != nil {
			return page, err
		}
	}
	key.orderBy(b)
	b.sql(" LIMIT ").arg(n + 1)
	if keysFirst {
		b.sql(")")
		key.orderBy(b)
	}

	rows, err := t.query(b, "Listing objects failed.")
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var last any
	for rows.Next() {
		var sk any
		var extra []any
		if key.expr != "" {
			extra = []any{&sk}
		}
		o, err := scanObject(rows, extra...)
		if err != nil {
			return page, t.wrap(err, "Listing objects failed.")
		}
		if len(page.Items) == n {
			// The extra row only says there is a next page.
			page.Next = &query.Cursor{ID: page.Items[n-1].ID}
			if key.expr != "" {
				v, err := key.cursorValue(last)
				if err != nil {
					return page, err
				}
				page.Next.Value = &v
			}
			break
		}
		page.Items = append(page.Items, o)
		last = sk
	}
	if err := rows.Err(); err != nil {
		return page, t.wrap(err, "Listing objects failed.")
	}
	rows.Close()

	if q.Count {
		b := newBuilder(t.d)
		c := &compiler{b: b, d: t.d, m: m}
		b.sql("SELECT COUNT(*) FROM objects o WHERE ")
		base(b)
		if q.Filter != nil {
			b.sql(" AND ")
			if err := c.expr(q.Filter); err != nil {
				return page, err
			}
		}
		if err := t.queryRow(b.String(), b.args...).Scan(&page.Count); err != nil {
			return page, t.wrap(err, "Counting objects failed.")
		}
	}
	return page, nil
}
