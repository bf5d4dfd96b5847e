package odata

import (
	"strings"

	"github.com/ostiary/ostiary/internal/query"
)

// DirectoryObjectSchema is microsoft.graph.directoryObject, the base type
// of polymorphic lists (members, owners, memberOf, deletedItems). Filters
// and sorts see only id and displayName; Graph's examples filter and sort
// these lists on displayName with advanced parameters, so we require them.
// $select accepts any property of the directory kinds, as Graph does on
// these lists ($select=id,displayName,userPrincipalName), and each item
// returns the properties its own type has.
var DirectoryObjectSchema = newSchema(&Schema{
	Type:     "microsoft.graph.directoryObject",
	Resource: "DirectoryObject",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: eqOps},
		{Name: "displayName", Type: query.String, Filter: advTextOps, Search: true, OrderBy: Advanced},
		{Name: "deletedDateTime", Type: query.Time, Filter: dateOps, OrderBy: Advanced},
	}, selectUnion("id", "displayName", "deletedDateTime")...),
	SortWithFilter: Advanced,
})

// selectUnion returns a select-only property for every top-level property
// of the directory kinds, except those in skip, each named once.
func selectUnion(skip ...string) []Prop {
	seen := map[string]bool{}
	for _, n := range skip {
		seen[strings.ToLower(n)] = true
	}
	var names []string
	for _, s := range []*Schema{UserSchema, GroupSchema, ApplicationSchema, ServicePrincipalSchema, AdministrativeUnitSchema} {
		for _, p := range s.Props {
			key := strings.ToLower(p.Name)
			if !p.Select || seen[key] {
				continue
			}
			seen[key] = true
			names = append(names, p.Name)
		}
	}
	return selectOnly(names...)
}
