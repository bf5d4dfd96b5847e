package directory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// How the directory asks the authorizer. Every method calls authorize (or
// check) before it reads or writes; for an action on one directory object
// the request carries a resolver, so that the authorizer can learn the
// object's id, subtype and owners when the decision needs them (a scoped
// role, an owner right, the sensitive-actions matrix) and only then.

// authorize asks whether c may perform action on the object of kind that
// id names (an id or a key; "" for creates and lists).
func (s *Service) authorize(ctx context.Context, c *iam.Caller, action string, kind iam.Kind, id string) error {
	return s.check(ctx, c, authz.Request{Action: action, TargetKind: kind, TargetID: id})
}

// check asks the authorizer, attaching a target resolver when the request
// names a directory object, and logs a refusal with its reason.
func (s *Service) check(ctx context.Context, c *iam.Caller, r authz.Request) error {
	if r.TargetID != "" && r.Resolve == nil && !r.AnyTarget && r.TargetKind.IsDirectoryObject() {
		kind, key := r.TargetKind, r.TargetID
		r.Resolve = func() (authz.Target, error) { return s.target(ctx, c, kind, key) }
	}
	if err := s.authz.Authorize(ctx, c, r); err != nil {
		s.log.Info("access denied", "tenant", c.TenantID, "caller", c.ObjectID, "action", r.Action, "target", r.TargetID,
			"owned", r.Owned, "reason", err)
		return err
	}
	return nil
}

// target loads what the authorizer needs about the object key names.
func (s *Service) target(ctx context.Context, c *iam.Caller, kind iam.Kind, key string) (authz.Target, error) {
	var t authz.Target
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := r.Get(c.TenantID, kind, key)
		if errs.KindOf(err) == errs.NotFound && store.KeyPath[kind] != "" {
			o, err = r.GetByKey(c.TenantID, kind, key)
		}
		if errs.KindOf(err) == errs.NotFound {
			return notFound(key)
		}
		if err != nil {
			return err
		}
		t = targetOf(o)
		t.Owned, err = callerOwns(r, c, o.ID)
		return err
	})
	return t, err
}

// targetOf describes a loaded object to the authorizer. Subtypes are
// Entra's action subtypes: a single-tenant application is
// "applications.myOrganization"; a group is "groups.unified" or
// "groups.security", then ".assignedMembership" or ".dynamicMembership".
func targetOf(o store.Object) authz.Target {
	t := authz.Target{ID: o.ID, Kind: o.Kind}
	switch o.Kind {
	case iam.KindApplication:
		var a struct {
			SignInAudience *string `json:"signInAudience"`
		}
		if json.Unmarshal(o.Data, &a) == nil && (a.SignInAudience == nil || *a.SignInAudience == "AzureADMyOrg") {
			t.Subtype = "myOrganization"
		}
	case iam.KindGroup:
		var g iam.Group
		if json.Unmarshal(o.Data, &g) != nil {
			break
		}
		t.RoleAssignable = g.IsRoleAssignable()
		switch {
		case slices.ContainsFunc(g.GroupTypes, func(s string) bool { return strings.EqualFold(s, "Unified") }):
			t.Subtype = "unified"
		case g.SecurityEnabled != nil && *g.SecurityEnabled:
			t.Subtype = "security"
		}
		if t.Subtype != "" {
			if slices.ContainsFunc(g.GroupTypes, func(s string) bool { return strings.EqualFold(s, "DynamicMembership") }) {
				t.Subtype += ".dynamicMembership"
			} else {
				t.Subtype += ".assignedMembership"
			}
		}
	}
	return t
}

// callerObjectID is the directory object acting: the user, or the client's
// service principal.
func callerObjectID(c *iam.Caller) string {
	switch c.Type {
	case iam.CallerApp:
		if c.ServicePrincipalID != "" {
			return strings.ToLower(c.ServicePrincipalID)
		}
		return strings.ToLower(c.ObjectID)
	case iam.CallerUser:
		return strings.ToLower(c.ObjectID)
	}
	return ""
}

// callerOwns reports whether the caller (an app's service principal or a
// user) is an owner of the object id.
func callerOwns(r store.Reader, c *iam.Caller, id string) (bool, error) {
	me := callerObjectID(c)
	if me == "" {
		return false, nil
	}
	links, err := r.Links(c.TenantID, iam.RelOwner, id, me)
	return len(links) > 0, err
}

// preauthorize is the first check of an action on an object not yet read:
// it passes if the caller could perform the action on some object of the
// kind (as an owner, or through a scoped role), so a caller without any
// suitable right is refused before a read. authorizeOwned then decides
// exactly, in the transaction that uses the object.
func (s *Service) preauthorize(ctx context.Context, c *iam.Caller, action string, kind iam.Kind, key string) error {
	return s.check(ctx, c, authz.Request{Action: action, TargetKind: kind, TargetID: key, Owned: true, AnyTarget: true})
}

// authorizeOwned decides action on the loaded object o.
func (s *Service) authorizeOwned(ctx context.Context, r store.Reader, c *iam.Caller, action string, o store.Object) error {
	owned, err := callerOwns(r, c, o.ID)
	if err != nil {
		return err
	}
	t := targetOf(o)
	t.Owned = owned
	return s.check(ctx, c, authz.Request{Action: action, TargetKind: o.Kind, TargetID: o.ID, Owned: owned,
		Resolve: func() (authz.Target, error) { return t, nil }})
}

// managesOnlyOwned reports whether an app-only caller may perform action
// on the objects it owns but not on others.
func (s *Service) managesOnlyOwned(ctx context.Context, c *iam.Caller, action string) bool {
	return c.Type == iam.CallerApp &&
		s.authz.Authorize(ctx, c, authz.Request{Action: action}) != nil &&
		s.authz.Authorize(ctx, c, authz.Request{Action: action, Owned: true}) == nil
}

// listScope authorizes listing objects of kind; ownedOnly means the caller
// may list just the objects it owns.
func (s *Service) listScope(ctx context.Context, c *iam.Caller, action string, kind iam.Kind) (ownedOnly bool, err error) {
	if s.managesOnlyOwned(ctx, c, action) && callerObjectID(c) != "" {
		return true, nil
	}
	return false, s.authorize(ctx, c, action, kind, "")
}

// deny refuses an action for a reason the authorizer cannot see.
func (s *Service) deny(c *iam.Caller, action, targetID, reason string) error {
	s.log.Info("access denied", "tenant", c.TenantID, "caller", c.ObjectID, "action", action, "target", targetID, "reason", reason)
	return authz.Denied(reason)
}

// authorizeCreate authorizes creating an object of kind: with action, or,
// for a user who may only create as an owner (the default user role's
// createAsOwner), with asOwner, in which case it returns the user's id to
// make the first owner.
func (s *Service) authorizeCreate(ctx context.Context, c *iam.Caller, action, asOwner string, kind iam.Kind) (owner string, err error) {
	err = s.authorize(ctx, c, action, kind, "")
	if err == nil || c.Type != iam.CallerUser || errs.KindOf(err) != errs.Denied {
		return "", err
	}
	if s.authorize(ctx, c, asOwner, kind, "") != nil {
		return "", err
	}
	return callerObjectID(c), nil
}
