package odata

import (
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/query"
)

// Graph's error codes for query options. Clients branch on these, so every
// error this package returns carries one of them; the messages copy Graph's
// where we know them.
const (
	CodeBadRequest       = "Request_BadRequest"
	CodeUnsupportedQuery = "Request_UnsupportedQuery"
)

func badRequest(format string, args ...any) *errs.Error {
	return errs.E(errs.Invalid, format, args...).WithCode(CodeBadRequest)
}

func unsupported(format string, args ...any) *errs.Error {
	return errs.E(errs.Unsupported, format, args...).WithCode(CodeUnsupportedQuery)
}

// unsupportedClause is Graph's answer to an operator a property does not
// support at all.
func unsupportedClause(s *Schema, prop string) *errs.Error {
	return unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, s.Resource)
}

// needsAdvanced is Graph's answer to an operator that works only in advanced
// mode when the request is not in it. Graph's message has no final period.
func needsAdvanced(op string) *errs.Error {
	return unsupported("Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information", op)
}

func noSuchProperty(s *Schema, name string) *errs.Error {
	return badRequest("Could not find a property named '%s' on type '%s'.", name, s.Type)
}

func syntaxError(src string, pos int, what string) *errs.Error {
	return badRequest("Syntax error at position %d in '%s': %s.", pos, src, what)
}

// edmName is the OData name of a type, as Graph's type errors print it.
func edmName(t query.Type) string {
	switch t {
	case query.String:
		return "Edm.String"
	case query.Bool:
		return "Edm.Boolean"
	case query.Int:
		return "Edm.Int64"
	case query.Time:
		return "Edm.DateTimeOffset"
	case query.GUID:
		return "Edm.Guid"
	}
	return "complex"
}
