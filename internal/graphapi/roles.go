package graphapi

import "github.com/ostiary/ostiary/internal/iam"

// roleRoutes mounts Entra's unified role management for the directory
// provider: role definitions (built-in and custom) and role assignments,
// which have no PATCH in Graph.
func (s *Server) roleRoutes() {
	mountEntity(s, entity[iam.RoleDefinition]{set: "roleManagement/directory/roleDefinitions", kind: iam.KindRoleDefinition,
		list: s.dir.ListRoleDefinitions, create: s.dir.CreateRoleDefinition, get: s.dir.GetRoleDefinition,
		update: s.dir.UpdateRoleDefinition, del: s.dir.DeleteRoleDefinition})
	mountEntity(s, entity[iam.RoleAssignment]{set: "roleManagement/directory/roleAssignments", kind: iam.KindRoleAssignment,
		list: s.dir.ListRoleAssignments, create: s.dir.CreateRoleAssignment, get: s.dir.GetRoleAssignment,
		del: s.dir.DeleteRoleAssignment})
}
