package iam

import "time"

// AuditUser identifies a user who initiated a change.
type AuditUser struct {
	ID                string  `json:"id"`
	DisplayName       *string `json:"displayName"`
	UserPrincipalName *string `json:"userPrincipalName"`
	IPAddress         *string `json:"ipAddress"`
}

// AuditApp identifies an application that initiated a change.
type AuditApp struct {
	AppID                *string `json:"appId"`
	DisplayName          *string `json:"displayName"`
	ServicePrincipalID   *string `json:"servicePrincipalId"`
	ServicePrincipalName *string `json:"servicePrincipalName"`
}

// AuditInitiator is directoryAudit.initiatedBy.
type AuditInitiator struct {
	User *AuditUser `json:"user"`
	App  *AuditApp  `json:"app"`
}

// ModifiedProperty records one property change with JSON-encoded values.
type ModifiedProperty struct {
	DisplayName string  `json:"displayName"`
	OldValue    *string `json:"oldValue"`
	NewValue    *string `json:"newValue"`
}

// TargetResource is one object an audited change touched.
type TargetResource struct {
	ID                 string             `json:"id"`
	DisplayName        *string            `json:"displayName"`
	Type               string             `json:"type"`
	UserPrincipalName  *string            `json:"userPrincipalName"`
	GroupType          *string            `json:"groupType"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
}

// KeyValue is an entry of additionalDetails.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DirectoryAudit is one record of a change to the directory.
type DirectoryAudit struct {
	ID                  string           `json:"id"`
	Category            string           `json:"category"`
	CorrelationID       string           `json:"correlationId"`
	Result              string           `json:"result"`
	ResultReason        string           `json:"resultReason"`
	ActivityDisplayName string           `json:"activityDisplayName"`
	ActivityDateTime    time.Time        `json:"activityDateTime"`
	LoggedByService     string           `json:"loggedByService"`
	OperationType       string           `json:"operationType"`
	InitiatedBy         AuditInitiator   `json:"initiatedBy"`
	TargetResources     []TargetResource `json:"targetResources"`
	AdditionalDetails   []KeyValue       `json:"additionalDetails"`
}

// SignInStatus is signIn.status: errorCode 0 is success, anything else the
// AADSTS number of the failure.
type SignInStatus struct {
	ErrorCode         int     `json:"errorCode"`
	FailureReason     *string `json:"failureReason"`
	AdditionalDetails *string `json:"additionalDetails"`
}

// SignIn is one sign-in log record (Graph's signIn, CONTRACT.md D.16): a
// token request or interactive sign-in by a user or an application.
type SignIn struct {
	ID                        string       `json:"id"`
	CreatedDateTime           time.Time    `json:"createdDateTime"`
	UserID                    string       `json:"userId"`
	UserDisplayName           *string      `json:"userDisplayName"`
	UserPrincipalName         *string      `json:"userPrincipalName"`
	AppID                     string       `json:"appId"`
	AppDisplayName            *string      `json:"appDisplayName"`
	IPAddress                 string       `json:"ipAddress"`
	ClientAppUsed             string       `json:"clientAppUsed"`
	ResourceID                *string      `json:"resourceId"`
	ResourceDisplayName       *string      `json:"resourceDisplayName"`
	CorrelationID             string       `json:"correlationId"`
	IsInteractive             bool         `json:"isInteractive"`
	AuthenticationRequirement string       `json:"authenticationRequirement"`
	Status                    SignInStatus `json:"status"`
	// AuthenticationMethodsUsed names the methods the sign-in used
	// ("Password", "Mobile app notification"…, Entra's words).
	AuthenticationMethodsUsed []string `json:"authenticationMethodsUsed,omitempty"`
	// MfaDetail is the second factor, when there was one.
	MfaDetail *MfaDetail `json:"mfaDetail,omitempty"`
	// OstiaryEmergencyAccess flags a sign-in of an emergency-access
	// account (an Ostiary extension: Entra leaves this to monitoring).
	OstiaryEmergencyAccess bool `json:"ostiaryEmergencyAccess,omitempty"`
}

// MfaDetail is Graph's mfaDetail: the method and its detail.
type MfaDetail struct {
	AuthMethod string `json:"authMethod"`
	AuthDetail string `json:"authDetail,omitempty"`
}

// Graph's authenticationRequirement values.
const (
	SingleFactor = "singleFactorAuthentication"
	MultiFactor  = "multiFactorAuthentication"
)

// OAuth2PermissionGrant is a delegated permission grant: the client service
// principal may act for users (all of them, or one principal) with the
// space-separated scope values of the resource service principal.
type OAuth2PermissionGrant struct {
	ID          string  `json:"id"`
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	Scope       string  `json:"scope"`
}

// Consent types of an OAuth2PermissionGrant.
const (
	ConsentAllPrincipals = "AllPrincipals"
	ConsentPrincipal     = "Principal"
)
