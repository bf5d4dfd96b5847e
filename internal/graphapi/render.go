package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"strconv"
	"strings"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/web"
)

// item is one object to render: its kind and JSON document.
type item struct {
	kind iam.Kind
	data []byte
}

func itemOf(kind iam.Kind, v any) (item, error) {
	b, err := web.Marshal(v)
	if err != nil {
		return item{}, errs.Wrap(errs.Internal, err, "encode response")
	}
	return item{kind: kind, data: b}, nil
}

func itemsOf(objs []directory.Object) []item {
	out := make([]item, len(objs))
	for i, o := range objs {
		out[i] = item{kind: o.Kind, data: o.Data}
	}
	return out
}

// view says how to render items: which properties, whether to add
// "@odata.type" (polymorphic sets), and what to expand.
type view struct {
	sel       []string
	defaults  map[iam.Kind][]string
	typed     bool
	expand    []odata.Expand
	expansion expansion
}

// expansion holds expanded items by navigation property, then by the id of
// the object they belong to.
type expansion map[string]map[string][]item

// project keeps the selected properties of one document (or the kind's
// default set, or everything) and adds annotations.
func (v *view) project(it item) (map[string]json.RawMessage, error) {
	all, err := members(it.data)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decode object")
	}
	delete(all, "x_verificationCode")
	keep := v.sel
	if len(keep) == 0 {
		keep = v.defaults[it.kind]
	}
	out := all
	if len(keep) > 0 {
		out = make(map[string]json.RawMessage, len(keep)+2)
		for _, k := range keep {
			if val, ok := all[k]; ok {
				out[k] = val
			} else {
				out[k] = json.RawMessage("null")
			}
		}
		// Graph always returns the id of directory objects in $select lists
		// only when asked; the SDKs need @odata.type more than id.
	}
	if v.typed && it.kind != "" {
		out["@odata.type"] = json.RawMessage(strconv.Quote(it.kind.ODataType()))
	}
	if v.expansion != nil {
		var id string
		_ = json.Unmarshal(all["id"], &id)
		id = strings.ToLower(id)
		for _, exp := range v.expand {
			b, err := v.expanded(exp, v.expansion[exp.Property][id])
			if err != nil {
				return nil, err
			}
			out[exp.Property] = b
		}
	}
	return out, nil
}

// expanded renders one expanded navigation property: an object or null
// when single-valued, else an array. "@odata.type" is added when the
// property is polymorphic (directoryObject), so the SDKs pick the model.
func (v *view) expanded(exp odata.Expand, list []item) (json.RawMessage, error) {
	sub := &view{sel: exp.Select, typed: exp.Target == odata.KindDirectoryObject, defaults: v.defaults}
	if exp.Single {
		if len(list) == 0 {
			return json.RawMessage("null"), nil
		}
		m, err := sub.project(list[0])
		if err != nil {
			return nil, err
		}
		return web.Marshal(m)
	}
	arr := make([]map[string]json.RawMessage, 0, len(list))
	for _, e := range list {
		m, err := sub.project(e)
		if err != nil {
			return nil, err
		}
		arr = append(arr, m)
	}
	return web.Marshal(arr)
}

// members is json.Unmarshal of a document into map[string]json.RawMessage,
// with the same result, at a tenth of the cost: every response renders its
// objects through it, and Unmarshal decodes each value only to copy its
// bytes. Once json.Valid has vouched for the document, its top-level
// members are split by hand, each value a slice of data. A document that
// is not an object, or has a key that would need unescaping, goes to
// json.Unmarshal.
func members(data []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(data) {
		var m map[string]json.RawMessage
		return m, json.Unmarshal(data, &m)
	}
	if m, ok := splitMembers(data); ok {
		return m, nil
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(data, &m)
}

// splitMembers splits a valid JSON object into its members; ok is false
// when data is not an object or a key has an escape or non-ASCII byte.
func splitMembers(data []byte) (m map[string]json.RawMessage, ok bool) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return nil, false
	}
	m = make(map[string]json.RawMessage, 32)
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return m, true
	}
	for {
		j := i + 1 // data[i] is the key's opening quote
		for data[j] != '"' {
			if data[j] == '\\' || data[j] >= 0x80 {
				return nil, false
			}
			j++
		}
		key := string(data[i+1 : j])
		i = skipSpace(data, skipSpace(data, j+1)+1) // past the colon
		end := valueEnd(data, i)
		m[key] = data[i:end:end]
		i = skipSpace(data, end)
		if data[i] == '}' {
			return m, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// valueEnd returns the index just past the valid JSON value at data[i].
func valueEnd(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// contextURL builds "@odata.context" for an entity set or entity.
func (s *Server) contextURL(rc *reqCtx, set string, sel []string, entity bool) string {
	u := s.publicURL + "/" + rc.version + "/$metadata#" + set
	if len(sel) > 0 {
		u += "(" + strings.Join(sel, ",") + ")"
	}
	if entity {
		u += "/$entity"
	}
	return u
}

// writeEntity renders one object.
func (s *Server) writeEntity(w http.ResponseWriter, rc *reqCtx, status int, set string, it item, v *view) error {
	m, err := v.project(it)
	if err != nil {
		return err
	}
	m["@odata.context"] = json.RawMessage(strconv.Quote(s.contextURL(rc, set, v.sel, true)))
	web.WriteJSON(w, status, m)
	return nil
}

// writeList renders a collection page with its count and next link.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, rc *reqCtx, set string, items []item, next *query.Cursor, count int64, countRequested bool, v *view) error {
	values := make([]map[string]json.RawMessage, 0, len(items))
	for _, it := range items {
		m, err := v.project(it)
		if err != nil {
			return err
		}
		values = append(values, m)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":`)
	writeJSONString(&buf, s.contextURL(rc, set, v.sel, false))
	if countRequested && count >= 0 {
		buf.WriteString(`,"@odata.count":` + strconv.FormatInt(count, 10))
	}
	if next != nil {
		buf.WriteString(`,"@odata.nextLink":`)
		writeJSONString(&buf, s.nextLink(r, *next))
	}
	buf.WriteString(`,"value":`)
	b, err := web.Marshal(values)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode list")
	}
	buf.Write(b)
	buf.WriteByte('}')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := web.Marshal(s)
	buf.Write(b)
}

// nextLink is the absolute URL of the next page on the public URL: the same
// request with a new $skiptoken.
func (s *Server) nextLink(r *http.Request, c query.Cursor) string {
	q := r.URL.Query()
	q.Set("$skiptoken", odata.EncodeSkipToken(c))
	// Keep "$" unescaped, as Graph's own links do.
	enc := strings.ReplaceAll(q.Encode(), "%24", "$")
	return s.publicURL + r.URL.EscapedPath() + "?" + enc
}

// parse parses a request's OData options against schema.
func parse(r *http.Request, schema *odata.Schema) (*odata.Request, error) {
	return odata.Parse(r.URL.Query(), eventual(r), schema)
}

// eventual reports whether the request asked for advanced query mode.
func eventual(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
}

// castName returns the type name of a qualified type-cast segment. Graph's
// namespace is microsoft.graph and its $metadata declares the alias
// "graph", which is just as valid in a URL; the Graph SDKs use the alias in
// every cast (msgraph-sdk-go: /directory/deletedItems/graph.user).
func castName(seg string) (string, bool) {
	if name, ok := strings.CutPrefix(seg, "microsoft.graph."); ok {
		return name, true
	}
	return strings.CutPrefix(seg, "graph.")
}

// castKinds maps a type-cast segment ("microsoft.graph.user", or
// "graph.user" with the namespace alias) to kinds.
func castKinds(seg string) ([]iam.Kind, error) {
	if seg == "" {
		return nil, nil
	}
	name, ok := castName(seg)
	if !ok {
		return nil, errs.E(errs.Invalid, "Resource not found for the segment '%s'.", seg).WithCode("BadRequest")
	}
	for _, k := range iam.DirectoryKinds {
		if strings.EqualFold(string(k), name) {
			return []iam.Kind{k}, nil
		}
	}
	return nil, errs.E(errs.Invalid, "Type '%s' is not a directory object type.", seg).WithCode("BadRequest")
}

// countOnly answers a "/$count" segment: a bare integer as text/plain,
// available only with ConsistencyLevel: eventual, as in Graph.
func countOnly(w http.ResponseWriter, r *http.Request, count func(query.List) (int64, error)) error {
	if !eventual(r) {
		return errs.E(errs.Invalid, "$count is not currently supported.").WithCode("Request_BadRequest")
	}
	n, err := count(query.List{Top: 1, Count: true})
	if err != nil {
		return err
	}
	return writeCount(w, n)
}

// writeCount writes a "/$count" answer: the bare integer as text/plain.
func writeCount(w http.ResponseWriter, n int64) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strconv.FormatInt(n, 10)))
	return nil
}
