package iam

import "strings"

// Directory role template ids that may grant tenant-wide admin consent
// (Entra: "Grant tenant-wide admin consent to an application").
const (
	PrivilegedRoleAdministratorRoleID   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	CloudApplicationAdministratorRoleID = "158c047a-c907-4556-b7ef-446551a6b5f7"
	ApplicationAdministratorRoleID      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
)

// MayGrantTenantConsent reports whether a user holding the tenant-wide
// directory roles roleIDs (template ids, directoryScopeId "/") may grant
// consent on behalf of the whole organization. Global Administrator and
// Privileged Role Administrator may grant any permission; Cloud
// Application Administrator and Application Administrator may grant any
// delegated permission and application permissions of any API except
// Microsoft Graph's (graphAppRoles), as Entra rules.
//
// The RBAC issue replaces the callers' reading of role assignments with
// its evaluator; this rule is what that evaluator must keep.
func MayGrantTenantConsent(roleIDs []string, graphAppRoles bool) bool {
	has := func(id string) bool {
		for _, r := range roleIDs {
			if strings.EqualFold(r, id) {
				return true
			}
		}
		return false
	}
	if has(GlobalAdministratorRoleID) || has(PrivilegedRoleAdministratorRoleID) {
		return true
	}
	return !graphAppRoles && (has(CloudApplicationAdministratorRoleID) || has(ApplicationAdministratorRoleID))
}
