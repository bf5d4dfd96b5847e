package odata

import "github.com/ostiary/ostiary/internal/query"

// DomainSchema is microsoft.graph.domain. Graph's docs are silent on
// filtering and sorting domains; we offer what an admin script expects:
// eq on the name and the flags, and sorting by name.
var DomainSchema = newSchema(&Schema{
	Type:     "microsoft.graph.domain",
	Resource: "Domain",
	Props: append([]Prop{
		// id is the domain name, not a GUID.
		{Name: "id", Type: query.String, Filter: eqOps, OrderBy: Default},
		{Name: "authenticationType", Type: query.String, Filter: eqOps},
		{Name: "isDefault", Type: query.Bool, Filter: eqOps},
		{Name: "isInitial", Type: query.Bool, Filter: eqOps},
		{Name: "isVerified", Type: query.Bool, Filter: eqOps},
		{Name: "isAdminManaged", Type: query.Bool, Filter: eqOps},
		{Name: "isRoot", Type: query.Bool, Filter: eqOps},
		{Name: "passwordNotificationWindowInDays", Type: query.Int},
		{Name: "passwordValidityPeriodInDays", Type: query.Int},
		{Name: "supportedServices", Type: query.String, Collection: true, Filter: collEqOps},
	}, selectOnly("availabilityStatus", "state")...),
	// Domains are few; filtering and sorting together is harmless.
	SortWithFilter: Default,
})
