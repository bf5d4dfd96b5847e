package directory

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// The authorization policy (Graph's /policies/authorizationPolicy) is a
// singleton per tenant: an object of kind authorizationPolicy with id
// "authorizationPolicy", written with Entra's defaults when a tenant is
// created. A tenant created before it existed has none; reads then give
// the defaults and the first update creates it.

var authorizationPolicy = singleton[iam.AuthorizationPolicy]{
	kind: iam.KindAuthorizationPolicy, id: iam.AuthorizationPolicyID, defaults: iam.DefaultAuthorizationPolicy,
	normalize: func(p *iam.AuthorizationPolicy) {
		p.ID = iam.AuthorizationPolicyID
		if p.DefaultUserRolePermissions.PermissionGrantPoliciesAssigned == nil {
			p.DefaultUserRolePermissions.PermissionGrantPoliciesAssigned = []string{}
		}
	},
}

// readAuthorizationPolicy returns the tenant's policy and whether it is
// stored.
func readAuthorizationPolicy(r store.Reader, tenantID string) (iam.AuthorizationPolicy, store.Object, bool, error) {
	return authorizationPolicy.read(r, tenantID)
}

// GetAuthorizationPolicy returns the tenant's authorization policy.
func (s *Service) GetAuthorizationPolicy(ctx context.Context, c *iam.Caller) (iam.AuthorizationPolicy, error) {
	if err := s.authorize(ctx, c, authz.AuthorizationPolicyRead, iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID); err != nil {
		return iam.AuthorizationPolicy{}, err
	}
	var p iam.AuthorizationPolicy
	err := s.store.Read(ctx, func(r store.Reader) error {
		var err error
		p, _, _, err = readAuthorizationPolicy(r, c.TenantID)
		return err
	})
	return p, err
}

// UpdateAuthorizationPolicy applies a Graph PATCH to the tenant's
// authorization policy. defaultUserRolePermissions is merged member by
// member, as Entra does (a PATCH of one flag keeps the others).
func (s *Service) UpdateAuthorizationPolicy(ctx context.Context, c *iam.Caller, p Patch) error {
	if err := s.authorize(ctx, c, authz.AuthorizationPolicyUpdate, iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID); err != nil {
		return err
	}
	members, err := p.keys()
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		old, o, stored, err := readAuthorizationPolicy(w, c.TenantID)
		if err != nil {
			return err
		}
		patch := p
		if nested, ok := members["defaultUserRolePermissions"]; ok && len(nested) > 0 && nested[0] == '{' {
			cur, _ := json.Marshal(old.DefaultUserRolePermissions)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(cur, &m)
			var add map[string]json.RawMessage
			if err := json.Unmarshal(nested, &add); err != nil {
				return badRequest("Invalid value specified for property 'defaultUserRolePermissions'.")
			}
			known := fieldsOf(typeOfDURP)
			for k, v := range add {
				if !known[k] {
					return badRequest("Property '%s' does not exist on type 'microsoft.graph.defaultUserRolePermissions'.", k)
				}
				m[k] = v
			}
			merged := map[string]json.RawMessage{}
			for k, v := range members {
				merged[k] = v
			}
			merged["defaultUserRolePermissions"], _ = json.Marshal(m)
			raw, _ := json.Marshal(merged)
			patch = Patch(raw)
		}
		np := old
		if _, err := applyPatch(&np, patch, "microsoft.graph.authorizationPolicy", "id"); err != nil {
			return err
		}
		authorizationPolicy.normalize(&np)
		for _, id := range np.DefaultUserRolePermissions.PermissionGrantPoliciesAssigned {
			if !iam.IsPermissionGrantPolicyID(id) {
				return badRequest("Invalid value specified for property 'permissionGrantPoliciesAssigned': '%s' is not a permission grant policy that can be assigned to users.", id)
			}
		}
		switch np.AllowInvitesFrom {
		case "none", "adminsAndGuestInviters", "adminsGuestInvitersAndAllMembers", "everyone":
		default:
			return badRequest("Invalid value specified for property 'allowInvitesFrom'.")
		}
		if err := authorizationPolicy.save(w, c.TenantID, o, stored, np, np.DisplayName, now); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.Policy, Activity: "Update authorization policy", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID, &np.DisplayName, "",
				audit.Changed("AuthorizationPolicy", old, np))}})
	})
}

var typeOfDURP = reflect.TypeOf(iam.DefaultUserRolePermissions{})

// authorizationPolicy writes the default policy of a new tenant.
func (b *bootstrap) authorizationPolicy() error {
	p := iam.DefaultAuthorizationPolicy()
	return b.insert(iam.KindAuthorizationPolicy, p.ID, "", p.DisplayName, p, nil)
}
