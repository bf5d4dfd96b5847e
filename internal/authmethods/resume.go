package authmethods

import (
	"context"
	"encoding/base32"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/store"
)

// ResumeTOTP returns an open authenticator-app enrollment of the user again
// (its key, URL and QR code): the registration page shown a second time
// after a wrong first code must show the QR code the user already scanned.
func (s *Service) ResumeTOTP(ctx context.Context, tenantID, userID, handle, accountName string) (TOTPEnrollment, error) {
	if !validHandle(handle) {
		return TOTPEnrollment{}, stepGone()
	}
	issuer := s.cfg.Issuer
	var secret []byte
	err := s.st.Read(ctx, func(r store.Reader) error {
		_, c, sec, err := s.getCeremony(r, tenantID, handleID(handle), ceremonyTOTP, s.now())
		if err != nil {
			return err
		}
		if c.UserID != userID {
			return stepGone()
		}
		if t, err := r.Tenant(tenantID); err == nil && t.DisplayName != "" {
			issuer = t.DisplayName
		}
		secret = sec
		return nil
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		return TOTPEnrollment{}, errs.Wrap(errs.Internal, err, "decode TOTP seed")
	}
	e, err := totpEnrollment(issuer, accountName, raw)
	e.ID = handle
	return e, err
}
