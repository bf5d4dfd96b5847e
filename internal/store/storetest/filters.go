package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Literal and field shorthands for the filter tables.
func str(s string) query.Value      { return query.Value{Type: query.String, Str: s} }
func guid(s string) query.Value     { return query.Value{Type: query.GUID, Str: s} }
func boolean(b bool) query.Value    { return query.Value{Type: query.Bool, Bool: b} }
func integer(n int64) query.Value   { return query.Value{Type: query.Int, Int: n} }
func tm(t time.Time) query.Value    { return query.Value{Type: query.Time, Time: t} }
func null(t query.Type) query.Value { return query.Value{Type: t, Null: true} }

func fs(p string) query.Field { return query.Field{Path: p, Type: query.String} }
func fg(p string) query.Field { return query.Field{Path: p, Type: query.GUID} }
func fb(p string) query.Field { return query.Field{Path: p, Type: query.Bool} }
func fi(p string) query.Field { return query.Field{Path: p, Type: query.Int} }
func ft(p string) query.Field { return query.Field{Path: p, Type: query.Time} }
func fc(p string) query.Field { return query.Field{Path: p, Type: query.String, Collection: true} }

var elem = query.Field{Type: query.String} // the lambda variable

func eq(f query.Field, v query.Value) query.Expr { return query.Cmp{Field: f, Op: query.Eq, Value: v} }
func ne(f query.Field, v query.Value) query.Expr { return query.Cmp{Field: f, Op: query.Ne, Value: v} }
func cmpOp(f query.Field, op query.Op, v query.Value) query.Expr {
	return query.Cmp{Field: f, Op: op, Value: v}
}

type person struct {
	h, name, upn string
	props        map[string]any
}

// people is the filter fixture. Handles name the expected results.
var people = []person{
	{"alice", "Alice Adams", "Alice@Contoso.com", map[string]any{
		"accountEnabled": true, "jobTitle": "Engineer", "level": 3, "employeeHireDate": "2020-01-15T00:00:00Z",
		"proxyAddresses":                []string{"SMTP:alice@contoso.com", "smtp:aa@contoso.com"},
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": "Blue"},
		"sponsorId":                     "AAAAAAAA-0000-4000-8000-000000000001",
		"identities":                    []map[string]any{{"signInType": "emailAddress", "issuer": "contoso.com"}},
		"department":                    "R&D_1%", "mail": "alice.adams@contoso.com",
	}},
	{"bob", "bob brown", "bob@contoso.com", map[string]any{
		"accountEnabled": false, "jobTitle": "Manager", "level": 5, "employeeHireDate": "2021-06-01T09:30:00Z",
		"proxyAddresses":                []string{"SMTP:bob@contoso.com"},
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": "green"},
		"sponsorId":                     "aaaaaaaa-0000-4000-8000-000000000002",
		"identities":                    []map[string]any{{"signInType": "federated", "issuer": "fabrikam.com"}},
		"department":                    "R&DX1abc", "mail": "bob@contoso.com",
	}},
	{"carol", "Carol 100%", "carol@fabrikam.com", map[string]any{
		"accountEnabled": true, "jobTitle": nil, "level": 1, "proxyAddresses": []string{},
		"onPremisesExtensionAttributes": nil, "department": `a\b`,
	}},
	{"carol2", "Carol 1000", "carol2@fabrikam.com", map[string]any{
		"accountEnabled": true, "jobTitle": "Intern", "level": 0, "department": "ab",
	}},
	{"dave", "dave_under", "dave@contoso.com", map[string]any{
		"accountEnabled": true, "jobTitle": "engineer", "level": 10, "employeeHireDate": "2019-03-01T00:00:00Z",
		"department": "R&D_1%x",
	}},
	{"davex", "daveXunder", "davex@contoso.com", map[string]any{"jobTitle": "Engineer II"}},
	{"eve", `Eve\Back`, "eve@contoso.com", map[string]any{}},
	{"emile", "Émile Zola", "emile@contoso.com", map[string]any{
		"accountEnabled": true, "jobTitle": "Ingénieur", "city": "ÉVRY",
	}},
}

type filterCase struct {
	name string
	f    query.Expr
	want string // space-separated handles
}

func filterCases(id map[string]string) []filterCase {
	all := "alice bob carol carol2 dave davex eve emile"
	return []filterCase{
		{"column displayName eq", eq(fs("displayName"), str("ALICE ADAMS")), "alice"},
		{"column key eq", eq(fs("userPrincipalName"), str("alice@CONTOSO.com")), "alice"},
		{"column id eq GUID any case", eq(fg("id"), guid(strings.ToUpper(id["alice"]))), "alice"},
		{"column createdDateTime gt", cmpOp(ft("createdDateTime"), query.Gt, tm(epoch.Add(5*time.Hour))), "eve emile"},
		{"column createdDateTime le", cmpOp(ft("createdDateTime"), query.Le, tm(epoch.Add(time.Hour))), "alice bob"},
		{"column deletedDateTime eq null", eq(ft("deletedDateTime"), null(query.Time)), all},
		{"column key ne null", ne(fs("userPrincipalName"), null(query.String)), all},
		{"json string eq case-insensitive", eq(fs("jobTitle"), str("ENGINEER")), "alice dave"},
		{"json string ne matches null", ne(fs("jobTitle"), str("engineer")), "bob carol carol2 davex eve emile"},
		{"json eq null", eq(fs("jobTitle"), null(query.String)), "carol eve"},
		{"json ne null", ne(fs("jobTitle"), null(query.String)), "alice bob carol2 dave davex emile"},
		{"json string gt", cmpOp(fs("jobTitle"), query.Gt, str("intern")), "bob"},
		{"json unicode fold", eq(fs("jobTitle"), str("INGÉNIEUR")), "emile"},
		{"json unicode fold 2", eq(fs("city"), str("évry")), "emile"},
		{"bool eq true", eq(fb("accountEnabled"), boolean(true)), "alice carol carol2 dave emile"},
		{"bool eq false", eq(fb("accountEnabled"), boolean(false)), "bob"},
		{"bool ne true", ne(fb("accountEnabled"), boolean(true)), "bob davex eve"},
		{"int gt", cmpOp(fi("level"), query.Gt, integer(3)), "bob dave"},
		{"int le", cmpOp(fi("level"), query.Le, integer(1)), "carol carol2"},
		{"int eq zero", eq(fi("level"), integer(0)), "carol2"},
		{"int ne", ne(fi("level"), integer(5)), "alice carol carol2 dave davex eve emile"},
		{"int in", query.In{Field: fi("level"), Values: []query.Value{integer(1), integer(10)}}, "carol dave"},
		{"time ge", cmpOp(ft("employeeHireDate"), query.Ge, tm(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))), "alice bob"},
		{"time lt", cmpOp(ft("employeeHireDate"), query.Lt, tm(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))), "dave"},
		{"time eq other zone", eq(ft("employeeHireDate"), tm(time.Date(2021, 6, 1, 11, 30, 0, 0, time.FixedZone("CEST", 7200)))), "bob"},
		{"nested path eq", eq(fs("onPremisesExtensionAttributes/extensionAttribute1"), str("BLUE")), "alice"},
		{"nested path eq null", eq(fs("onPremisesExtensionAttributes/extensionAttribute1"), null(query.String)), "carol carol2 dave davex eve emile"},
		{"json GUID any case", eq(fg("sponsorId"), guid("aaaaaaaa-0000-4000-8000-000000000001")), "alice"},
		{"in json", query.In{Field: fs("jobTitle"), Values: []query.Value{str("manager"), str("ENGINEER")}}, "alice bob dave"},
		{"in json with null", query.In{Field: fs("jobTitle"), Values: []query.Value{str("manager"), null(query.String)}}, "bob carol eve"},
		{"in displayName", query.In{Field: fs("displayName"), Values: []query.Value{str("BOB BROWN"), str(`eve\back`)}}, "bob eve"},
		{"in id", query.In{Field: fg("id"), Values: []query.Value{guid(id["alice"]), guid(id["bob"])}}, "alice bob"},
		{"in key", query.In{Field: fs("userPrincipalName"), Values: []query.Value{str("BOB@contoso.com")}}, "bob"},
		{"in empty", query.In{Field: fs("jobTitle")}, ""},
		{"not eq", query.Not{X: eq(fs("jobTitle"), str("engineer"))}, "bob carol carol2 davex eve emile"},
		{"not gt is two-valued", query.Not{X: cmpOp(fi("level"), query.Gt, integer(3))}, "alice carol carol2 davex eve emile"},
		{"not startsWith", query.Not{X: query.StartsWith{Field: fs("displayName"), Prefix: "carol"}}, "alice bob dave davex eve emile"},
		{"not not", query.Not{X: query.Not{X: eq(fs("jobTitle"), str("manager"))}}, "bob"},
		{"and", query.And{eq(fb("accountEnabled"), boolean(true)), cmpOp(fi("level"), query.Ge, integer(3))}, "alice dave"},
		{"or", query.Or{eq(fs("jobTitle"), str("manager")), eq(fi("level"), integer(0))}, "bob carol2"},
		{"and of or", query.And{query.Or{eq(fs("jobTitle"), str("engineer")), eq(fs("jobTitle"), str("manager"))}, eq(fb("accountEnabled"), boolean(true))}, "alice dave"},
		{"empty and", query.And{}, all},
		{"empty or", query.Or{}, ""},
		{"any eq", query.Any{Field: fc("proxyAddresses"), Pred: eq(elem, str("smtp:AA@contoso.com"))}, "alice"},
		{"any startsWith", query.Any{Field: fc("proxyAddresses"), Pred: query.StartsWith{Field: elem, Prefix: "smtp:bob"}}, "bob"},
		{"any endsWith", query.Any{Field: fc("proxyAddresses"), Pred: query.EndsWith{Field: elem, Suffix: "@CONTOSO.com"}}, "alice bob"},
		{"any in", query.Any{Field: fc("proxyAddresses"), Pred: query.In{Field: elem, Values: []query.Value{str("smtp:bob@contoso.com")}}}, "bob"},
		{"not any", query.Not{X: query.Any{Field: fc("proxyAddresses"), Pred: eq(elem, str("smtp:bob@contoso.com"))}}, "alice carol carol2 dave davex eve emile"},
		{"any over objects", query.Any{Field: query.Field{Path: "identities", Collection: true}, Pred: eq(fs("issuer"), str("FABRIKAM.com"))}, "bob"},
		{"startsWith column percent", query.StartsWith{Field: fs("displayName"), Prefix: "Carol 100%"}, "carol"},
		{"startsWith column underscore", query.StartsWith{Field: fs("displayName"), Prefix: "dave_"}, "dave"},
		{"startsWith column backslash", query.StartsWith{Field: fs("displayName"), Prefix: `eve\`}, "eve"},
		{"startsWith column empty", query.StartsWith{Field: fs("displayName"), Prefix: ""}, all},
		{"startsWith key", query.StartsWith{Field: fs("userPrincipalName"), Prefix: "DAVE"}, "dave davex"},
		{"startsWith unicode", query.StartsWith{Field: fs("displayName"), Prefix: "émile"}, "emile"},
		{"startsWith json", query.StartsWith{Field: fs("jobTitle"), Prefix: "ENG"}, "alice dave davex"},
		{"startsWith json metachars", query.StartsWith{Field: fs("department"), Prefix: "r&d_1%"}, "alice dave"},
		{"startsWith json backslash", query.StartsWith{Field: fs("department"), Prefix: `A\`}, "carol"},
		{"startsWith json unicode", query.StartsWith{Field: fs("city"), Prefix: "év"}, "emile"},
		{"endsWith json metachars", query.EndsWith{Field: fs("department"), Suffix: "_1%"}, "alice"},
		{"endsWith json backslash", query.EndsWith{Field: fs("department"), Suffix: `\B`}, "carol"},
		{"endsWith column percent", query.EndsWith{Field: fs("displayName"), Suffix: "%"}, "carol"},
		{"endsWith column backslash", query.EndsWith{Field: fs("displayName"), Suffix: `\back`}, "eve"},
		{"endsWith column underscore", query.EndsWith{Field: fs("displayName"), Suffix: "_UNDER"}, "dave"},
		{"endsWith key", query.EndsWith{Field: fs("userPrincipalName"), Suffix: "@FABRIKAM.com"}, "carol carol2"},
		{"search word prefix", query.Search{Fields: []query.Field{fs("displayName")}, Term: "zol"}, "emile"},
		{"search first word", query.Search{Fields: []query.Field{fs("displayName")}, Term: "CAROL"}, "carol carol2"},
		{"search unicode", query.Search{Fields: []query.Field{fs("displayName")}, Term: "ÉMILE"}, "emile"},
		{"search not infix", query.Search{Fields: []query.Field{fs("displayName")}, Term: "dams"}, ""},
		{"search metachar", query.Search{Fields: []query.Field{fs("displayName")}, Term: "100%"}, "carol"},
		{"search fields ored", query.Search{Fields: []query.Field{fs("displayName"), fs("mail")}, Term: "alice.adams"}, "alice"},
		{"search json", query.Search{Fields: []query.Field{fs("jobTitle")}, Term: "ii"}, "davex"},
		{"search collection", query.Search{Fields: []query.Field{fc("proxyAddresses")}, Term: "smtp:aa"}, "alice"},
		{"search empty term", query.Search{Fields: []query.Field{fs("displayName")}, Term: ""}, all},
		{"pointer nodes", &query.And{&query.Cmp{Field: fs("jobTitle"), Op: query.Eq, Value: str("manager")}}, "bob"},
	}
}

func loadPeople(t *testing.T, s store.Store, tn string) map[string]string {
	t.Helper()
	id := map[string]string{}
	var objs []store.Object
	for i, p := range people {
		id[p.h] = iam.NewID()
		o := user(tn, id[p.h], p.name, p.upn, p.props)
		o.CreatedAt = epoch.Add(time.Duration(i) * time.Hour)
		objs = append(objs, o)
	}
	insert(t, s, objs...)
	return id
}

func handles(id map[string]string, want string) []string {
	out := []string{}
	for _, h := range strings.Fields(want) {
		out = append(out, id[h])
	}
	return out
}

func testFilters(t *testing.T, s store.Store) {
	const tn = "tenant-filter"
	id := loadPeople(t, s, tn)
	// A user in another tenant matches everything and must never show.
	insert(t, s, user("tenant-filter-other", iam.NewID(), "Alice Adams", "alice@contoso.com", people[0].props))
	byID := map[string]string{}
	for h, v := range id {
		byID[v] = h
	}
	for _, tc := range filterCases(id) {
		t.Run(tc.name, func(t *testing.T) {
			p := list(t, s, tn, iam.KindUser, store.Live, query.List{Filter: tc.f, Top: query.MaxTop, Count: true})
			got := []string{}
			for _, o := range p.Items {
				got = append(got, byID[o.ID])
			}
			want := strings.Fields(tc.want)
			sameSet(t, got, want, "matches")
			if p.Count != int64(len(want)) {
				t.Errorf("Count = %d, want %d", p.Count, len(want))
			}
		})
	}
}

func testFilterErrors(t *testing.T, s store.Store) {
	const tn = "tenant-filter-errors"
	loadPeople(t, s, tn)
	bad := []struct {
		name string
		f    query.Expr
		kind errs.Kind
	}{
		{"injection in path", eq(fs("jobTitle') OR 1=1 --"), str("x")), errs.Invalid},
		{"bad path segment", eq(fs("a//b"), str("x")), errs.Invalid},
		{"bool ordering", cmpOp(fb("accountEnabled"), query.Gt, boolean(true)), errs.Invalid},
		{"type mismatch", eq(fi("level"), str("x")), errs.Invalid},
		{"time column with string", eq(ft("createdDateTime"), str("x")), errs.Invalid},
		{"any over column", query.Any{Field: fc("displayName"), Pred: eq(elem, str("x"))}, errs.Invalid},
	}
	for _, tc := range bad {
		err := s.Read(context.Background(), func(r store.Reader) error {
			_, err := r.List(tn, iam.KindUser, store.Live, query.List{Filter: tc.f})
			return err
		})
		wantKind(t, err, tc.kind, tc.name)
	}
	// A value that looks like SQL is only ever a value.
	p := list(t, s, tn, iam.KindUser, store.Live, query.List{Filter: eq(fs("jobTitle"), str("x' OR '1'='1"))})
	if len(p.Items) != 0 {
		t.Fatalf("SQL in a literal matched %d rows", len(p.Items))
	}
}
