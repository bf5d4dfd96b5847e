package odata

import "github.com/ostiary/ostiary/internal/query"

// SignInSchema is microsoft.graph.signIn. Like directory audits, sign-in
// logs are not directory objects: no advanced mode, $filter combines with
// $orderby, newest first by default. The filters are the ones Graph
// documents for signIns that Ostiary records.
var SignInSchema = newSchema(&Schema{
	Type:     "microsoft.graph.signIn",
	Resource: "SignIn",
	Props: []Prop{
		{Name: "id", Type: query.String, Filter: ops("eq", "")},
		{Name: "createdDateTime", Type: query.Time, Filter: ops("eq ge gt le lt", ""), OrderBy: Default},
		{Name: "userId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "userDisplayName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "userPrincipalName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "appId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "appDisplayName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "ipAddress", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "clientAppUsed", Type: query.String, Filter: ops("eq", "")},
		{Name: "resourceId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "resourceDisplayName", Type: query.String, Filter: ops("eq", "")},
		{Name: "correlationId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "isInteractive", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "authenticationRequirement", Type: query.String, Filter: ops("eq", "")},
		{Name: "status"},
		{Name: "status/errorCode", Type: query.Int, Filter: ops("eq", "")},
		{Name: "status/failureReason", Type: query.String},
		{Name: "status/additionalDetails", Type: query.String},
	},
	SortWithFilter: Default,
	DefaultSort: &query.Sort{
		Field: query.Field{Path: "createdDateTime", Type: query.Time},
		Desc:  true,
	},
})

// OAuth2PermissionGrantSchema is microsoft.graph.oAuth2PermissionGrant:
// Graph filters grants by their four ids and the consent type, with eq.
var OAuth2PermissionGrantSchema = newSchema(&Schema{
	Type:     "microsoft.graph.oAuth2PermissionGrant",
	Resource: "OAuth2PermissionGrant",
	Props: []Prop{
		{Name: "id", Type: query.String, Filter: ops("eq", "")},
		{Name: "clientId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "consentType", Type: query.String, Filter: ops("eq", "")},
		{Name: "principalId", Type: query.GUID, Filter: ops("eq null", "")},
		{Name: "resourceId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "scope", Type: query.String},
	},
})
