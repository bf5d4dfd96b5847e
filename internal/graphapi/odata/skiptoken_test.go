package odata

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/query"
)

func skipTokenSeeds() []query.Cursor {
	ts := time.Date(2024, 5, 18, 19, 3, 10, 123456789, time.UTC)
	return []query.Cursor{
		{ID: g1},
		{ID: "contoso.com"},
		{ID: g1, Value: &query.Value{Type: query.String, Str: "Zoë \"quoted\" 李"}},
		{ID: g1, Value: &query.Value{Type: query.String}},
		{ID: g1, Value: &query.Value{Type: query.GUID, Str: g2}},
		{ID: g1, Value: &query.Value{Type: query.Bool, Bool: true}},
		{ID: g1, Value: &query.Value{Type: query.Bool}},
		{ID: g1, Value: &query.Value{Type: query.Int, Int: -42}},
		{ID: g1, Value: &query.Value{Type: query.Time, Time: ts}},
		{ID: g1, Value: &query.Value{Type: query.Time, Null: true}},
		{ID: g1, Value: &query.Value{Type: query.String, Null: true}},
	}
}

func TestSkipTokenRoundTrip(t *testing.T) {
	for _, c := range skipTokenSeeds() {
		tok := EncodeSkipToken(c)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not unpadded base64url", tok)
		}
		got, err := DecodeSkipToken(tok)
		if err != nil {
			t.Fatalf("DecodeSkipToken(%q) for %+v: %v", tok, c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %+v: got %+v", c, got)
		}
	}
}

func TestSkipTokenTimeIsUTC(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	c := query.Cursor{ID: g1, Value: &query.Value{Type: query.Time, Time: time.Date(2024, 5, 18, 21, 0, 0, 0, paris)}}
	got, err := DecodeSkipToken(EncodeSkipToken(c))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Value.Time.Equal(c.Value.Time) || got.Value.Time.Location() != time.UTC {
		t.Fatalf("got %v", got.Value.Time)
	}
}

func TestSkipTokenInvalid(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tok := range []string{
		"",
		"!!!",
		"eyJpIjoiYSJ9=", // padded
		base64.URLEncoding.EncodeToString([]byte(`{"i":"ab"}`)), // padded
		b64(`not json`),
		b64(`{"i":"a"} {}`),    // trailing value
		b64(`{"i":"a","x":1}`), // unknown field
		b64(`{"i":""}`),        // empty id
		b64(`{"i":"a\u0000"}`), // control character in id
		b64(`{"i":"` + strings.Repeat("a", 300) + `"}`),
		b64(`{"i":"a","s":"x"}`),        // value field without a type
		b64(`{"i":"a","t":9}`),          // unknown type
		b64(`{"i":"a","t":-1}`),         // unknown type
		b64(`{"i":"a","t":1,"b":true}`), // field of another type
		b64(`{"i":"a","t":1,"n":true,"s":"x"}`),
		b64(`{"i":"a","t":5,"s":"nope"}`),
		b64(`{"i":"a","t":4}`), // time without a value
		b64(`{"i":"a","t":4,"m":"yesterday"}`),
		b64(`{"i":"a","t":4,"m":"0000-01-01T00:00:00+01:00"}`),
		b64(`{"i":"a","t":1,"s":"a\u0000b"}`),
		b64(`[]`),
		b64(`null`),
		strings.Repeat("A", maxSkipTokenLen+1),
		"eyJpIjoiYSJ9\n",
	} {
		c, err := DecodeSkipToken(tok)
		if err == nil {
			t.Errorf("DecodeSkipToken(%q) = %+v, want an error", tok, c)
			continue
		}
		checkErr(t, err, CodeBadRequest, "$skiptoken is invalid")
	}
}
