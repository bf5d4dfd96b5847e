package odata

import "github.com/ostiary/ostiary/internal/query"

// DirectoryAuditSchema is microsoft.graph.directoryAudit. Audit logs are
// not directory objects: there is no advanced mode, $filter combines with
// $orderby freely, and the default order is newest first. The filters are
// the ones Graph documents for directoryAudits; nothing else is accepted.
var DirectoryAuditSchema = newSchema(&Schema{
	Type:     "microsoft.graph.directoryAudit",
	Resource: "DirectoryAudit",
	Props: []Prop{
		{Name: "id", Type: query.String, Filter: ops("eq", "")},
		{Name: "activityDateTime", Type: query.Time, Filter: ops("eq ge gt le lt", ""), OrderBy: Default},
		// activityDisplayName: Graph also documents startsWith on it.
		{Name: "activityDisplayName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "category", Type: query.String, Filter: ops("eq", "")},
		{Name: "correlationId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "loggedByService", Type: query.String, Filter: ops("eq", "")},
		{Name: "operationType", Type: query.String, Filter: ops("eq", "")},
		{Name: "result", Type: query.String, Filter: ops("eq", "")},
		{Name: "resultReason", Type: query.String},
		{Name: "initiatedBy"},
		{Name: "initiatedBy/user/id", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "initiatedBy/user/displayName", Type: query.String, Filter: ops("eq", "")},
		{Name: "initiatedBy/user/userPrincipalName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "initiatedBy/app/appId", Type: query.GUID, Filter: ops("eq", "")},
		{Name: "initiatedBy/app/displayName", Type: query.String, Filter: ops("eq", "")},
		{Name: "targetResources", Collection: true},
		// targetResources/id is a string: a domain's id is its name.
		{Name: "targetResources/id", Type: query.String, Filter: ops("eq", "")},
		{Name: "targetResources/displayName", Type: query.String, Filter: ops("eq startsWith", "")},
		{Name: "additionalDetails", Collection: true},
	},
	SortWithFilter: Default,
	DefaultSort: &query.Sort{
		Field: query.Field{Path: "activityDateTime", Type: query.Time},
		Desc:  true,
	},
})
