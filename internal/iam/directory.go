package iam

import "time"

// ObjectMeta is what every directory object has. The store indexes these.
type ObjectMeta struct {
	ID              string     `json:"id"`
	DisplayName     *string    `json:"displayName"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
	DeletedDateTime *time.Time `json:"deletedDateTime"`
}

// PasswordProfile is the write-only part of a user that carries a new password.
// The password itself is never stored; the directory service hashes it.
type PasswordProfile struct {
	Password                             *string `json:"password,omitempty"`
	ForceChangePasswordNextSignIn        bool    `json:"forceChangePasswordNextSignIn"`
	ForceChangePasswordNextSignInWithMfa bool    `json:"forceChangePasswordNextSignInWithMfa"`
}

// ObjectIdentity is an entry of user.identities.
type ObjectIdentity struct {
	SignInType       string `json:"signInType"`
	Issuer           string `json:"issuer"`
	IssuerAssignedID string `json:"issuerAssignedId"`
}

// User is a Graph user.
type User struct {
	ObjectMeta
	AccountEnabled    *bool      `json:"accountEnabled"`
	UserPrincipalName string     `json:"userPrincipalName"`
	MailNickname      *string    `json:"mailNickname"`
	Mail              *string    `json:"mail"`
	OtherMails        []string   `json:"otherMails"`
	ProxyAddresses    []string   `json:"proxyAddresses"`
	GivenName         *string    `json:"givenName"`
	Surname           *string    `json:"surname"`
	JobTitle          *string    `json:"jobTitle"`
	Department        *string    `json:"department"`
	CompanyName       *string    `json:"companyName"`
	EmployeeID        *string    `json:"employeeId"`
	EmployeeType      *string    `json:"employeeType"`
	EmployeeHireDate  *time.Time `json:"employeeHireDate"`
	BusinessPhones    []string   `json:"businessPhones"`
	MobilePhone       *string    `json:"mobilePhone"`
	OfficeLocation    *string    `json:"officeLocation"`
	City              *string    `json:"city"`
	State             *string    `json:"state"`
	Country           *string    `json:"country"`
	StreetAddress     *string    `json:"streetAddress"`
	PostalCode        *string    `json:"postalCode"`
	UsageLocation     *string    `json:"usageLocation"`
	PreferredLanguage *string    `json:"preferredLanguage"`
	// The self-service profile: what a user edits about themself.
	AboutMe                         *string          `json:"aboutMe,omitempty"`
	Birthday                        *time.Time       `json:"birthday,omitempty"`
	Interests                       []string         `json:"interests,omitempty"`
	MySite                          *string          `json:"mySite,omitempty"`
	PastProjects                    []string         `json:"pastProjects,omitempty"`
	PreferredName                   *string          `json:"preferredName,omitempty"`
	Responsibilities                []string         `json:"responsibilities,omitempty"`
	Schools                         []string         `json:"schools,omitempty"`
	Skills                          []string         `json:"skills,omitempty"`
	UserType                        *string          `json:"userType"`
	CreationType                    *string          `json:"creationType"`
	ExternalUserState               *string          `json:"externalUserState"`
	AgeGroup                        *string          `json:"ageGroup"`
	PasswordPolicies                *string          `json:"passwordPolicies"`
	LastPasswordChangeDateTime      *time.Time       `json:"lastPasswordChangeDateTime"`
	SignInSessionsValidFromDateTime *time.Time       `json:"signInSessionsValidFromDateTime"`
	OnPremisesSyncEnabled           *bool            `json:"onPremisesSyncEnabled"`
	OnPremisesImmutableID           *string          `json:"onPremisesImmutableId"`
	Identities                      []ObjectIdentity `json:"identities"`
	// PasswordProfile is accepted on create and update and never returned
	// with a password; on read it carries only the force-change flags.
	PasswordProfile *PasswordProfile `json:"passwordProfile"`
}

// Group is a Graph group.
type Group struct {
	ObjectMeta
	Description                   *string    `json:"description"`
	MailEnabled                   *bool      `json:"mailEnabled"`
	MailNickname                  *string    `json:"mailNickname"`
	Mail                          *string    `json:"mail"`
	SecurityEnabled               *bool      `json:"securityEnabled"`
	GroupTypes                    []string   `json:"groupTypes"`
	Visibility                    *string    `json:"visibility"`
	IsAssignableToRole            *bool      `json:"isAssignableToRole"`
	MembershipRule                *string    `json:"membershipRule"`
	MembershipRuleProcessingState *string    `json:"membershipRuleProcessingState"`
	Classification                *string    `json:"classification"`
	ProxyAddresses                []string   `json:"proxyAddresses"`
	SecurityIdentifier            *string    `json:"securityIdentifier"`
	OnPremisesSyncEnabled         *bool      `json:"onPremisesSyncEnabled"`
	RenewedDateTime               *time.Time `json:"renewedDateTime"`
}

// IsRoleAssignable reports whether the group can hold directory roles.
func (g *Group) IsRoleAssignable() bool { return g.IsAssignableToRole != nil && *g.IsAssignableToRole }

// IsUnified reports whether the group is a Microsoft 365 group.
func (g *Group) IsUnified() bool { return hasFold(g.GroupTypes, "Unified") }

// IsDynamic reports whether membership is computed from a rule.
func (g *Group) IsDynamic() bool { return hasFold(g.GroupTypes, "DynamicMembership") }

// AdministrativeUnit is a Graph administrativeUnit.
type AdministrativeUnit struct {
	ObjectMeta
	Description                   *string `json:"description"`
	Visibility                    *string `json:"visibility"`
	IsMemberManagementRestricted  *bool   `json:"isMemberManagementRestricted"`
	MembershipType                *string `json:"membershipType"`
	MembershipRule                *string `json:"membershipRule"`
	MembershipRuleProcessingState *string `json:"membershipRuleProcessingState"`
}
