package odata

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

var filterSeeds = []string{
	"displayName eq 'Alice'",
	"startsWith(displayName,'Al') and accountEnabled eq true",
	"endswith(mail,'@contoso.com')",
	"not(userType eq 'Guest') or city ne null",
	"id in ('" + g1 + "', " + g2 + ")",
	"createdDateTime ge 2024-01-01T00:00:00Z and createdDateTime lt 2024-02-01T00:00:00.123+02:00",
	"proxyAddresses/any(p:startsWith(p,'smtp:'))",
	"identities/any(c:c/issuer eq 'contoso.com' and c/issuerAssignedId eq 'bob')",
	"assignedLicenses/any(x: x/disabledPlans/any(d: d eq " + g1 + "))",
	"targetResources/any(t: t/id eq '" + g1 + "')",
	"initiatedBy/user/id eq " + g1 + " and activityDateTime le 2024-01-01T00:00:00Z",
	"groupTypes/any(c:c eq 'Unified') and securityEnabled eq false",
	"((city eq 'a'))",
	"displayName eq 'O''Brien'",
	"proxyAddresses/$count eq 0",
	"contains(displayName,'x')",
	"displayName eq -5",
}

// fuzzSchemas are indexed by the fuzzer's schema byte.
var fuzzSchemas = []*Schema{UserSchema, GroupSchema, DirectoryAuditSchema, ServicePrincipalSchema}

// checkTypedError asserts the error contract: an *errs.Error of kind
// Invalid or Unsupported carrying the matching Graph code.
func checkTypedError(t *testing.T, input string, err error) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: error %T is not *errs.Error: %v", input, err, err)
	}
	switch {
	case e.Kind == errs.Invalid && e.Code == CodeBadRequest:
	case e.Kind == errs.Unsupported && e.Code == CodeUnsupportedQuery:
	default:
		t.Fatalf("%q: error kind %v code %q: %v", input, e.Kind, e.Code, err)
	}
}

// FuzzParseFilter: Parse never panics; errors are typed; an accepted filter
// parses to the same tree twice, and printing that tree and parsing it
// again gives the same tree.
func FuzzParseFilter(f *testing.F) {
	for i, s := range filterSeeds {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, filter string, which uint8) {
		s := fuzzSchemas[int(which)%len(fuzzSchemas)]
		adv := which&0x80 != 0
		r1, err := parseF(s, filter, adv)
		if err != nil {
			checkTypedError(t, filter, err)
			return
		}
		if r1.List.Filter == nil {
			t.Fatalf("%q: accepted without a tree", filter)
		}
		r2, err := parseF(s, filter, adv)
		if err != nil || !reflect.DeepEqual(r1.List.Filter, r2.List.Filter) {
			t.Fatalf("%q: second parse differs: %v", filter, err)
		}
		printed := formatFilter(r1.List.Filter)
		r3, err := parseF(s, printed, adv)
		if err != nil {
			t.Fatalf("%q printed as %q does not parse: %v", filter, printed, err)
		}
		if !reflect.DeepEqual(r1.List.Filter, r3.List.Filter) {
			t.Fatalf("%q printed as %q parses differently:\n%#v\n%#v", filter, printed, r1.List.Filter, r3.List.Filter)
		}
	})
}

// FuzzParse feeds whole query strings: never a panic, only typed errors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"$select=id,displayName&$top=5",
		"$filter=startswith(displayName,'a')&$orderby=displayName&$count=true",
		`$search="displayName:a" OR ("mail:b" AND "surname:c")&$count=true`,
		"$expand=members($select=id,displayName)",
		"$skiptoken=" + EncodeSkipToken(skipTokenSeeds()[2]) + "&$orderby=displayName",
		"$skip=1",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, eventual bool) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, s := range []*Schema{UserSchema, GroupSchema} {
			if _, err := Parse(v, eventual, s); err != nil {
				checkTypedError(t, raw, err)
			}
		}
	})
}

// FuzzDecodeSkipToken: decoding never panics, errors are typed, and a
// token that decodes re-encodes to one that decodes to the same cursor.
func FuzzDecodeSkipToken(f *testing.F) {
	for _, c := range skipTokenSeeds() {
		f.Add(EncodeSkipToken(c))
	}
	f.Add("")
	f.Add("eyJpIjoiYSIsInQiOjR9")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := DecodeSkipToken(tok)
		if err != nil {
			checkTypedError(t, tok, err)
			return
		}
		again, err := DecodeSkipToken(EncodeSkipToken(c))
		if err != nil {
			t.Fatalf("%q: re-encoded token does not decode: %v", tok, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("%q: %+v re-decodes as %+v", tok, c, again)
		}
	})
}

func BenchmarkParseFilter(b *testing.B) {
	v := url.Values{
		"$filter": {"startsWith(displayName,'Al') and accountEnabled eq true and " +
			"(department eq 'Sales' or department eq 'Marketing') and " +
			"proxyAddresses/any(p:startsWith(p,'smtp:')) and createdDateTime ge 2024-01-01T00:00:00Z and " +
			"userType in ('Member','Guest')"},
		"$select": {"id,displayName,userPrincipalName,mail"},
		"$top":    {"50"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(v, false, UserSchema); err != nil {
			b.Fatal(err)
		}
	}
}
