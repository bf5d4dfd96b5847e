package signin

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// My Security Info (/mysecurityinfo): a signed-in user sees their
// authentication methods, adds an authenticator app or a passkey and
// removes methods.
// It signs in like the authorize endpoint (password, then whatever MFA is
// owed) but belongs to no application. Adding or removing a method needs a
// fresh second factor (within freshMFA); a user without one gives a code
// or uses a passkey first. Changes go through the methods service as the user, so the same
// authorization (the default user role's rights over their own methods)
// and audit apply as through Graph.

// SecurityInfo is what the page needs beyond Methods.
type SecurityInfo interface {
	ListMethods(ctx context.Context, c *iam.Caller, userID string) ([]MethodInfo, error)
	DeleteMethod(ctx context.Context, c *iam.Caller, userID, methodType, id string) error
}

// MethodInfo is one method as the page lists it.
type MethodInfo struct {
	ID, Type, Name string
	Added          time.Time
	Removable      bool
}

// freshMFA is how recent a second factor must be to change methods.
const freshMFA = 10 * time.Minute

const securityInfoPath = "/mysecurityinfo"

// EnableSecurityInfo mounts the page.
func (h *Handler) EnableSecurityInfo(mux *http.ServeMux, s SecurityInfo) {
	h.securityInfo = s
	mux.HandleFunc("GET "+securityInfoPath, h.serveSecurityInfo)
	mux.HandleFunc("POST "+securityInfoPath, h.serveSecurityInfo)
}

type securityInfoView struct {
	Page
	CSRF, Username, Error, Notice string
	Methods                       []MethodInfo
	// Adding shows the registration of an authenticator app.
	Adding               bool
	EnrollmentID, Secret string
	QR                   template.URL
	// CanAddPasskey offers "Add a passkey"; AddingPasskey is the
	// registration under way.
	CanAddPasskey bool
	AddingPasskey *PasskeyCeremony
	// Verify asks for a second factor before a change (MFA not fresh): a
	// code (VerifyCode) or a passkey (VerifyPasskey).
	Verify        bool
	VerifyCode    bool
	VerifyPasskey *PasskeyCeremony
	Pending       url.Values // the change to make after the code
}

func (h *Handler) serveSecurityInfo(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	form, err := params(w, r)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Security info", "", "The request is malformed or too large.", "")
		return
	}
	ar := &authzRequest{form: form, segment: "organizations", action: securityInfoPath, selfService: true}
	post := r.Method == http.MethodPost
	if post && !h.checkCSRF(r, form) {
		h.showError(w, http.StatusForbidden, "Security info", "", "This page expired or did not come from this site. Open it again.", "")
		return
	}
	ss, user, _ := h.session(r)
	switch {
	case post && form.Get("ostiary_login") == "1":
		if ss, user = h.login(w, r, ar); ss == nil {
			return
		}
	case post && form.Get(mfaField) != "" && form.Get("ostiary_change") == "":
		if ss, user = h.answerMFA(w, r, ar); ss == nil {
			return
		}
	case ss == nil:
		h.showLogin(w, r, ar, "", "", http.StatusOK)
		return
	}
	ar.tenantID = ss.TenantID
	c := &iam.Caller{Type: iam.CallerUser, TenantID: ss.TenantID, ObjectID: user.User.ID, UserPrincipalName: user.User.UserPrincipalName,
		Scopes: []string{"UserAuthenticationMethod.ReadWrite"}, AMR: ss.AMR}
	v := securityInfoView{Page: newPage("Security info"), CSRF: h.csrfToken(w, r), Username: user.User.UserPrincipalName,
		CanAddPasskey: h.methods.PasskeysAvailable()}
	src := cspSources{}
	if post && form.Get("ostiary_change") != "" {
		h.changeSecurityInfo(w, r, ss, user, c, &v, &src)
		if v.Verify || v.Adding || v.AddingPasskey != nil {
			h.renderPolicy(w, http.StatusOK, "securityinfo.html", v, src)
			return
		}
	}
	if v.Methods, err = h.securityInfo.ListMethods(r.Context(), c, user.User.ID); err != nil {
		h.pageError(w, r, err)
		return
	}
	h.renderPolicy(w, http.StatusOK, "securityinfo.html", v, src)
}

// changeSecurityInfo applies a change (add-totp, confirm-totp,
// add-passkey, confirm-passkey, delete), first asking for a code or a
// passkey when the session's MFA is not fresh.
func (h *Handler) changeSecurityInfo(w http.ResponseWriter, r *http.Request, ss *authn.SignInSession, user *authn.SignedInUser,
	c *iam.Caller, v *securityInfoView, src *cspSources) {
	ctx, now, form := r.Context(), h.now(), r.Form
	if ss.MFAAt.IsZero() || now.Sub(ss.MFAAt) > freshMFA {
		f, err := h.methods.SecondFactors(ctx, ss.TenantID, user.User.ID)
		if err != nil {
			v.Error = msgServer
			return
		}
		if f.Any() {
			amr, msg := "otp", msgBadCode
			code := strings.TrimSpace(form.Get(codeField))
			switch {
			case form.Get(verifyField) == "passkey" && f.Passkey:
				amr, msg = "fido", msgPasskeyFailed
				err = h.verifyPasskey(ctx, ss.TenantID, user.User.ID, form)
			case code != "" && f.TOTP:
				err = h.methods.VerifyTOTP(ctx, ss.TenantID, user.User.ID, code, now)
			default:
				h.askVerification(ctx, ss.TenantID, user.User.ID, form, f, v, src, "")
				return
			}
			if err != nil {
				h.askVerification(ctx, ss.TenantID, user.User.ID, form, f, v, src, msg)
				return
			}
			if err := h.dir.CompleteSignIn(ctx, ss, []string{amr}, h.cfg.SessionLifetime, now); err != nil {
				v.Error = msgServer
				return
			}
			c.AMR = ss.AMR
		}
		// A user with no method yet may add a first one on the strength
		// of the sign-in they just made.
	}
	switch form.Get("ostiary_change") {
	case "add-totp":
		e, err := h.methods.BeginTOTP(ctx, ss.TenantID, user.User.ID, user.User.UserPrincipalName)
		if err != nil {
			v.Error = msgServer
			return
		}
		v.Adding, v.EnrollmentID, v.Secret = true, e.ID, e.Secret
		v.QR = qrImage(e.QRPNG)
		src.dataImages = true
	case "confirm-totp":
		err := h.methods.ConfirmTOTP(ctx, ss.TenantID, user.User.ID, form.Get(enrollmentField), strings.TrimSpace(form.Get("new_otc")), now)
		if err != nil {
			e, rerr := h.methods.ResumeTOTP(ctx, ss.TenantID, user.User.ID, form.Get(enrollmentField), user.User.UserPrincipalName)
			if rerr != nil {
				v.Error = msgMFAExpired
				return
			}
			v.Adding, v.EnrollmentID, v.Secret, v.Error = true, e.ID, e.Secret, msgBadCode
			v.QR = qrImage(e.QRPNG)
			src.dataImages = true
			return
		}
		v.Notice = "Authenticator app added."
	case "add-passkey":
		pc, err := h.methods.BeginPasskeyRegistration(ctx, ss.TenantID, user.User.ID)
		if err != nil {
			v.Error = passkeyChangeError(err)
			return
		}
		v.AddingPasskey = &pc
		withPasskeyScript(&v.Page, src)
	case "confirm-passkey":
		err := h.methods.FinishPasskeyRegistration(ctx, ss.TenantID, user.User.ID, form.Get(passkeyHandleField),
			form.Get(passkeyResponseField), form.Get(passkeyNameField))
		if err != nil {
			h.log.Info("passkey registration refused", "tenant", ss.TenantID, "user", user.User.ID, "err", err)
			v.Error = passkeyChangeError(err)
			return
		}
		v.Notice = "Passkey added."
	case "delete":
		if err := h.securityInfo.DeleteMethod(ctx, c, user.User.ID, form.Get("method_type"), form.Get("method_id")); err != nil {
			v.Error = "The method could not be removed."
			return
		}
		v.Notice = "Method removed."
	}
}

// askVerification shows the step before a change: a code from the
// authenticator app, or the user's passkey.
func (h *Handler) askVerification(ctx context.Context, tenantID, userID string, form url.Values, f SecondFactors,
	v *securityInfoView, src *cspSources, errMsg string) {
	v.Verify, v.Pending, v.Error = true, changeFields(form), errMsg
	if v.VerifyPasskey = h.userPasskey(ctx, tenantID, userID, f); v.VerifyPasskey != nil {
		withPasskeyScript(&v.Page, src)
	}
	v.VerifyCode = f.TOTP || v.VerifyPasskey == nil
}

// passkeyChangeError is what the page says when a passkey cannot be
// added: the service's own words for what the user can act on.
func passkeyChangeError(err error) string {
	switch e := errs.As(err); e.Kind {
	case errs.Invalid, errs.Conflict:
		return e.Message
	}
	return msgPasskeyNotAdded
}

// changeFields are the fields of a change to repeat after a code.
func changeFields(form url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"ostiary_change", "method_type", "method_id"} {
		if v := form.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}
