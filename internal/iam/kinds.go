package iam

// Kind names the type of a stored object. Directory kinds match the Graph
// entity names used in "@odata.type" ("#microsoft.graph.user").
type Kind string

const (
	KindUser               Kind = "user"
	KindGroup              Kind = "group"
	KindApplication        Kind = "application"
	KindServicePrincipal   Kind = "servicePrincipal"
	KindAdministrativeUnit Kind = "administrativeUnit"
	KindDomain             Kind = "domain"
	KindDirectoryAudit     Kind = "directoryAudit"
	KindSigningKey         Kind = "signingKey"
	KindOrganization       Kind = "organization"
	// KindRoleAssignment is a directory role assignment
	// (unifiedRoleAssignment); the RBAC service owns its rules.
	KindRoleAssignment Kind = "roleAssignment"
	// KindRoleDefinition is a custom directory role (unifiedRoleDefinition
	// with isBuiltIn false); built-in roles are not stored.
	KindRoleDefinition Kind = "roleDefinition"
	// KindSignIn is a sign-in log record (Graph's signIn); CreatedAt is
	// its createdDateTime.
	KindSignIn Kind = "signIn"
	// KindOAuth2PermissionGrant is a delegated permission grant (consent).
	KindOAuth2PermissionGrant Kind = "oauth2PermissionGrant"
	// KindRefreshToken is an issued refresh token, stored only by the
	// SHA-256 hash of its value (the object id); authn owns it.
	KindRefreshToken Kind = "refreshToken"
	// KindRefreshTokenFamily is the rotation chain refresh tokens belong
	// to: which token is current, and whether the chain was revoked.
	KindRefreshTokenFamily Kind = "refreshTokenFamily"
	// KindSignInState is a user's sign-in protection state (smart lockout
	// counters and familiar IP addresses), keyed by the user's object id;
	// authn owns it.
	KindSignInState Kind = "signInState"
	// KindSignInSession is a browser sign-in session, stored only by the
	// SHA-256 hash of its cookie value (the object id); authn owns it.
	KindSignInSession Kind = "signInSession"
	// KindAuthCode is an authorization code, stored only by the SHA-256
	// hash of its value (the object id); single use; authn owns it.
	KindAuthCode Kind = "authCode"
	// KindAssertionJTI records the jti of an accepted client assertion
	// until the assertion expires, so it cannot be replayed; the id is the
	// SHA-256 of client|jti and CreatedAt the end of the replay window.
	// authn owns it.
	KindAssertionJTI Kind = "assertionJti"
	// KindDeviceCode is a device authorization (RFC 8628), stored only by
	// the SHA-256 hash of its device_code (the object id); authn owns it.
	KindDeviceCode Kind = "deviceCode"
	// KindDeviceUserCode maps the SHA-256 of a normalised user code to its
	// device code. It lives outside any tenant (tenant id ""), because the
	// device login page has no tenant in its URL; authn owns it.
	KindDeviceUserCode Kind = "deviceUserCode"
	// KindAuthenticationMethod is one registered authentication method of
	// a user (a TOTP app, a passkey, a Temporary Access Pass). Data is the
	// Graph document plus "userId"; the indexed display name column holds
	// the user's id, so a user's methods are one index range; Secret holds
	// the sealed or hashed material. authmethods owns it.
	KindAuthenticationMethod Kind = "authenticationMethod"
	// KindAuthMethodCeremony is a registration step in progress (a TOTP
	// enrollment awaiting its first code, a passkey registration's
	// challenge), or a passkey sign-in's challenge once answered (kept so
	// it is answered once): single use, CreatedAt is its expiry.
	// authmethods owns it.
	KindAuthMethodCeremony Kind = "authenticationMethodCeremony"
	// KindStrongAuthState counts a user's failed second-factor attempts
	// (TOTP codes, Temporary Access Passes) for the lockout, keyed by the
	// user's object id, apart from the user and the password's
	// signInState. authmethods owns it.
	KindStrongAuthState Kind = "strongAuthenticationState"
)

// DirectoryKinds are the kinds that are directoryObjects in Graph: they can
// be members, owners, soft-deleted and fetched by getByIds.
var DirectoryKinds = []Kind{KindUser, KindGroup, KindApplication, KindServicePrincipal, KindAdministrativeUnit}

// IsDirectoryObject reports whether k is a directoryObject kind.
func (k Kind) IsDirectoryObject() bool {
	for _, d := range DirectoryKinds {
		if d == k {
			return true
		}
	}
	return false
}

// ODataType is the "@odata.type" value for k.
func (k Kind) ODataType() string { return "#microsoft.graph." + string(k) }

// Soft-deletable kinds go to deletedItems for RetentionDays before purge.
func (k Kind) SoftDeletes() bool {
	return k == KindUser || k == KindGroup || k == KindApplication || k == KindServicePrincipal || k == KindAdministrativeUnit
}

// Rel names a relationship between two objects of one tenant.
type Rel string

const (
	// RelMember: source is a group or administrative unit, target a member.
	RelMember Rel = "member"
	// RelOwner: source is a group, application or service principal, target an owner.
	RelOwner Rel = "owner"
	// RelManager: source is a user, target the user's manager (at most one).
	RelManager Rel = "manager"
	// RelAppRoleAssignment: source is the principal (user, group or service
	// principal), target the resource service principal; the link carries an id
	// and the appRoleId.
	RelAppRoleAssignment Rel = "appRoleAssignment"
)

// DeletedRetentionDays is how long soft-deleted objects can be restored.
const DeletedRetentionDays = 30
