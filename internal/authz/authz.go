// Package authz defines how services ask whether a caller may perform an
// Entra action, and the Microsoft Graph half of the answer.
//
// Every service method names the Entra action it performs
// ("microsoft.directory/users/create") and asks an Authorizer before it
// touches the store. The decision has two parts, as in Entra:
//
//  1. the token must carry a Microsoft Graph permission that covers the
//     action: a delegated scope in "scp" for users (ScopeAllows), an
//     application permission in "roles" for app-only callers (AppAllows);
//  2. the principal must hold the right in the directory: a role
//     assignment, ownership, or the default user permissions. App-only
//     callers holding the Graph application permission need nothing more;
//     without it, a directory role assigned to their service principal
//     suffices.
//
// Part 2 is package access's Authorizer, which evaluates the rbac snapshot.
// GraphPermissions here decides part 1 alone; the directory's unit tests
// use it, and it denies every delegated call but reading oneself.
package authz

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
)

// Request is what a caller wants to do.
type Request struct {
	// Action is an Entra action, e.g. "microsoft.directory/users/create".
	Action string
	// TargetKind and TargetID name the object acted on ("" for creates and
	// tenant-wide reads). TargetID is as the caller addressed it: an object
	// id, or a key such as a user principal name.
	TargetKind iam.Kind
	TargetID   string
	// Owned is true when the caller owns the target, which is what the
	// ".OwnedBy" application permissions and the owner rights of the
	// default user role need.
	Owned bool
	// Resolve, when set, loads what the directory decision needs to know
	// about the target. The authorizer calls it only when the Graph
	// permission alone does not decide, so the common app-only path costs
	// no read. An errs.NotFound from it is returned to a caller who could
	// act on some object of the kind, and hidden behind a denial from one
	// who could not.
	Resolve func() (Target, error)
	// AnyTarget asks whether the caller may perform the action on some
	// object of TargetKind (a first check before the object is read).
	AnyTarget bool
	// SensitiveAttributes marks a users write that touches accountEnabled,
	// phones, otherMails, passwordProfile or userPrincipalName, which the
	// sensitive-actions matrix protects (see rbac.Request).
	SensitiveAttributes bool
}

// Target is what the directory decision knows about the object acted on.
type Target struct {
	ID             string // the object id
	Kind           iam.Kind
	Subtype        string // see rbac.Target.Subtype
	RoleAssignable bool
	Owned          bool // the caller owns it
}

// Authorizer decides. A nil error means allowed.
type Authorizer interface {
	Authorize(ctx context.Context, c *iam.Caller, r Request) error
}

// Denied is the error every refusal returns: Graph's
// Authorization_RequestDenied with its usual message. The reason is logged,
// never shown, so a caller cannot probe the policy.
func Denied(reason string) error {
	return &errs.Error{Kind: errs.Denied, Code: "Authorization_RequestDenied",
		Message: "Insufficient privileges to complete the operation.", Cause: errs.E(errs.Denied, "%s", reason)}
}

// GraphPermissions authorizes by the Graph permissions in the token alone.
type GraphPermissions struct{}

// Authorize implements Authorizer.
func (GraphPermissions) Authorize(_ context.Context, c *iam.Caller, r Request) error {
	switch c.Type {
	case iam.CallerSystem:
		return nil
	case iam.CallerApp:
		if AppAllows(c, r.Action, r.Owned) {
			return nil
		}
		return Denied("token lacks an application permission for " + r.Action)
	case iam.CallerUser:
		if r.Action == UsersRead && r.TargetKind == iam.KindUser && IsSelf(c, r.TargetID) && ScopeAllows(c, r.Action, true) {
			return nil
		}
		return Denied("delegated access needs the directory's decision (package access)")
	default:
		return Denied("unknown caller type")
	}
}

// AppAllows reports whether an app-only caller's Graph application
// permissions cover the action (owned: on an object it owns).
func AppAllows(c *iam.Caller, action string, owned bool) bool {
	perms, ok := appPermissions[action]
	if !ok {
		return false
	}
	return c.HasRole(perms.any...) || (owned && perms.owned != "" && c.HasRole(perms.owned))
}

// ScopeAllows reports whether a delegated caller's Graph scopes cover the
// action; self is true when the target is the signed-in user. A delegated
// scope only lets the app act with the user's own rights: the directory
// decides what those are.
func ScopeAllows(c *iam.Caller, action string, self bool) bool {
	if c.HasScope(accessAsUser) {
		return true
	}
	if perms, ok := appPermissions[action]; ok && c.HasScope(perms.any...) {
		return true
	}
	return self && c.HasScope(selfScopes[action]...)
}

// accessAsUser is Directory.AccessAsUser.All: the app may do whatever the
// signed-in user may do in the directory.
const accessAsUser = "Directory.AccessAsUser.All"

// selfScopes are delegated scopes that reach only the signed-in user's own
// object (CONTRACT.md D.1): User.Read reads it, User.ReadWrite edits it;
// UserAuthenticationMethod.Read and .ReadWrite do the same for the user's
// own authentication methods (D.14).
var selfScopes = map[string][]string{
	UsersRead:                 {"User.Read", "User.ReadWrite"},
	UsersUpdate:               {"User.ReadWrite"},
	AuthMethodsRead:           {"UserAuthenticationMethod.Read", "UserAuthenticationMethod.ReadWrite"},
	AuthMethodsRestrictedRead: {"UserAuthenticationMethod.Read", "UserAuthenticationMethod.ReadWrite"},
	AuthMethodsCreate:         {"UserAuthenticationMethod.ReadWrite"},
	AuthMethodsUpdate:         {"UserAuthenticationMethod.ReadWrite"},
	AuthMethodsDelete:         {"UserAuthenticationMethod.ReadWrite"},
}

// IsSelf reports whether target (an object id or a UPN) names the caller.
func IsSelf(c *iam.Caller, target string) bool {
	if target == "" || c.ObjectID == "" {
		return false
	}
	if strings.EqualFold(target, c.ObjectID) {
		return true
	}
	return c.UserPrincipalName != "" && strings.EqualFold(target, c.UserPrincipalName)
}

// Principal names whose access an explanation is about.
type Principal struct {
	ID   string
	Kind iam.Kind // iam.KindUser or iam.KindServicePrincipal
}

// Explainer explains the directory half of a decision (roles, ownership,
// default permissions, the sensitive-actions matrix) for any principal:
// what the troubleshooting endpoint shows. The Graph permission half
// depends on a token, which an explanation does not have.
type Explainer interface {
	Explain(ctx context.Context, tenantID string, p Principal, r Request) (rbac.Decision, error)
}
