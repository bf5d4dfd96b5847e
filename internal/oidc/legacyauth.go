package oidc

import "context"

// LegacyAuthPolicy says whether a tenant allows legacy authentication
// flows (package authn). Errors carry AADSTS codes.
type LegacyAuthPolicy interface {
	PasswordGrantAllowed(ctx context.Context, tenantID string) (bool, error)
}

// codeLegacyAuthBlocked is Entra's "blocked by security defaults" (legacy
// authentication), AADSTS530035.
const codeLegacyAuthBlocked = 530035

// checkPasswordGrantAllowed refuses ROPC in a tenant whose legacy
// authentication policy turns it off. It runs before the password is
// checked, so a blocked grant costs no hash, counts nothing towards the
// lockout and tells nothing about the password (Entra checks the password
// first, which makes a blocked ROPC a password oracle).
func (h *Handler) checkPasswordGrantAllowed(ctx context.Context, tenantID string) error {
	if h.deps.LegacyAuth == nil {
		return nil
	}
	ok, err := h.deps.LegacyAuth.PasswordGrantAllowed(ctx, tenantID)
	if err != nil {
		return err
	}
	if !ok {
		return aadsts(codeLegacyAuthBlocked, "Access has been blocked by security defaults: the tenant does not allow legacy authentication (the resource owner password credentials grant). Use a modern authentication flow.")
	}
	return nil
}
