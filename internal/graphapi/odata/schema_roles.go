package odata

import (
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// RoleDefinitionSchema is microsoft.graph.unifiedRoleDefinition (CONTRACT.md
// D.9): eq and in on the id, name, built-in flag and template id.
var RoleDefinitionSchema = newSchema(&Schema{
	Type:     "microsoft.graph.unifiedRoleDefinition",
	Resource: "UnifiedRoleDefinition",
	Props: append([]Prop{
		{Name: "id", Type: query.GUID, Filter: ops("eq in", "")},
		{Name: "displayName", Type: query.String, Filter: ops("eq in", "")},
		{Name: "isBuiltIn", Type: query.Bool, Filter: ops("eq", "")},
		{Name: "templateId", Type: query.GUID, Filter: ops("eq in", "")},
	}, selectOnly("description", "isEnabled", "version", "resourceScopes", "rolePermissions")...),
})

// RoleAssignmentSchema is microsoft.graph.unifiedRoleAssignment: eq and in
// on the principal, the role and the directory scope.
var RoleAssignmentSchema = newSchema(&Schema{
	Type:     "microsoft.graph.unifiedRoleAssignment",
	Resource: "UnifiedRoleAssignment",
	Props: append([]Prop{
		{Name: "id", Type: query.String, Filter: ops("eq", "")},
		{Name: "principalId", Type: query.GUID, Filter: ops("eq in", "")},
		{Name: "roleDefinitionId", Type: query.GUID, Filter: ops("eq in", "")},
		{Name: "directoryScopeId", Type: query.String, Filter: ops("eq in", "")},
	}, selectOnly("appScopeId", "resourceScope")...),
	// Graph lets one request expand all three.
	Expand: []Nav{
		{Name: "principal", Target: KindDirectoryObject, Single: true},
		{Name: "roleDefinition", Target: iam.KindRoleDefinition, Single: true},
		{Name: "directoryScope", Target: KindDirectoryObject, Single: true},
	},
	ExpandMany: true,
})

// ScopedRoleMembershipSchema is microsoft.graph.scopedRoleMembership, an
// administrative unit's scopedRoleMembers (a view of role assignments at
// the unit's scope): selectable, not filterable.
var ScopedRoleMembershipSchema = newSchema(&Schema{
	Type:     "microsoft.graph.scopedRoleMembership",
	Resource: "ScopedRoleMembership",
	Props:    selectOnly("id", "roleId", "administrativeUnitId", "roleMemberInfo"),
})
