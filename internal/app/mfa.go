package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
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

// SecondFactors implements signin.Methods: an authenticator app, and a
// passkey where the server offers passkeys (a passkey registered under
// another public host cannot be used here).
func (m mfaMethods) SecondFactors(ctx context.Context, tenantID, userID string) (signin.SecondFactors, error) {
	st, err := m.methods.Status(ctx, tenantID, userID)
	return signin.SecondFactors{TOTP: st.HasTOTP, Passkey: st.HasPasskey && m.methods.PasskeysAvailable()}, err
}

// HasMFAMethod reports whether the user has a second factor that works
// here (SecondFactors): what security defaults ask of the sign-in.
func (m mfaMethods) HasMFAMethod(ctx context.Context, tenantID, userID string) (bool, error) {
	f, err := m.SecondFactors(ctx, tenantID, userID)
	return f.Any(), err
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
	return m.clients.MFARequirement(ctx, tenantID, user, func() (bool, error) { return m.HasMFAMethod(ctx, tenantID, user.ID) }, now)
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

// PasskeysAvailable implements signin.Passkeys.
func (m mfaMethods) PasskeysAvailable() bool { return m.methods.PasskeysAvailable() }

// BeginPasskeyLogin implements signin.Passkeys.
func (m mfaMethods) BeginPasskeyLogin(ctx context.Context, tenantID, userID string) (signin.PasskeyCeremony, error) {
	opts, handle, err := m.methods.BeginPasskeyLogin(ctx, tenantID, userID)
	return signin.PasskeyCeremony{Options: string(opts), Handle: string(handle)}, err
}

// FinishPasskeyLogin implements signin.Passkeys: the passkey's user must
// exist and be enabled (AADSTS50057 otherwise).
func (m mfaMethods) FinishPasskeyLogin(ctx context.Context, tenantID, handle, response string) (*iam.User, error) {
	userID, err := m.methods.FinishPasskeyLogin(ctx, tenantID, []byte(handle), []byte(response))
	if e := errs.As(err); err != nil && e.Code == "" && (e.Kind == errs.Invalid || e.Kind == errs.NotFound) {
		// A spent, expired or foreign ceremony, a malformed answer: a
		// failed strong authentication, as the page and the log say.
		f := errs.E(errs.Unauthenticated, "%s", e.Message).WithCode("AADSTS500121")
		f.Cause = err
		return nil, f
	}
	if err != nil {
		return nil, err
	}
	u, err := m.clients.LoadUser(ctx, tenantID, userID, time.Time{})
	if err != nil {
		return nil, err
	}
	return &u.User, nil
}

// BeginPasskeyRegistration implements signin.Passkeys.
func (m mfaMethods) BeginPasskeyRegistration(ctx context.Context, tenantID, userID string) (signin.PasskeyCeremony, error) {
	opts, handle, err := m.methods.BeginPasskeyRegistration(ctx, tenantID, userID, "", "")
	return signin.PasskeyCeremony{Options: string(opts), Handle: string(handle)}, err
}

// FinishPasskeyRegistration implements signin.Passkeys.
func (m mfaMethods) FinishPasskeyRegistration(ctx context.Context, tenantID, userID, handle, response, name string) error {
	_, err := m.methods.FinishPasskeyRegistration(ctx, tenantID, userID, []byte(handle), []byte(response), name)
	return err
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
