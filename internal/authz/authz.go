// Package authz decides whether a caller may perform an Entra action.
//
// Every service method names the Entra action it performs
// ("microsoft.directory/users/create") and asks an Authorizer before it
// touches the store. The decision has two parts, as in Entra:
//
//  1. the token must carry a Microsoft Graph permission that covers the
//     action (an application permission in "roles" for app-only callers, a
//     delegated scope in "scp" for users);
//  2. for delegated callers, the user must also hold the right themselves
//     (a directory role, ownership or the default user permissions).
//
// Part 2 is the RBAC evaluator's work (a later issue plugs it in behind the
// same interface). Until then delegated callers are denied (default deny),
// with one exception every user has in Entra: reading their own user
// object (GET /me) with a scope that covers it.
package authz

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// Request is what a caller wants to do.
type Request struct {
	// Action is an Entra action, e.g. "microsoft.directory/users/create".
	Action string
	// TargetKind and TargetID name the object acted on ("" for creates and
	// tenant-wide reads); RBAC uses them for scoped assignments.
	TargetKind iam.Kind
	TargetID   string
	// Owned is true when the app-only caller owns the target, which is what
	// the ".OwnedBy" permissions need.
	Owned bool
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
		perms, ok := appPermissions[r.Action]
		if !ok {
			return Denied("no application permission grants " + r.Action)
		}
		if c.HasRole(perms.any...) {
			return nil
		}
		if r.Owned && perms.owned != "" && c.HasRole(perms.owned) {
			return nil
		}
		return Denied("token lacks a permission for " + r.Action)
	case iam.CallerUser:
		if r.Action == UsersRead && r.TargetKind == iam.KindUser && isSelf(c, r.TargetID) && c.HasScope(selfReadScopes...) {
			return nil
		}
		// Everything else delegated waits for the RBAC evaluator (the
		// directory roles issue): default deny until then.
		return Denied("delegated access needs the RBAC evaluator")
	default:
		return Denied("unknown caller type")
	}
}

// selfReadScopes are the delegated scopes that let a user read their own
// user object (CONTRACT.md D.1).
var selfReadScopes = []string{"User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite", "User.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All"}

// isSelf reports whether target (an object id or a UPN) names the caller.
func isSelf(c *iam.Caller, target string) bool {
	if target == "" || c.ObjectID == "" {
		return false
	}
	if strings.EqualFold(target, c.ObjectID) {
		return true
	}
	return c.UserPrincipalName != "" && strings.EqualFold(target, c.UserPrincipalName)
}
