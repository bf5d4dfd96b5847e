package signin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ostiary/ostiary/internal/tokens"
)

// IDTokenHints verifies a logout request's id_token_hint (package tokens).
type IDTokenHints interface {
	VerifyIDTokenHint(raw string) (*tokens.IDTokenHint, error)
}

// EnableIDTokenHints lets the logout endpoint read id_token_hint; without
// it only client_id names the signing-out application.
func (h *Handler) EnableIDTokenHints(v IDTokenHints) { h.hints = v }

// logout is GET|POST /{tenant}/oauth2/v2.0/logout (TOKENS.md §8). With a
// live session it asks the user to confirm (a POST form with a CSRF token,
// so no other site can sign the user out); the confirmed form ends the
// session and calls the front-channel logout URL of every application the
// session signed in to (frontchannel.go). The browser then goes to
// post_logout_redirect_uri, with state, when that is a registered redirect
// or logout URI of the signing-out application, or else sees the
// signed-out page. The application is named by client_id or, as in Entra,
// by an id_token_hint (an ID token this server issued, expired or not);
// without either there is no redirect, so the page can never send a
// browser to a URI the signing-out app did not register.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	form, err := params(w, r)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Sign-out failed", "AADSTS9002313", "The request is malformed or too large.", "")
		return
	}
	ctx := r.Context()
	ss, user, raw := h.session(r)
	confirmed := r.Method == http.MethodPost && form.Get("ostiary_signout") == "1"
	if confirmed && !h.checkCSRF(r, form) {
		h.showError(w, http.StatusForbidden, "Sign-out failed", "", "This sign-out page expired or did not come from this site. Go back and try again.", "")
		return
	}
	tenantID, clientID := h.logoutApp(ctx, r.PathValue("tenant"), form)
	if tenantID == "" && ss != nil {
		tenantID = ss.TenantID
	}
	target := h.logoutTarget(ctx, tenantID, clientID, form.Get("post_logout_redirect_uri"))
	if ss != nil && !confirmed {
		v := signOutView{Page: newPage("Sign out"), Action: "/" + url.PathEscape(r.PathValue("tenant")) + "/oauth2/v2.0/logout",
			CSRF: h.csrfToken(w, r), Username: user.User.UserPrincipalName,
			Hidden: hiddenFields(form, csrfField, "ostiary_signout")}
		h.render(w, http.StatusOK, "signout.html", v, target)
		return
	}
	var calls []frontChannelCall
	if ss != nil {
		calls = h.frontChannelCalls(ctx, ss)
	}
	if raw != "" {
		if err := h.dir.EndSignInSession(ctx, raw); err != nil {
			h.log.Error("could not end a sign-in session", "err", err)
			h.showError(w, http.StatusInternalServerError, "Sign-out failed", "", msgServer, "")
			return
		}
		h.setCookie(w, sessionCookie, "", -1)
	}
	if target != "" && form.Has("state") {
		u, _ := url.Parse(target)
		q := u.Query()
		q.Set("state", form.Get("state"))
		u.RawQuery = q.Encode()
		target = u.String()
	}
	if target != "" && !anyFrame(calls) { // nothing to wait for: straight back to the app

		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	h.showSignedOut(w, calls, target)
}

// logoutApp is the tenant and application a logout request names: the
// URL's tenant (none on an alias) and client_id, completed by a valid
// id_token_hint. A hint of another tenant than the URL's, or of another
// application than client_id, is ignored: it names nothing then.
func (h *Handler) logoutApp(ctx context.Context, segment string, form url.Values) (tenantID, clientID string) {
	switch strings.ToLower(segment) {
	case "common", "organizations", "consumers":
	default:
		if t, err := h.dir.ResolveTenant(ctx, segment); err == nil {
			tenantID = t.ID // an unknown one is left to the session
		}
	}
	clientID = form.Get("client_id")
	raw := form.Get("id_token_hint")
	if raw == "" || h.hints == nil {
		return tenantID, clientID
	}
	hint, err := h.hints.VerifyIDTokenHint(raw)
	switch {
	case err != nil:
		h.log.Info("logout: id_token_hint refused", "err", err)
	case tenantID != "" && hint.TenantID != tenantID, clientID != "" && !strings.EqualFold(clientID, hint.ClientAppID):
		h.log.Info("logout: id_token_hint of another tenant or application ignored", "tenant", hint.TenantID, "app", hint.ClientAppID)
	default:
		return hint.TenantID, hint.ClientAppID
	}
	return tenantID, clientID
}

// logoutTarget is uri when it may be redirected to, else "".
func (h *Handler) logoutTarget(ctx context.Context, tenantID, clientID, uri string) string {
	if uri == "" || tenantID == "" {
		return ""
	}
	if u, err := url.Parse(uri); err != nil || !u.IsAbs() {
		return ""
	}
	ok, err := h.dir.IsRegisteredLogoutURI(ctx, tenantID, clientID, uri)
	if err != nil {
		h.log.Error("logout redirect check failed", "tenant", tenantID, "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	return uri
}
