package signin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
)

// Which tenant an authorize request is answered in, and whether the
// browser's session may answer it without a password.
//
// A tenant-specific URL names the tenant; a session of another tenant
// does not count there. On /common and /organizations the user decides,
// as in Entra: the tenant of the account that signs in, whose home tenant
// then issues the tokens (a multi-tenant app is used in each customer's
// tenant through its service principal there). Before anyone signs in,
// the candidates are the tenant domain_hint names and the session's
// tenant, each only where the client is an application of that tenant:
// a session in tenant A never answers for a single-tenant app of tenant
// B, nor for a multi-tenant app A has not provisioned. Such a request
// shows the sign-in page, where the user can sign in with an account of a
// tenant that can use the app; the user name then decides the tenant.
// Wherever the tenant came from, a client found there that is not a
// multi-tenant application is refused (checkClient, AADSTS50194): Entra
// serves only multi-tenant applications on these aliases.

// requestSession returns the browser's session when it may answer the
// request: never for a sign-in form (which starts a new session); not when
// the request asks the user to sign in again: prompt=login, "Use another
// account" on the account picker, prompt=consent without a consent page, a
// max_age the session's sign-in is older than, or a login_hint naming
// another user. prompt=select_account keeps the session for the picker. The consent form is answered by the
// session that was shown it, whatever its request says.
func (h *Handler) requestSession(r *http.Request, ar *authzRequest, loginPost, consentPost bool) (*authn.SignInSession, *authn.SignedInUser) {
	if loginPost {
		return nil, nil
	}
	ss, user, _ := h.session(r)
	if ss == nil || consentPost || !h.mustSignInAgain(ar, ss, user) {
		return ss, user
	}
	return nil, nil
}

func (h *Handler) mustSignInAgain(ar *authzRequest, ss *authn.SignInSession, user *authn.SignedInUser) bool {
	switch p := ar.form.Get("prompt"); {
	case p == "login", p == "consent" && h.consent == nil, ar.form.Get(accountField) == accountOther:
		return true
	}
	if maxAge, ok, err := parseMaxAge(ar.form.Get("max_age")); err == nil && ok && !h.now().Before(ss.AuthTime.Add(maxAge)) {
		return true
	}
	if hint := strings.TrimSpace(ar.form.Get("login_hint")); hint != "" &&
		!strings.EqualFold(hint, user.User.UserPrincipalName) && !strings.EqualFold(hint, deref(user.User.Mail)) {
		return true
	}
	return false
}

// parseMaxAge reads max_age: whole seconds, at least zero. ok is false
// when it is absent.
func parseMaxAge(v string) (d time.Duration, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > int64(100*365*24*time.Hour/time.Second) {
		return 0, false, newAuthzError(90023, "Invalid max_age '%s': it must be a whole number of seconds.", v)
	}
	return time.Duration(n) * time.Second, true, nil
}

// settleTenant fixes the request's tenant and checks its client there
// before anyone signs in, and reports whether the session ss still counts.
// On an alias it tries domain_hint's tenant, then the session's; when
// neither can use the client (or on a sign-in form, whose user name
// decides), the tenant and client stay unknown until the sign-in.
func (h *Handler) settleTenant(ctx context.Context, ar *authzRequest, ss *authn.SignInSession, loginPost bool) (bool, error) {
	if ar.tenantID != "" { // the URL named it
		return ss != nil && ss.TenantID == ar.tenantID, h.checkClient(ctx, ar)
	}
	if loginPost {
		return false, nil
	}
	hint, err := h.hintTenant(ctx, ar.form.Get("domain_hint"))
	if err != nil {
		return false, err
	}
	if hint != "" {
		ok, err := h.clientUsableIn(ctx, ar, hint)
		if err != nil || ok {
			return ok && ss != nil && ss.TenantID == hint, err
		}
	}
	if ss == nil {
		return false, nil
	}
	return h.clientUsableIn(ctx, ar, ss.TenantID)
}

// hintTenant is the tenant whose verified domain (or id) domain_hint
// names, or "" when it names none: an unknown hint is ignored, as Entra
// then shows its ordinary sign-in page.
func (h *Handler) hintTenant(ctx context.Context, hint string) (string, error) {
	hint = strings.TrimSpace(hint)
	switch strings.ToLower(hint) {
	case "", "common", "organizations", "consumers":
		return "", nil
	}
	t, err := h.dir.ResolveTenant(ctx, hint)
	if err == nil {
		return t.ID, nil
	}
	if errs.As(err).Code != "" {
		return "", nil // AADSTS90002: no such tenant
	}
	return "", err
}

// clientUsableIn checks the request's client in tenantID and, when it is
// an application of that tenant (AADSTS700016 says it is not), takes the
// tenant for the request. Any other failure, such as a redirect URI the
// app did not register, is the request's error.
func (h *Handler) clientUsableIn(ctx context.Context, ar *authzRequest, tenantID string) (bool, error) {
	ar.tenantID = tenantID
	err := h.checkClient(ctx, ar)
	if err == nil {
		return true, nil
	}
	ar.tenantID, ar.client = "", nil
	if errs.As(err).Code == "AADSTS700016" {
		return false, nil
	}
	return false, err
}
