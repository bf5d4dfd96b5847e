package odata

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// A $skiptoken is base64url (unpadded) of a compact JSON form of a
// query.Cursor. It is opaque to clients but not secret and not signed: a
// client who edits it can only move its own position in a list, because the
// store applies the cursor inside the caller's tenant and filter. Cursor
// positions are tenant-scoped by the store, so tampering cannot cross
// tenants; Graph's tokens are no stronger.
type wireCursor struct {
	ID   string `json:"i"`
	Type int    `json:"t,omitempty"` // 0: no sort value
	Null bool   `json:"n,omitempty"`
	Str  string `json:"s,omitempty"` // String, GUID
	Bool bool   `json:"b,omitempty"`
	Int  int64  `json:"d,omitempty"`
	Time string `json:"m,omitempty"` // RFC 3339 with nanoseconds, UTC
}

// maxCursorID bounds the id: object ids are GUIDs and domain names.
const maxCursorID = 256

var tokenEncoding = base64.RawURLEncoding.Strict()

// EncodeSkipToken returns the opaque $skiptoken for c.
func EncodeSkipToken(c query.Cursor) string {
	w := wireCursor{ID: c.ID}
	if v := c.Value; v != nil {
		w.Type = int(v.Type)
		w.Null = v.Null
		if !v.Null {
			switch v.Type {
			case query.String, query.GUID:
				w.Str = v.Str
			case query.Bool:
				w.Bool = v.Bool
			case query.Int:
				w.Int = v.Int
			case query.Time:
				w.Time = v.Time.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	b, err := json.Marshal(w)
	if err != nil { // cannot happen: the struct has only plain fields
		panic("odata: encoding a cursor: " + err.Error())
	}
	return tokenEncoding.EncodeToString(b)
}

// DecodeSkipToken parses a $skiptoken made by EncodeSkipToken. Anything else
// is Request_BadRequest "$skiptoken is invalid", whatever the reason, so the
// error tells a prober nothing about the format.
func DecodeSkipToken(tok string) (query.Cursor, error) {
	c, ok := decodeSkipToken(tok)
	if !ok {
		return query.Cursor{}, invalidSkipToken()
	}
	return c, nil
}

func invalidSkipToken() *errs.Error { return badRequest("$skiptoken is invalid") }

func decodeSkipToken(tok string) (query.Cursor, bool) {
	if tok == "" || len(tok) > maxSkipTokenLen || strings.ContainsAny(tok, "\r\n") {
		return query.Cursor{}, false
	}
	raw, err := tokenEncoding.DecodeString(tok)
	if err != nil {
		return query.Cursor{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var w wireCursor
	if err := dec.Decode(&w); err != nil {
		return query.Cursor{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return query.Cursor{}, false
	}
	if !validText(w.ID, maxCursorID) || w.ID == "" {
		return query.Cursor{}, false
	}
	c := query.Cursor{ID: w.ID}
	if w.Type == 0 {
		if w != (wireCursor{ID: w.ID}) {
			return query.Cursor{}, false
		}
		return c, true
	}
	v, ok := w.value()
	if !ok {
		return query.Cursor{}, false
	}
	c.Value = &v
	return c, true
}

// value checks that only the field of w's type is set and returns the value.
func (w wireCursor) value() (query.Value, bool) {
	t := query.Type(w.Type)
	if t < query.String || t > query.GUID {
		return query.Value{}, false
	}
	v := query.Value{Type: t, Null: w.Null}
	rest := wireCursor{ID: w.ID, Type: w.Type, Null: w.Null}
	if !w.Null {
		switch t {
		case query.String:
			if !utf8.ValidString(w.Str) || strings.ContainsRune(w.Str, 0) {
				return query.Value{}, false
			}
			v.Str, rest.Str = w.Str, w.Str
		case query.GUID:
			g, ok := iam.NormalizeGUID(w.Str)
			if !ok {
				return query.Value{}, false
			}
			v.Str, rest.Str = g, w.Str
		case query.Bool:
			v.Bool, rest.Bool = w.Bool, w.Bool
		case query.Int:
			v.Int, rest.Int = w.Int, w.Int
		case query.Time:
			tm, ok := parseTime(w.Time)
			if !ok {
				return query.Value{}, false
			}
			v.Time, rest.Time = tm, w.Time
		}
	}
	return v, w == rest
}

// validText reports whether s is valid UTF-8 without control characters
// and at most max bytes: an id goes back to the store as a query parameter.
func validText(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// parseTime parses an RFC 3339 timestamp into UTC. It refuses instants
// whose UTC year is outside 1..9999 ("0000-01-01T00:00:00+01:00"), which
// could not be written back in the same format.
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}
