package odata

import "github.com/ostiary/ostiary/internal/query"

// UserRegistrationDetailsSchema is microsoft.graph.userRegistrationDetails
// (CONTRACT.md D.15): eq on the flags and enumerations, eq and startsWith
// on the names, any() with eq on the method collections. The report is
// computed when read and filtered in memory, by package authmethods, which
// evaluates exactly these operators; it has no $orderby.
var UserRegistrationDetailsSchema = newSchema(&Schema{
	Type:     "microsoft.graph.userRegistrationDetails",
	Resource: "UserRegistrationDetails",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: ops("eq in", "")},
		{Name: "userPrincipalName", Type: query.String, Filter: ops("eq in startsWith", "")},
		{Name: "userDisplayName", Type: query.String, Filter: ops("eq in startsWith", "")},
		{Name: "userType", Type: query.String, Filter: ops("eq in", "")},
		{Name: "isAdmin", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isMfaRegistered", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isMfaCapable", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isPasswordlessCapable", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isSsprRegistered", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isSsprEnabled", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isSsprCapable", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "isSystemPreferredAuthenticationMethodEnabled", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "methodsRegistered", Type: query.String, Collection: true, Filter: ops("eq", "")},
		{Name: "systemPreferredAuthenticationMethods", Type: query.String, Collection: true, Filter: ops("eq", "")},
		{Name: "userPreferredMethodForSecondaryAuthentication", Type: query.String, Filter: ops("eq in", "")},
		{Name: "defaultMfaMethod", Type: query.String, Filter: ops("eq in", "")},
	}, selectOnly("lastUpdatedDateTime")...),
	SortWithFilter: Default,
})
