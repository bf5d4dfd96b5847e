package iam

// KindEmergencyAccessPolicy is the tenant's Ostiary emergency-access
// policy, a singleton served by Graph at
// /policies/ostiaryEmergencyAccessPolicy. Entra has no object for
// emergency-access ("break-glass") accounts: Microsoft's guidance is a
// convention (cloud-only accounts excluded from sign-in policies, strong
// credentials, every sign-in monitored). Ostiary makes the list explicit
// so that the sign-in rules can exclude exactly these accounts, demand that
// each has a passkey, and flag their sign-ins.
const KindEmergencyAccessPolicy Kind = "ostiaryEmergencyAccessPolicy"

// EmergencyAccessPolicyID is the singleton's id.
const EmergencyAccessPolicyID = "ostiaryEmergencyAccessPolicy"

// EmergencyAccessPolicy lists a tenant's emergency-access accounts.
type EmergencyAccessPolicy struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Description string   `json:"description"`
	AccountIDs  []string `json:"accountIds"`
}

// DefaultEmergencyAccessPolicy lists no account.
func DefaultEmergencyAccessPolicy() EmergencyAccessPolicy {
	return EmergencyAccessPolicy{
		ID:          EmergencyAccessPolicyID,
		DisplayName: "Emergency access accounts (Ostiary extension)",
		Description: "User accounts kept for emergencies: excluded from sign-in interrupts that could lock them out; each must have a passkey; every sign-in is flagged in the sign-in log.",
		AccountIDs:  []string{},
	}
}
