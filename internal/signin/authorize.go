package signin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oauth2"
)

// authzRequest is a parsed authorize request.
type authzRequest struct {
	form        url.Values
	segment     string
	tenantID    string // "" until known on /common and /organizations
	clientID    string
	redirectURI string
	platform    oauth2.Platform
	client      *authn.Client
	mode        string // query, fragment or form_post
	state       string
	// action is the sign-in form's target: "" for the authorize endpoint,
	// the adminconsent endpoint's own path there (adminconsent.go).
	action string
	// selfService marks a sign-in to Ostiary's own pages (My Security
	// Info): no client, no redirect.
	selfService bool
}

// authzError is a failure of an authorize request: shown on a page when
// the redirect URI is not (yet) trusted, sent back to it otherwise.
type authzError struct {
	code    int
	oauth   string
	message string
	cause   error
}

func (e *authzError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.message) }

func newAuthzError(code int, format string, args ...any) *authzError {
	return &authzError{code: code, oauth: oauthErrorFor(code), message: fmt.Sprintf(format, args...)}
}

// fromErr turns a service error into an authzError (its AADSTS code, or a
// server error whose details stay in the log).
func fromErr(err error) *authzError {
	if ae, ok := err.(*authzError); ok {
		return ae
	}
	e := errs.As(err)
	if n, ok := strings.CutPrefix(e.Code, "AADSTS"); ok {
		if code, cerr := strconv.Atoi(n); cerr == nil {
			return &authzError{code: code, oauth: oauthErrorFor(code), message: e.Message, cause: err}
		}
	}
	if e.Kind == errs.Unavailable {
		return &authzError{code: 50000, oauth: "temporarily_unavailable", message: "The service is temporarily unavailable. Please retry later.", cause: err}
	}
	return &authzError{code: 50000, oauth: "server_error", message: "An internal error occurred. Please retry later.", cause: err}
}

// oauthErrorFor is the error parameter Entra's authorize endpoint sends
// with an AADSTS code.
func oauthErrorFor(code int) string {
	switch code {
	case 50058:
		return "login_required"
	case 65001:
		return "consent_required"
	case 50076, 50079, 50072, 50074:
		return "interaction_required"
	case 70011, 700022, 700023:
		return "invalid_scope"
	case 70005:
		return "unsupported_response_type"
	case 700016, 7000112:
		return "unauthorized_client"
	case 65004, 50053, 50057:
		return "access_denied"
	case 50000:
		return "server_error"
	}
	return "invalid_request"
}

// authorize is GET|POST /{tenant}/oauth2/v2.0/authorize.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	form, err := params(w, r)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS9002313", "The request is malformed or too large.", "")
		return
	}
	ar := &authzRequest{form: form, segment: r.PathValue("tenant"), state: form.Get("state")}
	loginPost := r.Method == http.MethodPost && form.Get("ostiary_login") == "1"
	mfaPost := r.Method == http.MethodPost && !loginPost && form.Get(mfaField) != ""
	// A passkey sign-in (passkey.go) is a sign-in form like the password's.
	passkeyPost := r.Method == http.MethodPost && !loginPost && !mfaPost && form.Get(passkeyField) == "1"
	consentPost := r.Method == http.MethodPost && !loginPost && !mfaPost && !passkeyPost && form.Has(consentField)
	// The account picker's answer (accountpicker.go) is an authorize
	// request again, from a form of ours.
	accountPost := r.Method == http.MethodPost && !loginPost && !mfaPost && !passkeyPost && !consentPost && form.Has(accountField)
	if (loginPost || consentPost || mfaPost || passkeyPost || accountPost) && !h.checkCSRF(r, form) {
		h.showError(w, http.StatusForbidden, "Sign-in failed", "", "This sign-in page expired or did not come from this site. Go back to the application and sign in again.", "")
		return
	}
	if accountPost && form.Get(accountField) != accountOther {
		form.Del(accountField) // continue: an ordinary request from here on
	}
	ctx := r.Context()
	if err := h.resolveTenant(ctx, ar); err != nil {
		h.pageError(w, r, err)
		return
	}
	ss, user := h.requestSession(r, ar, loginPost || passkeyPost, consentPost)
	// The client and its redirect URI come first: until they are checked,
	// nothing may be sent to the redirect URI.
	keep, err := h.settleTenant(ctx, ar, ss, loginPost || passkeyPost)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	if !keep {
		ss, user = nil, nil
	}
	if ar.client != nil {
		if err := h.checkProtocol(ar); err != nil {
			h.redirectError(w, r, ar, err)
			return
		}
	} else if err := requireClientParams(form); err != nil {
		h.pageError(w, r, err)
		return
	}

	switch {
	case loginPost:
		if ss, user = h.login(w, r, ar); ss == nil {
			return // the page was rendered again with the error, or the MFA step
		}
	case mfaPost:
		if ss, user = h.answerMFA(w, r, ar); ss == nil {
			return
		}
	case passkeyPost:
		if ss, user = h.passkeyLogin(w, r, ar); ss == nil {
			return
		}
	case consentPost:
		h.answerConsent(w, r, ar, ss, user)
		return
	default:
		prompt := form.Get("prompt")
		switch prompt {
		case "", "none", "login", "consent", "select_account", "admin_consent":
		default:
			if ar.client != nil {
				h.redirectError(w, r, ar, newAuthzError(90023, "Invalid prompt value '%s'. Supported values are login, none, consent, admin_consent and select_account.", prompt))
				return
			}
		}
		if ss == nil {
			if prompt == "none" {
				if ar.client == nil {
					h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS50058", "A silent sign-in request was sent but no user is signed in.", "")
					return
				}
				h.redirectError(w, r, ar, newAuthzError(50058, "A silent sign-in request was sent but no user is signed in. The cookies used to represent the user's session were not sent in the request to Azure AD."))
				return
			}
			h.showLogin(w, r, ar, form.Get("login_hint"), "", http.StatusOK)
			return
		}
		if prompt == "select_account" {
			h.showAccountPicker(w, r, ar, user)
			return
		}
	}
	h.issueCode(w, r, ar, ss, user)
}

// resolveTenant fills ar.tenantID from a tenant segment; aliases leave it
// empty for the user's tenant to decide (settleTenant, login).
func (h *Handler) resolveTenant(ctx context.Context, ar *authzRequest) error {
	switch strings.ToLower(ar.segment) {
	case "common", "organizations":
		return nil
	case "consumers":
		return newAuthzError(9001023, "Personal Microsoft accounts cannot sign in here. Please use the /organizations or tenant-specific endpoint.")
	}
	t, err := h.dir.ResolveTenant(ctx, ar.segment)
	if err != nil {
		return err
	}
	ar.tenantID = t.ID
	return nil
}

// isCommonAlias reports whether segment is /common or /organizations,
// whose tenant the user decides.
func isCommonAlias(segment string) bool {
	switch strings.ToLower(segment) {
	case "common", "organizations":
		return true
	}
	return false
}

func requireClientParams(form url.Values) error {
	if form.Get("client_id") == "" {
		return newAuthzError(900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if form.Get("redirect_uri") == "" {
		return newAuthzError(900144, "The request body must contain the following parameter: 'redirect_uri'.")
	}
	return nil
}

// checkClient finds the client in ar's tenant and matches redirect_uri
// exactly against its registration (AADSTS50011 otherwise). On /common and
// /organizations the client must be a multi-tenant application
// (AADSTS50194, as Entra rules for both aliases), wherever the tenant
// came from (domain_hint, the session, the user name). Its failures are
// shown on the error page, never sent to the redirect URI: until this
// returns, the redirect URI is not trusted.
func (h *Handler) checkClient(ctx context.Context, ar *authzRequest) error {
	if err := requireClientParams(ar.form); err != nil {
		return err
	}
	ar.clientID, ar.redirectURI = ar.form.Get("client_id"), ar.form.Get("redirect_uri")
	c, _, err := h.dir.LookupClient(ctx, ar.tenantID, ar.clientID)
	if err != nil {
		return err
	}
	if isCommonAlias(ar.segment) {
		if err := c.CheckCommonEndpoint(); err != nil {
			return err
		}
	}
	a := c.Application
	set := oauth2.RedirectSet{}
	if a.Web != nil {
		set.Web = a.Web.RedirectURIs
	}
	if a.Spa != nil {
		set.SPA = a.Spa.RedirectURIs
	}
	if a.PublicClient != nil {
		set.Public = a.PublicClient.RedirectURIs
	}
	p, ok := set.Match(ar.redirectURI)
	if !ok {
		return newAuthzError(50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.",
			ar.redirectURI, a.AppID)
	}
	ar.client, ar.platform = c, p
	return nil
}

// checkProtocol checks what is answered at the redirect URI: response_type,
// response_mode, scope and PKCE.
func (h *Handler) checkProtocol(ar *authzRequest) error {
	f := ar.form
	ar.mode = "query"
	switch m := f.Get("response_mode"); m {
	case "", "query":
	case "form_post", "fragment":
		ar.mode = m
	default:
		return newAuthzError(70007, "The response_mode '%s' is not supported. Use query, fragment or form_post.", m)
	}
	switch rt := f.Get("response_type"); rt {
	case "code":
	case "":
		return newAuthzError(900144, "The request body must contain the following parameter: 'response_type'.")
	default:
		return newAuthzError(70005, "The response_type '%s' is not supported by this server: only 'code' is.", rt)
	}
	if strings.TrimSpace(f.Get("scope")) == "" {
		return newAuthzError(900144, "The request body must contain the following parameter: 'scope'.")
	}
	if _, _, err := parseMaxAge(f.Get("max_age")); err != nil {
		return err
	}
	challenge, method := f.Get("code_challenge"), f.Get("code_challenge_method")
	if challenge == "" && method != "" {
		return newAuthzError(900144, "The request body must contain the following parameter: 'code_challenge'.")
	}
	if challenge != "" && method == "" {
		method = oauth2.MethodPlain // RFC 7636 §4.3
	}
	public := ar.platform != oauth2.PlatformWeb
	switch {
	case challenge == "" && public:
		return newAuthzError(9002325, "Proof Key for Code Exchange is required for public clients and single-page applications: send code_challenge with code_challenge_method S256.")
	case challenge == "":
	case method == oauth2.MethodPlain && public:
		return newAuthzError(9002325, "Public clients and single-page applications must use code_challenge_method S256.")
	case method != oauth2.MethodS256 && method != oauth2.MethodPlain:
		return newAuthzError(90023, "Invalid code_challenge_method '%s': use S256.", method)
	case !oauth2.ValidChallenge(method, challenge):
		return newAuthzError(90023, "The code_challenge is not valid for the method %s.", method)
	}
	return nil
}

// login handles the sign-in form: it checks the password and starts a
// session, or renders the page again with the error and returns nil.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, ar *authzRequest) (*authn.SignInSession, *authn.SignedInUser) {
	ctx := r.Context()
	username, password := strings.TrimSpace(ar.form.Get("username")), ar.form.Get("password")
	if username == "" || password == "" {
		h.showLogin(w, r, ar, username, "Enter your user name and password.", http.StatusOK)
		return nil, nil
	}
	now := h.now()
	if ar.tenantID == "" {
		at := strings.LastIndexByte(username, '@')
		t, err := h.dir.ResolveTenant(ctx, username[at+1:])
		if at < 0 || err != nil {
			// Like an unknown user: say nothing about which domains exist.
			_, _ = h.dir.AuthenticatePassword(ctx, iam.NewID(), username, password, remoteIP(r), now)
			h.showLogin(w, r, ar, username, msgBadCredentials, http.StatusOK)
			return nil, nil
		}
		ar.tenantID = t.ID
		if !ar.selfService {
			if err := h.checkClient(ctx, ar); err != nil {
				h.pageError(w, r, err)
				return nil, nil
			}
			if err := h.checkProtocol(ar); err != nil {
				h.redirectError(w, r, ar, err)
				return nil, nil
			}
		}
	}
	if h.methods != nil {
		u, tried, err := h.methods.SignInWithTAP(ctx, ar.tenantID, username, password, now)
		if tried && err == nil {
			return h.afterFirstFactor(w, r, ar, u, username, byTAP, now)
		}
		// A wrong pass may be the password: that is checked next, with
		// its own lockout (wrong passes count towards the methods' one).
	}
	user, err := h.dir.AuthenticatePassword(ctx, ar.tenantID, username, password, remoteIP(r), now)
	if err != nil {
		h.logSignIn(r, ar, user, username, now, err)
		msg, status := loginMessage(err)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		h.showLogin(w, r, ar, username, msg, status)
		return nil, nil
	}
	return h.afterPassword(w, r, ar, user, username, now)
}

// Messages of the sign-in page, in Entra's words. An unknown user and a
// wrong password read the same.
const (
	msgBadCredentials = "Your account or password is incorrect. If you don't remember your password, reset it now."
	msgLocked         = "Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin."
	msgDisabled       = "Your account has been locked. Contact your support person to unlock it, then try again."
	msgBusy           = "Too many sign-in requests are being processed. Please wait a moment and try again."
	msgServer         = "Something went wrong. Please try again in a moment."
)

func loginMessage(err error) (string, int) {
	e := errs.As(err)
	switch e.Code {
	case "AADSTS50034", "AADSTS50126":
		return msgBadCredentials, http.StatusOK
	case "AADSTS50053":
		return msgLocked, http.StatusOK
	case "AADSTS50057":
		return msgDisabled, http.StatusOK
	}
	if e.Kind == errs.Unavailable && e.Code == "TooManyRequests" {
		return msgBusy, http.StatusTooManyRequests
	}
	return msgServer, http.StatusInternalServerError
}

// showLogin renders the sign-in page, which carries the authorize request
// in hidden fields and posts back to the same endpoint.
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, ar *authzRequest, username, errMsg string, status int) {
	action := ar.action
	if action == "" {
		action = "/" + url.PathEscape(ar.segment) + "/oauth2/v2.0/authorize"
	}
	v := loginView{Page: newPage("Sign in to your account"), Action: action,
		CSRF: h.csrfToken(w, r), Username: username, Error: errMsg,
		Hidden: hiddenFields(ar.form, "username", "password", csrfField, "ostiary_login", "prompt", accountField,
			mfaField, enrollmentField, codeField, passkeyField, passkeyHandleField, passkeyResponseField)}
	if p := ar.form.Get("prompt"); h.consent != nil && p == "consent" || h.adminConsent != nil && p == "admin_consent" {
		v.Hidden = append(v.Hidden, field{Name: "prompt", Value: p}) // the consent page follows the sign-in
	}
	if ar.client != nil {
		v.AppName = deref(ar.client.Application.DisplayName)
	}
	// The form's answer redirects to the client, so its origin is a form
	// target too. On /common the redirect URI is checked only after the
	// user name names the tenant; it is still never redirected to before.
	src := cspSources{forms: []string{ar.form.Get("redirect_uri")}}
	if v.Passkey = h.loginPasskey(r.Context(), ar); v.Passkey != nil {
		withPasskeyScript(&v.Page, &src)
	}
	h.renderPolicy(w, status, "login.html", v, src)
}

// issueCode checks consent and sends a code to the client.
func (h *Handler) issueCode(w http.ResponseWriter, r *http.Request, ar *authzRequest, ss *authn.SignInSession, user *authn.SignedInUser) {
	ctx := r.Context()
	if ar.client == nil { // /common with a fresh session: checked in login
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS90023", "The request could not be completed.", "")
		return
	}
	if h.consentStep(w, r, ar, user) {
		return // the consent page, or the page saying an admin must consent
	}
	if err := h.scopes.CheckUserScopes(ctx, ar.tenantID, ar.client, user.User.ID, ar.form.Get("scope")); err != nil {
		// Without the consent page (or with prompt=none) a missing
		// consent goes back to the client as consent_required
		// (AADSTS65001), as Entra answers prompt=none.
		h.redirectError(w, r, ar, fromErr(err))
		return
	}
	method := ar.form.Get("code_challenge_method")
	if ar.form.Get("code_challenge") != "" && method == "" {
		method = oauth2.MethodPlain
	}
	code, err := h.dir.IssueAuthCode(ctx, authn.AuthCode{TenantID: ar.tenantID, ClientAppID: ar.client.Application.AppID,
		UserID: user.User.ID, RedirectURI: ar.redirectURI, Scope: ar.form.Get("scope"), Nonce: ar.form.Get("nonce"),
		CodeChallenge: ar.form.Get("code_challenge"), CodeChallengeMethod: method, AuthTime: ss.AuthTime, AMR: ss.AMR,
		AuthTimeClaim: ar.form.Has("max_age"), SessionID: ss.SessionState, SPA: ar.platform == oauth2.PlatformSPA}, h.now())
	if err != nil {
		h.redirectError(w, r, ar, fromErr(err))
		return
	}
	// Remembered for front-channel logout; a failure costs only that call.
	if err := h.dir.RecordSessionApp(ctx, ss, ar.client.Application.AppID); err != nil {
		h.log.Warn("could not record the application of a sign-in session", "app", ar.client.Application.AppID, "err", err)
	}
	out := url.Values{"code": {code}}
	if ar.form.Has("state") {
		out.Set("state", ar.state)
	}
	out.Set("session_state", ss.SessionState)
	h.respond(w, r, ar, out)
}

// redirectError sends an error to the validated redirect URI.
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, ar *authzRequest, err error) {
	ae := fromErr(err)
	traceID := iam.NewID()
	h.logRefusal(r, ae, traceID)
	if ar.client == nil {
		h.pageError(w, r, ae)
		return
	}
	out := url.Values{"error": {ae.oauth},
		"error_description": {fmt.Sprintf("AADSTS%d: %s Trace ID: %s Timestamp: %s", ae.code, ae.message, traceID, h.now().UTC().Format("2006-01-02 15:04:05Z"))},
	}
	if ar.form.Has("state") {
		out.Set("state", ar.state)
	}
	if ar.mode == "" {
		ar.mode = "query"
		if m := ar.form.Get("response_mode"); m == "form_post" || m == "fragment" {
			ar.mode = m
		}
	}
	h.respond(w, r, ar, out)
}

// respond delivers parameters to the redirect URI per the response mode.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, ar *authzRequest, out url.Values) {
	if ar.mode == "form_post" {
		fields := make([]field, 0, len(out))
		for _, k := range sortedKeys(out) {
			fields = append(fields, field{Name: k, Value: out.Get(k)})
		}
		h.render(w, http.StatusOK, "formpost.html", formPostView{Page: newPage("Continue"), Action: ar.redirectURI, Fields: fields}, ar.redirectURI)
		return
	}
	u, err := url.Parse(ar.redirectURI)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS50011", "The redirect URI is not valid.", "")
		return
	}
	if ar.mode == "fragment" {
		u.Fragment, u.RawFragment = "", ""
		target := u.String() + "#" + out.Encode()
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	q := u.Query()
	for k, v := range out {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// pageError shows an error that must not go to the redirect URI.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	ae := fromErr(err)
	traceID := iam.NewID()
	h.logRefusal(r, ae, traceID)
	status := http.StatusBadRequest
	if ae.oauth == "server_error" {
		status = http.StatusInternalServerError
	} else if ae.oauth == "temporarily_unavailable" {
		status = http.StatusServiceUnavailable
	}
	h.showError(w, status, "Sign-in failed", fmt.Sprintf("AADSTS%d", ae.code), ae.message, traceID)
}

func (h *Handler) logRefusal(r *http.Request, ae *authzError, traceID string) {
	if ae.code == 50000 {
		h.log.Error("authorize failed", "trace_id", traceID, "path", r.URL.Path, "err", ae.cause)
		return
	}
	h.log.Info("authorize refused", "code", ae.code, "trace_id", traceID, "path", r.URL.Path)
}

// logSignIn writes the interactive sign-in's log record.
func (h *Handler) logSignIn(r *http.Request, ar *authzRequest, user *iam.User, username string, now time.Time, err error) {
	rec := h.signInRecord(r, ar, user, username, now)
	if err != nil {
		ae := fromErr(err)
		rec.Status.ErrorCode, rec.Status.FailureReason = ae.code, &ae.message
	}
	h.writeSignIn(r, ar.tenantID, rec)
}

// signInRecord is the part of an interactive sign-in's record every step shares.
func (h *Handler) signInRecord(r *http.Request, ar *authzRequest, user *iam.User, username string, now time.Time) iam.SignIn {
	rec := iam.SignIn{CreatedDateTime: now, UserPrincipalName: &username, IPAddress: remoteIP(r), ClientAppUsed: "Browser",
		IsInteractive: true, CorrelationID: iam.NewID()}
	if user != nil {
		rec.UserID, rec.UserDisplayName = user.ID, user.DisplayName
	}
	if ar.client != nil {
		rec.AppID, rec.AppDisplayName = ar.client.Application.AppID, ar.client.Application.DisplayName
	}
	return rec
}

func (h *Handler) writeSignIn(r *http.Request, tenantID string, rec iam.SignIn) {
	if lerr := h.dir.LogSignIn(context.WithoutCancel(r.Context()), tenantID, rec); lerr != nil {
		h.log.Error("sign-in log record lost", "tenant", tenantID, "err", lerr)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
