package odata

import "github.com/ostiary/ostiary/internal/query"

// ServicePrincipalSchema is microsoft.graph.servicePrincipal (an enterprise
// application). Graph sorts service principals only in advanced mode.
var ServicePrincipalSchema = newSchema(&Schema{
	Type:     "microsoft.graph.servicePrincipal",
	Resource: "ServicePrincipal",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: eqOps},
		{Name: "appId", Type: query.GUID, Filter: eqOps},
		{Name: "displayName", Type: query.String, Filter: textOps, Search: true, OrderBy: orderBySupport("servicePrincipal", "displayName")},
		// appDisplayName and description: prefix filters by default, as the
		// resource page lists them without the advanced marker.
		{Name: "appDisplayName", Type: query.String, Filter: textOps},
		{Name: "description", Type: query.String, Filter: textOps, Search: true},
		{Name: "servicePrincipalNames", Type: query.String, Collection: true, Filter: collTextOps},
		{Name: "servicePrincipalType", Type: query.String, Filter: eqOps},
		{Name: "accountEnabled", Type: query.Bool, Filter: eqOps},
		{Name: "appOwnerOrganizationId", Type: query.GUID, Filter: eqOps},
		{Name: "appRoleAssignmentRequired", Type: query.Bool, Filter: eqOps},
		{Name: "signInAudience", Type: query.String, Filter: eqOps},
		{Name: "tags", Type: query.String, Collection: true, Filter: collTextOps},
		{Name: "createdDateTime", Type: query.Time, Filter: advDateOps, OrderBy: orderBySupport("servicePrincipal", "createdDateTime")},
		{Name: "deletedDateTime", Type: query.Time, Filter: dateOps, OrderBy: orderBySupport("servicePrincipal", "deletedDateTime")},
	}, selectOnly(
		"addIns", "alternativeNames", "appDescription", "appRoles", "applicationTemplateId",
		"disabledByMicrosoftStatus", "homepage", "info", "keyCredentials", "loginUrl", "logoutUrl",
		"notes", "notificationEmailAddresses", "oauth2PermissionScopes", "passwordCredentials",
		"preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint", "replyUrls",
		"resourceSpecificApplicationPermissions", "samlSingleSignOnSettings",
		"tokenEncryptionKeyId", "verifiedPublisher",
	)...),
	Expand: []Nav{
		{Name: "owners", Target: KindDirectoryObject},
		{Name: "memberOf", Target: KindDirectoryObject},
		{Name: "appRoleAssignments", Target: KindAppRoleAssignment},
		{Name: "appRoleAssignedTo", Target: KindAppRoleAssignment},
	},
	SortWithFilter: Advanced,
})
