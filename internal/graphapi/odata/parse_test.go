package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseDefaults(t *testing.T) {
	req, err := Parse(url.Values{"api-version": {"1.6"}}, false, UserSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := query.List{Top: query.DefaultTop}
	if !reflect.DeepEqual(req.List, want) || req.Select != nil || req.Expand != nil || req.CountRequested || req.Advanced {
		t.Fatalf("got %+v", req)
	}
	if got := req.Projection(); !reflect.DeepEqual(got, UserSchema.DefaultSelect) {
		t.Fatalf("user projection %v", got)
	}
	req, err = Parse(nil, false, GroupSchema)
	if err != nil || req.Projection() != nil {
		t.Fatalf("group projection %v, %v", req.Projection(), err)
	}
	req, err = Parse(nil, false, DirectoryAuditSchema)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&query.Sort{Field: fld("activityDateTime", query.Time), Desc: true}); !reflect.DeepEqual(req.List.Sort, want) {
		t.Fatalf("audit default sort %+v", req.List.Sort)
	}
	if req.List.Sort == DirectoryAuditSchema.DefaultSort {
		t.Fatal("default sort is shared with the schema")
	}
}

// TestParseOptions checks each option's accepted forms.
func TestParseOptions(t *testing.T) {
	tests := []struct {
		name     string
		schema   *Schema
		raw      string
		eventual bool
		check    func(t *testing.T, r *Request)
	}{
		{"select canonical case and dedupe", UserSchema, "$select=displayname, ID,displayName,accountEnabled", false, func(t *testing.T, r *Request) {
			want := []string{"displayName", "id", "accountEnabled"}
			if !reflect.DeepEqual(r.Select, want) || !reflect.DeepEqual(r.Projection(), want) {
				t.Fatalf("select %v", r.Select)
			}
		}},
		{"option names case-insensitive", UserSchema, "$SELECT=id&$Top=5", false, func(t *testing.T, r *Request) {
			if !reflect.DeepEqual(r.Select, []string{"id"}) || r.List.Top != 5 {
				t.Fatalf("got %+v", r)
			}
		}},
		{"top", UserSchema, "$top=999", false, func(t *testing.T, r *Request) {
			if r.List.Top != 999 {
				t.Fatalf("top %d", r.List.Top)
			}
		}},
		{"orderby", UserSchema, "$orderby=displayName", false, func(t *testing.T, r *Request) {
			if !reflect.DeepEqual(r.List.Sort, &query.Sort{Field: displayName}) {
				t.Fatalf("sort %+v", r.List.Sort)
			}
		}},
		{"orderby desc", UserSchema, "$orderby=USERPRINCIPALNAME DESC", false, func(t *testing.T, r *Request) {
			if !reflect.DeepEqual(r.List.Sort, &query.Sort{Field: fld("userPrincipalName", query.String), Desc: true}) {
				t.Fatalf("sort %+v", r.List.Sort)
			}
		}},
		{"orderby asc", UserSchema, "$orderby=displayName asc", false, func(t *testing.T, r *Request) {
			if r.List.Sort.Desc {
				t.Fatal("desc")
			}
		}},
		{"orderby advanced", UserSchema, "$orderby=createdDateTime&$count=true", true, func(t *testing.T, r *Request) {
			if r.List.Sort.Field.Path != "createdDateTime" || !r.List.Count || !r.Advanced {
				t.Fatalf("got %+v", r)
			}
		}},
		{"filter with orderby in advanced mode", UserSchema, "$filter=startswith(displayName,'a')&$orderby=displayName&$count=true", true, func(t *testing.T, r *Request) {
			if r.List.Sort == nil || r.List.Filter == nil {
				t.Fatalf("got %+v", r)
			}
		}},
		{"audit filter with orderby", DirectoryAuditSchema, "$filter=category eq 'Policy'&$orderby=activityDateTime asc", false, func(t *testing.T, r *Request) {
			if !reflect.DeepEqual(r.List.Sort, &query.Sort{Field: fld("activityDateTime", query.Time)}) {
				t.Fatalf("sort %+v", r.List.Sort)
			}
		}},
		{"count honoured", UserSchema, "$count=true", true, func(t *testing.T, r *Request) {
			if !r.List.Count || !r.CountRequested || !r.Advanced {
				t.Fatalf("got %+v", r)
			}
		}},
		{"count ignored without header", UserSchema, "$count=TRUE", false, func(t *testing.T, r *Request) {
			if r.List.Count || !r.CountRequested || r.Advanced {
				t.Fatalf("got %+v", r)
			}
		}},
		{"count false", UserSchema, "$count=false", true, func(t *testing.T, r *Request) {
			if r.List.Count || r.CountRequested || r.Advanced {
				t.Fatalf("got %+v", r)
			}
		}},
		{"header alone is not advanced", UserSchema, "$expand=manager", true, func(t *testing.T, r *Request) {
			if r.Advanced || r.Expand == nil {
				t.Fatalf("got %+v", r)
			}
		}},
		{"expand", UserSchema, "$expand=Manager", false, func(t *testing.T, r *Request) {
			if !reflect.DeepEqual(r.Expand, []Expand{{Property: "manager", Single: true, Target: KindDirectoryObject}}) {
				t.Fatalf("expand %+v", r.Expand)
			}
		}},
		{"expand with select", GroupSchema, "$expand=members($select=id,DisplayName,userPrincipalName)", false, func(t *testing.T, r *Request) {
			want := []Expand{{Property: "members", Select: []string{"id", "displayName", "userPrincipalName"}, Target: KindDirectoryObject}}
			if !reflect.DeepEqual(r.Expand, want) {
				t.Fatalf("expand %+v", r.Expand)
			}
		}},
		{"expand app role assignments", ServicePrincipalSchema, "$expand=appRoleAssignedTo($select=principalId)", false, func(t *testing.T, r *Request) {
			want := []Expand{{Property: "appRoleAssignedTo", Select: []string{"principalId"}, Target: KindAppRoleAssignment}}
			if !reflect.DeepEqual(r.Expand, want) {
				t.Fatalf("expand %+v", r.Expand)
			}
		}},
		{"expand several on role assignments", RoleAssignmentSchema, "$expand=principal($select=id,displayName),roleDefinition,directoryScope", false, func(t *testing.T, r *Request) {
			want := []Expand{
				{Property: "principal", Select: []string{"id", "displayName"}, Single: true, Target: KindDirectoryObject},
				{Property: "roleDefinition", Single: true, Target: iam.KindRoleDefinition},
				{Property: "directoryScope", Single: true, Target: KindDirectoryObject},
			}
			if !reflect.DeepEqual(r.Expand, want) {
				t.Fatalf("expand %+v", r.Expand)
			}
		}},
		{"search", UserSchema, `$search="displayName:room"`, true, func(t *testing.T, r *Request) {
			want := query.Search{Fields: []query.Field{displayName}, Term: "room"}
			if !reflect.DeepEqual(r.List.Filter, want) || !r.Advanced || r.List.Count {
				t.Fatalf("got %+v", r)
			}
		}},
		{"search or", UserSchema, `$search="displayName:a" OR "MAIL:b"`, true, func(t *testing.T, r *Request) {
			want := query.Or{
				query.Search{Fields: []query.Field{displayName}, Term: "a"},
				query.Search{Fields: []query.Field{fld("mail", query.String)}, Term: "b"},
			}
			if !reflect.DeepEqual(r.List.Filter, want) {
				t.Fatalf("got %#v", r.List.Filter)
			}
		}},
		{"search precedence and parentheses", GroupSchema, `$search="displayName:a" OR "description:b c" AND ("mail:d" or "mailNickname:e\"f")`, true, func(t *testing.T, r *Request) {
			s := func(f, term string) query.Search {
				return query.Search{Fields: []query.Field{fld(f, query.String)}, Term: term}
			}
			want := query.Or{s("displayName", "a"), query.And{s("description", "b c"), query.Or{s("mail", "d"), s("mailNickname", `e"f`)}}}
			if !reflect.DeepEqual(r.List.Filter, want) {
				t.Fatalf("got %#v", r.List.Filter)
			}
		}},
		{"search with filter", UserSchema, `$search="displayName:room"&$filter=accountEnabled eq true and city eq 'x'`, true, func(t *testing.T, r *Request) {
			want := query.And{
				eq(fld("accountEnabled", query.Bool), boolV(true)),
				eq(fld("city", query.String), strV("x")),
				query.Search{Fields: []query.Field{displayName}, Term: "room"},
			}
			if !reflect.DeepEqual(r.List.Filter, want) {
				t.Fatalf("got %#v", r.List.Filter)
			}
		}},
		{"skiptoken", UserSchema, "$orderby=displayName&$skiptoken=" + EncodeSkipToken(query.Cursor{Value: &query.Value{Type: query.String, Str: "m"}, ID: g1}), false, func(t *testing.T, r *Request) {
			want := &query.Cursor{Value: &query.Value{Type: query.String, Str: "m"}, ID: g1}
			if !reflect.DeepEqual(r.List.After, want) {
				t.Fatalf("after %+v", r.List.After)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(mustQuery(t, tt.raw), tt.eventual, tt.schema)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.raw, err)
			}
			tt.check(t, r)
		})
	}
}

// TestParseOptionErrors checks the refusals of each option.
func TestParseOptionErrors(t *testing.T) {
	mismatched := EncodeSkipToken(query.Cursor{Value: &query.Value{Type: query.Time}, ID: g1})
	tests := []struct {
		name     string
		schema   *Schema
		raw      string
		eventual bool
		code     string
		msg      string
	}{
		{"unknown select", UserSchema, "$select=id,x", false, CodeBadRequest, "Could not find a property named 'x' on type 'microsoft.graph.user'."},
		{"empty select item", UserSchema, "$select=id,,displayName", false, CodeBadRequest, "~empty property name"},
		{"empty select", UserSchema, "$select=", false, CodeBadRequest, "~empty property name"},
		{"select nested path", DirectoryAuditSchema, "$select=initiatedBy/user/id", false, CodeBadRequest, "~named 'initiatedBy/user/id' on type 'microsoft.graph.directoryAudit'"},
		{"top zero", UserSchema, "$top=0", false, CodeBadRequest, "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{"top too big", UserSchema, "$top=1000", false, CodeBadRequest, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"top not a number", UserSchema, "$top=ten", false, CodeBadRequest, "~'ten'"},
		{"top negative", UserSchema, "$top=-1", false, CodeBadRequest, "~'-1'"},
		{"count garbage", UserSchema, "$count=yes", true, CodeBadRequest, "~'yes'"},
		{"skip", UserSchema, "$skip=10", false, CodeBadRequest, "'$skip' is not supported by the service."},
		{"unknown option", UserSchema, "$frob=1", false, CodeBadRequest, "~'$frob'"},
		{"repeated option", UserSchema, "$top=1&$top=2", false, CodeBadRequest, "~more than once"},
		{"repeated option differing case", UserSchema, "$top=1&$TOP=2", false, CodeBadRequest, "~more than once"},
		{"invalid utf-8", UserSchema, "$filter=displayName eq '%ff'", false, CodeBadRequest, "~not valid UTF-8"},
		{"nul byte", UserSchema, "$filter=displayName eq '%00'", false, CodeBadRequest, "~not valid UTF-8"},
		{"orderby unknown", UserSchema, "$orderby=foo", false, CodeBadRequest, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"orderby unsupported", UserSchema, "$orderby=jobTitle", true, CodeUnsupportedQuery, "Sorting by property 'jobTitle' of resource 'User' is not supported."},
		{"orderby advanced only", UserSchema, "$orderby=createdDateTime", true, CodeUnsupportedQuery, "Sorting not supported for current query."},
		{"orderby application needs advanced", ApplicationSchema, "$orderby=displayName", false, CodeUnsupportedQuery, "Sorting not supported for current query."},
		{"orderby two properties", UserSchema, "$orderby=displayName,userPrincipalName", false, CodeUnsupportedQuery, "~more than one property"},
		{"orderby bad direction", UserSchema, "$orderby=displayName up", false, CodeBadRequest, "~asc or desc"},
		{"orderby empty", UserSchema, "$orderby=", false, CodeBadRequest, "~Syntax error in $orderby"},
		{"filter with orderby needs advanced", UserSchema, "$filter=startswith(displayName,'a')&$orderby=displayName", true, CodeUnsupportedQuery, "Sorting not supported for current query."},
		{"search without header", UserSchema, `$search="displayName:a"`, false, CodeUnsupportedQuery,
			"Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"},
		{"search unquoted", UserSchema, `$search=displayName:a`, true, CodeBadRequest, "~quoted"},
		{"search unterminated", UserSchema, `$search="displayName:a`, true, CodeBadRequest, "~unterminated"},
		{"search bare term", UserSchema, `$search="room"`, true, CodeUnsupportedQuery, "~must have the form"},
		{"search empty term", UserSchema, `$search="displayName: "`, true, CodeBadRequest, "~empty value"},
		{"search unknown property", UserSchema, `$search="foo:a"`, true, CodeBadRequest, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"search unsearchable property", UserSchema, `$search="jobTitle:a"`, true, CodeUnsupportedQuery,
			"Unsupported or invalid query search clause specified for property 'jobTitle' of resource 'User'."},
		{"search juxtaposed clauses", UserSchema, `$search="displayName:a" "mail:b"`, true, CodeBadRequest, "~unexpected text"},
		{"search dangling or", UserSchema, `$search="displayName:a" OR`, true, CodeBadRequest, "~quoted"},
		{"search unclosed paren", UserSchema, `$search=("displayName:a"`, true, CodeBadRequest, "~')' expected"},
		{"search on audit logs", DirectoryAuditSchema, `$search="category:x"`, true, CodeUnsupportedQuery, "$search is not supported on resource 'DirectoryAudit'."},
		{"search does not make ne work", UserSchema, `$search="displayName:a"&$filter=displayName ne 'b'`, true, CodeUnsupportedQuery, "~Operator 'ne'"},
		{"expand unknown", UserSchema, "$expand=foo", false, CodeBadRequest, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"expand two", GroupSchema, "$expand=members,owners", false, CodeBadRequest, "~Only one"},
		{"expand two with options", GroupSchema, "$expand=members($select=id),owners", false, CodeBadRequest, "~Only one"},
		{"expand twice", RoleAssignmentSchema, "$expand=principal,principal", false, CodeBadRequest, "~more than once"},
		{"expand several unknown", RoleAssignmentSchema, "$expand=principal,members", false, CodeBadRequest, "~Could not find a property named 'members'"},
		{"expand in advanced mode", UserSchema, "$expand=manager&$count=true", true, CodeBadRequest, "~not supported together with advanced"},
		{"expand with search", UserSchema, `$expand=manager&$search="displayName:a"`, true, CodeBadRequest, "~not supported together with advanced"},
		{"expand nested top", GroupSchema, "$expand=members($top=5)", false, CodeBadRequest, "~'$top=5' is not supported inside $expand"},
		{"expand nested unknown select", GroupSchema, "$expand=members($select=nope)", false, CodeBadRequest,
			"Could not find a property named 'nope' on type 'microsoft.graph.directoryObject'."},
		{"expand unclosed", GroupSchema, "$expand=members($select=id", false, CodeBadRequest, "~missing ')'"},
		{"expand nested parentheses", GroupSchema, "$expand=members($select=(id))", false, CodeBadRequest, "~parentheses"},
		{"expand empty", GroupSchema, "$expand=", false, CodeBadRequest, "~navigation property expected"},
		{"select too long", UserSchema, "$select=" + strings.Repeat("id,", 1400) + "id", false, CodeBadRequest, "~too long"},
		{"search too long", UserSchema, `$search="displayName:` + strings.Repeat("a", MaxFilterLen) + `"`, true, CodeBadRequest, "~too long"},
		{"search too deep", UserSchema, "$search=" + strings.Repeat("(", MaxDepth+1) + `"displayName:a"` + strings.Repeat(")", MaxDepth+1), true, CodeBadRequest, "~nested too deeply"},
		{"search too many clauses", UserSchema, "$search=" + strings.TrimSuffix(strings.Repeat(`"mail:a" OR `, 300), " OR "), true, CodeBadRequest, "~too many clauses"},
		{"skiptoken garbage", UserSchema, "$skiptoken=garbage!", false, CodeBadRequest, "$skiptoken is invalid"},
		{"skiptoken for another sort", UserSchema, "$orderby=displayName&$skiptoken=" + mismatched, false, CodeBadRequest, "$skiptoken is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(mustQuery(t, tt.raw), tt.eventual, tt.schema)
			checkErr(t, err, tt.code, tt.msg)
		})
	}
}
