package iam

import "time"

// PasswordCredential describes an application or service principal secret.
// SecretText is set only in the response that creates it; the store keeps a
// hash of the secret apart from this document.
type PasswordCredential struct {
	KeyID               string     `json:"keyId"`
	DisplayName         *string    `json:"displayName"`
	Hint                *string    `json:"hint"`
	SecretText          *string    `json:"secretText"`
	StartDateTime       *time.Time `json:"startDateTime"`
	EndDateTime         *time.Time `json:"endDateTime"`
	CustomKeyIdentifier *string    `json:"customKeyIdentifier"`
}

// KeyCredential is an X.509 certificate an application authenticates with.
// Key holds the base64 DER certificate; Graph never returns it on list.
type KeyCredential struct {
	KeyID               string     `json:"keyId"`
	Type                string     `json:"type"`
	Usage               string     `json:"usage"`
	Key                 *string    `json:"key"`
	DisplayName         *string    `json:"displayName"`
	StartDateTime       *time.Time `json:"startDateTime"`
	EndDateTime         *time.Time `json:"endDateTime"`
	CustomKeyIdentifier *string    `json:"customKeyIdentifier"`
}

// AppRole is a role an application defines for users or applications.
type AppRole struct {
	ID                 string   `json:"id"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description"`
	Value              *string  `json:"value"`
	IsEnabled          bool     `json:"isEnabled"`
	Origin             string   `json:"origin,omitempty"`
}

// PermissionScope is a delegated permission an API exposes.
type PermissionScope struct {
	ID                      string  `json:"id"`
	Value                   string  `json:"value"`
	Type                    string  `json:"type"`
	IsEnabled               bool    `json:"isEnabled"`
	AdminConsentDisplayName string  `json:"adminConsentDisplayName"`
	AdminConsentDescription string  `json:"adminConsentDescription"`
	UserConsentDisplayName  *string `json:"userConsentDisplayName"`
	UserConsentDescription  *string `json:"userConsentDescription"`
	Origin                  string  `json:"origin,omitempty"`
}

// PreAuthorizedApplication lets a client use scopes without consent.
type PreAuthorizedApplication struct {
	AppID                  string   `json:"appId"`
	DelegatedPermissionIDs []string `json:"delegatedPermissionIds"`
}

// APIApplication is application.api.
type APIApplication struct {
	RequestedAccessTokenVersion *int                       `json:"requestedAccessTokenVersion"`
	AcceptMappedClaims          *bool                      `json:"acceptMappedClaims"`
	KnownClientApplications     []string                   `json:"knownClientApplications"`
	OAuth2PermissionScopes      []PermissionScope          `json:"oauth2PermissionScopes"`
	PreAuthorizedApplications   []PreAuthorizedApplication `json:"preAuthorizedApplications"`
}

// ResourceAccess is one permission an application requests.
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"` // Scope or Role
}

// RequiredResourceAccess lists permissions requested on one resource.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// ImplicitGrantSettings is web.implicitGrantSettings.
type ImplicitGrantSettings struct {
	EnableIDTokenIssuance     bool `json:"enableIdTokenIssuance"`
	EnableAccessTokenIssuance bool `json:"enableAccessTokenIssuance"`
}

// WebApplication is application.web.
type WebApplication struct {
	RedirectURIs          []string               `json:"redirectUris"`
	HomePageURL           *string                `json:"homePageUrl"`
	LogoutURL             *string                `json:"logoutUrl"`
	ImplicitGrantSettings *ImplicitGrantSettings `json:"implicitGrantSettings"`
}

// RedirectURIs is application.spa and application.publicClient.
type RedirectURIs struct {
	RedirectURIs []string `json:"redirectUris"`
}

// Application is a Graph application (an app registration).
type Application struct {
	ObjectMeta
	AppID                  string                   `json:"appId"`
	Description            *string                  `json:"description"`
	SignInAudience         *string                  `json:"signInAudience"`
	IdentifierURIs         []string                 `json:"identifierUris"`
	UniqueName             *string                  `json:"uniqueName"`
	Web                    *WebApplication          `json:"web"`
	Spa                    *RedirectURIs            `json:"spa"`
	PublicClient           *RedirectURIs            `json:"publicClient"`
	IsFallbackPublicClient *bool                    `json:"isFallbackPublicClient"`
	API                    *APIApplication          `json:"api"`
	AppRoles               []AppRole                `json:"appRoles"`
	RequiredResourceAccess []RequiredResourceAccess `json:"requiredResourceAccess"`
	GroupMembershipClaims  *string                  `json:"groupMembershipClaims"`
	Tags                   []string                 `json:"tags"`
	Notes                  *string                  `json:"notes"`
	PublisherDomain        *string                  `json:"publisherDomain"`
	PasswordCredentials    []PasswordCredential     `json:"passwordCredentials"`
	KeyCredentials         []KeyCredential          `json:"keyCredentials"`
}

// ServicePrincipal is a Graph servicePrincipal (an enterprise application).
type ServicePrincipal struct {
	ObjectMeta
	AppID                     string               `json:"appId"`
	AppDisplayName            *string              `json:"appDisplayName"`
	AppOwnerOrganizationID    *string              `json:"appOwnerOrganizationId"`
	AccountEnabled            *bool                `json:"accountEnabled"`
	AppRoleAssignmentRequired *bool                `json:"appRoleAssignmentRequired"`
	ServicePrincipalType      *string              `json:"servicePrincipalType"`
	ServicePrincipalNames     []string             `json:"servicePrincipalNames"`
	SignInAudience            *string              `json:"signInAudience"`
	AppRoles                  []AppRole            `json:"appRoles"`
	OAuth2PermissionScopes    []PermissionScope    `json:"oauth2PermissionScopes"`
	ReplyURLs                 []string             `json:"replyUrls"`
	Tags                      []string             `json:"tags"`
	Description               *string              `json:"description"`
	Notes                     *string              `json:"notes"`
	PasswordCredentials       []PasswordCredential `json:"passwordCredentials"`
	KeyCredentials            []KeyCredential      `json:"keyCredentials"`
}

// AppRoleAssignment grants an app role of a resource service principal to a
// user, group or service principal.
type AppRoleAssignment struct {
	ID                   string     `json:"id"`
	AppRoleID            string     `json:"appRoleId"`
	PrincipalID          string     `json:"principalId"`
	PrincipalType        string     `json:"principalType"`
	PrincipalDisplayName *string    `json:"principalDisplayName"`
	ResourceID           string     `json:"resourceId"`
	ResourceDisplayName  *string    `json:"resourceDisplayName"`
	CreatedDateTime      *time.Time `json:"createdDateTime"`
	DeletedDateTime      *time.Time `json:"deletedDateTime"`
}

// DefaultAccessAppRoleID is the app role id meaning "default access".
const DefaultAccessAppRoleID = "00000000-0000-0000-0000-000000000000"
