package odata

import "github.com/ostiary/ostiary/internal/query"

// AppRoleAssignmentSchema is microsoft.graph.appRoleAssignment, listed under
// users, groups and service principals (appRoleAssignments,
// appRoleAssignedTo) and expandable from them. Graph documents eq on the
// principal and resource ids; the rest is select-only.
var AppRoleAssignmentSchema = newSchema(&Schema{
	Type:     "microsoft.graph.appRoleAssignment",
	Resource: "AppRoleAssignment",
	Props: []Prop{
		{Name: "id", Type: query.String, Filter: ops("eq", "")},
		{Name: "appRoleId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "principalId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "resourceId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "principalType", Type: query.String},
		{Name: "principalDisplayName", Type: query.String},
		{Name: "resourceDisplayName", Type: query.String},
		{Name: "createdDateTime", Type: query.Time},
		{Name: "deletedDateTime", Type: query.Time},
	},
	SortWithFilter: Advanced,
})
