package odata

import "github.com/ostiary/ostiary/internal/query"

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
})
