package iam

// ScopedRoleMembership is Graph's scopedRoleMembership: a directory role
// held over the members of one administrative unit. Ostiary stores none of
// its own: each is a view of the RoleAssignment at the scope
// "/administrativeUnits/{administrativeUnitId}", with the same id, so the
// two Graph views (and the RBAC evaluator) see one set of assignments.
type ScopedRoleMembership struct {
	ID                   string   `json:"id"`
	RoleID               string   `json:"roleId"`
	AdministrativeUnitID string   `json:"administrativeUnitId"`
	RoleMemberInfo       Identity `json:"roleMemberInfo"`
}

// Identity is Graph's identity as roleMemberInfo carries it: the member's
// id and name, and the user principal name when the member is a user.
type Identity struct {
	ID                string  `json:"id"`
	DisplayName       *string `json:"displayName"`
	UserPrincipalName *string `json:"userPrincipalName"`
}
