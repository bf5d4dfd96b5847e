package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/signin"
)

// mfaMethods joins the authentication methods service and authn's sign-in
// policy for the sign-in pages (signin.Methods) and the token endpoint
// (oidc.MFAPolicy).
type mfaMethods struct {
	methods *authmethods.Service
	clients *authn.Service
}

// HasMFAMethod: an authenticator app, the second factor the pages offer.
// A user whose only method is a passkey signs in with it instead of a
// password (passwordless), so it is not asked for here.
func (m mfaMethods) HasMFAMethod(ctx context.Context, tenantID, userID string) (bool, error) {
	st, err := m.methods.Status(ctx, tenantID, userID)
	return st.HasTOTP, err
}

func (m mfaMethods) VerifyTOTP(ctx context.Context, tenantID, userID, code string, now time.Time) error {
	return m.methods.VerifyTOTP(ctx, tenantID, userID, code, now)
}

func (m mfaMethods) BeginTOTP(ctx context.Context, tenantID, userID, accountName string) (signin.TOTPEnrollment, error) {
	e, err := m.methods.BeginTOTP(ctx, tenantID, userID, accountName)
	return signin.TOTPEnrollment{ID: e.ID, Secret: e.Secret, URL: e.URL, QRPNG: e.QRPNG}, err
}

func (m mfaMethods) ResumeTOTP(ctx context.Context, tenantID, userID, enrollmentID, accountName string) (signin.TOTPEnrollment, error) {
	e, err := m.methods.ResumeTOTP(ctx, tenantID, userID, enrollmentID, accountName)
	return signin.TOTPEnrollment{ID: e.ID, Secret: e.Secret, URL: e.URL, QRPNG: e.QRPNG}, err
}

func (m mfaMethods) ConfirmTOTP(ctx context.Context, tenantID, userID, enrollmentID, code string, _ time.Time) error {
	_, err := m.methods.ConfirmTOTP(ctx, tenantID, userID, enrollmentID, code)
	return err
}

// MFARequirementFor implements oidc.MFAPolicy.
func (m mfaMethods) MFARequirementFor(ctx context.Context, tenantID string, user *iam.User, now time.Time) (authn.MFARequirement, error) {
	has, err := m.HasMFAMethod(ctx, tenantID, user.ID)
	if err != nil {
		return authn.MFARequirement{}, err
	}
	return m.clients.MFARequirement(ctx, tenantID, user, has, now)
}

// SignInWithTAP implements signin.Methods: the user's usable pass, if any,
// is tried.
func (m mfaMethods) SignInWithTAP(ctx context.Context, tenantID, username, pass string, now time.Time) (*iam.User, bool, error) {
	u, err := m.clients.UserByName(ctx, tenantID, username)
	if err != nil {
		return nil, false, nil // unknown or disabled: the password path says so, the same way
	}
	st, err := m.methods.Status(ctx, tenantID, u.ID)
	if err != nil || !st.UsableTAP {
		return nil, false, err
	}
	if err := m.methods.VerifyTAP(ctx, tenantID, u.ID, pass, now); err != nil {
		return nil, true, err
	}
	return u, true, nil
}

// ListMethods implements signin.SecurityInfo.
func (m mfaMethods) ListMethods(ctx context.Context, c *iam.Caller, userID string) ([]signin.MethodInfo, error) {
	ms, err := m.methods.List(ctx, c, userID, "")
	if err != nil {
		return nil, err
	}
	out := make([]signin.MethodInfo, 0, len(ms))
	for _, x := range ms {
		var doc struct {
			DisplayName     string    `json:"displayName"`
			CreatedDateTime time.Time `json:"createdDateTime"`
		}
		_ = json.Unmarshal(x.Data, &doc)
		info := signin.MethodInfo{ID: x.ID, Type: string(x.Type), Added: doc.CreatedDateTime, Removable: x.Type != authmethods.TypePassword}
		switch x.Type {
		case authmethods.TypePassword:
			info.Name = "Password"
		case authmethods.TypeSoftwareOath:
			info.Name = "Authenticator app"
		case authmethods.TypeFido2:
			info.Name = "Passkey"
			if doc.DisplayName != "" {
				info.Name += " (" + doc.DisplayName + ")"
			}
		case authmethods.TypeTAP:
			info.Name = "Temporary Access Pass"
		}
		out = append(out, info)
	}
	return out, nil
}

// DeleteMethod implements signin.SecurityInfo.
func (m mfaMethods) DeleteMethod(ctx context.Context, c *iam.Caller, userID, methodType, id string) error {
	return m.methods.Delete(ctx, c, userID, authmethods.Type(methodType), id)
}
