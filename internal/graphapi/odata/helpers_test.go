package odata

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/query"
)

// Builders that keep the expected trees readable.

func fld(path string, t query.Type) query.Field { return query.Field{Path: path, Type: t} }

func coll(path string, t query.Type) query.Field {
	return query.Field{Path: path, Type: t, Collection: true}
}

func strV(s string) query.Value  { return query.Value{Type: query.String, Str: s} }
func guidV(s string) query.Value { return query.Value{Type: query.GUID, Str: s} }
func boolV(b bool) query.Value   { return query.Value{Type: query.Bool, Bool: b} }
func timeV(s string) query.Value {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return query.Value{Type: query.Time, Time: t.UTC()}
}
func nullV(t query.Type) query.Value { return query.Value{Type: t, Null: true} }

func eq(f query.Field, v query.Value) query.Cmp { return query.Cmp{Field: f, Op: query.Eq, Value: v} }

func cmp(f query.Field, op query.Op, v query.Value) query.Cmp {
	return query.Cmp{Field: f, Op: op, Value: v}
}

var (
	displayName = fld("displayName", query.String)
	userID      = fld("id", query.GUID)
)

// parseF parses a $filter on s, in advanced mode when adv is set.
func parseF(s *Schema, filter string, adv bool) (*Request, error) {
	v := url.Values{"$filter": {filter}}
	if adv {
		v.Set("$count", "true")
	}
	return Parse(v, adv, s)
}

// checkErr asserts that err is an *errs.Error of the kind that goes with
// code and, when msg is not empty, that its message is msg, or contains msg
// when msg starts with "~".
func checkErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *errs.Error", err, err)
	}
	wantKind := map[string]errs.Kind{CodeBadRequest: errs.Invalid, CodeUnsupportedQuery: errs.Unsupported}[code]
	if e.Code != code || e.Kind != wantKind {
		t.Fatalf("error %v: code %q kind %v, want %q %v", err, e.Code, e.Kind, code, wantKind)
	}
	switch {
	case msg == "":
	case strings.HasPrefix(msg, "~"):
		if !strings.Contains(e.Message, msg[1:]) {
			t.Fatalf("message %q does not contain %q", e.Message, msg[1:])
		}
	case e.Message != msg:
		t.Fatalf("message\n got %q\nwant %q", e.Message, msg)
	}
}

// formatFilter prints a filter tree back as OData, so tests can check that
// what the parser accepts survives a round trip. Every And and Or term is
// parenthesised, so re-parsing flattens exactly as the first parse did.
func formatFilter(x query.Expr) string {
	var b strings.Builder
	formatExpr(&b, x, "")
	return b.String()
}

func formatField(f query.Field, v string) string {
	switch {
	case v == "":
		return f.Path
	case f.Path == "":
		return v
	}
	return v + "/" + f.Path
}

func formatValue(v query.Value) string {
	if v.Null {
		return "null"
	}
	switch v.Type {
	case query.String:
		return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
	case query.GUID:
		return v.Str
	case query.Bool:
		return fmt.Sprint(v.Bool)
	case query.Int:
		return fmt.Sprint(v.Int)
	case query.Time:
		return v.Time.Format(time.RFC3339Nano)
	}
	return "?"
}

// formatExpr writes x; v is the innermost lambda variable ("" outside).
// Lambda variables are named by depth, which is enough for a round trip.
func formatExpr(b *strings.Builder, x query.Expr, v string) {
	switch x := x.(type) {
	case query.Cmp:
		fmt.Fprintf(b, "%s %s %s", formatField(x.Field, v), x.Op, formatValue(x.Value))
	case query.In:
		fmt.Fprintf(b, "%s in (", formatField(x.Field, v))
		for i, val := range x.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(formatValue(val))
		}
		b.WriteString(")")
	case query.StartsWith:
		fmt.Fprintf(b, "startsWith(%s, %s)", formatField(x.Field, v), formatValue(strV(x.Prefix)))
	case query.EndsWith:
		fmt.Fprintf(b, "endsWith(%s, %s)", formatField(x.Field, v), formatValue(strV(x.Suffix)))
	case query.And:
		formatJoin(b, []query.Expr(x), " and ", v)
	case query.Or:
		formatJoin(b, []query.Expr(x), " or ", v)
	case query.Not:
		b.WriteString("not (")
		formatExpr(b, x.X, v)
		b.WriteString(")")
	case query.Any:
		inner := "x" + fmt.Sprint(len(v))
		fmt.Fprintf(b, "%s/any(%s: ", formatField(x.Field, v), inner)
		formatExpr(b, x.Pred, inner)
		b.WriteString(")")
	default:
		fmt.Fprintf(b, "<%T>", x)
	}
}

func formatJoin(b *strings.Builder, terms []query.Expr, sep, v string) {
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString("(")
		formatExpr(b, t, v)
		b.WriteString(")")
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
