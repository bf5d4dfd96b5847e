package access

import (
	"context"
	"time"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
)

// Authorizer is the server's authz.Authorizer: the Graph permission in the
// token, then the directory's own decision from the tenant's rbac snapshot
// (see package authz for the two parts). The snapshot is read on every
// call, so a removed assignment stops working on the next request, never
// when a token expires; the wids claim is never consulted.
type Authorizer struct {
	Tenants *Tenants
	// Now is the evaluation time (scheduled assignments); time.Now if nil.
	Now func() time.Time
}

var _ authz.Authorizer = (*Authorizer)(nil)

// Authorize implements authz.Authorizer.
func (a *Authorizer) Authorize(ctx context.Context, c *iam.Caller, r authz.Request) error {
	switch c.Type {
	case iam.CallerSystem:
		return nil
	case iam.CallerApp:
		permitted := authz.AppAllows(c, r.Action, r.Owned)
		if permitted && (r.TargetKind != iam.KindUser || !rbac.Sensitive(r.Action, r.SensitiveAttributes)) {
			return nil // the common case: no snapshot needed
		}
		t, err := a.Tenants.Tenant(ctx, c.TenantID)
		if err != nil {
			return err
		}
		if permitted {
			shielded, err := a.shielded(t, r)
			if err != nil || !shielded {
				return err
			}
			// A Graph permission does not reach an administrator through a
			// sensitive action: only a directory role the matrix allows does.
		}
		d, err := a.decide(t, r, rbac.Principal{ID: c.ObjectID, Type: rbac.ServicePrincipal})
		if err != nil || d.Allowed {
			return err
		}
		return authz.Denied("no application permission, and " + reasons(d))
	case iam.CallerUser:
		if !authz.ScopeAllows(c, r.Action, authz.IsSelf(c, r.TargetID)) {
			// The self-only scopes (User.Read) need the resolved target
			// when it was addressed by something else than id or UPN.
			return authz.Denied("the token's scopes do not cover " + r.Action)
		}
		t, err := a.Tenants.Tenant(ctx, c.TenantID)
		if err != nil {
			return err
		}
		if t.SecurityDefaults() && !c.DidMFA() && !rbac.IsRead(r.Action) {
			return MFARequired()
		}
		d, err := a.decide(t, r, rbac.Principal{ID: c.ObjectID, Type: rbac.User, DefaultRoleID: t.DefaultRole(c.ObjectID)})
		if err != nil {
			return err
		}
		if !d.Allowed {
			return authz.Denied(reasons(d))
		}
		if why := defaultUserLimits(t.Policy(), c, r, d); why != "" {
			return authz.Denied(why)
		}
		return nil
	default:
		return authz.Denied("unknown caller type")
	}
}

// decide evaluates the directory half. It resolves the target only when
// there is one, and turns a missing target into "not found" for callers
// who could act on some object of the kind, and into a denial otherwise.
func (a *Authorizer) decide(t *Tenant, r authz.Request, p rbac.Principal) (rbac.Decision, error) {
	req := rbac.Request{Principal: p, Action: r.Action, SensitiveAttributes: r.SensitiveAttributes,
		Target: rbac.Target{ID: r.TargetID, Kind: r.TargetKind, OwnedByPrincipal: r.Owned}}
	if r.AnyTarget {
		req.AnyTarget, req.Target.ID = true, ""
		return rbac.Evaluate(t.Roles, req, a.now()), nil
	}
	if r.TargetID != "" && r.Resolve != nil {
		// Most decisions need no more than the id the caller gave: skip
		// the read when nothing it could tell would deny (rbac.FactsCanDeny).
		if !rbac.FactsCanDeny(r.Action, r.TargetKind, r.SensitiveAttributes) && rbac.Allowed(t.Roles, req, a.now()) {
			return rbac.Evaluate(t.Roles, req, a.now()), nil
		}
		facts, err := r.Resolve()
		switch {
		case errs.KindOf(err) == errs.NotFound:
			req.AnyTarget, req.Target.ID = true, ""
			if rbac.Allowed(t.Roles, req, a.now()) {
				return rbac.Decision{}, err
			}
			return rbac.Evaluate(t.Roles, req, a.now()), nil
		case err != nil:
			return rbac.Decision{}, err
		}
		req.Target = rbac.Target{ID: facts.ID, Kind: facts.Kind, Subtype: facts.Subtype,
			RoleAssignable: facts.RoleAssignable, OwnedByPrincipal: facts.Owned || r.Owned}
	}
	return rbac.Evaluate(t.Roles, req, a.now()), nil
}

// shielded reports whether r is a sensitive action on a user the matrix
// protects (an administrator, a member of a role-assignable group). Entra
// requires an application to hold a directory role for sensitive actions
// such as password resets even on ordinary users; Ostiary's choice is to
// let the Graph permission (User.ReadWrite.All and the like) reach users
// who hold no admin role, which provisioning tools rely on, and to require
// the role, checked against the matrix, for protected ones. That closes
// the escalation that matters: an app resetting a Global Administrator's
// password.
func (a *Authorizer) shielded(t *Tenant, r authz.Request) (bool, error) {
	if r.TargetKind != iam.KindUser || r.TargetID == "" || r.AnyTarget || !rbac.Sensitive(r.Action, r.SensitiveAttributes) {
		return false, nil
	}
	id := r.TargetID
	if r.Resolve != nil {
		facts, err := r.Resolve()
		if err != nil {
			return false, err
		}
		id = facts.ID
	}
	req := rbac.Request{Action: r.Action, SensitiveAttributes: r.SensitiveAttributes, Target: rbac.Target{ID: id, Kind: iam.KindUser}}
	return rbac.Protected(t.Roles, req, a.now()), nil
}

// defaultUserLimits applies the authorization policy's switches to a grant
// that came from the default user role (Entra's defaultUserRolePermissions):
// whether members may read other users, create applications, and create
// security groups.
func defaultUserLimits(p iam.DefaultUserRolePermissions, c *iam.Caller, r authz.Request, d rbac.Decision) string {
	if len(d.Reasons) == 0 || d.Reasons[0].Source != rbac.Default {
		return ""
	}
	switch r.Action {
	case authz.UsersRead:
		if !p.AllowedToReadOtherUsers && d.Reasons[0].Condition != rbac.ResourceIsSelf && !authz.IsSelf(c, r.TargetID) {
			return "the authorization policy does not let users read other users"
		}
	case authz.AppsCreateAsOwner:
		if !p.AllowedToCreateApps {
			return "the authorization policy does not let users register applications"
		}
	case authz.SecurityGroupsCreateAsOwner:
		if !p.AllowedToCreateSecurityGroups {
			return "the authorization policy does not let users create security groups"
		}
	}
	return ""
}

func (a *Authorizer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// reasons renders a denial's reasons for the log.
func reasons(d rbac.Decision) string {
	s := ""
	for i, r := range d.Reasons {
		if i > 0 {
			s += "; "
		}
		s += r.String()
	}
	return s
}

// Explain implements authz.Explainer: the directory decision for any
// principal, with every reason. Default-user switches of the authorization
// policy are reported as a denial reason of their own.
func (a *Authorizer) Explain(ctx context.Context, tenantID string, p authz.Principal, r authz.Request) (rbac.Decision, error) {
	t, err := a.Tenants.Tenant(ctx, tenantID)
	if err != nil {
		return rbac.Decision{}, err
	}
	pr := rbac.Principal{ID: p.ID, Type: rbac.ServicePrincipal}
	if p.Kind == iam.KindUser {
		pr = rbac.Principal{ID: p.ID, Type: rbac.User, DefaultRoleID: t.DefaultRole(p.ID)}
	}
	d, err := a.decide(t, r, pr)
	if err != nil || !d.Allowed || p.Kind != iam.KindUser {
		return d, err
	}
	c := &iam.Caller{Type: iam.CallerUser, TenantID: tenantID, ObjectID: p.ID}
	if why := defaultUserLimits(t.Policy(), c, r, d); why != "" {
		return rbac.Decision{Reasons: []rbac.Reason{{Code: rbac.ConditionNotMet, Source: rbac.Default, RoleID: d.Reasons[0].RoleID,
			RoleName: d.Reasons[0].RoleName, Permission: d.Reasons[0].Permission, Detail: why}}}, nil
	}
	return d, nil
}

// MFARequired is the refusal of a delegated change made without MFA while
// security defaults are on: they protect "privileged activities" (Entra's
// words), which Ostiary reads as every write through Graph with a user's
// token. It is Graph's claims challenge: 401 InvalidAuthenticationToken,
// with an insufficient_claims WWW-Authenticate the Graph layer adds, so a
// client signs the user in again with MFA.
func MFARequired() error {
	return &errs.Error{Kind: errs.Unauthenticated, Code: errs.CodeClaimsChallenge,
		Message: "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource."}
}
