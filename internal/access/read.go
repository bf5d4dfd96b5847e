package access

import (
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

var (
	guestFilter = query.Cmp{Field: query.Field{Path: "userType", Type: query.String}, Op: query.Eq,
		Value: query.Value{Type: query.String, Str: "Guest"}}
	roleAssignableFilter = query.Cmp{Field: query.Field{Path: "isAssignableToRole", Type: query.Bool}, Op: query.Eq,
		Value: query.Value{Type: query.Bool, Bool: true}}
)

// each calls fn for every live object of kind matching filter (nil: all).
func each(r store.Reader, tenantID string, kind iam.Kind, filter query.Expr, fn func(store.Object) error) error {
	q := query.List{Filter: filter, Top: query.MaxTop}
	for {
		p, err := r.List(tenantID, kind, store.Live, q)
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			if err := fn(o); err != nil {
				return err
			}
		}
		if p.Next == nil {
			return nil
		}
		q.After = p.Next
	}
}

func roleDefinition(o store.Object) (rbac.RoleDefinition, error) {
	var d iam.RoleDefinition
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return rbac.RoleDefinition{}, errs.Wrap(errs.Internal, err, "access: unreadable role definition %s", o.ID)
	}
	return rbac.FromGraph(d), nil
}

func assignment(o store.Object) (rbac.Assignment, error) {
	var a iam.RoleAssignment
	if err := json.Unmarshal(o.Data, &a); err != nil {
		return rbac.Assignment{}, errs.Wrap(errs.Internal, err, "access: unreadable role assignment %s", o.ID)
	}
	// Role ids are GUIDs; assignments made through Graph may spell them in
	// upper case, the catalog in lower.
	return rbac.Assignment{ID: o.ID, PrincipalID: a.PrincipalID, RoleDefinitionID: strings.ToLower(a.RoleDefinitionID),
		DirectoryScopeID: a.DirectoryScopeID}, nil
}

// readPolicy returns the tenant's authorization policy, Entra's default
// when the tenant has none stored.
func readPolicy(r store.Reader, tenantID string) (iam.AuthorizationPolicy, error) {
	o, err := r.Get(tenantID, iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID)
	if errs.KindOf(err) == errs.NotFound {
		return iam.DefaultAuthorizationPolicy(), nil
	}
	if err != nil {
		return iam.AuthorizationPolicy{}, err
	}
	var p iam.AuthorizationPolicy
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return iam.AuthorizationPolicy{}, errs.Wrap(errs.Internal, err, "access: unreadable authorization policy")
	}
	return p, nil
}

// memberships reads the role-assignable groups and administrative units
// that directly contain an object.
func memberships(r store.Reader, tenantID, id string) (rbac.SetMemberships, error) {
	out := rbac.SetMemberships{ObjectID: id}
	ls, err := r.Links(tenantID, iam.RelMember, "", id)
	if err != nil || len(ls) == 0 {
		return out, err
	}
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.SourceID
	}
	objs, err := r.GetMany(tenantID, ids, []iam.Kind{iam.KindGroup, iam.KindAdministrativeUnit})
	if err != nil {
		return out, err
	}
	for _, o := range objs {
		switch {
		case o.Kind == iam.KindAdministrativeUnit:
			out.Units = append(out.Units, o.ID)
		case roleAssignable(o):
			out.Groups = append(out.Groups, o.ID)
		}
	}
	return out, nil
}

func roleAssignable(o store.Object) bool {
	var g struct {
		IsAssignableToRole *bool `json:"isAssignableToRole"`
	}
	return json.Unmarshal(o.Data, &g) == nil && g.IsAssignableToRole != nil && *g.IsAssignableToRole
}

func isGuest(o store.Object) bool {
	var u struct {
		UserType *string `json:"userType"`
	}
	return json.Unmarshal(o.Data, &u) == nil && u.UserType != nil && strings.EqualFold(*u.UserType, "Guest")
}

// readSecurityDefaults reads whether security defaults are on, falling back
// to the flag the tenant record was created with.
func readSecurityDefaults(r store.Reader, tenantID string) (bool, error) {
	o, err := r.Get(tenantID, iam.KindSecurityDefaultsPolicy, iam.SecurityDefaultsPolicyID)
	if errs.KindOf(err) == errs.NotFound {
		t, err := r.Tenant(tenantID)
		return t.SecurityDefaults, err
	}
	if err != nil {
		return false, err
	}
	var p iam.SecurityDefaultsPolicy
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return false, errs.Wrap(errs.Internal, err, "access: unreadable security defaults policy")
	}
	return p.IsEnabled, nil
}
