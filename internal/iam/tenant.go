package iam

import (
	"strings"
	"time"
)

// Tenant is an isolated directory. Its id is the Entra tenant id (a GUID).
type Tenant struct {
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName"`
	InitialDomain   string    `json:"initialDomain"`
	CreatedDateTime time.Time `json:"createdDateTime"`
	// SecurityDefaults is on for every new tenant unless bootstrap turns it off.
	SecurityDefaults bool `json:"securityDefaults"`
}

// DomainState is domain.state.
type DomainState struct {
	Status             *string    `json:"status"`
	Operation          *string    `json:"operation"`
	LastActionDateTime *time.Time `json:"lastActionDateTime"`
}

// Domain is a Graph domain; its id is the lower-case name.
type Domain struct {
	ID                               string       `json:"id"`
	AuthenticationType               string       `json:"authenticationType"`
	AvailabilityStatus               *string      `json:"availabilityStatus"`
	IsAdminManaged                   bool         `json:"isAdminManaged"`
	IsDefault                        bool         `json:"isDefault"`
	IsInitial                        bool         `json:"isInitial"`
	IsRoot                           bool         `json:"isRoot"`
	IsVerified                       bool         `json:"isVerified"`
	PasswordNotificationWindowInDays *int         `json:"passwordNotificationWindowInDays"`
	PasswordValidityPeriodInDays     *int         `json:"passwordValidityPeriodInDays"`
	SupportedServices                []string     `json:"supportedServices"`
	State                            *DomainState `json:"state"`
	// VerificationCode is the value of the TXT record that proves ownership
	// ("MS=ms12345678"); it is public by design.
	VerificationCode string `json:"x_verificationCode,omitempty"`
}

// DomainOf returns the lower-case domain part of a UPN, or "".
func DomainOf(upn string) string {
	i := strings.LastIndexByte(upn, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(upn[i+1:])
}

func hasFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// RoleAssignment is a unifiedRoleAssignment: a role granted to a principal
// at a directory scope ("/" for the tenant).
type RoleAssignment struct {
	ID               string  `json:"id"`
	PrincipalID      string  `json:"principalId"`
	RoleDefinitionID string  `json:"roleDefinitionId"`
	DirectoryScopeID string  `json:"directoryScopeId"`
	AppScopeID       *string `json:"appScopeId"`
	// ResourceScope is Graph's legacy name for DirectoryScopeID; the
	// directory fills it in on every read.
	ResourceScope string `json:"resourceScope,omitempty"`
}

// RoleDefinition is Graph's unifiedRoleDefinition as v1.0 renders it. The
// built-in ones come from package rbac; custom ones are stored objects of
// KindRoleDefinition.
type RoleDefinition struct {
	ID              string           `json:"id"`
	DisplayName     *string          `json:"displayName"`
	Description     *string          `json:"description"`
	IsBuiltIn       bool             `json:"isBuiltIn"`
	IsEnabled       *bool            `json:"isEnabled"`
	TemplateID      string           `json:"templateId"`
	Version         *string          `json:"version"`
	ResourceScopes  []string         `json:"resourceScopes"`
	RolePermissions []RolePermission `json:"rolePermissions"`
}

// RolePermission is Graph's unifiedRolePermission.
type RolePermission struct {
	AllowedResourceActions []string `json:"allowedResourceActions"`
	Condition              *string  `json:"condition"`
}

// GlobalAdministratorRoleID is the template id of Global Administrator.
const GlobalAdministratorRoleID = "62e90394-69f5-4237-9190-012177145e10"
