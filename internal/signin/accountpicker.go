package signin

import (
	"net/http"
	"net/url"

	"github.com/ostiary/ostiary/internal/authn"
)

// prompt=select_account shows Entra's "Pick an account" page when the
// browser has a session: continue as the signed-in account, or use
// another. A browser holds one Ostiary session, so the page lists that one
// account (Entra lists every account its cookies know). Without a session
// the sign-in page is the picker.

// accountField is the picker form's field: accountContinue or accountOther.
const accountField = "ostiary_account"

const (
	accountContinue = "continue"
	accountOther    = "other"
)

// accountView is the account picker page.
type accountView struct {
	Page
	Action      string
	CSRF        string
	AppName     string
	Username    string
	DisplayName string
	Hidden      []field
}

// showAccountPicker renders the picker for the session's user. Its form
// carries the request without prompt, so continuing is an ordinary
// authorize request answered by the session.
func (h *Handler) showAccountPicker(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *authn.SignedInUser) {
	v := accountView{Page: newPage("Pick an account"), Action: "/" + url.PathEscape(ar.segment) + "/oauth2/v2.0/authorize",
		CSRF: h.csrfToken(w, r), Username: user.User.UserPrincipalName, DisplayName: deref(user.User.DisplayName),
		Hidden: hiddenFields(ar.form, "username", "password", csrfField, "ostiary_login", "prompt", accountField, consentField)}
	if ar.client != nil {
		v.AppName = deref(ar.client.Application.DisplayName)
	}
	h.render(w, http.StatusOK, "accountpicker.html", v, ar.redirectURI)
}
