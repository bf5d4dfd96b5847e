package iam

import "strings"

// KindAuthorizationPolicy is the tenant's authorizationPolicy singleton
// (Graph's /policies/authorizationPolicy): what default users may do,
// among it whether they may consent to applications for themselves. Its
// id is AuthorizationPolicyID; a tenant created before it existed has no
// object, and reads give DefaultAuthorizationPolicy.
const KindAuthorizationPolicy Kind = "authorizationPolicy"

// AuthorizationPolicyID is the singleton's id, as Entra names it.
const AuthorizationPolicyID = "authorizationPolicy"

// Permission grant policies Entra assigns to default users.
const (
	// UserConsentLegacyPolicy lets users consent to any delegated
	// permission that does not need admin consent, for any app (Entra's
	// "Allow user consent for apps").
	UserConsentLegacyPolicy = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
	// userConsentPolicyPrefix starts every policy that lets users consent
	// for themselves.
	userConsentPolicyPrefix = "ManagePermissionGrantsForSelf."
	// GuestUserRoleID is the default guestUserRoleId ("Guest User").
	GuestUserRoleID = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
)

// DefaultUserRolePermissions is authorizationPolicy.defaultUserRolePermissions.
type DefaultUserRolePermissions struct {
	AllowedToCreateApps                      bool     `json:"allowedToCreateApps"`
	AllowedToCreateSecurityGroups            bool     `json:"allowedToCreateSecurityGroups"`
	AllowedToCreateTenants                   bool     `json:"allowedToCreateTenants"`
	AllowedToReadBitlockerKeysForOwnedDevice bool     `json:"allowedToReadBitlockerKeysForOwnedDevice"`
	AllowedToReadOtherUsers                  bool     `json:"allowedToReadOtherUsers"`
	PermissionGrantPoliciesAssigned          []string `json:"permissionGrantPoliciesAssigned"`
}

// AuthorizationPolicy is Graph's authorizationPolicy.
type AuthorizationPolicy struct {
	ID                                        string                     `json:"id"`
	DisplayName                               string                     `json:"displayName"`
	Description                               string                     `json:"description"`
	AllowInvitesFrom                          string                     `json:"allowInvitesFrom"`
	AllowedToSignUpEmailBasedSubscriptions    bool                       `json:"allowedToSignUpEmailBasedSubscriptions"`
	AllowedToUseSSPR                          bool                       `json:"allowedToUseSSPR"`
	AllowEmailVerifiedUsersToJoinOrganization bool                       `json:"allowEmailVerifiedUsersToJoinOrganization"`
	AllowUserConsentForRiskyApps              *bool                      `json:"allowUserConsentForRiskyApps"`
	BlockMsolPowerShell                       bool                       `json:"blockMsolPowerShell"`
	GuestUserRoleID                           string                     `json:"guestUserRoleId"`
	DefaultUserRolePermissions                DefaultUserRolePermissions `json:"defaultUserRolePermissions"`
}

// DefaultAuthorizationPolicy is the policy of a new Entra tenant.
func DefaultAuthorizationPolicy() AuthorizationPolicy {
	return AuthorizationPolicy{
		ID:                                     AuthorizationPolicyID,
		DisplayName:                            "Authorization Policy",
		Description:                            "Used to manage authorization related settings across the company.",
		AllowInvitesFrom:                       "everyone",
		AllowedToSignUpEmailBasedSubscriptions: true,
		AllowedToUseSSPR:                       true,
		GuestUserRoleID:                        GuestUserRoleID,
		DefaultUserRolePermissions: DefaultUserRolePermissions{
			AllowedToCreateApps:                      true,
			AllowedToCreateSecurityGroups:            true,
			AllowedToCreateTenants:                   true,
			AllowedToReadBitlockerKeysForOwnedDevice: true,
			AllowedToReadOtherUsers:                  true,
			PermissionGrantPoliciesAssigned:          []string{UserConsentLegacyPolicy},
		},
	}
}

// UsersMayConsent reports whether default users may consent to
// applications for themselves: a ManagePermissionGrantsForSelf.* policy
// is assigned to them. Whatever the policy, a user can consent only to
// delegated permissions of type "User", never to "Admin" ones.
func (p AuthorizationPolicy) UsersMayConsent() bool {
	for _, id := range p.DefaultUserRolePermissions.PermissionGrantPoliciesAssigned {
		if strings.HasPrefix(id, userConsentPolicyPrefix) {
			return true
		}
	}
	return false
}

// IsPermissionGrantPolicyID reports whether id names a permission grant
// policy a default user can be assigned (ManagePermissionGrantsForSelf.*
// or ManagePermissionGrantsForOwnedResource.*).
func IsPermissionGrantPolicyID(id string) bool {
	for _, p := range []string{userConsentPolicyPrefix, "ManagePermissionGrantsForOwnedResource."} {
		if rest, ok := strings.CutPrefix(id, p); ok && rest != "" && !strings.ContainsAny(rest, " \t/") {
			return true
		}
	}
	return false
}
