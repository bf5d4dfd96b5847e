package authn

import (
	"context"
	"encoding/json"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// PasswordGrantAllowed reports whether the tenant's legacy authentication
// policy (an Ostiary extension, see iam.LegacyAuthenticationPolicy) allows
// the resource owner password grant. A tenant without a stored policy
// allows it. The security-defaults work adds its own switch here.
func (s *Service) PasswordGrantAllowed(ctx context.Context, tenantID string) (bool, error) {
	allowed := true
	err := s.st.Read(ctx, func(r store.Reader) error {
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
