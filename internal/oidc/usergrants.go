package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
)

// Users signs users in and keeps their refresh tokens (package authn).
// Errors carry AADSTS codes.
type Users interface {
	AuthenticatePassword(ctx context.Context, tenantID, username, password, ip string, now time.Time) (*iam.User, error)
	LookupClient(ctx context.Context, tenantID, clientID string) (*authn.Client, bool, error)
	DelegatedScopes(ctx context.Context, tenantID, clientSPID, userID, resource string) (*authn.DelegatedGrant, error)
	UserWids(ctx context.Context, tenantID, userID string) ([]string, error)
	LoadUser(ctx context.Context, tenantID, userID string, issued time.Time) (*authn.SignedInUser, error)
	GroupClaims(ctx context.Context, tenantID, userID, setting string) ([]string, bool, error)
	IssueRefreshToken(ctx context.Context, rt authn.RefreshToken, now time.Time) (string, error)
	CheckRefreshToken(ctx context.Context, tenantID, clientAppID, raw string, now time.Time) (*authn.RefreshToken, error)
	// RefreshUser is LoadUser for the user of a checked refresh token.
	RefreshUser(ctx context.Context, rt *authn.RefreshToken) (*authn.SignedInUser, error)
	RotateRefreshToken(ctx context.Context, rt *authn.RefreshToken, scopes []string, now time.Time) (string, error)
}

// UserTokenIssuer signs user access tokens and ID tokens.
type UserTokenIssuer interface {
	IssueUserToken(req tokens.UserTokenRequest) (tokens.Token, error)
	IssueIDToken(req tokens.IDTokenRequest) (tokens.Token, error)
}

// Codes of the user grants.
const (
	codeConsentRequired = 65001
)

// userTenant resolves the tenant of a user flow. On /common and
// /organizations the user's home tenant is the one owning the domain of
// the user name; /consumers (personal accounts) has no users here.
func (h *Handler) userTenant(ctx context.Context, segment, username string) (iam.Tenant, error) {
	switch tenantAlias(segment) {
	case aliasConsumers:
		return iam.Tenant{}, aadsts(codeNotOnCommon, "The grant type is not supported over the /consumers endpoint: personal Microsoft accounts cannot sign in here. Please use the /organizations or tenant-specific endpoint.")
	case aliasCommon, aliasOrganizations:
		at := strings.LastIndexByte(username, '@')
		if at < 0 {
			return iam.Tenant{}, aadsts(50128, "Invalid domain name in the request: the user name must be a user principal name.")
		}
		return h.deps.Tenants.ResolveTenant(ctx, username[at+1:])
	}
	return h.deps.Tenants.ResolveTenant(ctx, segment)
}

// userClient authenticates the client of a user flow: a confidential
// client with its secret or certificate, or a public client (one that
// allows public client flows) with none.
func (h *Handler) userClient(ctx context.Context, req *tokenRequest, tenantID string) (*authn.Client, tokens.ClientAuth, error) {
	if req.client.id == "" {
		return nil, 0, missingParameter("client_id")
	}
	if req.hasClientCredential() {
		return h.confidentialClient(ctx, req, tenantID)
	}
	c, public, err := h.deps.Users.LookupClient(ctx, tenantID, req.client.id)
	if err != nil {
		return nil, 0, err
	}
	if err := req.checkAlias(c); err != nil {
		return nil, 0, err
	}
	if !public {
		return nil, 0, aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return c, tokens.ClientAuthNone, nil
}

// spaClient is userClient for the grants that redeem what a single-page
// app holds: an authorization code issued to a spa redirect URI and the
// refresh tokens of its family. A browser app has no credential, and its
// application need not allow public client flows (a spa redirect URI is
// what makes it a public client for those), so a client that sends no
// credential and is not public is accepted here when it registered spa
// redirect URIs; spaOnly then tells the grant to insist that the code or
// token is one issued to the spa platform (AADSTS7000218 otherwise).
func (h *Handler) spaClient(ctx context.Context, req *tokenRequest, tenantID string) (c *authn.Client, auth tokens.ClientAuth, spaOnly bool, err error) {
	if req.client.id == "" || req.hasClientCredential() {
		c, auth, err = h.userClient(ctx, req, tenantID)
		return c, auth, false, err
	}
	c, public, err := h.deps.Users.LookupClient(ctx, tenantID, req.client.id)
	if err != nil {
		return nil, 0, false, err
	}
	if err := req.checkAlias(c); err != nil {
		return nil, 0, false, err
	}
	if !public && (c.Application.Spa == nil || len(c.Application.Spa.RedirectURIs) == 0) {
		return nil, 0, false, credentialRequired()
	}
	return c, tokens.ClientAuthNone, !public, nil
}

func credentialRequired() error {
	return aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// userTokens is what a user grant resolved, ready for issuance.
type userTokens struct {
	tenantID   string
	client     *authn.Client
	clientAuth tokens.ClientAuth
	user       iam.User
	wids       []string
	scope      *userScope
	// newFamily issues a first refresh token; rotate replaces a used one.
	rotate *authn.RefreshToken
	// familyID names a new refresh token family (the authorization code
	// grant's, so a reused code can revoke it); "" for a new id.
	familyID string
	// spa marks a sign-in through a spa redirect URI: a new refresh token
	// family gets the fixed SPA lifetime.
	spa bool
	// authTime, when set, is the ID token's auth_time (max_age was sent).
	authTime time.Time
	// sessionID is the ID token's sid: the browser session signed in.
	sessionID string
	// amr is how the user authenticated; nil means a password alone.
	amr []string
}

func (ut *userTokens) methods() []string {
	if len(ut.amr) == 0 {
		return []string{"pwd"}
	}
	return ut.amr
}

// issueUserTokens checks consent for the requested scopes and issues the
// access token, and the ID token, refresh token and client_info when asked.
func (h *Handler) issueUserTokens(ctx context.Context, req *tokenRequest, ut *userTokens) (*tokenResponse, error) {
	grant, err := h.deps.Users.DelegatedScopes(ctx, ut.tenantID, ut.client.ServicePrincipal.ID, ut.user.ID, ut.scope.resource)
	if err != nil {
		return nil, err
	}
	req.log.resourceID, req.log.resource = grant.AppID, grant.DisplayName
	scp, echo, ok := ut.scope.granted(grant.Granted, grant.Scopes, grant.Identifier)
	if !ok || ut.scope.all && len(scp) == 0 && len(ut.scope.values) == 0 && ut.scope.spelled[".default"] != "" {
		return nil, aadsts(codeConsentRequired, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.",
			ut.client.Application.AppID, deref(ut.client.Application.DisplayName))
	}
	scp = grantedOIDCScopes(scp, ut.scope, grant)
	info := tokens.UserInfo{ID: ut.user.ID, UserPrincipalName: ut.user.UserPrincipalName, DisplayName: deref(ut.user.DisplayName),
		GivenName: deref(ut.user.GivenName), Surname: deref(ut.user.Surname), Mail: deref(ut.user.Mail)}
	// Group claims: the resource app's setting for the access token, the
	// client app's for the ID token (groupMembershipClaims).
	groups, overage, err := h.deps.Users.GroupClaims(ctx, ut.tenantID, ut.user.ID, grant.GroupClaims)
	if err != nil {
		return nil, err
	}
	at, err := h.deps.UserTokens.IssueUserToken(tokens.UserTokenRequest{
		TenantID: ut.tenantID, ClientAppID: ut.client.Application.AppID, ClientAuth: ut.clientAuth,
		Resource: tokens.Resource{AppID: grant.AppID, Identifier: grant.Identifier, AccessTokenVersion: grant.AccessTokenVersion},
		User:     info, Scopes: scp, Wids: widsFor(grant, ut.wids), AMR: ut.methods(), Groups: groups, GroupsOverage: overage, Now: req.now,
	})
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{TokenType: "Bearer", Scope: strings.Join(echo, " "), ExpiresIn: at.ExpiresIn, ExtExpiresIn: at.ExpiresIn, AccessToken: at.Raw}
	if ut.scope.oidc["openid"] {
		idGroups, idOverage, err := h.deps.Users.GroupClaims(ctx, ut.tenantID, ut.user.ID, deref(ut.client.Application.GroupMembershipClaims))
		if err != nil {
			return nil, err
		}
		id, err := h.deps.UserTokens.IssueIDToken(tokens.IDTokenRequest{TenantID: ut.tenantID, ClientAppID: ut.client.Application.AppID,
			User: info, Email: ut.scope.oidc["email"], Nonce: req.form.Get("nonce"), AuthTime: ut.authTime, SessionID: ut.sessionID,
			Groups: idGroups, GroupsOverage: idOverage, Now: req.now})
		if err != nil {
			return nil, err
		}
		resp.IDToken = id.Raw
	}
	if req.form.Get("client_info") == "1" {
		ci, _ := json.Marshal(struct {
			UID  string `json:"uid"`
			UTID string `json:"utid"`
		}{ut.user.ID, ut.tenantID})
		resp.ClientInfo = base64.RawURLEncoding.EncodeToString(ci)
	}
	// Rotation comes last, after everything that could refuse the request,
	// so a refused refresh leaves the presented token usable.
	switch {
	case ut.rotate != nil:
		if resp.RefreshToken, err = h.deps.Users.RotateRefreshToken(ctx, ut.rotate, ut.scope.requested(), req.now); err != nil {
			return nil, err
		}
	case ut.scope.oidc["offline_access"]:
		if resp.RefreshToken, err = h.deps.Users.IssueRefreshToken(ctx, authn.RefreshToken{TenantID: ut.tenantID,
			UserID: ut.user.ID, ClientAppID: ut.client.Application.AppID, Scopes: ut.scope.requested(), FamilyID: ut.familyID,
			Confidential: ut.clientAuth != tokens.ClientAuthNone, SPA: ut.spa, AMR: ut.methods()}, req.now); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// requested is the scope list to remember with a refresh token.
func (us *userScope) requested() []string {
	out := make([]string, 0, len(us.spelled)+len(us.oidc))
	for _, v := range us.values {
		out = append(out, us.spelled[strings.ToLower(v)])
	}
	if sp, ok := us.spelled[".default"]; ok {
		out = append(out, sp)
	}
	for _, o := range oidcScopes {
		if us.oidc[o] {
			out = append(out, o)
		}
	}
	return out
}

func (req *tokenRequest) noteUser(u *iam.User) {
	req.log.userID, req.log.upn, req.log.userName = u.ID, u.UserPrincipalName, deref(u.DisplayName)
}

func (req *tokenRequest) noteClient(c *authn.Client) {
	req.log.appID, req.log.appName = c.Application.AppID, deref(c.Application.DisplayName)
	req.app = &c.Application
}

// passwordGrant is grant_type=password (ROPC): the client sends the user's
// name and password. It cannot satisfy MFA, and works only for work
// accounts (never on /consumers).
type passwordGrant struct{ h *Handler }

func (g passwordGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	username, password := req.form.Get("username"), req.form.Get("password")
	if username == "" {
		return nil, missingParameter("username")
	}
	if !req.form.Has("password") {
		return nil, missingParameter("password")
	}
	tenant, err := h.userTenant(ctx, req.segment, username)
	if err != nil {
		return nil, err
	}
	req.log.tenantID, req.log.appID, req.log.upn, req.log.interactive = tenant.ID, strings.ToLower(req.client.id), username, true
	scope, err := parseUserScope(req.form.Get("scope"))
	if err != nil {
		return nil, err
	}
	client, auth, err := h.userClient(ctx, req, tenant.ID)
	if err != nil {
		return nil, err
	}
	req.noteClient(client)
	if err := h.checkPasswordGrantAllowed(ctx, tenant.ID); err != nil {
		return nil, err
	}
	user, err := h.deps.Users.AuthenticatePassword(ctx, tenant.ID, username, password, req.ip, req.now)
	if user != nil {
		req.noteUser(user)
	}
	if err != nil {
		return nil, err
	}
	wids, err := h.deps.Users.UserWids(ctx, tenant.ID, user.ID)
	if err != nil {
		return nil, err
	}
	return h.issueUserTokens(ctx, req, &userTokens{tenantID: tenant.ID, client: client, clientAuth: auth, user: *user, wids: wids, scope: scope})
}

// refreshTokenGrant is grant_type=refresh_token: a new access token, for
// any resource the client has consent for, and a new refresh token in
// place of the one presented (rotation).
type refreshTokenGrant struct{ h *Handler }

func (g refreshTokenGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	raw := req.form.Get("refresh_token")
	if raw == "" {
		return nil, missingParameter("refresh_token")
	}
	segTenant, tenantID, err := h.credentialTenant(ctx, req.segment, raw, authn.RefreshTokenTenant, aadsts(70000, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid."))
	if err != nil {
		return nil, err
	}
	req.log.tenantID, req.log.appID = tenantID, strings.ToLower(req.client.id)
	client, auth, spaOnly, err := h.spaClient(ctx, req, tenantID)
	if err != nil {
		return nil, err
	}
	req.noteClient(client)
	rt, err := h.deps.Users.CheckRefreshToken(ctx, segTenant, client.Application.AppID, raw, req.now)
	if rt != nil {
		req.log.userID = rt.UserID
	}
	if authn.IsRefreshReuse(err) {
		req.log.details = "Refresh token reuse detected: every refresh token of its family was revoked."
		h.log.Warn("refresh token reuse: family revoked", "tenant", tenantID, "client", client.Application.AppID, "user", rt.UserID, "family", rt.FamilyID)
	}
	if err != nil {
		return nil, err
	}
	if err := req.checkSPAOrigin(rt.SPA); err != nil {
		return nil, err
	}
	if spaOnly && !rt.SPA {
		return nil, credentialRequired()
	}
	if rt.Confidential && auth == tokens.ClientAuthNone {
		// Issued to the client proving itself with a credential: without
		// it, a stolen token of an app that also allows public flows
		// would be redeemable with the client id alone.
		return nil, aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The refresh token was issued to a confidential client.")
	}
	u, err := h.deps.Users.RefreshUser(ctx, rt)
	if err != nil {
		return nil, err
	}
	req.noteUser(&u.User)
	scopeParam := req.form.Get("scope")
	if strings.TrimSpace(scopeParam) == "" {
		scopeParam = strings.Join(rt.Scopes, " ")
	}
	scope, err := parseUserScope(scopeParam)
	if err != nil {
		return nil, err
	}
	if err := h.checkMFAStillSatisfied(ctx, tenantID, &u.User, rt.AMR, req.now); err != nil {
		return nil, err
	}
	return h.issueUserTokens(ctx, req, &userTokens{tenantID: tenantID, client: client, clientAuth: auth, user: u.User,
		wids: u.Wids, scope: scope, rotate: rt, amr: rt.AMR})
}

// userRealm answers MSAL's home realm discovery before a password sign-in
// (TOKENS.md §2.4). Every account here is cloud-only, so the answer is
// always Managed, whatever the name: it reveals nothing about which users
// exist.
func (h *Handler) userRealm(w http.ResponseWriter, r *http.Request) error {
	username := r.PathValue("username")
	domain := ""
	if at := strings.LastIndexByte(username, '@'); at >= 0 {
		domain = strings.ToLower(username[at+1:])
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{
		"ver":                 "1.0",
		"account_type":        "Managed",
		"domain_name":         domain,
		"cloud_instance_name": "microsoftonline.com",
		"cloud_audience_urn":  "urn:federation:MicrosoftOnline",
	})
	return nil
}

// credentialTenant resolves the tenant of a grant whose credential (an
// authorization code, a device code, a refresh token) carries its tenant:
// the tenant the path names, or on /common and /organizations the
// credential's own (tenantOf decodes it; a value it cannot decode is
// refused with invalid). segTenant is "" unless the path named a tenant, so
// callers can insist the credential belongs to it. /consumers is refused.
func (h *Handler) credentialTenant(ctx context.Context, segment, raw string, tenantOf func(string) (string, bool), invalid error) (segTenant, tenantID string, err error) {
	switch tenantAlias(segment) {
	case aliasConsumers:
		return "", "", aadsts(codeNotOnCommon, "The grant type is not supported over the /consumers endpoint. Please use the /organizations or tenant-specific endpoint.")
	case aliasCommon, aliasOrganizations:
		tid, ok := tenantOf(raw)
		if !ok {
			return "", "", invalid
		}
		return "", tid, nil
	default:
		t, err := h.deps.Tenants.ResolveTenant(ctx, segment)
		if err != nil {
			return "", "", err
		}
		return t.ID, t.ID, nil
	}
}

// checkMFAStillSatisfied refuses a refresh whose family began without MFA
// when the user's sign-in now requires it (security defaults turned on,
// or an MFA method registered since): a refresh token cannot outlive an
// MFA requirement that came into force after it was issued. Entra answers
// invalid_grant AADSTS50076 with suberror basic_action; the client signs
// the user in again interactively.
func (h *Handler) checkMFAStillSatisfied(ctx context.Context, tenantID string, user *iam.User, amr []string, now time.Time) error {
	if h.deps.MFA == nil || slices.Contains(amr, "mfa") {
		return nil
	}
	req, err := h.deps.MFA.MFARequirementFor(ctx, tenantID, user, now)
	// A user still inside the registration grace may skip it at sign-in,
	// so their tokens may be refreshed too; only a second factor they can
	// do, or a registration they can no longer skip, is owed.
	if err != nil || !req.Challenge && (!req.Register || !req.RegisterBy.IsZero()) {
		return err
	}
	return aadsts(50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", iam.MicrosoftGraphResource)
}

// widsFor is the wids claim of an access token for the resource: Microsoft
// Graph's tokens always carry it, as Entra's do; another resource's only
// when its app asks for directory roles (groupMembershipClaims "All" or
// "DirectoryRole"), as Entra defines the claim.
func widsFor(grant *authn.DelegatedGrant, wids []string) []string {
	if grant.IsGraph() {
		return wids
	}
	switch strings.ToLower(grant.GroupClaims) {
	case "all", "directoryrole":
		return wids
	}
	return nil
}
