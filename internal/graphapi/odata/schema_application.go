package odata

import "github.com/ostiary/ostiary/internal/query"

// ApplicationSchema is microsoft.graph.application (an app registration).
// Graph sorts applications only in advanced mode.
var ApplicationSchema = newSchema(&Schema{
	Type:     "microsoft.graph.application",
	Resource: "Application",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: eqOps},
		{Name: "appId", Type: query.GUID, Filter: eqOps},
		{Name: "displayName", Type: query.String, Filter: textOps, Search: true, OrderBy: orderBySupport("application", "displayName")},
		// description: the resource page lists eq and startsWith without
		// marking them advanced, so they work by default.
		{Name: "description", Type: query.String, Filter: textOps, Search: true},
		{Name: "identifierUris", Type: query.String, Collection: true, Filter: collTextOps},
		{Name: "signInAudience", Type: query.String, Filter: eqOps},
		{Name: "publisherDomain", Type: query.String, Filter: textOps},
		{Name: "uniqueName", Type: query.String, Filter: textOps},
		// createdDateTime: advanced only, like every application sort.
		{Name: "createdDateTime", Type: query.Time, Filter: advDateOps, OrderBy: orderBySupport("application", "createdDateTime")},
		{Name: "deletedDateTime", Type: query.Time, Filter: dateOps, OrderBy: orderBySupport("application", "deletedDateTime")},
		{Name: "tags", Type: query.String, Collection: true, Filter: collTextOps},
	}, selectOnly(
		"api", "appRoles", "applicationTemplateId", "certification", "defaultRedirectUri",
		"disabledByMicrosoftStatus", "groupMembershipClaims", "info", "isDeviceOnlyAuthSupported",
		"isFallbackPublicClient", "keyCredentials", "notes", "oauth2RequirePostResponse",
		"optionalClaims", "parentalControlSettings", "passwordCredentials", "publicClient",
		"requestSignatureVerification", "requiredResourceAccess", "samlMetadataUrl",
		"serviceManagementReference", "servicePrincipalLockConfiguration", "spa",
		"tokenEncryptionKeyId", "verifiedPublisher", "web",
	)...),
	Expand:         []Nav{{Name: "owners", Target: KindDirectoryObject}},
	SortWithFilter: Advanced,
})
