package odata

import "github.com/ostiary/ostiary/internal/query"

// AdministrativeUnitSchema is microsoft.graph.administrativeUnit. Graph
// sorts administrative units only in advanced mode.
var AdministrativeUnitSchema = newSchema(&Schema{
	Type:     "microsoft.graph.administrativeUnit",
	Resource: "AdministrativeUnit",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: eqOps},
		{Name: "displayName", Type: query.String, Filter: textOps, Search: true, OrderBy: orderBySupport("administrativeUnit", "displayName")},
		// description: prefix filters by default, as on applications.
		{Name: "description", Type: query.String, Filter: textOps, Search: true},
		{Name: "membershipType", Type: query.String, Filter: eqOps},
		{Name: "visibility", Type: query.String, Filter: eqOps},
		{Name: "isMemberManagementRestricted", Type: query.Bool, Filter: eqOps},
		{Name: "createdDateTime", Type: query.Time, Filter: advDateOps, OrderBy: orderBySupport("administrativeUnit", "createdDateTime")},
		{Name: "deletedDateTime", Type: query.Time, Filter: dateOps, OrderBy: orderBySupport("administrativeUnit", "deletedDateTime")},
	}, selectOnly("membershipRule", "membershipRuleProcessingState")...),
	Expand:         []Nav{{Name: "members", Target: KindDirectoryObject}},
	SortWithFilter: Advanced,
})
