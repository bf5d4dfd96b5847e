package signin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// AdminConsent is what admin consent needs: the permissions an
// application asks for, described with whether the signed-in user may
// grant them for the organization, and the recording of that consent
// (package directory, with its audit). Errors carry AADSTS codes.
type AdminConsent interface {
	PendingAdminConsent(ctx context.Context, tenantID string, client *authn.Client, userID, scope string) (*authn.AdminConsentPrompt, error)
	GrantAdminConsent(ctx context.Context, c *iam.Caller, p *authn.AdminConsentPrompt) error
	// MayConsentForOrganization reports whether the user may grant
	// delegated permissions for every user of the tenant.
	MayConsentForOrganization(ctx context.Context, tenantID, userID string) (bool, error)
}

// EnableAdminConsent turns on admin consent: prompt=admin_consent on the
// authorize endpoint and the adminconsent endpoint (RegisterAdminConsent).
func (h *Handler) EnableAdminConsent(a AdminConsent) { h.adminConsent = a }

// RegisterAdminConsent mounts Entra's admin consent endpoint, v1 and v2.0
// paths: GET|POST /{tenant}/adminconsent and /{tenant}/v2.0/adminconsent.
func (h *Handler) RegisterAdminConsent(mux *http.ServeMux) {
	for _, p := range []string{"/{tenant}/adminconsent", "/{tenant}/v2.0/adminconsent"} {
		mux.HandleFunc("GET "+p, h.adminConsentEndpoint)
		mux.HandleFunc("POST "+p, h.adminConsentEndpoint)
	}
}

// adminConsentField marks the admin consent page's form, which shares the
// consent page's buttons (consentField).
const adminConsentField = "ostiary_admin_consent"

// adminConsentView is the admin consent page.
type adminConsentView struct {
	Page
	Action          string
	CSRF            string
	AppName         string
	PublisherDomain string
	Username        string
	Resources       []authn.AdminConsentResource
	Hidden          []field
}

// adminConsentEndpoint is GET|POST /{tenant}/adminconsent: client_id,
// redirect_uri (registered for the app, exactly), state and, on the v2.0
// path, scope. The user signs in (or reuses the session), sees every
// permission the app asks for and accepts for the organization; the
// browser goes back to redirect_uri with admin_consent=True, tenant and
// state, or error=access_denied after Cancel. A user who may not consent
// for the organization gets the "Need admin approval" page (AADSTS90094).
func (h *Handler) adminConsentEndpoint(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	if h.adminConsent == nil {
		http.NotFound(w, r)
		return
	}
	form, err := params(w, r)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS9002313", "The request is malformed or too large.", "")
		return
	}
	ar := &authzRequest{form: form, segment: r.PathValue("tenant"), state: form.Get("state"), mode: "query", action: r.URL.Path}
	loginPost := r.Method == http.MethodPost && form.Get("ostiary_login") == "1"
	consentPost := r.Method == http.MethodPost && !loginPost && form.Has(consentField)
	if (loginPost || consentPost) && !h.checkCSRF(r, form) {
		h.showError(w, http.StatusForbidden, "Sign-in failed", "", "This sign-in page expired or did not come from this site. Go back to the application and sign in again.", "")
		return
	}
	ctx := r.Context()
	if err := h.resolveTenant(ctx, ar); err != nil {
		h.pageError(w, r, err)
		return
	}
	// The tenant and session are settled as on the authorize endpoint
	// (tenant.go): on /common a session answers only where the app is one
	// of its tenant's.
	ss, user := h.requestSession(r, ar, loginPost, consentPost)
	keep, err := h.settleTenant(ctx, ar, ss, loginPost)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	if !keep {
		ss, user = nil, nil
	}
	if ar.tenantID == "" && loginPost {
		// /common or /organizations: the administrator's tenant is the
		// one of the user name's domain, as for a sign-in.
		username := strings.TrimSpace(form.Get("username"))
		at := strings.LastIndexByte(username, '@')
		var t iam.Tenant
		if at >= 0 {
			t, err = h.dir.ResolveTenant(ctx, username[at+1:])
		}
		if at < 0 || err != nil {
			_, _ = h.dir.AuthenticatePassword(ctx, iam.NewID(), username, form.Get("password"), remoteIP(r), h.now())
			h.showLogin(w, r, ar, username, msgBadCredentials, http.StatusOK)
			return
		}
		ar.tenantID = t.ID
		if err := h.checkClient(ctx, ar); err != nil {
			h.pageError(w, r, err)
			return
		}
	} else if ar.client == nil {
		if err := requireClientParams(form); err != nil {
			h.pageError(w, r, err)
			return
		}
	}
	switch {
	case loginPost:
		if ss, user = h.login(w, r, ar); ss == nil {
			return
		}
	case consentPost:
		h.answerAdminConsent(w, r, ar, ss, user)
		return
	case ss == nil || form.Get("prompt") == "login":
		h.showLogin(w, r, ar, form.Get("login_hint"), "", http.StatusOK)
		return
	}
	h.showAdminConsent(w, r, ar, user)
}

// showAdminConsent shows the admin consent page for the request's client,
// or the "Need admin approval" page when the user may not grant it.
func (h *Handler) showAdminConsent(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *authn.SignedInUser) {
	p, err := h.adminConsent.PendingAdminConsent(r.Context(), ar.tenantID, ar.client, user.User.ID, ar.form.Get("scope"))
	if err != nil {
		h.redirectError(w, r, ar, err)
		return
	}
	if !p.MayConsent {
		h.adminRequired(w, r, "AADSTS90094", p.ClientName+" needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.")
		return
	}
	action := ar.action
	if action == "" {
		action = "/" + url.PathEscape(ar.segment) + "/oauth2/v2.0/authorize"
	}
	hidden := hiddenFields(ar.form, "username", "password", csrfField, "ostiary_login", consentField, adminConsentField)
	hidden = append(hidden, field{Name: adminConsentField, Value: "1"})
	h.render(w, http.StatusOK, "adminconsent.html", adminConsentView{Page: newPage("Permissions requested"),
		Action: action, CSRF: h.csrfToken(w, r), AppName: p.ClientName, PublisherDomain: p.PublisherDomain,
		Username: user.User.UserPrincipalName, Resources: p.Resources, Hidden: hidden}, ar.redirectURI)
}

// answerAdminConsent handles the admin consent page's form. Cancel goes
// back to the client as access_denied (AADSTS65004). Accept describes the
// request again (nothing from the form but the buttons is trusted),
// records the consent for the organization and then, on the adminconsent
// endpoint, redirects with admin_consent=True, or on the authorize
// endpoint continues to the code.
func (h *Handler) answerAdminConsent(w http.ResponseWriter, r *http.Request, ar *authzRequest, ss *authn.SignInSession, user *authn.SignedInUser) {
	if h.adminConsent == nil || ar.client == nil {
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS90023", "The request could not be completed.", "")
		return
	}
	if ss == nil { // the session ended while the page was shown
		h.showLogin(w, r, ar, "", "", http.StatusOK)
		return
	}
	switch ar.form.Get(consentField) {
	case "accept":
	case "cancel":
		h.redirectError(w, r, ar, newAuthzError(65004, "The administrator declined to consent to access the app."))
		return
	default:
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS90023", "The request could not be completed.", "")
		return
	}
	ctx := r.Context()
	p, err := h.adminConsent.PendingAdminConsent(ctx, ar.tenantID, ar.client, user.User.ID, ar.form.Get("scope"))
	if err != nil {
		h.redirectError(w, r, ar, err)
		return
	}
	needAdmin := func() {
		h.adminRequired(w, r, "AADSTS90094", p.ClientName+" needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.")
	}
	if !p.MayConsent {
		needAdmin()
		return
	}
	a := ar.client.Application
	c := &iam.Caller{Type: iam.CallerUser, TenantID: ar.tenantID, ObjectID: user.User.ID, AppID: a.AppID,
		AppDisplayName: deref(a.DisplayName), ServicePrincipalID: ar.client.ServicePrincipal.ID,
		UserPrincipalName: user.User.UserPrincipalName, UserDisplayName: deref(user.User.DisplayName),
		IPAddress: remoteIP(r), CorrelationID: iam.NewID()}
	if err := h.adminConsent.GrantAdminConsent(ctx, c, p); err != nil {
		if errs.As(err).Code == "AADSTS90094" {
			needAdmin()
		} else {
			h.redirectError(w, r, ar, err)
		}
		return
	}
	if ar.action != "" { // the adminconsent endpoint
		out := url.Values{"admin_consent": {"True"}, "tenant": {ar.tenantID}}
		if ar.form.Has("state") {
			out.Set("state", ar.state)
		}
		if sc := ar.form.Get("scope"); sc != "" {
			out.Set("scope", sc)
		}
		h.respond(w, r, ar, out)
		return
	}
	ar.form.Del(consentField)
	ar.form.Del(adminConsentField)
	ar.form.Del("prompt")
	h.issueCode(w, r, ar, ss, user)
}
