package oidc

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/tokens"
)

// DeviceCodes stores device authorizations (RFC 8628; package authn).
// Errors carry AADSTS codes.
type DeviceCodes interface {
	IssueDeviceCode(ctx context.Context, req authn.DeviceCodeRequest, now time.Time) (*authn.IssuedDeviceCode, error)
	PollDeviceCode(ctx context.Context, tenantID, raw, clientAppID string, now time.Time) (*authn.DeviceCode, authn.DevicePoll, error)
}

// The device code grant's names. MSAL Go and Python send the short
// grant_type "device_code", others the URN; Entra takes both.
const (
	grantTypeDeviceCode      = "urn:ietf:params:oauth:grant-type:device_code"
	grantTypeDeviceCodeShort = "device_code"
	// DeviceLoginPath is the device login page, on this host. It must not
	// contain "token": MSAL Go derives the devicecode URL from the token
	// URL by replacing that string everywhere.
	DeviceLoginPath = "/devicelogin"
)

// Codes of the device code grant.
const (
	codeAuthorizationPending = 70016
	codeDeviceCodeExpired    = 70019
	codeUserDeclined         = 65004
)

// registerDeviceCode mounts the device authorization endpoint when the
// grant is served.
func (h *Handler) registerDeviceCode(mux *http.ServeMux) {
	if _, ok := h.grants[grantTypeDeviceCode]; !ok {
		return
	}
	mux.Handle("POST /{tenant}/oauth2/v2.0/devicecode", h.handle(h.deviceAuthorization))
	mux.Handle("GET /{tenant}/oauth2/v2.0/devicecode", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return aadsts(codeWrongVerb, "The endpoint only accepts POST, OPTIONS requests. Received a GET request.")
	}))
}

// deviceCodeResponse is the device authorization response (TOKENS.md §6):
// Entra sends no verification_uri_complete.
type deviceCodeResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// deviceAuthorization is POST /{tenant}/oauth2/v2.0/devicecode (client_id,
// scope): the client authenticates as in the other user grants (a public
// client with nothing, a confidential one with its secret or assertion)
// and the scope is parsed as theirs are. Consent is checked when the user
// approves and again when the code is redeemed. Device codes need a
// tenant: /common and /organizations are not served (the user code page
// would have to pick the tenant from the user).
func (h *Handler) deviceAuthorization(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return missingParameter("client_id")
	}
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	if form.Has("resource") {
		return aadsts(codeResourceParameter, "The 'resource' request parameter is not supported.")
	}
	segment := r.PathValue("tenant")
	if tenantAlias(segment) != notAlias {
		return aadsts(codeNotOnCommon, "The device code flow is not supported over the /%s endpoint by this server. Please use the tenant-specific endpoint.", strings.ToLower(segment))
	}
	ctx := r.Context()
	tenant, err := h.deps.Tenants.ResolveTenant(ctx, segment)
	if err != nil {
		return err
	}
	client, err := readClientCredential(r, form)
	if err != nil {
		return err
	}
	req := &tokenRequest{segment: segment, form: form, client: client, now: h.now(), ip: remoteIP(r)}
	c, auth, err := h.userClient(ctx, req, tenant.ID)
	if err != nil {
		return err
	}
	scope := strings.Join(strings.Fields(form.Get("scope")), " ")
	if _, err := parseUserScope(scope); err != nil {
		return err
	}
	dc, err := h.deps.DeviceCodes.IssueDeviceCode(ctx, authn.DeviceCodeRequest{TenantID: tenant.ID, ClientAppID: c.Application.AppID, Scope: scope,
		Confidential: auth != tokens.ClientAuthNone}, req.now)
	if err != nil {
		return err
	}
	uri := h.publicURL + DeviceLoginPath
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, deviceCodeResponse{
		UserCode: dc.UserCode, DeviceCode: dc.DeviceCode, VerificationURI: uri,
		ExpiresIn: int(authn.DeviceCodeLifetime / time.Second), Interval: int(authn.DeviceCodeInterval / time.Second),
		Message: "To sign in, use a web browser to open the page " + uri + " and enter the code " + dc.UserCode + " to authenticate.",
	})
	return nil
}

// deviceCodeGrant is grant_type=urn:ietf:params:oauth:grant-type:device_code
// (or device_code): the client polls with its device code until the user
// has answered on the device login page (TOKENS.md §4.2). Waiting polls
// (authorization_pending, slow_down) write no sign-in log record; the
// outcome does.
type deviceCodeGrant struct{ h *Handler }

func (g deviceCodeGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	raw := req.form.Get("device_code")
	if raw == "" {
		return nil, missingParameter("device_code")
	}
	segTenant, tenantID, err := h.credentialTenant(ctx, req.segment, raw, authn.DeviceCodeTenant, aadsts(70018, "The provided value for the input parameter 'device_code' is not valid."))
	if err != nil {
		return nil, err
	}
	req.log.tenantID, req.log.appID, req.log.interactive = tenantID, strings.ToLower(req.client.id), true
	client, auth, err := h.userClient(ctx, req, tenantID)
	if err != nil {
		return nil, err
	}
	req.noteClient(client)
	dc, poll, err := h.deps.DeviceCodes.PollDeviceCode(ctx, segTenant, raw, client.Application.AppID, req.now)
	if err != nil {
		return nil, err
	}
	if dc.Confidential && auth == tokens.ClientAuthNone {
		// The code was asked for with the client's credential; polling
		// without it could be anyone who learned the device code.
		return nil, aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	switch poll {
	case authn.PollPending:
		req.log.tenantID = "" // not logged
		return nil, aadsts(codeAuthorizationPending, "The user has not yet completed authentication. Poll again after the interval.")
	case authn.PollSlowDown:
		req.log.tenantID = ""
		return nil, &oauthError{code: codeAuthorizationPending, oauth: "slow_down",
			message: "The client is polling too often. Poll at most once every 5 seconds."}
	case authn.PollExpired:
		return nil, aadsts(codeDeviceCodeExpired, "Verification code expired. The device code has expired; start the sign-in on the device again.")
	case authn.PollDeclined:
		req.log.userID = dc.UserID
		if dc.DeclineCode == codeConsentRequired {
			return nil, aadsts(codeConsentRequired, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.",
				client.Application.AppID, deref(client.Application.DisplayName))
		}
		if dc.DeclineCode != 0 {
			return nil, aadsts(dc.DeclineCode, "The device authorization was refused when the user answered it.")
		}
		return nil, &oauthError{code: codeUserDeclined, oauth: "authorization_declined",
			message: "The user declined the authorization request on the device login page."}
	case authn.PollApproved:
	default:
		return nil, aadsts(codeServerError, "Unexpected device code state.")
	}
	req.log.userID = dc.UserID
	u, err := h.deps.Users.LoadUser(ctx, tenantID, dc.UserID, dc.AuthTime)
	if err != nil {
		return nil, err
	}
	req.noteUser(&u.User)
	// The scope is the device authorization request's: the one the user
	// approved (RFC 8628's poll carries none; MSAL repeats it).
	scope, err := parseUserScope(dc.Scope)
	if err != nil {
		return nil, err
	}
	req.form.Del("nonce")
	return h.issueUserTokens(ctx, req, &userTokens{tenantID: tenantID, client: client, clientAuth: auth, user: u.User,
		wids: u.Wids, scope: scope, familyID: dc.FamilyID})
}
