// Package odata parses Microsoft Graph's OData query options ($filter,
// $select, $orderby, $top, $count, $search, $expand, $skiptoken) into
// storage-neutral query values, checked against an entity's Schema.
//
// Graph clients probe what a server supports and branch on the error codes
// they get back, so the checks follow Graph's documented behaviour closely:
// which operator works on which property, which need "advanced mode" (the
// header ConsistencyLevel: eventual together with $count=true), and which
// combinations are refused. The package is pure (no I/O, no clock) and is
// fuzzed, because every byte it reads comes from the network.
package odata

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Limits against hostile input. Graph's own limits are not all documented;
// these are far above what real clients send and keep parsing cheap.
const (
	// MaxFilterLen caps $filter and $search, in bytes.
	MaxFilterLen = 4096
	// MaxDepth caps nesting of parentheses, not and lambdas.
	MaxDepth = 32
	// MaxInValues is Graph's limit on the values of one "in" list.
	MaxInValues = 15
	// MaxNodes caps the clauses of one $filter or $search.
	MaxNodes = 256
	// maxOptionLen caps the other options ($select, $orderby, $expand).
	maxOptionLen = 4096
	// maxSkipTokenLen caps $skiptoken before it is decoded.
	maxSkipTokenLen = 4096
)

// Request is a parsed list request.
type Request struct {
	// List carries Filter (with $search folded in), Sort, Top (always set),
	// After and Count (true only when $count=true is honoured).
	List query.List
	// Select is the explicit $select in the schema's canonical case, or nil
	// without $select. Projection applies the default set.
	Select []string
	// Expand lists the navigation properties to expand, or nil: one for
	// directory objects, several for schemas with ExpandMany.
	Expand []Expand
	// CountRequested reports $count=true, honoured or not; without
	// ConsistencyLevel: eventual Graph ignores it silently.
	CountRequested bool
	// Advanced reports an advanced query: ConsistencyLevel: eventual with
	// $count=true or $search. The store may answer it from eventually
	// consistent data.
	Advanced bool

	schema *Schema
}

// Expand is "$expand=members($select=id,displayName)".
type Expand struct {
	Property string   // canonical name of the navigation property
	Select   []string // nested $select, canonical; nil for the default
	// Single and Target come from the schema's Nav: a single-valued
	// property renders as an object (or null), a collection as an array;
	// Target is KindDirectoryObject for polymorphic links.
	Single bool
	Target iam.Kind
}

// Projection returns the properties to return: the explicit $select, else
// the schema's default set. Nil means every property.
func (r *Request) Projection() []string {
	if r.Select != nil {
		return r.Select
	}
	if r.schema != nil {
		return r.schema.DefaultSelect
	}
	return nil
}

// knownOptions are the system query options Parse understands.
var knownOptions = map[string]bool{
	"$filter": true, "$select": true, "$orderby": true, "$top": true,
	"$count": true, "$search": true, "$expand": true, "$skiptoken": true,
}

// Parse reads the OData query options of a list request on an entity set
// described by s. consistencyEventual is whether the request carries the
// header "ConsistencyLevel: eventual". Parameters not starting with "$" are
// ignored (Graph ignores them too); option names are case-insensitive.
// Errors are *errs.Error with code Request_BadRequest (kind Invalid) or
// Request_UnsupportedQuery (kind Unsupported).
func Parse(v url.Values, consistencyEventual bool, s *Schema) (*Request, error) {
	opts, err := options(v)
	if err != nil {
		return nil, err
	}
	req := &Request{schema: s}
	req.List.Top = query.DefaultTop

	if val, ok := opts["$count"]; ok {
		switch {
		case strings.EqualFold(val, "true"):
			req.CountRequested = true
		case strings.EqualFold(val, "false"):
		default:
			return nil, badRequest("Invalid value '%s' for query option '$count': expected true or false.", val)
		}
	}
	// Advanced mode needs both the header and $count=true; $count=true
	// alone is ignored, as Graph does.
	adv := consistencyEventual && req.CountRequested
	req.List.Count = adv
	_, hasSearch := opts["$search"]
	req.Advanced = adv || consistencyEventual && hasSearch

	if val, ok := opts["$filter"]; ok {
		f, err := parseFilter(val, s)
		if err != nil {
			return nil, err
		}
		if f.needAdv != "" && !adv {
			return nil, needsAdvanced(f.needAdv)
		}
		req.List.Filter = f.expr
	}
	if val, ok := opts["$search"]; ok {
		if !consistencyEventual {
			return nil, unsupported("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		if !s.searchable() {
			return nil, unsupported("$search is not supported on resource '%s'.", s.Resource)
		}
		x, err := parseSearch(val, s)
		if err != nil {
			return nil, err
		}
		if req.List.Filter == nil {
			req.List.Filter = x
		} else {
			req.List.Filter = query.And(appendFlat[query.And](appendFlat[query.And](nil, req.List.Filter), x))
		}
	}
	if val, ok := opts["$orderby"]; ok {
		srt, err := parseOrderBy(val, s, adv, opts["$filter"] != "")
		if err != nil {
			return nil, err
		}
		req.List.Sort = srt
	} else if s.DefaultSort != nil {
		srt := *s.DefaultSort
		req.List.Sort = &srt
	}
	if val, ok := opts["$top"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 1 || n > query.MaxTop {
			return nil, badRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", val, query.MaxTop)
		}
		req.List.Top = n
	}
	if val, ok := opts["$select"]; ok {
		if req.Select, err = parseSelect(val, s, s); err != nil {
			return nil, err
		}
	}
	if val, ok := opts["$expand"]; ok {
		if req.Advanced {
			return nil, badRequest("$expand is not supported together with advanced query parameters ($count=true or $search with ConsistencyLevel: eventual).")
		}
		if req.Expand, err = parseExpand(val, s); err != nil {
			return nil, err
		}
	}
	if val, ok := opts["$skiptoken"]; ok {
		c, err := DecodeSkipToken(val)
		if err != nil {
			return nil, err
		}
		// A token made for another sort cannot position this one.
		if srt := req.List.Sort; srt != nil && c.Value != nil && c.Value.Type != srt.Field.Type {
			return nil, invalidSkipToken()
		}
		req.List.After = &c
	}
	return req, nil
}

// options collects the $-options of v under lower-case names, refusing
// unknown, repeated and malformed ones.
func options(v url.Values) (map[string]string, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		if strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	opts := make(map[string]string, len(keys))
	for _, k := range keys {
		name := strings.ToLower(k)
		if name == "$skip" {
			return nil, badRequest("'$skip' is not supported by the service.")
		}
		if !knownOptions[name] {
			return nil, badRequest("The query parameter '%s' is not supported.", k)
		}
		if _, dup := opts[name]; dup || len(v[k]) != 1 {
			return nil, badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", k)
		}
		val := v[k][0]
		if !utf8.ValidString(val) || strings.ContainsRune(val, 0) {
			return nil, badRequest("The query option '%s' is not valid UTF-8 text.", k)
		}
		// $filter, $search and $skiptoken have limits of their own.
		if (name == "$select" || name == "$orderby" || name == "$expand") && len(val) > maxOptionLen {
			return nil, badRequest("The query option '%s' is too long.", k)
		}
		opts[name] = val
	}
	return opts, nil
}

// parseOrderBy reads "prop", "prop asc" or "prop desc". Graph's directory
// sorts by one property only.
func parseOrderBy(val string, s *Schema, adv, filtered bool) (*query.Sort, error) {
	if strings.Contains(val, ",") {
		return nil, unsupported("Sorting by more than one property is not supported.")
	}
	words := strings.Fields(val)
	if len(words) == 0 || len(words) > 2 {
		return nil, badRequest("Syntax error in $orderby '%s': expected a property and optional asc or desc.", val)
	}
	desc := false
	if len(words) == 2 {
		switch strings.ToLower(words[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return nil, badRequest("Syntax error in $orderby '%s': expected asc or desc after the property.", val)
		}
	}
	prop := s.Prop(words[0])
	if prop == nil {
		return nil, noSuchProperty(s, words[0])
	}
	switch prop.OrderBy {
	case None:
		return nil, unsupported("Sorting by property '%s' of resource '%s' is not supported.", prop.Name, s.Resource)
	case Advanced:
		if !adv {
			return nil, unsupported("Sorting not supported for current query.")
		}
	}
	// Graph refuses $filter with $orderby outside advanced mode on directory
	// objects; SortWithFilter None refuses the combination outright.
	if filtered && (s.SortWithFilter == None || s.SortWithFilter == Advanced && !adv) {
		return nil, unsupported("Sorting not supported for current query.")
	}
	return &query.Sort{Field: query.Field{Path: prop.Name, Type: prop.Type}, Desc: desc}, nil
}

// parseSelect reads a comma list of properties of s into canonical names,
// dropping repeats. msg names the type in errors (the entity, or the
// expanded property's target).
func parseSelect(val string, s, msg *Schema) ([]string, error) {
	parts := strings.Split(val, ",")
	out := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for _, part := range parts {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, badRequest("Syntax error in $select '%s': empty property name.", val)
		}
		prop := s.Prop(name)
		if prop == nil || !prop.Select {
			return nil, noSuchProperty(msg, name)
		}
		if !seen[prop.Name] {
			seen[prop.Name] = true
			out = append(out, prop.Name)
		}
	}
	return out, nil
}

// parseExpand reads a list of "nav" or "nav($select=a,b)" items. Graph
// expands one navigation property per directory request; schemas with
// ExpandMany (the RBAC entities: $expand=principal,roleDefinition) take
// several, each at most once.
func parseExpand(val string, s *Schema) ([]Expand, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(val); i++ {
		switch val[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				if !s.ExpandMany {
					return nil, badRequest("Only one navigation property can be expanded per request.")
				}
				parts = append(parts, val[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, val[start:])
	out := make([]Expand, 0, len(parts))
	for _, part := range parts {
		exp, err := parseExpandItem(part, s)
		if err != nil {
			return nil, err
		}
		for _, prev := range out {
			if prev.Property == exp.Property {
				return nil, badRequest("The navigation property '%s' is expanded more than once.", exp.Property)
			}
		}
		out = append(out, *exp)
	}
	return out, nil
}

// parseExpandItem reads one "nav" or "nav($select=a,b)".
func parseExpandItem(val string, s *Schema) (*Expand, error) {
	val = strings.TrimSpace(val)
	name, inner, hasOpts := strings.Cut(val, "(")
	name = strings.TrimSpace(name)
	if hasOpts {
		if !strings.HasSuffix(inner, ")") {
			return nil, badRequest("Syntax error in $expand '%s': missing ')'.", val)
		}
		inner = inner[:len(inner)-1]
		if strings.ContainsAny(inner, "()") {
			return nil, badRequest("Syntax error in $expand '%s': nested options cannot contain parentheses.", val)
		}
	}
	if name == "" {
		return nil, badRequest("Syntax error in $expand '%s': navigation property expected.", val)
	}
	nav := s.nav(name)
	if nav == nil {
		return nil, noSuchProperty(s, name)
	}
	exp := &Expand{Property: nav.Name, Single: nav.Single, Target: nav.Target}
	if !hasOpts {
		return exp, nil
	}
	target := SchemaFor(nav.Target)
	seenSelect := false
	for _, opt := range strings.Split(inner, ";") {
		k, v, ok := strings.Cut(opt, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "$select" || !ok {
			return nil, badRequest("Query option '%s' is not supported inside $expand.", strings.TrimSpace(opt))
		}
		if seenSelect {
			return nil, badRequest("Query option '$select' was specified more than once in $expand.")
		}
		seenSelect = true
		if target == nil {
			return nil, badRequest("$select is not supported inside $expand=%s.", nav.Name)
		}
		sel, err := parseSelect(v, target, target)
		if err != nil {
			return nil, err
		}
		exp.Select = sel
	}
	return exp, nil
}
