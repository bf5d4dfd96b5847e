package iam

// KindLegacyAuthenticationPolicy is the tenant's Ostiary legacy
// authentication policy, a singleton served by Graph at
// /policies/ostiaryLegacyAuthenticationPolicy. It is an Ostiary extension:
// Entra has no Graph object that switches the resource owner password
// grant (ROPC) alone; it blocks legacy authentication through security
// defaults (identitySecurityDefaultsEnforcementPolicy) or Conditional
// Access. The security-defaults work turns it off and reads it. Its id is
// LegacyAuthenticationPolicyID; a tenant without a stored one reads
// DefaultLegacyAuthenticationPolicy.
const KindLegacyAuthenticationPolicy Kind = "ostiaryLegacyAuthenticationPolicy"

// LegacyAuthenticationPolicyID is the singleton's id.
const LegacyAuthenticationPolicyID = "ostiaryLegacyAuthenticationPolicy"

// LegacyAuthenticationPolicy says which legacy authentication flows a
// tenant allows.
type LegacyAuthenticationPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	// AllowResourceOwnerPasswordCredentials allows grant_type=password
	// (ROPC) at the token endpoint. When false the grant is refused with
	// AADSTS530035, as Entra refuses legacy authentication under security
	// defaults.
	AllowResourceOwnerPasswordCredentials bool `json:"allowResourceOwnerPasswordCredentials"`
}

// DefaultLegacyAuthenticationPolicy allows ROPC, as a new tenant without
// security defaults does.
func DefaultLegacyAuthenticationPolicy() LegacyAuthenticationPolicy {
	return LegacyAuthenticationPolicy{
		ID:                                    LegacyAuthenticationPolicyID,
		DisplayName:                           "Legacy authentication policy (Ostiary extension)",
		Description:                           "Which legacy authentication flows the tenant allows. Ostiary-specific: Entra blocks them through security defaults or Conditional Access.",
		AllowResourceOwnerPasswordCredentials: true,
	}
}
