package signin

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// Passkeys (WebAuthn) on the pages. WebAuthn is a browser API, so these
// are the only steps that need script: one small same-origin file
// (static/passkey.js), loaded only by pages that offer a passkey, whose
// CSP then allows `script-src 'self'` and nothing more (no inline script,
// no eval). A page carries the ceremony's options (JSON, in a data-
// attribute of its form) and the opaque handle of its challenge (a hidden
// field); the script calls navigator.credentials, puts the answer in a
// hidden field and submits the form. Without script the passkey
// forms stay hidden and the other ways in work as before.
//
// Where passkeys are offered:
//   - the sign-in page of the authorize endpoint on a tenant-specific URL:
//     "Sign in with a passkey", passwordless, with any discoverable
//     passkey of the tenant (on /common and /organizations the tenant is
//     not known before the user name, and a challenge belongs to a
//     tenant). Anyone can view this page, so beginning its passkey
//     sign-in writes nothing: the challenge is sealed into the handle and
//     recorded only when an answer is accepted (authmethods/logintoken.go);
//   - the MFA challenge: "Use a passkey instead" (or alone, for a user
//     whose only second factor is a passkey), with the user's passkeys;
//   - My Security Info: "Add a passkey", and a passkey as the fresh
//     second factor a change needs.
//
// A passkey with user verification is a whole multifactor credential
// (something held, unlocked by something known or something the user
// is), so a passwordless sign-in is MFA (amr fido, mfa), as in Entra.

// Passkeys is the part of Methods for passkeys.
type Passkeys interface {
	// PasskeysAvailable reports whether this server offers passkeys (its
	// public host can be a relying party id).
	PasskeysAvailable() bool
	// BeginPasskeyLogin starts a passkey sign-in with userID's passkeys,
	// or, with userID "", any discoverable passkey of the tenant. It must
	// not write to the store: the sign-in page calls it on every view.
	BeginPasskeyLogin(ctx context.Context, tenantID, userID string) (PasskeyCeremony, error)
	// FinishPasskeyLogin checks the browser's answer against the
	// handle's challenge, which it spends, and returns the user it proves,
	// who must exist and be enabled. Errors carry AADSTS codes.
	FinishPasskeyLogin(ctx context.Context, tenantID, handle, response string) (*iam.User, error)
	// BeginPasskeyRegistration starts registering a passkey for the user.
	BeginPasskeyRegistration(ctx context.Context, tenantID, userID string) (PasskeyCeremony, error)
	// FinishPasskeyRegistration checks the browser's answer and registers
	// the passkey under name ("Passkey" when empty).
	FinishPasskeyRegistration(ctx context.Context, tenantID, userID, handle, response, name string) error
}

// PasskeyCeremony is a WebAuthn step handed to the browser: the options
// for navigator.credentials as JSON ({"publicKey": …}) and the opaque
// handle of its challenge, which the form posts back: sealed by the
// server for a sign-in, the key of a stored ceremony for a registration.
type PasskeyCeremony struct {
	Options, Handle string
}

// SecondFactors are the second factors a user has that work here.
type SecondFactors struct {
	// TOTP: an authenticator app.
	TOTP bool
	// Passkey: a passkey, on a server that offers passkeys.
	Passkey bool
}

// Any reports whether the user has a second factor.
func (f SecondFactors) Any() bool { return f.TOTP || f.Passkey }

// Form values of the passkey steps.
const (
	// passkeyField marks the sign-in page's passkey form ("1").
	passkeyField         = "ostiary_passkey"
	passkeyHandleField   = "ostiary_passkey_handle"
	passkeyResponseField = "ostiary_passkey_response"
	passkeyNameField     = "ostiary_passkey_name"
	// verifyField says how My Security Info's verification is answered
	// ("passkey"; a code is the otc field).
	verifyField = "ostiary_verify"
)

const passkeyScriptPath = "/static/signin/passkey.js"

//go:embed static/passkey.js
var passkeyScript []byte

func servePasskeyScript(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=3600")
	hd.Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write(passkeyScript)
}

// withPasskeyScript makes a page load the passkey script and lets its CSP
// allow it.
func withPasskeyScript(p *Page, src *cspSources) {
	p.Script = passkeyScriptPath
	src.scripts = true
}

// Messages of the passkey steps.
const (
	msgPasskeyFailed   = "We couldn't sign you in with that passkey. Try again, or use another way to sign in."
	msgPasskeyNotAdded = "The passkey could not be added. Try again."
)

// loginPasskey is the sign-in page's passwordless option, or nil where
// passkeys are not offered: only on the authorize endpoint, when the
// tenant is known (a challenge belongs to a tenant). It writes nothing.
func (h *Handler) loginPasskey(ctx context.Context, ar *authzRequest) *PasskeyCeremony {
	if h.methods == nil || ar.action != "" || ar.selfService || ar.tenantID == "" || !h.methods.PasskeysAvailable() {
		return nil
	}
	c, err := h.methods.BeginPasskeyLogin(ctx, ar.tenantID, "")
	if err != nil {
		h.log.Warn("could not start a passkey sign-in", "tenant", ar.tenantID, "err", err)
		return nil
	}
	return &c
}

// userPasskey starts a passkey sign-in with the user's own passkeys (a
// second factor), or returns nil when they have none here.
func (h *Handler) userPasskey(ctx context.Context, tenantID, userID string, f SecondFactors) *PasskeyCeremony {
	if !f.Passkey {
		return nil
	}
	c, err := h.methods.BeginPasskeyLogin(ctx, tenantID, userID)
	if err != nil {
		h.log.Warn("could not start a passkey check", "tenant", tenantID, "err", err)
		return nil
	}
	return &c
}

// passkeyLogin handles the sign-in page's passkey form: the passkey names
// and proves the user, and the sign-in goes on as after a strong first
// factor. It returns nil when it rendered a page.
func (h *Handler) passkeyLogin(w http.ResponseWriter, r *http.Request, ar *authzRequest) (*authn.SignInSession, *authn.SignedInUser) {
	now := h.now()
	if h.methods == nil || ar.tenantID == "" {
		h.showLogin(w, r, ar, "", msgPasskeyFailed, http.StatusOK)
		return nil, nil
	}
	user, err := h.methods.FinishPasskeyLogin(r.Context(), ar.tenantID, ar.form.Get(passkeyHandleField), ar.form.Get(passkeyResponseField))
	if err != nil {
		if e := errs.As(err); e.Kind == errs.Internal || e.Kind == errs.Unavailable {
			h.pageError(w, r, err)
			return nil, nil
		}
		rec := h.signInRecord(r, ar, user, "", now)
		ae := fromErr(err)
		rec.Status.ErrorCode, rec.Status.FailureReason = ae.code, &ae.message
		rec.AuthenticationMethodsUsed = []string{methodPasskey}
		h.writeSignIn(r, ar.tenantID, rec)
		msg := msgPasskeyFailed
		if errs.As(err).Code == "AADSTS50057" {
			msg = msgDisabled
		}
		h.showLogin(w, r, ar, "", msg, http.StatusOK)
		return nil, nil
	}
	return h.afterFirstFactor(w, r, ar, user, user.UserPrincipalName, byPasskey, now)
}

// verifyPasskey checks a passkey answer as a second factor of userID: the
// handle may be any of the tenant's (the sign-in page's is open to every
// user), so the passkey must be the user's.
func (h *Handler) verifyPasskey(ctx context.Context, tenantID, userID string, form map[string][]string) error {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	u, err := h.methods.FinishPasskeyLogin(ctx, tenantID, get(passkeyHandleField), get(passkeyResponseField))
	if err != nil {
		return err
	}
	if u.ID != userID {
		return errs.E(errs.Unauthenticated, "The passkey belongs to another user.").WithCode("AADSTS500121")
	}
	return nil
}

// methodPasskey names a passkey in sign-in logs, as Entra names a FIDO2
// credential.
const methodPasskey = "FIDO2 security key"

// firstFactor is what a sign-in began with.
type firstFactor int

const (
	byPassword firstFactor = iota
	// byTAP: a Temporary Access Pass, which satisfies MFA by itself.
	byTAP
	// byPasskey: a passkey with user verification, MFA by itself.
	byPasskey
)

// amr is the session's amr for the first factor.
func (f firstFactor) amr() []string {
	switch f {
	case byTAP:
		return []string{"tap"}
	case byPasskey:
		return []string{"fido"}
	}
	return []string{"pwd"}
}

// strong reports whether the first factor satisfies MFA by itself.
func (f firstFactor) strong() bool { return f != byPassword }

// secondFactorName names the second factor a session passed, for the log.
func secondFactorName(amr []string) string {
	for _, m := range amr {
		if m == "fido" {
			return methodPasskey
		}
	}
	return "Mobile app verification code"
}
