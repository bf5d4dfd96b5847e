package odata

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/ostiary/ostiary/internal/query"
)

// userFilterSupport is Graph's documented filter support for user
// properties (copied verbatim from the shared reference data), so the
// user schema is a transcription, not a retelling.
//
//go:embed user_filter_support.json
var userFilterSupport []byte

// filterSupportFile is the shape of user_filter_support.json.
type filterSupportFile struct {
	Properties     map[string]map[string]*string `json:"properties"`
	OrderbySupport map[string]map[string]string  `json:"orderbySupport"`
}

var supportData = func() filterSupportFile {
	var f filterSupportFile
	if err := json.Unmarshal(userFilterSupport, &f); err != nil {
		panic("odata: user_filter_support.json: " + err.Error())
	}
	return f
}()

// userField is a user property: its type, and for complex properties the
// nested paths filters may use, which inherit the property's filter support.
type userField struct {
	name string
	typ  query.Type // 0: complex
	coll bool
	subs []userField
}

// userFields lists every user property the filter table names, with types
// from the Graph v1.0 user resource. The table must not name a property
// missing here (buildUserSchema panics, and the tests build it).
var userFields = []userField{
	{name: "accountEnabled", typ: query.Bool},
	{name: "ageGroup", typ: query.String},
	{name: "assignedLicenses", coll: true, subs: []userField{
		{name: "skuId", typ: query.GUID}, {name: "disabledPlans", typ: query.GUID, coll: true}}},
	{name: "assignedPlans", coll: true, subs: []userField{
		{name: "servicePlanId", typ: query.GUID}, {name: "capabilityStatus", typ: query.String},
		{name: "service", typ: query.String}, {name: "assignedDateTime", typ: query.Time}}},
	{name: "businessPhones", typ: query.String, coll: true},
	{name: "city", typ: query.String},
	{name: "companyName", typ: query.String},
	{name: "consentProvidedForMinor", typ: query.String},
	{name: "country", typ: query.String},
	{name: "createdDateTime", typ: query.Time},
	{name: "creationType", typ: query.String},
	{name: "deletedDateTime", typ: query.Time},
	{name: "department", typ: query.String},
	{name: "displayName", typ: query.String},
	{name: "employeeHireDate", typ: query.Time},
	{name: "employeeId", typ: query.String},
	{name: "employeeType", typ: query.String},
	{name: "givenName", typ: query.String},
	{name: "id", typ: query.GUID},
	{name: "identities", coll: true, subs: []userField{
		{name: "signInType", typ: query.String}, {name: "issuer", typ: query.String},
		{name: "issuerAssignedId", typ: query.String}}},
	{name: "imAddresses", typ: query.String, coll: true},
	{name: "infoCatalogs", typ: query.String, coll: true},
	{name: "isResourceAccount", typ: query.Bool},
	{name: "jobTitle", typ: query.String},
	{name: "mail", typ: query.String},
	{name: "mailNickname", typ: query.String},
	{name: "mobilePhone", typ: query.String},
	{name: "officeLocation", typ: query.String},
	{name: "onPremisesExtensionAttributes", subs: extensionAttributes()},
	{name: "onPremisesImmutableId", typ: query.String},
	{name: "onPremisesLastSyncDateTime", typ: query.Time},
	{name: "onPremisesSamAccountName", typ: query.String},
	{name: "onPremisesSecurityIdentifier", typ: query.String},
	{name: "onPremisesSyncEnabled", typ: query.Bool},
	{name: "onPremisesUserPrincipalName", typ: query.String},
	{name: "otherMails", typ: query.String, coll: true},
	{name: "passwordPolicies", typ: query.String},
	{name: "postalCode", typ: query.String},
	{name: "preferredLanguage", typ: query.String},
	{name: "proxyAddresses", typ: query.String, coll: true},
	{name: "showInAddressList", typ: query.Bool},
	{name: "signInActivity", subs: []userField{
		{name: "lastSignInDateTime", typ: query.Time},
		{name: "lastNonInteractiveSignInDateTime", typ: query.Time},
		{name: "lastSuccessfulSignInDateTime", typ: query.Time}}},
	{name: "state", typ: query.String},
	{name: "streetAddress", typ: query.String},
	{name: "surname", typ: query.String},
	{name: "usageLocation", typ: query.String},
	{name: "userPrincipalName", typ: query.String},
	{name: "userType", typ: query.String},
}

func extensionAttributes() []userField {
	out := make([]userField, 15)
	for i := range out {
		out[i] = userField{name: fmt.Sprintf("extensionAttribute%d", i+1), typ: query.String}
	}
	return out
}

// userSelectOnly are user properties outside the filter table: $select
// accepts them, nothing else does.
var userSelectOnly = []string{
	"aboutMe", "authorizationInfo", "birthday", "customSecurityAttributes",
	"employeeLeaveDateTime", "employeeOrgData", "externalUserState",
	"externalUserStateChangeDateTime", "faxNumber", "hireDate", "interests",
	"lastPasswordChangeDateTime", "legalAgeGroupClassification",
	"licenseAssignmentStates", "mySite", "onPremisesDistinguishedName",
	"onPremisesDomainName", "onPremisesProvisioningErrors", "passwordProfile",
	"pastProjects", "preferredDataLocation", "preferredName", "provisionedPlans",
	"responsibilities", "schools", "securityIdentifier",
	"serviceProvisioningErrors", "signInSessionsValidFromDateTime", "skills",
}

// userEndsWith are the only properties Graph allows endsWith on (advanced
// mode only); the table states it as a general rule.
var userEndsWith = map[string]bool{"mail": true, "otherMails": true, "userPrincipalName": true, "proxyAddresses": true}

// userSearch are the properties $search may name on users (tokenized on
// displayName, prefix match on the others).
var userSearch = map[string]bool{
	"displayName": true, "mail": true, "userPrincipalName": true,
	"givenName": true, "surname": true, "mailNickname": true,
}

// UserSchema is microsoft.graph.user, transcribed from Graph's filter table.
var UserSchema = buildUserSchema()

func buildUserSchema() *Schema {
	s := &Schema{
		Type:     "microsoft.graph.user",
		Resource: "User",
		DefaultSelect: []string{
			"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
			"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
		},
		Expand: []Nav{
			{Name: "manager", Target: KindDirectoryObject, Single: true},
			{Name: "directReports", Target: KindDirectoryObject},
			{Name: "memberOf", Target: KindDirectoryObject},
			{Name: "ownedObjects", Target: KindDirectoryObject},
			{Name: "appRoleAssignments", Target: KindAppRoleAssignment},
		},
		SortWithFilter: Advanced,
	}
	table := supportData.Properties
	seen := map[string]bool{}
	for _, f := range userFields {
		cols, ok := table[f.name]
		if !ok {
			panic("odata: user property " + f.name + " is not in the filter table")
		}
		seen[f.name] = true
		filter := userOps(f.name, cols)
		s.Props = append(s.Props, Prop{
			Name: f.name, Type: f.typ, Collection: f.coll, Filter: filter,
			OrderBy: orderBySupport("user", f.name),
			Search:  userSearch[f.name],
		})
		for _, sub := range f.subs {
			s.Props = append(s.Props, Prop{
				Name: f.name + "/" + sub.name, Type: sub.typ, Collection: sub.coll, Filter: filter,
			})
		}
	}
	for name := range table {
		if !seen[name] {
			panic("odata: filter table property " + name + " has no type in userFields")
		}
	}
	s.Props = append(s.Props, selectOnly(userSelectOnly...)...)
	return newSchema(s)
}

// userOps converts one row of the table. The table has no gt and lt
// columns: we give gt the support of ge and lt that of le (Graph treats them
// alike on every property where it documents them).
func userOps(name string, cols map[string]*string) Ops {
	var o Ops
	col := map[string][]FilterOp{
		"eq": {OpEq}, "ne": {OpNe}, "NOT": {OpNot}, "ge": {OpGe, OpGt}, "le": {OpLe, OpLt},
		"in": {OpIn}, "startsWith": {OpStartsWith}, "null": {OpNull},
	}
	for c, v := range cols {
		targets, ok := col[c]
		if !ok {
			panic("odata: unknown filter table column " + c)
		}
		lvl := level(v)
		for _, op := range targets {
			o[op] = lvl
		}
	}
	if userEndsWith[name] {
		o[OpEndsWith] = Advanced
	}
	return o
}

func level(v *string) Support {
	switch {
	case v == nil:
		return None
	case *v == "default":
		return Default
	case *v == "advanced":
		return Advanced
	}
	panic("odata: unknown support level " + *v)
}

// orderBySupport reads the table's $orderby support of resource.prop.
func orderBySupport(resource, prop string) Support {
	v, ok := supportData.OrderbySupport[resource][prop]
	if !ok {
		return None
	}
	return level(&v)
}
