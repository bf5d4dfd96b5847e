package directory

import (
	"context"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// The legacy authentication policy (Graph's
// /policies/ostiaryLegacyAuthenticationPolicy, an Ostiary extension) is a
// singleton per tenant, like the authorization policy: a tenant without a
// stored one reads the defaults (ROPC allowed) and the first update
// creates it. It is governed by the authorization policy's permissions
// (Policy.Read.All to read, Policy.ReadWrite.Authorization to write) and
// directory actions, so role-based access needs no new action.

var legacyAuthPolicy = singleton[iam.LegacyAuthenticationPolicy]{
	kind: iam.KindLegacyAuthenticationPolicy, id: iam.LegacyAuthenticationPolicyID, defaults: iam.DefaultLegacyAuthenticationPolicy,
	normalize: func(p *iam.LegacyAuthenticationPolicy) { p.ID = iam.LegacyAuthenticationPolicyID },
}

func readLegacyAuthPolicy(r store.Reader, tenantID string) (iam.LegacyAuthenticationPolicy, store.Object, bool, error) {
	return legacyAuthPolicy.read(r, tenantID)
}

// GetLegacyAuthenticationPolicy returns the tenant's legacy authentication
// policy.
func (s *Service) GetLegacyAuthenticationPolicy(ctx context.Context, c *iam.Caller) (iam.LegacyAuthenticationPolicy, error) {
	if err := s.authorize(ctx, c, authz.AuthorizationPolicyRead, iam.KindLegacyAuthenticationPolicy, iam.LegacyAuthenticationPolicyID); err != nil {
		return iam.LegacyAuthenticationPolicy{}, err
	}
	var p iam.LegacyAuthenticationPolicy
	err := s.store.Read(ctx, func(r store.Reader) error {
		var err error
		p, _, _, err = readLegacyAuthPolicy(r, c.TenantID)
		return err
	})
	return p, err
}

// UpdateLegacyAuthenticationPolicy applies a Graph PATCH to the tenant's
// legacy authentication policy; only allowResourceOwnerPasswordCredentials
// can change. Audited as "Update legacy authentication policy".
func (s *Service) UpdateLegacyAuthenticationPolicy(ctx context.Context, c *iam.Caller, p Patch) error {
	if err := s.authorize(ctx, c, authz.AuthorizationPolicyUpdate, iam.KindLegacyAuthenticationPolicy, iam.LegacyAuthenticationPolicyID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		old, o, stored, err := readLegacyAuthPolicy(w, c.TenantID)
		if err != nil {
			return err
		}
		np := old
		if _, err := applyPatch(&np, p, "microsoft.graph.ostiaryLegacyAuthenticationPolicy", "id", "displayName", "description"); err != nil {
			return err
		}
		if err := legacyAuthPolicy.save(w, c.TenantID, o, stored, np, np.DisplayName, now); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.Policy, Activity: "Update legacy authentication policy", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindLegacyAuthenticationPolicy, iam.LegacyAuthenticationPolicyID, &np.DisplayName, "",
				audit.Changed("LegacyAuthenticationPolicy", old, np))}})
	})
}
