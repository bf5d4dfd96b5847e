package oidc

import (
	"context"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
)

// maxTokenBody caps a token request body. Real requests are a few hundred
// bytes; a client assertion with a certificate chain stays far below it.
const maxTokenBody = 64 << 10

// grant is one grant_type of the token endpoint. Each is a small type so
// adding a grant is adding a type and a map entry in New.
type grant interface {
	exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error)
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	// segment is the tenant path segment as sent.
	segment string
	form    url.Values
	client  clientCredential
	now     time.Time
	// ip is the caller's address, for lockout and the sign-in log.
	ip string
	// log collects what the grant learned about the sign-in as it went,
	// so a failure half-way is still logged with what was known.
	log signInInfo
	// app is the client's application once known (noteClient), for CORS.
	app *iam.Application
	// crossOrigin: the request came with an Origin header, as a browser's
	// cross-origin request does; a single-page app's codes and refresh
	// tokens are redeemed only so (checkSPAOrigin).
	crossOrigin bool
	// viaAlias marks a request that uses the application through /common
	// or /organizations (the URL's segment, or a device code asked for on
	// one of them): only a multi-tenant application may be (checkAlias).
	viaAlias bool
}

// signInInfo is what a grant learned about a sign-in, for its log record.
type signInInfo struct {
	tenantID              string
	appID, appName        string
	userID, upn, userName string
	resourceID, resource  string
	interactive           bool
	// details is additionalDetails ("Refresh token reuse: family revoked").
	details string
}

// tokenResponse is a successful token response (TOKENS.md §4.3). expires_in
// must be an integer: MSAL Go fails on 3599.0.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// clientCredential is how the client identified itself.
type clientCredential struct {
	id string
	// secret is set (hasSecret) for client_secret_basic and _post.
	secret    string
	hasSecret bool
	// assertion is a client_assertion (private_key_jwt), not yet accepted.
	assertion string
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return missingParameter("grant_type")
	}
	g, ok := h.grants[gt]
	if !ok {
		return aadsts(codeUnsupportedGrant, "The app requested an unsupported grant type '%s'.", gt)
	}
	if form.Has("resource") {
		return aadsts(codeResourceParameter, "The 'resource' request parameter is not supported.")
	}
	client, err := readClientCredential(r, form)
	if err != nil {
		return err
	}
	segment := r.PathValue("tenant")
	req := &tokenRequest{segment: segment, form: form, client: client, now: h.now(), ip: remoteIP(r), viaAlias: isCommonAlias(segment),
		crossOrigin: r.Header.Get("Origin") != ""}
	done := func() {}
	if h.deps.SignIns != nil {
		done = h.deps.SignIns.TokenRequest()
	}
	resp, err := g.exchange(r.Context(), req)
	h.logSignIn(r, req, err)
	done()
	allowSPAOrigin(w, r, req.app)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// readForm parses the form body under the size cap. Parameters in the URL
// query are ignored: credentials belong in the body (RFC 6749 §2.3.1), and
// the query ends up in access logs.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		// Entra reads nothing from another body type, so the first thing
		// it misses is the grant type.
		return nil, missingParameter("grant_type")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &oauthError{code: codeMalformed, message: "The request body is too large.", cause: err}
		}
		return nil, &oauthError{code: codeMalformed, message: "The request body is not a valid form.", cause: err}
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			// RFC 6749 §3.2: parameters must not be repeated.
			return nil, aadsts(codeMalformed, "The request parameter '%s' is repeated.", k)
		}
	}
	return r.PostForm, nil
}

// readClientCredential reads client authentication from HTTP Basic or the
// body, refusing a request that uses both (RFC 6749 §2.3). Basic values are
// form-encoded before base64 (RFC 6749 §2.3.1; openid-client even encodes
// '-'), so they are decoded again here.
func readClientCredential(r *http.Request, form url.Values) (clientCredential, error) {
	c := clientCredential{id: form.Get("client_id"), assertion: form.Get("client_assertion")}
	if form.Has("client_secret") {
		c.secret, c.hasSecret = form.Get("client_secret"), true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return c, nil
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return c, aadsts(codeMalformed, "The client credentials in the Authorization header are not correctly encoded.")
	}
	if c.hasSecret || c.assertion != "" {
		return c, aadsts(codeInvalidRequest, "The request used more than one client authentication method. Send the client credentials either in the Authorization header or in the request body, not both.")
	}
	if c.id != "" && !strings.EqualFold(c.id, id) {
		return c, aadsts(codeInvalidRequest, "The client_id in the request body does not match the client in the Authorization header.")
	}
	c.id, c.secret, c.hasSecret = id, secret, true
	return c, nil
}

// remoteIP is the address the request came from. Ostiary does not trust
// forwarding headers: behind a proxy every caller would share its address.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logSignIn writes the sign-in log record of a token request once the
// tenant is known, success or failure. It runs after the grant's own
// transaction, in one of its own, so a failure whose work rolled back is
// still recorded; a record that cannot be written is logged, not fatal.
func (h *Handler) logSignIn(r *http.Request, req *tokenRequest, err error) {
	info := req.log
	if h.deps.SignIns == nil || info.tenantID == "" {
		return
	}
	rec := iam.SignIn{
		CreatedDateTime: req.now, UserID: info.userID, UserDisplayName: optional(info.userName),
		UserPrincipalName: optional(info.upn), AppID: info.appID, AppDisplayName: optional(info.appName),
		IPAddress: req.ip, ClientAppUsed: "Mobile Apps and Desktop clients", ResourceID: optional(info.resourceID),
		ResourceDisplayName: optional(info.resource), CorrelationID: correlationID(r),
		IsInteractive: info.interactive, Status: iam.SignInStatus{AdditionalDetails: optional(info.details)},
	}
	if err != nil {
		oe := asOAuth(err)
		rec.Status.ErrorCode = oe.code
		rec.Status.FailureReason = optional(oe.message)
	}
	if lerr := h.deps.SignIns.LogSignIn(context.WithoutCancel(r.Context()), info.tenantID, rec); lerr != nil {
		h.log.Error("sign-in log record lost", "tenant", info.tenantID, "app", info.appID, "user", info.userID, "err", lerr)
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
