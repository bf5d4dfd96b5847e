package directory

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/ostiary/ostiary/internal/errs"
)

// Patch is a Graph PATCH body: a JSON object whose members replace the
// properties of the same name (arrays and complex values are replaced whole,
// null clears), as Graph applies updates to directory objects.
type Patch []byte

// fieldsOf returns the JSON property names of struct type t, including
// those of embedded structs, cached per type.
func fieldsOf(t reflect.Type) map[string]bool {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]bool)
	}
	out := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name != "" && name != "-" {
				out[name] = true
			}
		}
	}
	walk(t)
	fieldCache.Store(t, out)
	return out
}

var fieldCache sync.Map

// keys returns the members of a patch, rejecting anything but an object.
func (p Patch) keys() (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(p))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, badRequest("The request body must be a JSON object.")
	}
	if dec.More() {
		return nil, badRequest("The request body must be a single JSON object.")
	}
	return m, nil
}

// applyPatch merges p onto doc (a pointer to a directory type). typeName
// names the type in errors. readOnly properties may not appear at all
// unless their value is unchanged; "@odata.*" annotations and
// "x@odata.bind" members are returned to the caller instead of applied.
func applyPatch(doc any, p Patch, typeName string, readOnly ...string) (binds map[string]json.RawMessage, err error) {
	members, err := p.keys()
	if err != nil {
		return nil, err
	}
	known := fieldsOf(reflect.TypeOf(doc).Elem())
	before, _ := json.Marshal(doc)
	var current map[string]json.RawMessage
	_ = json.Unmarshal(before, &current)
	filtered := map[string]json.RawMessage{}
	for k, v := range members {
		switch {
		case strings.HasSuffix(k, "@odata.bind"):
			if binds == nil {
				binds = map[string]json.RawMessage{}
			}
			binds[strings.TrimSuffix(k, "@odata.bind")] = v
			continue
		case strings.HasPrefix(k, "@odata."):
			continue
		case !known[k]:
			return nil, badRequest("Property '%s' does not exist on type '%s'.", k, typeName)
		}
		for _, ro := range readOnly {
			if k == ro && !jsonEqual(current[k], v) {
				return nil, badRequest("Property '%s' is read-only and cannot be set.", k)
			}
		}
		filtered[k] = v
	}
	// Merge at the level of top-level members, then decode into a zeroed
	// value: decoding over the existing value would merge into existing
	// array elements and pointed-to structs, but Graph replaces a property's
	// value whole.
	for k, v := range filtered {
		current[k] = v
	}
	if current == nil {
		current = filtered
	}
	merged, _ := json.Marshal(current)
	fresh := reflect.New(reflect.TypeOf(doc).Elem())
	if err := json.Unmarshal(merged, fresh.Interface()); err != nil {
		return nil, badRequest("Invalid value specified for property: %s", describeJSONError(err))
	}
	reflect.ValueOf(doc).Elem().Set(fresh.Elem())
	return binds, nil
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		te = e
		return "'" + te.Field + "' must be of type " + te.Type.String()
	}
	return "the value is malformed"
}

// decodeBody decodes a create body into doc, with the same rules as a patch
// applied to an empty object.
func decodeBody(doc any, body Patch, typeName string) (map[string]json.RawMessage, error) {
	return applyPatch(doc, body, typeName)
}

// errInternal wraps an unexpected error.
func errInternal(err error, what string) error { return errs.Wrap(errs.Internal, err, "%s", what) }
