package oidc

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
)

// DeviceCodes stores device authorizations (RFC 8628; package authn).
// Errors carry AADSTS codes.
type DeviceCodes interface {
	IssueDeviceCode(ctx context.Context, req authn.DeviceCodeRequest, now time.Time) (*authn.IssuedDeviceCode, error)
	PollDeviceCode(ctx context.Context, tenantID, raw, clientAppID string, now time.Time) (*authn.DeviceCode, authn.DevicePoll, error)
	DeviceCodeOwner(ctx context.Context, raw string) (string, error)
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
// approves and again when the code is redeemed.
//
// On /common and /organizations the tenant is decided by the user's
// sign-in on the device login page, as in Entra, so the code is deferred
// (authn): Ostiary has no directory of applications across tenants, so
// the client cannot be found, let alone authenticated, before the user
// has chosen a tenant. It is then, at every poll, before anything is
// issued: the credential a confidential client sends here is checked at
// the polls, the only step that yields tokens, and the code remembers
// that one was sent, so a poll without it is refused. So is Entra's rule
// that only multi-tenant applications may be used on these aliases
// (AADSTS50194): on the device login page, when the user's tenant finds
// the client (the code is then declined with that code), and at the polls.
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
	client, err := readClientCredential(r, form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	req := &tokenRequest{segment: segment, form: form, client: client, now: h.now(), ip: remoteIP(r)}
	var issue authn.DeviceCodeRequest
	switch tenantAlias(segment) {
	case aliasConsumers:
		return aadsts(codeNotOnCommon, "The device code flow is not supported over the /consumers endpoint: personal Microsoft accounts cannot sign in here. Please use the /organizations or tenant-specific endpoint.")
	case aliasCommon, aliasOrganizations:
		if issue, err = deferredDeviceClient(req); err != nil {
			return err
		}
	default:
		tenant, err := h.deps.Tenants.ResolveTenant(ctx, segment)
		if err != nil {
			return err
		}
		c, auth, err := h.userClient(ctx, req, tenant.ID)
		if err != nil {
			return err
		}
		issue = authn.DeviceCodeRequest{TenantID: tenant.ID, ClientAppID: c.Application.AppID, Confidential: auth != tokens.ClientAuthNone}
	}
	issue.Scope = strings.Join(strings.Fields(form.Get("scope")), " ")
	if _, err := parseUserScope(issue.Scope); err != nil {
		return err
	}
	dc, err := h.deps.DeviceCodes.IssueDeviceCode(ctx, issue, req.now)
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

// deferredDeviceClient is the client of a device authorization on /common
// or /organizations: a client id shaped like an appId, and whether it sent
// a credential (checked at the polls, in the tenant the user chooses).
func deferredDeviceClient(req *tokenRequest) (authn.DeviceCodeRequest, error) {
	if req.client.id == "" {
		return authn.DeviceCodeRequest{}, missingParameter("client_id")
	}
	appID, ok := iam.NormalizeGUID(req.client.id)
	if !ok {
		return authn.DeviceCodeRequest{}, aadsts(700016, "Application with identifier '%s' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", req.client.id)
	}
	if req.client.hasSecret && (req.client.assertion != "" || req.form.Has("client_assertion_type")) {
		return authn.DeviceCodeRequest{}, aadsts(codeInvalidRequest, "The request used more than one client authentication method. Send either 'client_secret' or 'client_assertion', not both.")
	}
	return authn.DeviceCodeRequest{ClientAppID: appID, Confidential: req.hasClientCredential()}, nil
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
	if tid, ok := authn.DeviceCodeTenant(raw); ok && tid == "" {
		return g.deferred(ctx, req, raw)
	}
	segTenant, tenantID, err := h.credentialTenant(ctx, req.segment, raw, authn.DeviceCodeTenant, badDeviceCode())
	if err != nil {
		return nil, err
	}
	return g.redeem(ctx, req, raw, segTenant, tenantID)
}

func badDeviceCode() error {
	return aadsts(70018, "The provided value for the input parameter 'device_code' is not valid.")
}

// deferred polls a code asked for on /common or /organizations. Until its
// user has chosen a tenant there is none to authenticate the client in, so
// the poll can only say pending, slow_down or expired (the 256-bit device
// code and the client id are checked); afterwards it is a poll in the
// chosen tenant, which a tenant-specific URL must name.
func (g deviceCodeGrant) deferred(ctx context.Context, req *tokenRequest, raw string) (*tokenResponse, error) {
	h := g.h
	segTenant := ""
	switch tenantAlias(req.segment) {
	case aliasConsumers:
		return nil, aadsts(codeNotOnCommon, "The grant type is not supported over the /consumers endpoint. Please use the /organizations or tenant-specific endpoint.")
	case notAlias:
		t, err := h.deps.Tenants.ResolveTenant(ctx, req.segment)
		if err != nil {
			return nil, err
		}
		segTenant = t.ID
	}
	owner, err := h.deps.DeviceCodes.DeviceCodeOwner(ctx, raw)
	if err != nil {
		return nil, err
	}
	if owner != "" {
		if segTenant != "" && segTenant != owner {
			return nil, aadsts(700005, "Provided device code is intended to use against other tenant, thus rejected.")
		}
		// The code was asked for on /common or /organizations, so the app
		// is used through them even when the poll names the tenant: the
		// client resolved now must be multi-tenant (AADSTS50194).
		req.viaAlias = true
		return g.redeem(ctx, req, raw, owner, owner)
	}
	if req.client.id == "" {
		return nil, missingParameter("client_id")
	}
	_, poll, err := h.deps.DeviceCodes.PollDeviceCode(ctx, "", raw, strings.ToLower(req.client.id), req.now)
	if err != nil {
		return nil, err
	}
	if poll == authn.PollExpired {
		return nil, expiredDeviceCode()
	}
	return nil, waitingPoll(poll)
}

// waitingPoll is the answer to a poll of a code its user has not answered.
func waitingPoll(poll authn.DevicePoll) error {
	if poll == authn.PollSlowDown {
		return &oauthError{code: codeAuthorizationPending, oauth: "slow_down",
			message: "The client is polling too often. Poll at most once every 5 seconds."}
	}
	return aadsts(codeAuthorizationPending, "The user has not yet completed authentication. Poll again after the interval.")
}

func expiredDeviceCode() error {
	return aadsts(codeDeviceCodeExpired, "Verification code expired. The device code has expired; start the sign-in on the device again.")
}

// redeem is a poll whose tenant is known: the client is authenticated in
// it, and an approved code is redeemed for tokens.
func (g deviceCodeGrant) redeem(ctx context.Context, req *tokenRequest, raw, segTenant, tenantID string) (*tokenResponse, error) {
	h := g.h
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
	case authn.PollPending, authn.PollSlowDown:
		req.log.tenantID = "" // not logged
		return nil, waitingPoll(poll)
	case authn.PollExpired:
		return nil, expiredDeviceCode()
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
		wids: u.Wids, scope: scope, familyID: dc.FamilyID, amr: dc.AMR})
}
