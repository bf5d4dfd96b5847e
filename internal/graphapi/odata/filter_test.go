package odata

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/query"
)

const (
	g1 = "6f1b0e3c-0000-4000-8000-000000000001"
	g2 = "6f1b0e3c-0000-4000-8000-000000000002"
)

// TestFilterGrammar checks the tree each grammar rule produces, and that
// printing the tree and parsing it again gives the same tree.
func TestFilterGrammar(t *testing.T) {
	audit := DirectoryAuditSchema
	tests := []struct {
		name   string
		schema *Schema
		filter string
		adv    bool
		want   query.Expr
	}{
		{"eq string", UserSchema, "displayName eq 'Alice'", false, eq(displayName, strV("Alice"))},
		{"quote escaping", UserSchema, "displayName eq 'O''Brien'''", false, eq(displayName, strV("O'Brien'"))},
		{"empty string", UserSchema, "displayName eq ''", false, eq(displayName, strV(""))},
		{"unicode string", UserSchema, "displayName eq 'Zoë 李'", false, eq(displayName, strV("Zoë 李"))},
		{"bool", UserSchema, "accountEnabled eq false", false, eq(fld("accountEnabled", query.Bool), boolV(false))},
		{"keywords case-insensitive", UserSchema, "accountEnabled EQ TRUE", false, eq(fld("accountEnabled", query.Bool), boolV(true))},
		{"property case-insensitive", UserSchema, "DISPLAYNAME eq 'a'", false, eq(displayName, strV("a"))},
		{"datetime", UserSchema, "createdDateTime ge 2024-01-01T00:00:00Z", false,
			cmp(fld("createdDateTime", query.Time), query.Ge, timeV("2024-01-01T00:00:00Z"))},
		{"datetime offset to UTC", UserSchema, "createdDateTime le 2024-01-01T01:00:00.5+01:00", false,
			cmp(fld("createdDateTime", query.Time), query.Le, timeV("2024-01-01T00:00:00.5Z"))},
		{"gt follows ge", UserSchema, "createdDateTime gt 2024-01-01T00:00:00Z", false,
			cmp(fld("createdDateTime", query.Time), query.Gt, timeV("2024-01-01T00:00:00Z"))},
		{"lt follows le", UserSchema, "createdDateTime lt 2024-01-01T00:00:00Z", false,
			cmp(fld("createdDateTime", query.Time), query.Lt, timeV("2024-01-01T00:00:00Z"))},
		{"quoted guid lower-cased", UserSchema, "id eq '" + strings.ToUpper(g1) + "'", false, eq(userID, guidV(g1))},
		{"unquoted guid", UserSchema, "id eq " + g1, false, eq(userID, guidV(g1))},
		{"unquoted guid starting with a letter", UserSchema, "id eq ABCDEF01-0000-4000-8000-000000000001", false,
			eq(userID, guidV("abcdef01-0000-4000-8000-000000000001"))},
		{"in", UserSchema, "userType in ('Guest', 'Member')", false,
			query.In{Field: fld("userType", query.String), Values: []query.Value{strV("Guest"), strV("Member")}}},
		{"in on id where eq is default", UserSchema, "id in ('" + g1 + "'," + g2 + ")", false,
			query.In{Field: userID, Values: []query.Value{guidV(g1), guidV(g2)}}},
		{"startsWith", UserSchema, "startsWith(displayName,'Al')", false, query.StartsWith{Field: displayName, Prefix: "Al"}},
		{"startswith lower-case", UserSchema, "startswith(displayName, 'Al')", false, query.StartsWith{Field: displayName, Prefix: "Al"}},
		{"startsWith eq true", UserSchema, "startswith(displayName,'Al') eq true", false, query.StartsWith{Field: displayName, Prefix: "Al"}},
		{"endsWith advanced", UserSchema, "endswith(mail,'@contoso.com')", true,
			query.EndsWith{Field: fld("mail", query.String), Suffix: "@contoso.com"}},
		{"and binds tighter than or", UserSchema, "city eq 'a' or city eq 'b' and country eq 'c'", false,
			query.Or{eq(fld("city", query.String), strV("a")), query.And{eq(fld("city", query.String), strV("b")), eq(fld("country", query.String), strV("c"))}}},
		{"parentheses", UserSchema, "(city eq 'a' or city eq 'b') and country eq 'c'", false,
			query.And{query.Or{eq(fld("city", query.String), strV("a")), eq(fld("city", query.String), strV("b"))}, eq(fld("country", query.String), strV("c"))}},
		{"and flattened", UserSchema, "city eq 'a' and (city eq 'b' and (city eq 'c'))", false,
			query.And{eq(fld("city", query.String), strV("a")), eq(fld("city", query.String), strV("b")), eq(fld("city", query.String), strV("c"))}},
		{"or flattened", UserSchema, "(city eq 'a' or city eq 'b') or city eq 'c'", false,
			query.Or{eq(fld("city", query.String), strV("a")), eq(fld("city", query.String), strV("b")), eq(fld("city", query.String), strV("c"))}},
		{"not", UserSchema, "not(displayName eq 'x')", true, query.Not{X: eq(displayName, strV("x"))}},
		{"not without parentheses", UserSchema, "not accountEnabled eq true", true, query.Not{X: eq(fld("accountEnabled", query.Bool), boolV(true))}},
		{"ne", UserSchema, "displayName ne 'x'", true, cmp(displayName, query.Ne, strV("x"))},
		{"eq null", UserSchema, "city eq null", true, eq(fld("city", query.String), nullV(query.String))},
		{"ne null", UserSchema, "city ne null", true, cmp(fld("city", query.String), query.Ne, nullV(query.String))},
		{"lambda startsWith on string collection", UserSchema, "proxyAddresses/any(p:startsWith(p,'smtp:'))", false,
			query.Any{Field: coll("proxyAddresses", query.String), Pred: query.StartsWith{Field: fld("", query.String), Prefix: "smtp:"}}},
		{"lambda eq", UserSchema, "otherMails/any(x: x eq 'a@b.c')", false,
			query.Any{Field: coll("otherMails", query.String), Pred: eq(fld("", query.String), strV("a@b.c"))}},
		{"lambda keyword case", UserSchema, "otherMails/ANY(x: x eq 'a')", false,
			query.Any{Field: coll("otherMails", query.String), Pred: eq(fld("", query.String), strV("a"))}},
		{"lambda on complex elements", UserSchema, "identities/any(c:c/issuer eq 'contoso.com' and c/issuerAssignedId eq 'bob')", false,
			query.Any{Field: coll("identities", 0), Pred: query.And{eq(fld("issuer", query.String), strV("contoso.com")), eq(fld("issuerAssignedId", query.String), strV("bob"))}}},
		{"lambda guid element field", UserSchema, "assignedLicenses/any(x:x/skuId eq " + g1 + ")", false,
			query.Any{Field: coll("assignedLicenses", 0), Pred: eq(fld("skuId", query.GUID), guidV(g1))}},
		{"nested lambda", UserSchema, "assignedLicenses/any(x: x/disabledPlans/any(d: d eq " + g1 + "))", false,
			query.Any{Field: coll("assignedLicenses", 0), Pred: query.Any{Field: coll("disabledPlans", query.GUID), Pred: eq(fld("", query.GUID), guidV(g1))}}},
		{"not lambda", UserSchema, "not(assignedLicenses/any(x:x/skuId eq " + g1 + "))", true,
			query.Not{X: query.Any{Field: coll("assignedLicenses", 0), Pred: eq(fld("skuId", query.GUID), guidV(g1))}}},
		{"nested complex path", UserSchema, "onPremisesExtensionAttributes/extensionAttribute1 eq 'x'", true,
			eq(fld("onPremisesExtensionAttributes/extensionAttribute1", query.String), strV("x"))},
		{"nested path case-insensitive", UserSchema, "signinactivity/LASTSIGNINDATETIME le 2024-01-01T00:00:00Z", false,
			cmp(fld("signInActivity/lastSignInDateTime", query.Time), query.Le, timeV("2024-01-01T00:00:00Z"))},
		{"audit nested path", audit, "initiatedBy/user/id eq " + g1, false, eq(fld("initiatedBy/user/id", query.GUID), guidV(g1))},
		{"audit upn startsWith", audit, "startswith(initiatedBy/user/userPrincipalName,'admin')", false,
			query.StartsWith{Field: fld("initiatedBy/user/userPrincipalName", query.String), Prefix: "admin"}},
		{"audit targetResources lambda", audit, "targetResources/any(t: t/id eq '" + g1 + "')", false,
			query.Any{Field: coll("targetResources", 0), Pred: eq(fld("id", query.String), strV(g1))}},
		{"audit date range", audit, "activityDateTime ge 2024-01-01T00:00:00Z and activityDateTime lt 2024-02-01T00:00:00Z and category eq 'UserManagement'", false,
			query.And{
				cmp(fld("activityDateTime", query.Time), query.Ge, timeV("2024-01-01T00:00:00Z")),
				cmp(fld("activityDateTime", query.Time), query.Lt, timeV("2024-02-01T00:00:00Z")),
				eq(fld("category", query.String), strV("UserManagement")),
			}},
		{"group types", GroupSchema, "groupTypes/any(c:c eq 'Unified')", false,
			query.Any{Field: coll("groupTypes", query.String), Pred: eq(fld("", query.String), strV("Unified"))}},
		{"whitespace", UserSchema, " \tdisplayName   eq\t'a'  ", false, eq(displayName, strV("a"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseF(tt.schema, tt.filter, tt.adv)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.filter, err)
			}
			if !reflect.DeepEqual(req.List.Filter, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.filter, req.List.Filter, tt.want)
			}
			printed := formatFilter(req.List.Filter)
			again, err := parseF(tt.schema, printed, tt.adv)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", printed, err)
			}
			if !reflect.DeepEqual(again.List.Filter, tt.want) {
				t.Fatalf("re-parse of %q\n got %#v\nwant %#v", printed, again.List.Filter, tt.want)
			}
		})
	}
}

// TestFilterErrors checks syntax, typing and limit errors.
func TestFilterErrors(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+1) + "city eq 'a'" + strings.Repeat(")", MaxDepth+1)
	deepNot := strings.Repeat("not ", MaxDepth+1) + "city eq 'a'"
	deepAny := "assignedLicenses/any(x: " + strings.Repeat("(", MaxDepth) + "x/skuId eq " + g1 + strings.Repeat(")", MaxDepth) + ")"
	many := strings.TrimSuffix(strings.Repeat("city eq 'a' or ", 273), " or ")
	inList := "userType in (" + strings.TrimSuffix(strings.Repeat("'a',", MaxInValues+1), ",") + ")"
	tests := []struct {
		name, filter, code, msg string
	}{
		{"empty", "", CodeBadRequest, "~Syntax error at position 0"},
		{"missing literal", "displayName eq", CodeBadRequest, "~literal expected"},
		{"missing operator", "displayName 'x'", CodeBadRequest, "~operator expected"},
		{"unknown operator", "displayName like 'x'", CodeBadRequest, "~unknown operator 'like'"},
		{"unterminated string", "displayName eq 'x", CodeBadRequest, "~unterminated string literal"},
		{"unclosed paren", "(displayName eq 'x'", CodeBadRequest, "~')' expected"},
		{"extra paren", "displayName eq 'x')", CodeBadRequest, "~unexpected ')'"},
		{"dangling and", "displayName eq 'x' and", CodeBadRequest, "~Syntax error"},
		{"bad character", "displayName eq #", CodeBadRequest, "~unexpected character"},
		{"literal first", "'x' eq displayName", CodeBadRequest, "~Syntax error"},
		{"bare boolean property", "accountEnabled", CodeBadRequest, "~operator expected"},
		{"unknown property", "foo eq 'x'", CodeBadRequest, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"unknown nested property", "signInActivity/foo eq 'x'", CodeBadRequest, "Could not find a property named 'signInActivity/foo' on type 'microsoft.graph.user'."},
		{"bool as string", "accountEnabled eq 'true'", CodeBadRequest,
			"A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."},
		{"quoted datetime", "createdDateTime ge '2024-01-01T00:00:00Z'", CodeBadRequest,
			"A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThanOrEqual'."},
		{"number for string", "displayName eq 5", CodeBadRequest, "~'Edm.String' and 'Edm.Int64'"},
		{"guid for string", "displayName eq " + g1, CodeBadRequest, "~'Edm.String' and 'Edm.Guid'"},
		{"not a guid", "id eq 'abc'", CodeBadRequest, "Invalid object identifier 'abc'."},
		{"bad datetime", "createdDateTime ge 2024-13-01T00:00:00Z", CodeBadRequest, "~is not a valid RFC 3339 timestamp"},
		{"datetime out of range", "createdDateTime ge 9999-12-31T23:00:00-05:00", CodeBadRequest, "~is not a valid RFC 3339 timestamp"},
		{"bad number", "displayName eq 12abc", CodeBadRequest, "~invalid literal"},
		{"integer overflow", "displayName eq 99999999999999999999", CodeBadRequest, "~out of range"},
		{"null with ge", "createdDateTime ge null", CodeBadRequest, "~null can only be compared with eq or ne"},
		{"null in list", "userType in ('a', null)", CodeBadRequest, "~null is not allowed"},
		{"in without parens", "userType in 'a'", CodeBadRequest, "~'(' expected"},
		{"in missing comma", "userType in ('a' 'b')", CodeBadRequest, "~')' or ',' expected"},
		{"startsWith non-string", "startsWith(displayName, 5)", CodeBadRequest, "~No function signature"},
		{"startsWith missing arg", "startsWith(displayName)", CodeBadRequest, "~',' expected"},
		{"unknown function", "frobnicate(displayName,'x')", CodeBadRequest, "An unknown function with name 'frobnicate' was found."},
		{"contains unsupported", "contains(displayName,'x')", CodeUnsupportedQuery, "The function 'contains' is not supported in $filter."},
		{"count segment", "proxyAddresses/$count eq 0", CodeUnsupportedQuery, "The '/$count' segment is not supported in $filter."},
		{"all lambda", "proxyAddresses/all(p: p eq 'x')", CodeUnsupportedQuery, "~'all' is not supported"},
		{"empty any", "proxyAddresses/any()", CodeUnsupportedQuery, "~needs a condition"},
		{"lambda missing colon", "proxyAddresses/any(p p eq 'x')", CodeBadRequest, "~':' expected"},
		{"lambda on scalar", "displayName/any(d: d eq 'x')", CodeUnsupportedQuery,
			"Unsupported or invalid query filter clause specified for property 'displayName' of resource 'User'."},
		{"lambda on element", "otherMails/any(m: m/any(n: n eq 'x'))", CodeUnsupportedQuery, "~property 'otherMails'"},
		{"outer property inside lambda", "proxyAddresses/any(p: displayName eq 'x')", CodeUnsupportedQuery, "~property 'displayName'"},
		{"unknown name inside lambda", "proxyAddresses/any(p: q eq 'x')", CodeBadRequest, "~named 'q'"},
		{"outer variable", "assignedLicenses/any(x: x/disabledPlans/any(d: x/skuId eq " + g1 + "))", CodeUnsupportedQuery, "~innermost lambda variable ('d')"},
		{"collection without lambda", "proxyAddresses eq 'x'", CodeUnsupportedQuery, "~property 'proxyAddresses'"},
		{"complex element compared", "identities/any(i: i eq 'x')", CodeUnsupportedQuery, "~property 'identities'"},
		{"complex compared", "signInActivity eq 'x'", CodeUnsupportedQuery, "~property 'signInActivity'"},
		{"too many in values", inList, CodeUnsupportedQuery, "~at most 15"},
		{"too deep", deep, CodeBadRequest, "~nested too deeply"},
		{"too deep not", deepNot, CodeBadRequest, "~nested too deeply"},
		{"too deep in lambda", deepAny, CodeBadRequest, "~nested too deeply"},
		{"too many clauses", many, CodeBadRequest, "~too many clauses"},
		{"too long", "displayName eq '" + strings.Repeat("a", MaxFilterLen) + "'", CodeBadRequest, "~too long"},
		{"dollar identifier", "$it eq 'x'", CodeBadRequest, "~unexpected '$it'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseF(UserSchema, tt.filter, true)
			checkErr(t, err, tt.code, tt.msg)
		})
	}
}

// TestFilterSupport checks the per-property, per-operator support levels:
// default works without advanced parameters, advanced needs them, none is
// refused either way.
func TestFilterSupport(t *testing.T) {
	const clause = "Unsupported or invalid query filter clause specified for property '%s' of resource '%s'."
	advMsg := func(op string) string {
		return needsAdvanced(op).Message
	}
	tests := []struct {
		schema *Schema
		filter string
		// normal and advanced are "" when the filter is accepted, else the
		// expected error message.
		normal, advanced string
	}{
		{UserSchema, "displayName eq 'a'", "", ""},
		{UserSchema, "displayName ne 'a'", advMsg("ne"), ""},
		{UserSchema, "not(displayName eq 'a')", advMsg("not"), ""},
		{UserSchema, "displayName eq null", advMsg("eq"), ""},
		{UserSchema, "displayName ge 'a'", sprintf(clause, "displayName", "User"), sprintf(clause, "displayName", "User")},
		{UserSchema, "endsWith(mail,'@x.com')", advMsg("endsWith"), ""},
		{UserSchema, "endsWith(userPrincipalName,'@x.com')", advMsg("endsWith"), ""},
		{UserSchema, "otherMails/any(m: endsWith(m,'@x.com'))", advMsg("endsWith"), ""},
		{UserSchema, "endsWith(displayName,'x')", sprintf(clause, "displayName", "User"), sprintf(clause, "displayName", "User")},
		{UserSchema, "startsWith(jobTitle,'x')", sprintf(clause, "jobTitle", "User"), sprintf(clause, "jobTitle", "User")},
		{UserSchema, "companyName eq 'x'", advMsg("eq"), ""},
		{UserSchema, "mail eq null", sprintf(clause, "mail", "User"), sprintf(clause, "mail", "User")},
		{UserSchema, "accountEnabled eq true", "", ""},
		{UserSchema, "accountEnabled ge true", advMsg("ge"), ""},
		{UserSchema, "startsWith(accountEnabled,'t')", sprintf(clause, "accountEnabled", "User"), sprintf(clause, "accountEnabled", "User")},
		// The table marks this "in" advanced, but the general rule wins:
		// in works wherever eq works by default.
		{UserSchema, "createdDateTime in (2024-01-01T00:00:00Z)", "", ""},
		{UserSchema, "companyName in ('x')", advMsg("in"), ""},
		{UserSchema, "businessPhones/any(p: p eq '1')", "", ""},
		{UserSchema, "businessPhones/any(p: p in ('1','2'))", "", ""},
		{UserSchema, "proxyAddresses/any(p: p ne 'x')", advMsg("ne"), ""},
		{UserSchema, "not(jobTitle eq 'x')", sprintf(clause, "jobTitle", "User"), sprintf(clause, "jobTitle", "User")},
		{UserSchema, "not(displayName eq 'a' and jobTitle eq 'b')", sprintf(clause, "jobTitle", "User"), sprintf(clause, "jobTitle", "User")},
		{UserSchema, "identities/any(i: i/issuer eq 'x')", "", ""},
		{UserSchema, "identities/any(i: startsWith(i/issuer,'x'))", sprintf(clause, "identities/issuer", "User"), sprintf(clause, "identities/issuer", "User")},
		{UserSchema, "employeeId le 'x' and displayName ne 'y'", advMsg("le"), ""},
		{UserSchema, "givenName ge 'a' and employeeHireDate ge 2024-01-01T00:00:00Z", advMsg("ge"), ""},
		{GroupSchema, "createdDateTime ge 2024-01-01T00:00:00Z", advMsg("ge"), ""},
		{GroupSchema, "startsWith(description,'x')", advMsg("startsWith"), ""},
		{GroupSchema, "securityEnabled eq true and mailEnabled eq false", "", ""},
		{GroupSchema, "isAssignableToRole eq true", "", ""},
		{GroupSchema, "proxyAddresses/any(p: startsWith(p,'SMTP:'))", "", ""},
		{GroupSchema, "visibility in ('Private','Public')", "", ""},
		{GroupSchema, "startsWith(classification,'x')", "", ""},
		{GroupSchema, "startsWith(visibility,'x')", sprintf(clause, "visibility", "Group"), sprintf(clause, "visibility", "Group")},
		{ApplicationSchema, "appId eq '" + g1 + "'", "", ""},
		{ApplicationSchema, "identifierUris/any(u: u eq 'api://x')", "", ""},
		{ApplicationSchema, "tags/any(t: t eq 'x')", "", ""},
		{ApplicationSchema, "createdDateTime ge 2024-01-01T00:00:00Z", advMsg("ge"), ""},
		{ServicePrincipalSchema, "servicePrincipalNames/any(n: startsWith(n,'api://'))", "", ""},
		{ServicePrincipalSchema, "servicePrincipalType eq 'Application' and accountEnabled eq true", "", ""},
		{ServicePrincipalSchema, "appOwnerOrganizationId eq " + g1, "", ""},
		{AdministrativeUnitSchema, "membershipType eq 'Dynamic' and visibility eq 'HiddenMembership'", "", ""},
		{DomainSchema, "isDefault eq true and isVerified eq true", "", ""},
		{DomainSchema, "authenticationType eq 'Managed'", "", ""},
		{DirectoryAuditSchema, "category ne 'x'", sprintf(clause, "category", "DirectoryAudit"), sprintf(clause, "category", "DirectoryAudit")},
		{DirectoryAuditSchema, "not(category eq 'x')", sprintf(clause, "category", "DirectoryAudit"), sprintf(clause, "category", "DirectoryAudit")},
		{DirectoryAuditSchema, "correlationId eq " + g1 + " and result eq 'success'", "", ""},
		{DirectoryAuditSchema, "targetResources/id eq 'x'", sprintf(clause, "targetResources", "DirectoryAudit"), sprintf(clause, "targetResources", "DirectoryAudit")},
		{DirectoryAuditSchema, "startswith(initiatedBy/user/id,'x')", sprintf(clause, "initiatedBy/user/id", "DirectoryAudit"), sprintf(clause, "initiatedBy/user/id", "DirectoryAudit")},
		{DirectoryObjectSchema, "id in ('" + g1 + "')", "", ""},
		{DirectoryObjectSchema, "startsWith(displayName,'a')", advMsg("startsWith"), ""},
	}
	for _, tt := range tests {
		for _, adv := range []bool{false, true} {
			want := tt.normal
			if adv {
				want = tt.advanced
			}
			_, err := parseF(tt.schema, tt.filter, adv)
			switch {
			case want == "" && err != nil:
				t.Errorf("%s %q (advanced %v): %v", tt.schema.Resource, tt.filter, adv, err)
			case want != "":
				t.Run(tt.schema.Resource+" "+tt.filter, func(t *testing.T) {
					checkErr(t, err, CodeUnsupportedQuery, want)
				})
			}
		}
	}
}

// TestAdvancedNeedsBoth: ne needs both the header and $count=true.
func TestAdvancedNeedsBoth(t *testing.T) {
	for _, tc := range []struct {
		eventual, count bool
	}{{false, false}, {true, false}, {false, true}} {
		v := map[string][]string{"$filter": {"displayName ne 'x'"}}
		if tc.count {
			v["$count"] = []string{"true"}
		}
		_, err := Parse(v, tc.eventual, UserSchema)
		checkErr(t, err, CodeUnsupportedQuery, "Operator 'ne' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
	}
}
