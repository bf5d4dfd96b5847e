package odata

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

var allSchemas = []*Schema{
	UserSchema, GroupSchema, ApplicationSchema, ServicePrincipalSchema, AdministrativeUnitSchema,
	DomainSchema, DirectoryAuditSchema, DirectoryObjectSchema, AppRoleAssignmentSchema,
	SignInSchema, OAuth2PermissionGrantSchema, RoleDefinitionSchema, RoleAssignmentSchema,
	UserRegistrationDetailsSchema,
}

// TestUserSchemaMatchesTable re-reads the filter table independently and
// checks every cell against the user schema.
func TestUserSchemaMatchesTable(t *testing.T) {
	var table struct {
		Properties     map[string]map[string]*string `json:"properties"`
		OrderbySupport map[string]map[string]string  `json:"orderbySupport"`
	}
	raw, err := os.ReadFile("user_filter_support.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	want := func(v *string) Support {
		if v == nil {
			return None
		}
		return map[string]Support{"default": Default, "advanced": Advanced}[*v]
	}
	cols := map[string][]FilterOp{
		"eq": {OpEq}, "ne": {OpNe}, "NOT": {OpNot}, "ge": {OpGe, OpGt}, "le": {OpLe, OpLt},
		"in": {OpIn}, "startsWith": {OpStartsWith}, "null": {OpNull},
	}
	for name, row := range table.Properties {
		p := UserSchema.Prop(name)
		if p == nil || p.Name != name {
			t.Errorf("table property %s missing from the user schema", name)
			continue
		}
		for col, v := range row {
			for _, op := range cols[col] {
				if p.Filter[op] != want(v) {
					t.Errorf("%s %s: schema %v, table %v", name, op, p.Filter[op], want(v))
				}
			}
		}
		ends := None
		if userEndsWith[name] {
			ends = Advanced
		}
		if p.Filter[OpEndsWith] != ends {
			t.Errorf("%s endsWith: %v", name, p.Filter[OpEndsWith])
		}
		if p.FilterSupport(OpNe) == Default || p.FilterSupport(OpNot) == Default {
			t.Errorf("%s: ne/not must never work by default", name)
		}
		if p.Filter[OpEq] == Default && p.FilterSupport(OpIn) != Default {
			t.Errorf("%s: in must work where eq works by default", name)
		}
	}
	for _, p := range UserSchema.Props {
		if strings.Contains(p.Name, "/") || p.Filter == (Ops{}) {
			continue
		}
		if _, ok := table.Properties[p.Name]; !ok {
			t.Errorf("user property %s is filterable but not in the table", p.Name)
		}
	}
	for resource, row := range table.OrderbySupport {
		s := SchemaFor(iam.Kind(resource))
		if s == nil {
			continue // device: not served
		}
		for name, lvl := range row {
			p := s.Prop(name)
			if p == nil || p.OrderBy != want(&lvl) {
				t.Errorf("%s $orderby=%s: schema %v, table %s", resource, name, p, lvl)
			}
		}
		for _, p := range s.Props {
			if _, ok := row[p.Name]; !ok && p.OrderBy != None {
				t.Errorf("%s $orderby=%s allowed but not in the table", resource, p.Name)
			}
		}
	}
}

func TestUserDefaultSelect(t *testing.T) {
	want := []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
		"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}
	if !reflect.DeepEqual(UserSchema.DefaultSelect, want) {
		t.Fatalf("default select %v", UserSchema.DefaultSelect)
	}
	for _, s := range allSchemas[1:] {
		if s.DefaultSelect != nil {
			t.Errorf("%s has a default select", s.Type)
		}
	}
}

// TestSchemasConsistent checks invariants the parser relies on.
func TestSchemasConsistent(t *testing.T) {
	for _, kind := range append(append([]iam.Kind{}, iam.DirectoryKinds...), iam.KindDomain, iam.KindDirectoryAudit, KindDirectoryObject, KindAppRoleAssignment) {
		if SchemaFor(kind) == nil {
			t.Errorf("no schema for %s", kind)
		}
	}
	if SchemaFor(iam.KindSigningKey) != nil {
		t.Error("signing keys have no OData schema")
	}
	for _, s := range allSchemas {
		if !strings.HasPrefix(s.Type, "microsoft.graph.") || s.Resource == "" {
			t.Errorf("%q: bad names", s.Type)
		}
		if p := s.Prop("id"); p == nil || p.FilterSupport(OpEq) == None {
			t.Errorf("%s: id must be filterable with eq", s.Type)
		}
		for _, n := range s.Expand {
			if SchemaFor(n.Target) == nil {
				t.Errorf("%s: $expand=%s has no target schema", s.Type, n.Name)
			}
		}
		for i := range s.Props {
			p := &s.Props[i]
			if s.Prop(strings.ToUpper(p.Name)) != p {
				t.Errorf("%s: lookup of %s", s.Type, p.Name)
			}
			if p.Search && (p.Type != query.String || p.Collection) {
				t.Errorf("%s.%s: searchable but not a string", s.Type, p.Name)
			}
			if p.OrderBy != None && (p.Type == 0 || p.Collection) {
				t.Errorf("%s.%s: sortable but not a scalar", s.Type, p.Name)
			}
			if p.Filter != (Ops{}) && p.Type == 0 && !p.Collection && !hasNested(s, p.Name) {
				t.Errorf("%s.%s: filterable complex property without nested paths", s.Type, p.Name)
			}
			if p.Filter[OpStartsWith] != None && p.Type != query.String && p.Type != 0 {
				t.Errorf("%s.%s: startsWith on a non-string", s.Type, p.Name)
			}
		}
	}
}

func hasNested(s *Schema, name string) bool {
	for _, p := range s.Props {
		if strings.HasPrefix(p.Name, name+"/") {
			return true
		}
	}
	return false
}

// TestSchemaSpotChecks pins the levels the brief and Graph's docs name.
func TestSchemaSpotChecks(t *testing.T) {
	tests := []struct {
		s    *Schema
		prop string
		op   FilterOp
		want Support
	}{
		{GroupSchema, "displayName", OpStartsWith, Default},
		{GroupSchema, "description", OpStartsWith, Advanced},
		{GroupSchema, "mailNickname", OpIn, Default},
		{GroupSchema, "groupTypes", OpEq, Default},
		{GroupSchema, "proxyAddresses", OpStartsWith, Default},
		{ApplicationSchema, "appId", OpIn, Default},
		{ApplicationSchema, "publisherDomain", OpStartsWith, Default},
		{ServicePrincipalSchema, "servicePrincipalNames", OpEq, Default},
		{ServicePrincipalSchema, "appOwnerOrganizationId", OpEq, Default},
		{AdministrativeUnitSchema, "membershipType", OpEq, Default},
		{DomainSchema, "isInitial", OpEq, Default},
		{DirectoryAuditSchema, "activityDateTime", OpGt, Default},
		{DirectoryAuditSchema, "activityDateTime", OpLt, Default},
		{DirectoryAuditSchema, "initiatedBy/user/userPrincipalName", OpStartsWith, Default},
		{DirectoryAuditSchema, "initiatedBy/app/appId", OpEq, Default},
		{DirectoryAuditSchema, "targetResources/id", OpEq, Default},
		{DirectoryAuditSchema, "category", OpNe, None},
		{UserSchema, "identities/issuerAssignedId", OpEq, Default},
		{UserSchema, "accountEnabled", OpEq, Default},
	}
	for _, tt := range tests {
		p := tt.s.Prop(tt.prop)
		if p == nil {
			t.Errorf("%s.%s missing", tt.s.Resource, tt.prop)
			continue
		}
		if got := p.FilterSupport(tt.op); got != tt.want {
			t.Errorf("%s.%s %s: %v, want %v", tt.s.Resource, tt.prop, tt.op, got, tt.want)
		}
	}
	if UserSchema.Prop("proxyAddresses").Collection != true || UserSchema.Prop("createdDateTime").Type != query.Time {
		t.Error("user property types")
	}
	if DirectoryAuditSchema.Prop("activityDateTime").OrderBy != Default {
		t.Error("audit sort")
	}
}

func TestOpsHelper(t *testing.T) {
	o := ops("eq in", "ne")
	if o[OpEq] != Default || o[OpIn] != Default || o[OpNe] != Advanced || o[OpGe] != None {
		t.Fatalf("ops: %v", o)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown operator did not panic")
		}
	}()
	ops("eq like", "")
}
