package signin

import (
	"context"
	"net/http"
	"net/url"
)

// logout is GET|POST /{tenant}/oauth2/v2.0/logout (TOKENS.md §8). With a
// live session it asks the user to confirm (a POST form with a CSRF token,
// so no other site can sign the user out); the confirmed form ends the
// session and goes to post_logout_redirect_uri, with state, when that is a
// registered redirect or logout URI of the application client_id names, or
// else shows the signed-out page. Ostiary's choice: without client_id there
// is no redirect (id_token_hint is not read yet), so the page can never
// send a browser to a URI the signing-out app did not register.
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
	tenantID := ""
	switch r.PathValue("tenant") {
	case "common", "organizations", "consumers":
	default:
		if t, err := h.dir.ResolveTenant(ctx, r.PathValue("tenant")); err == nil {
			tenantID = t.ID
		}
	}
	if tenantID == "" && ss != nil {
		tenantID = ss.TenantID
	}
	target := h.logoutTarget(ctx, tenantID, form.Get("client_id"), form.Get("post_logout_redirect_uri"))
	if ss != nil && !confirmed {
		v := signOutView{Page: newPage("Sign out"), Action: "/" + url.PathEscape(r.PathValue("tenant")) + "/oauth2/v2.0/logout",
			CSRF: h.csrfToken(w, r), Username: user.User.UserPrincipalName,
			Hidden: hiddenFields(form, csrfField, "ostiary_signout")}
		h.render(w, http.StatusOK, "signout.html", v, target)
		return
	}
	if raw != "" {
		if err := h.dir.EndSignInSession(ctx, raw); err != nil {
			h.log.Error("could not end a sign-in session", "err", err)
			h.showError(w, http.StatusInternalServerError, "Sign-out failed", "", msgServer, "")
			return
		}
		h.setCookie(w, sessionCookie, "", -1)
	}
	if target == "" {
		h.render(w, http.StatusOK, "signedout.html", signedOutView{Page: newPage("Signed out")})
		return
	}
	u, _ := url.Parse(target)
	if form.Has("state") {
		q := u.Query()
		q.Set("state", form.Get("state"))
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
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
