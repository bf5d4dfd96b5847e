package iam

// KindSecurityDefaultsPolicy is the tenant's
// identitySecurityDefaultsEnforcementPolicy singleton (Graph's
// /policies/identitySecurityDefaultsEnforcementPolicy): whether security
// defaults are on. A tenant created before it existed has no object and
// reads the SecurityDefaults flag its tenant record was created with.
const KindSecurityDefaultsPolicy Kind = "identitySecurityDefaultsEnforcementPolicy"

// SecurityDefaultsPolicyID is the singleton's id, as Entra names it.
const SecurityDefaultsPolicyID = "00000000-0000-0000-0000-000000000005"

// SecurityDefaultsPolicy is Graph's identitySecurityDefaultsEnforcementPolicy.
type SecurityDefaultsPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	IsEnabled   bool   `json:"isEnabled"`
}

// NewSecurityDefaultsPolicy is the policy with Entra's name and description.
func NewSecurityDefaultsPolicy(enabled bool) SecurityDefaultsPolicy {
	return SecurityDefaultsPolicy{
		ID:          SecurityDefaultsPolicyID,
		DisplayName: "Security Defaults",
		Description: "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
		IsEnabled:   enabled,
	}
}
