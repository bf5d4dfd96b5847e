package odata

import "github.com/ostiary/ostiary/internal/query"

// GroupSchema is microsoft.graph.group. Support levels follow Graph's group
// filter table where it documents them; choices where it is silent are
// commented on the property.
var GroupSchema = newSchema(&Schema{
	Type:     "microsoft.graph.group",
	Resource: "Group",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: eqOps},
		{Name: "displayName", Type: query.String, Filter: textOps, Search: true, OrderBy: orderBySupport("group", "displayName")},
		// description: Graph needs advanced mode for every operator on it.
		{Name: "description", Type: query.String, Filter: advTextOps, Search: true},
		// mail and proxyAddresses take endsWith in advanced mode, as on users.
		{Name: "mail", Type: query.String, Filter: ops("eq in startsWith", "ne not null endsWith"), Search: true},
		{Name: "mailNickname", Type: query.String, Filter: textOps, Search: true},
		{Name: "mailEnabled", Type: query.Bool, Filter: eqOps},
		{Name: "securityEnabled", Type: query.Bool, Filter: eqOps},
		{Name: "isAssignableToRole", Type: query.Bool, Filter: eqOps},
		{Name: "groupTypes", Type: query.String, Collection: true, Filter: collEqOps},
		{Name: "proxyAddresses", Type: query.String, Collection: true, Filter: ops("eq startsWith", "ne not endsWith")},
		// createdDateTime: Graph's own example error rejects it outside
		// advanced mode ("...property 'createdDateTime' of resource 'Group'").
		{Name: "createdDateTime", Type: query.Time, Filter: advDateOps},
		{Name: "deletedDateTime", Type: query.Time, Filter: dateOps, OrderBy: orderBySupport("group", "deletedDateTime")},
		{Name: "classification", Type: query.String, Filter: textOps},
		{Name: "visibility", Type: query.String, Filter: eqOps},
		{Name: "onPremisesSyncEnabled", Type: query.Bool, Filter: eqOps},
		{Name: "membershipRuleProcessingState", Type: query.String, Filter: eqOps},
	}, selectOnly(
		"assignedLabels", "assignedLicenses", "expirationDateTime", "licenseProcessingState",
		"membershipRule", "onPremisesDomainName", "onPremisesLastSyncDateTime",
		"onPremisesNetBiosName", "onPremisesProvisioningErrors", "onPremisesSamAccountName",
		"onPremisesSecurityIdentifier", "preferredDataLocation", "preferredLanguage",
		"renewedDateTime", "securityIdentifier", "serviceProvisioningErrors", "theme", "uniqueName",
	)...),
	Expand: []Nav{
		{Name: "members", Target: KindDirectoryObject},
		{Name: "owners", Target: KindDirectoryObject},
		{Name: "memberOf", Target: KindDirectoryObject},
		{Name: "appRoleAssignments", Target: KindAppRoleAssignment},
	},
	SortWithFilter: Advanced,
})
