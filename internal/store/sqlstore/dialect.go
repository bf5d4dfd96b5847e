package sqlstore

import (
	"regexp"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/query"
)

// Dialect is everything that differs between the SQL engines. It is kept
// small on purpose: the statements themselves are written once, in this
// package, in the SQL both engines accept (row values, ON CONFLICT, WITH
// RECURSIVE, RETURNING, NULLS FIRST/LAST, TRUE/FALSE); a dialect only says
// how to spell a parameter, how to reach into a JSON document, how to fold
// case and how to read the engine's errors.
//
// Every method returning SQL text receives SQL text built by this package
// (column names, validated property names, placeholders), never a value.
type Dialect interface {
	// Placeholder returns the marker of the n-th (1-based) parameter.
	Placeholder(n int) string

	// JSON returns an expression for the scalar at path inside doc, typed
	// for comparison with a parameter of type t: text for String, GUID and
	// Time; a value comparable with a Go bool for Bool; a number for Int.
	// It is NULL when the property is missing, JSON null or (where the
	// engine can tell cheaply) of another JSON type. An empty path denotes
	// doc itself, which is only meaningful for an array element.
	JSON(doc JSONDoc, path []string, t query.Type) string
	// JSONEach returns a FROM item that lists the elements of the array at
	// path inside doc under alias, and the element as a JSONDoc. A missing,
	// null or non-array property yields no rows rather than an error.
	JSONEach(doc JSONDoc, path []string, alias string) (from string, elem JSONDoc)

	// Fold returns the text expression lower-cased, as a value that
	// compares and sorts byte by byte. Filters apply it to both sides of a
	// comparison with a document property, so case-insensitivity is the
	// engine's own and consistent within a statement.
	Fold(expr string) string
	// Bytewise returns the text expression as a value that compares and
	// sorts byte by byte (PostgreSQL otherwise uses the database collation).
	Bytewise(expr string) string
	// DocArg converts a JSON document into the parameter the engine stores
	// in the data column (TEXT for SQLite, whose json functions treat BLOBs
	// as its binary JSONB format; raw JSON for PostgreSQL's JSONB).
	DocArg(doc []byte) any

	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation(err error) bool
	// IsRetryable reports whether err is a serialization failure or
	// deadlock after which the whole transaction may simply be run again.
	IsRetryable(err error) bool
	// IsUnavailable reports whether err means the database cannot be
	// reached (connection refused or lost), as opposed to a bad statement.
	IsUnavailable(err error) bool

	// MigrationLock is a statement run first in the migration transaction
	// so that concurrent migrators (replicas starting together) run one
	// after the other; "" when the write transaction already excludes them.
	MigrationLock() string
}

// JSONDoc names a JSON value in SQL: the object's document or, inside an
// Any, the current array element.
type JSONDoc struct {
	// Expr is the SQL expression of the value ("o.data", "e1.value").
	Expr string
	// Elem marks an element produced by JSONEach; dialects may represent
	// it differently from a document column (SQLite's json_each yields
	// strings unquoted).
	Elem bool
}

// propertyName is what a JSON path segment may look like. Graph property
// names are identifiers; restricting segments to them is what makes it safe
// for dialects to spell paths inside SQL text.
var propertyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// splitPath splits an OData property path ("initiatedBy/user/id") into
// validated segments. The empty path is the empty slice.
func splitPath(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if !propertyName.MatchString(s) {
			return nil, errs.E(errs.Invalid, "Invalid property path %q.", p)
		}
	}
	return segs, nil
}
