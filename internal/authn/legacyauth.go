package authn

import (
	"context"
	"encoding/json"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// PasswordGrantAllowed reports whether the tenant allows the resource owner
// password grant: security defaults block it (they block legacy
// authentication, and a password alone can never satisfy their MFA rules),
// and so does the tenant's legacy authentication policy (an Ostiary
// extension, see iam.LegacyAuthenticationPolicy) when it says so. A tenant
// without a stored policy and without security defaults allows it.
func (s *Service) PasswordGrantAllowed(ctx context.Context, tenantID string) (bool, error) {
	allowed := true
	err := s.st.Read(ctx, func(r store.Reader) error {
		sd, err := securityDefaultsOn(r, tenantID)
		if err != nil {
			return err
		}
		if sd {
			allowed = false
			return nil
		}
		o, err := r.Get(tenantID, iam.KindLegacyAuthenticationPolicy, iam.LegacyAuthenticationPolicyID)
		if errs.Is(err, errs.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
		var p iam.LegacyAuthenticationPolicy
		if err := json.Unmarshal(o.Data, &p); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable legacy authentication policy")
		}
		allowed = p.AllowResourceOwnerPasswordCredentials
		return nil
	})
	return allowed, err
}

// securityDefaults is securityDefaultsOn from the client cache when there
// is one: the MFA rule asks on every token request.
func (s *Service) securityDefaults(ctx context.Context, tenantID string) (bool, error) {
	return readThrough(s, ctx, defaultsOf, tenantID, func() (bool, error) {
		var on bool
		err := s.st.Read(ctx, func(r store.Reader) error {
			var err error
			on, err = securityDefaultsOn(r, tenantID)
			return err
		})
		return on, err
	})
}

// securityDefaultsOn reads the tenant's identitySecurityDefaultsEnforcementPolicy,
// falling back to the flag its tenant record was created with.
func securityDefaultsOn(r store.Reader, tenantID string) (bool, error) {
	o, err := r.Get(tenantID, iam.KindSecurityDefaultsPolicy, iam.SecurityDefaultsPolicyID)
	if errs.Is(err, errs.NotFound) {
		t, err := r.Tenant(tenantID)
		return t.SecurityDefaults, err
	} else if err != nil {
		return false, err
	}
	var p iam.SecurityDefaultsPolicy
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return false, errs.Wrap(errs.Internal, err, "authn: unreadable security defaults policy")
	}
	return p.IsEnabled, nil
}
