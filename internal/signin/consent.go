package signin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// Consent is what the consent page needs: what a request still needs
// consent for (package oidc, which parses scopes) and the recording of a
// user's own consent (package directory, through its grant logic and
// audit). Errors carry AADSTS codes.
type Consent interface {
	PendingConsent(ctx context.Context, tenantID string, client *authn.Client, userID, scope string, force bool) (*authn.ConsentPrompt, error)
	GrantUserConsent(ctx context.Context, c *iam.Caller, clientSPID, resourceSPID string, scopes []string) error
}

// EnableConsent turns on the consent page. Without it a missing consent
// goes back to the client as consent_required (AADSTS65001).
func (h *Handler) EnableConsent(c Consent) { h.consent = c }

// consentField is the form field of the consent page's two buttons.
const consentField = "ostiary_consent"

// orgConsentField is the consent page's "Consent on behalf of your
// organization" checkbox, offered to administrators who may grant tenant
// consent.
const orgConsentField = "ostiary_consent_org"

// consentView is the consent page.
type consentView struct {
	Page
	Action          string
	CSRF            string
	AppName         string
	PublisherDomain string
	Username        string
	Scopes          []authn.ConsentScope
	Hidden          []field
	// OrgOffer shows the organization checkbox; OrgRequired checks it and
	// makes it required, when the user's own consent could not cover the
	// scopes (admin-only scopes, or users may not consent in the tenant).
	OrgOffer, OrgRequired bool
}

// consentStep runs before a code is issued: when the user has not
// consented to every requested scope (or prompt=consent asks again), it
// shows the consent page, or an error page when only an administrator
// can consent. It reports whether it answered the request.
func (h *Handler) consentStep(w http.ResponseWriter, r *http.Request, ar *authzRequest, user *authn.SignedInUser) bool {
	if h.adminConsent != nil && ar.form.Get("prompt") == "admin_consent" {
		h.showAdminConsent(w, r, ar, user)
		return true
	}
	if h.consent == nil || ar.form.Get("prompt") == "none" {
		return false // prompt=none never shows a page: consent_required
	}
	p, err := h.consent.PendingConsent(r.Context(), ar.tenantID, ar.client, user.User.ID, ar.form.Get("scope"), ar.form.Get("prompt") == "consent")
	if err != nil {
		h.redirectError(w, r, ar, err)
		return true
	}
	if p == nil || len(p.Scopes) == 0 {
		return false
	}
	org := h.mayConsentForOrg(r.Context(), ar.tenantID, user)
	if !org && h.needsAdmin(w, r, ar, p) {
		return true
	}
	h.render(w, http.StatusOK, "consent.html", consentView{Page: newPage("Permissions requested"),
		Action: "/" + url.PathEscape(ar.segment) + "/oauth2/v2.0/authorize", CSRF: h.csrfToken(w, r),
		AppName: p.ClientName, PublisherDomain: p.PublisherDomain, Username: user.User.UserPrincipalName, Scopes: p.Scopes,
		Hidden:   hiddenFields(ar.form, "username", "password", csrfField, "ostiary_login", consentField, orgConsentField, "prompt"),
		OrgOffer: org, OrgRequired: org && orgOnly(p)}, ar.redirectURI)
	return true
}

// mayConsentForOrg reports whether the user's tenant-wide roles let them
// grant delegated permissions for the whole organization, as Entra offers
// its administrators on the consent page. The directory checks again when
// the consent is recorded; this only decides what the page shows.
func (h *Handler) mayConsentForOrg(ctx context.Context, tenantID string, user *authn.SignedInUser) bool {
	if h.adminConsent == nil {
		return false
	}
	ok, err := h.adminConsent.MayConsentForOrganization(ctx, tenantID, user.User.ID)
	if err != nil {
		h.log.Warn("could not read whether the user may consent for the organization", "err", err)
	}
	return ok
}

// orgOnly reports whether only a consent for the organization can cover p:
// it has scopes only an administrator may consent to, or the tenant lets
// no user consent for themselves. Entra lets an administrator consent to
// such scopes for everyone; Ostiary does not let them grant an admin-only
// scope to themselves alone (the choice made here: such a grant would be
// one no other administrator tool shows as the organization's).
func orgOnly(p *authn.ConsentPrompt) bool {
	return !p.UsersMayConsent || len(p.AdminOnly()) > 0
}

// needsAdmin shows Entra's "Need admin approval" page when the user
// cannot consent: the tenant does not let users consent (AADSTS65001),
// or a scope needs admin consent (AADSTS90094). It is a page, not a
// redirect: the user must learn to ask an administrator.
func (h *Handler) needsAdmin(w http.ResponseWriter, r *http.Request, ar *authzRequest, p *authn.ConsentPrompt) bool {
	switch {
	case !p.UsersMayConsent:
		h.adminRequired(w, r, "AADSTS65001", p.ClientName+" needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.")
	case len(p.AdminOnly()) > 0:
		h.adminRequired(w, r, "AADSTS90094", p.ClientName+" needs permission to access resources in your organization that only an admin can grant (the grant requires admin permission). Please ask an admin to grant permission to this app before you can use it.")
	default:
		return false
	}
	return true
}

func (h *Handler) adminRequired(w http.ResponseWriter, r *http.Request, code, message string) {
	traceID := iam.NewID()
	h.log.Info("authorize refused: admin consent required", "code", code, "trace_id", traceID, "path", r.URL.Path)
	h.showError(w, http.StatusForbidden, "Need admin approval", code, message, traceID)
}

// answerConsent handles the consent page's form: Cancel goes back to the
// client as access_denied (AADSTS65004); Accept records the user's
// consent to the requested scopes and continues the authorize flow.
func (h *Handler) answerConsent(w http.ResponseWriter, r *http.Request, ar *authzRequest, ss *authn.SignInSession, user *authn.SignedInUser) {
	if ar.form.Get(adminConsentField) == "1" {
		h.answerAdminConsent(w, r, ar, ss, user)
		return
	}
	if h.consent == nil || ar.client == nil {
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
		h.redirectError(w, r, ar, newAuthzError(65004, "User declined to consent to access the app."))
		return
	default:
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS90023", "The request could not be completed.", "")
		return
	}
	ctx := r.Context()
	p, err := h.consent.PendingConsent(ctx, ar.tenantID, ar.client, user.User.ID, ar.form.Get("scope"), true)
	if err != nil {
		h.redirectError(w, r, ar, err)
		return
	}
	if p != nil && len(p.Scopes) > 0 {
		forOrg := ar.form.Get(orgConsentField) == "1" && h.mayConsentForOrg(ctx, ar.tenantID, user)
		if !forOrg && h.needsAdmin(w, r, ar, p) {
			return
		}
		a := ar.client.Application
		c := &iam.Caller{Type: iam.CallerUser, TenantID: ar.tenantID, ObjectID: user.User.ID, AppID: a.AppID,
			AppDisplayName: deref(a.DisplayName), ServicePrincipalID: ar.client.ServicePrincipal.ID,
			UserPrincipalName: user.User.UserPrincipalName, UserDisplayName: deref(user.User.DisplayName),
			IPAddress: remoteIP(r), CorrelationID: iam.NewID()}
		grant := func() error { return h.consent.GrantUserConsent(ctx, c, p.ClientSPID, p.ResourceSPID, p.Values()) }
		if forOrg {
			// The scopes the page showed, for every user: an
			// AllPrincipals grant, audited as admin consent.
			grant = func() error {
				return h.adminConsent.GrantAdminConsent(ctx, c, &authn.AdminConsentPrompt{ClientSPID: p.ClientSPID,
					ClientAppID: p.ClientAppID, ClientName: p.ClientName, PublisherDomain: p.PublisherDomain, MayConsent: true,
					Resources: []authn.AdminConsentResource{{ResourceSPID: p.ResourceSPID, ResourceName: p.ResourceName, Scopes: p.Scopes}}})
			}
		}
		if err := grant(); err != nil {
			switch errs.As(err).Code {
			case "AADSTS65001", "AADSTS90094":
				h.adminRequired(w, r, errs.As(err).Code, p.ClientName+" needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.")
			default:
				h.redirectError(w, r, ar, err)
			}
			return
		}
	}
	ar.form.Del(consentField)
	ar.form.Del("prompt")
	h.issueCode(w, r, ar, ss, user)
}
