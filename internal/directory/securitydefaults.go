package directory

import (
	"context"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Security defaults (Graph's identitySecurityDefaultsEnforcementPolicy) are
// a singleton per tenant. New tenants store it at creation, on unless the
// bootstrap turned it off; an older tenant without the object reads the
// flag of its tenant record. Only isEnabled can change. Reading takes
// Policy.Read.All and the policies read action; writing takes
// Policy.ReadWrite.SecurityDefaults and policies/basic/update (held by the
// Security and Global Administrators).

// ReadSecurityDefaults returns whether security defaults are on for a tenant.
func ReadSecurityDefaults(r store.Reader, tenantID string) (iam.SecurityDefaultsPolicy, store.Object, bool, error) {
	o, err := r.Get(tenantID, iam.KindSecurityDefaultsPolicy, iam.SecurityDefaultsPolicyID)
	if errs.Is(err, errs.NotFound) {
		t, err := r.Tenant(tenantID)
		if err != nil {
			return iam.SecurityDefaultsPolicy{}, o, false, err
		}
		return iam.NewSecurityDefaultsPolicy(t.SecurityDefaults), store.Object{}, false, nil
	} else if err != nil {
		return iam.SecurityDefaultsPolicy{}, o, false, err
	}
	p, err := decode[iam.SecurityDefaultsPolicy](o)
	p.ID = iam.SecurityDefaultsPolicyID
	return p, o, true, err
}

// GetSecurityDefaults returns the tenant's security defaults policy.
func (s *Service) GetSecurityDefaults(ctx context.Context, c *iam.Caller) (iam.SecurityDefaultsPolicy, error) {
	if err := s.authorize(ctx, c, authz.SecurityDefaultsRead, iam.KindSecurityDefaultsPolicy, iam.SecurityDefaultsPolicyID); err != nil {
		return iam.SecurityDefaultsPolicy{}, err
	}
	var p iam.SecurityDefaultsPolicy
	err := s.store.Read(ctx, func(r store.Reader) error {
		var err error
		p, _, _, err = ReadSecurityDefaults(r, c.TenantID)
		return err
	})
	return p, err
}

// UpdateSecurityDefaults applies a Graph PATCH (isEnabled) to the policy,
// audited as "Update policy".
func (s *Service) UpdateSecurityDefaults(ctx context.Context, c *iam.Caller, p Patch) error {
	if err := s.authorize(ctx, c, authz.SecurityDefaultsUpdate, iam.KindSecurityDefaultsPolicy, iam.SecurityDefaultsPolicyID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		old, o, stored, err := ReadSecurityDefaults(w, c.TenantID)
		if err != nil {
			return err
		}
		np := old
		if _, err := applyPatch(&np, p, "microsoft.graph.identitySecurityDefaultsEnforcementPolicy", "id", "displayName", "description"); err != nil {
			return err
		}
		data, err := encode(np)
		if err != nil {
			return err
		}
		if stored {
			o.Data = data
			err = w.Update(o)
		} else {
			err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindSecurityDefaultsPolicy, ID: np.ID, DisplayName: np.DisplayName, CreatedAt: now, Data: data})
		}
		if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.Policy, Activity: "Update policy", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindSecurityDefaultsPolicy, np.ID, &np.DisplayName, "",
				audit.Changed("IsEnabled", old.IsEnabled, np.IsEnabled))}})
	})
}

func (b *bootstrap) securityDefaults() error {
	p := iam.NewSecurityDefaultsPolicy(b.t.SecurityDefaults)
	return b.insert(iam.KindSecurityDefaultsPolicy, p.ID, "", p.DisplayName, p, nil)
}
