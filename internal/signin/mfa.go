package signin

import (
	"context"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// The second factor. After the password, the sign-in asks authn what the
// user owes (security defaults: a code from a registered authenticator
// app, or registering one). Until it is paid, the browser holds a pending
// sign-in (authn.CreatePendingSession): a session cookie that signs nobody
// in. The MFA pages post back to the authorize endpoint with the request
// in hidden fields, like the password page, so the flow continues where it
// stopped.

// Methods is what the MFA pages need from the authentication methods
// service (package authmethods, adapted in app).
type Methods interface {
	// SecondFactors says which registered methods of the user can be a
	// second factor here: an authenticator app, a passkey.
	SecondFactors(ctx context.Context, tenantID, userID string) (SecondFactors, error)
	// VerifyTOTP checks a code of the user's authenticator app: replay
	// and brute force are the service's business; errors carry AADSTS codes.
	VerifyTOTP(ctx context.Context, tenantID, userID, code string, now time.Time) error
	// BeginTOTP starts registering an authenticator app: a secret, its
	// otpauth URL and a QR code (PNG) of it.
	BeginTOTP(ctx context.Context, tenantID, userID, accountName string) (TOTPEnrollment, error)
	// ResumeTOTP shows an open registration again (after a wrong code).
	ResumeTOTP(ctx context.Context, tenantID, userID, enrollmentID, accountName string) (TOTPEnrollment, error)
	// ConfirmTOTP finishes it with a first code.
	ConfirmTOTP(ctx context.Context, tenantID, userID, enrollmentID, code string, now time.Time) error
	// SignInWithTAP tries the secret typed in the password field as the
	// user's Temporary Access Pass: tried is false when the user has no
	// usable pass (the password is checked instead); user is set when the
	// pass was right.
	SignInWithTAP(ctx context.Context, tenantID, username, pass string, now time.Time) (user *iam.User, tried bool, err error)
	// Passkeys (passkey.go).
	Passkeys
}

// TOTPEnrollment is an authenticator app being registered.
type TOTPEnrollment struct {
	ID, Secret, URL string
	QRPNG           []byte
}

// EnableMFA turns the second factor on.
func (h *Handler) EnableMFA(m Methods) { h.methods = m }

// Form values of the MFA pages.
const (
	mfaField        = "ostiary_mfa" // verify, register or skip
	enrollmentField = "ostiary_enrollment"
	codeField       = "otc"
)

// mfaView is the second-factor page: a code from the authenticator app or
// a passkey, or the registration of an app ("More information required").
type mfaView struct {
	Page
	Action, CSRF, Error, AppName, Username string
	Hidden                                 []field
	// Code shows the code form; Passkey offers the user's passkeys.
	Code    bool
	Passkey *PasskeyCeremony
	// Register shows the registration step; QR is a data: URL of the
	// QR code, Secret the key to type by hand.
	Register          bool
	EnrollmentID      string
	QR                template.URL
	Secret            string
	CanSkip           bool
	DaysLeft          int
	EmergencyAccounts bool
}

// afterPassword decides what a user who passed the password owes. It
// returns the session to continue with, or nil when it rendered an MFA page
// (the flow continues at answerMFA).
func (h *Handler) afterPassword(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *iam.User, username string, now time.Time) (*authn.SignInSession, *authn.SignedInUser) {
	return h.afterFirstFactor(w, r, ar, user, username, byPassword, now)
}

// afterFirstFactor is afterPassword for any first factor. A strong one (a
// Temporary Access Pass, a passkey) satisfies MFA by itself (as in
// Entra), so it owes no code, only the registration of a method when the
// user has none (what a pass is for).
func (h *Handler) afterFirstFactor(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *iam.User, username string, by firstFactor, now time.Time) (*authn.SignInSession, *authn.SignedInUser) {
	ctx := r.Context()
	req, err := h.mfaRequirement(ctx, ar.tenantID, user, now)
	if err != nil {
		h.pageError(w, r, err)
		return nil, nil
	}
	if by.strong() {
		req.Challenge = false
		req.TAP, req.Passkey = by == byTAP, by == byPasskey
	}
	h.logSignInDetail(r, ar, user, username, now, nil, req, nil)
	if old := h.cookie(r, sessionCookie); old != "" {
		if err := h.dir.EndSignInSession(ctx, old); err != nil {
			h.log.Warn("could not end the previous sign-in session", "err", err)
		}
	}
	first := by.amr()
	if !req.Required() {
		raw, ss, err := h.dir.CreateSignInSession(ctx, ar.tenantID, user.ID, first, h.cfg.SessionLifetime, now)
		if err == nil && by.strong() {
			err = h.dir.CompleteSignIn(ctx, ss, nil, h.cfg.SessionLifetime, now)
		}
		if err != nil {
			h.pageError(w, r, err)
			return nil, nil
		}
		h.setCookie(w, sessionCookie, raw, int(h.cfg.SessionLifetime/time.Second))
		return ss, &authn.SignedInUser{User: *user}
	}
	if by.strong() {
		// The pass (or passkey) was the strong credential; the
		// registration that follows is all that is owed.
		first = append(first, "mfa")
	}
	raw, _, err := h.dir.CreatePendingSession(ctx, ar.tenantID, user.ID, first, now)
	if err != nil {
		h.pageError(w, r, err)
		return nil, nil
	}
	h.setCookie(w, sessionCookie, raw, int(authn.PendingSessionLifetime/time.Second))
	h.showMFA(w, r, ar, user, req, "", "")
	return nil, nil
}

// mfaRequirement asks authn, knowing whether the user has a method.
func (h *Handler) mfaRequirement(ctx context.Context, tenantID string, user *iam.User, now time.Time) (authn.MFARequirement, error) {
	if h.methods == nil {
		return authn.MFARequirement{}, nil
	}
	return h.dir.MFARequirement(ctx, tenantID, user, func() (bool, error) {
		f, err := h.methods.SecondFactors(ctx, tenantID, user.ID)
		return f.Any(), err
	}, now)
}

// showMFA renders the challenge or the registration step. enrollment
// reuses a registration already begun (a wrong first code).
func (h *Handler) showMFA(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *iam.User, req authn.MFARequirement, enrollment, errMsg string) {
	v := mfaView{Page: newPage("Verify your identity"), Action: h.formAction(ar), CSRF: h.csrfToken(w, r), Error: errMsg,
		Username: user.UserPrincipalName,
		Hidden: hiddenFields(ar.form, "username", "password", csrfField, "ostiary_login", mfaField, enrollmentField, codeField,
			passkeyField, passkeyHandleField, passkeyResponseField)}
	if ar.client != nil {
		v.AppName = deref(ar.client.Application.DisplayName)
	}
	src := cspSources{forms: []string{ar.form.Get("redirect_uri")}}
	if req.Register {
		v.Page = newPage("More information required")
		v.Register = true
		var e TOTPEnrollment
		var err error = errs.E(errs.NotFound, "no registration to resume")
		if enrollment != "" {
			e, err = h.methods.ResumeTOTP(r.Context(), ar.tenantID, user.ID, enrollment, user.UserPrincipalName)
		}
		if err != nil {
			e, err = h.methods.BeginTOTP(r.Context(), ar.tenantID, user.ID, user.UserPrincipalName)
		}
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		v.EnrollmentID, v.Secret = e.ID, e.Secret
		v.QR = qrImage(e.QRPNG)
		if !req.RegisterBy.IsZero() {
			v.CanSkip = true
			left := req.RegisterBy.Sub(h.now())
			v.DaysLeft = int((left + 24*time.Hour - 1) / (24 * time.Hour)) // whole days, rounded up
		}
		src.dataImages = true
	} else {
		f, err := h.methods.SecondFactors(r.Context(), ar.tenantID, user.ID)
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		if v.Passkey = h.userPasskey(r.Context(), ar.tenantID, user.ID, f); v.Passkey != nil {
			withPasskeyScript(&v.Page, &src)
		}
		v.Code = f.TOTP || v.Passkey == nil
	}
	h.renderPolicy(w, http.StatusOK, "mfa.html", v, src)
}

// formAction is where the sign-in pages post: the authorize endpoint the
// request came to.
func (h *Handler) formAction(ar *authzRequest) string {
	if ar.action != "" {
		return ar.action
	}
	return "/" + ar.segment + "/oauth2/v2.0/authorize"
}

// qrImage is the data: URL of a QR code (a PNG the server made), typed
// as a safe URL: html/template replaces a plain string's data: URL in an
// src attribute with "#ZgotmplZ", which shows no image.
func qrImage(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// Messages of the MFA pages, in Entra's words.
const (
	msgBadCode     = "You entered the wrong code. Please try again."
	msgCodeLocked  = "You've tried to sign in too many times with an incorrect code. Try again later."
	msgMFAExpired  = "Your sign-in timed out. Sign in again."
	msgMustEnroll  = "Your organization requires you to set up this method now."
	msgCodeMissing = "Enter the code from your authenticator app."
)

// answerMFA handles a post of an MFA page. It returns the completed
// session, or nil when it rendered a page.
func (h *Handler) answerMFA(w http.ResponseWriter, r *http.Request, ar *authzRequest) (*authn.SignInSession, *authn.SignedInUser) {
	ctx := r.Context()
	now := h.now()
	ss, user, err := h.dir.PendingSignInFromCookie(ctx, h.cookie(r, sessionCookie), now)
	if err != nil || h.methods == nil {
		h.showLogin(w, r, ar, "", msgMFAExpired, http.StatusOK)
		return nil, nil
	}
	if ar.tenantID == "" && ar.selfService {
		ar.tenantID = ss.TenantID
	} else if ar.tenantID == "" {
		ar.tenantID = ss.TenantID
		if err := h.checkClient(ctx, ar); err != nil {
			h.pageError(w, r, err)
			return nil, nil
		}
		if err := h.checkProtocol(ar); err != nil {
			h.redirectError(w, r, ar, err)
			return nil, nil
		}
	} else if ar.tenantID != ss.TenantID {
		h.showLogin(w, r, ar, "", msgMFAExpired, http.StatusOK)
		return nil, nil
	}
	req, err := h.mfaRequirement(ctx, ss.TenantID, &user.User, now)
	if err != nil {
		h.pageError(w, r, err)
		return nil, nil
	}
	code := strings.TrimSpace(ar.form.Get(codeField))
	enrollment := ar.form.Get(enrollmentField)
	var method string
	switch ar.form.Get(mfaField) {
	case "verify":
		if code == "" {
			h.showMFA(w, r, ar, &user.User, req, "", msgCodeMissing)
			return nil, nil
		}
		err = h.methods.VerifyTOTP(ctx, ss.TenantID, user.User.ID, code, now)
		method = "verify"
	case "register":
		if code == "" || enrollment == "" {
			h.showMFA(w, r, ar, &user.User, req, enrollment, msgCodeMissing)
			return nil, nil
		}
		err = h.methods.ConfirmTOTP(ctx, ss.TenantID, user.User.ID, enrollment, code, now)
		method = "register"
	case "passkey":
		if req.Register {
			h.showMFA(w, r, ar, &user.User, req, "", msgMustEnroll)
			return nil, nil
		}
		err = h.verifyPasskey(ctx, ss.TenantID, user.User.ID, ar.form)
		method = "passkey"
	case "skip":
		if !req.Register || req.RegisterBy.IsZero() {
			h.showMFA(w, r, ar, &user.User, req, "", msgMustEnroll)
			return nil, nil
		}
		if err := h.dir.ActivateSession(ctx, ss, h.cfg.SessionLifetime, now); err != nil {
			h.pageError(w, r, err)
			return nil, nil
		}
		h.logSignInDetail(r, ar, &user.User, user.User.UserPrincipalName, now, nil, req, ss)
		h.setCookie(w, sessionCookie, h.cookie(r, sessionCookie), int(h.cfg.SessionLifetime/time.Second))
		return ss, user
	default:
		h.showMFA(w, r, ar, &user.User, req, "", "")
		return nil, nil
	}
	if err != nil {
		h.logSignInDetail(r, ar, &user.User, user.User.UserPrincipalName, now, err, req, ss)
		msg := msgBadCode
		if method == "passkey" {
			msg = msgPasskeyFailed
		}
		if errs.As(err).Code == "AADSTS50053" {
			msg = msgCodeLocked
		} else if e := errs.As(err); e.Kind != errs.Invalid && e.Kind != errs.Denied && e.Kind != errs.Unauthenticated && e.Kind != errs.NotFound {
			h.pageError(w, r, err)
			return nil, nil
		}
		if method == "register" {
			h.showMFA(w, r, ar, &user.User, req, enrollment, msg)
		} else {
			h.showMFA(w, r, ar, &user.User, req, "", msg)
		}
		return nil, nil
	}
	amr := []string{"otp"}
	if method == "passkey" {
		amr = []string{"fido"}
	}
	if err := h.dir.CompleteSignIn(ctx, ss, amr, h.cfg.SessionLifetime, now); err != nil {
		h.pageError(w, r, err)
		return nil, nil
	}
	h.logSignInDetail(r, ar, &user.User, user.User.UserPrincipalName, now, nil, req, ss)
	h.setCookie(w, sessionCookie, h.cookie(r, sessionCookie), int(h.cfg.SessionLifetime/time.Second))
	return ss, user
}

// logSignInDetail writes a sign-in record of the MFA flow: an interrupt
// (AADSTS50074 "strong authentication required", 50072 "must register")
// when the password passed and a second step follows, the outcome of the
// second step, or a single-factor success.
func (h *Handler) logSignInDetail(r *http.Request, ar *authzRequest, user *iam.User, username string, now time.Time, err error, req authn.MFARequirement, ss *authn.SignInSession) {
	rec := h.signInRecord(r, ar, user, username, now)
	rec.AuthenticationRequirement = iam.SingleFactor
	rec.AuthenticationMethodsUsed = []string{"Password"}
	if req.TAP {
		rec.AuthenticationRequirement = iam.MultiFactor
		rec.AuthenticationMethodsUsed = []string{"Temporary Access Pass"}
	}
	if req.Passkey {
		rec.AuthenticationRequirement = iam.MultiFactor
		rec.AuthenticationMethodsUsed = []string{methodPasskey}
		rec.MfaDetail = &iam.MfaDetail{AuthMethod: methodPasskey}
	}
	rec.OstiaryEmergencyAccess = req.EmergencyAccess
	switch {
	case err != nil:
		ae := fromErr(err)
		rec.Status.ErrorCode, rec.Status.FailureReason = ae.code, &ae.message
		rec.AuthenticationRequirement = iam.MultiFactor
	case ss == nil && req.Challenge:
		reason := "Strong Authentication is required."
		rec.Status.ErrorCode, rec.Status.FailureReason = 50074, &reason
		rec.AuthenticationRequirement = iam.MultiFactor
	case ss == nil && req.Register:
		reason := "The user is required to register for multifactor authentication."
		rec.Status.ErrorCode, rec.Status.FailureReason = 50072, &reason
	case ss != nil && !ss.MFAAt.IsZero() && !req.Passkey:
		second := secondFactorName(ss.AMR)
		rec.AuthenticationRequirement = iam.MultiFactor
		rec.AuthenticationMethodsUsed = append(rec.AuthenticationMethodsUsed, second)
		rec.MfaDetail = &iam.MfaDetail{AuthMethod: second}
	}
	h.writeSignIn(r, ar.tenantID, rec)
}
