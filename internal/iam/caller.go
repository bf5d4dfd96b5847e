package iam

// CallerType says how a caller authenticated.
type CallerType int

const (
	// CallerApp is an application acting as itself (client credentials).
	CallerApp CallerType = iota + 1
	// CallerUser is a user acting through an application (delegated).
	CallerUser
	// CallerSystem is the server itself (bootstrap, jobs, offline admin).
	CallerSystem
)

// Caller is the authenticated principal of a request, built from a verified
// access token. Services receive it explicitly; it is never in a context.
type Caller struct {
	Type     CallerType
	TenantID string
	// ObjectID is the user's object id (delegated) or the client service
	// principal's object id (app-only).
	ObjectID string
	// AppID is the client application's appId.
	AppID              string
	AppDisplayName     string
	ServicePrincipalID string
	UserPrincipalName  string
	UserDisplayName    string
	// Roles are Graph application permissions (app-only tokens).
	Roles []string
	// Scopes are Graph delegated permissions (delegated tokens).
	Scopes []string
	// AMR lists how the user authenticated (delegated tokens).
	AMR           []string
	IPAddress     string
	CorrelationID string
}

// HasRole reports whether an app-only caller holds any of the permissions.
func (c *Caller) HasRole(perms ...string) bool { return containsAny(c.Roles, perms) }

// DidMFA reports whether a delegated caller's token records multifactor
// authentication.
func (c *Caller) DidMFA() bool { return containsAny(c.AMR, []string{"mfa"}) }

// HasScope reports whether a delegated caller holds any of the scopes.
func (c *Caller) HasScope(perms ...string) bool { return containsAny(c.Scopes, perms) }

// System returns the caller used for work the server does on its own.
func System(tenantID string) *Caller {
	return &Caller{Type: CallerSystem, TenantID: tenantID, AppDisplayName: "Ostiary"}
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == w {
				return true
			}
		}
	}
	return false
}
