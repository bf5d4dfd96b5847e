package oidc

import (
	"context"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
)

// grantTypeJWTBearer is the grant type of the on-behalf-of flow (RFC 7523
// §2.1 with requested_token_use=on_behalf_of).
const grantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// AccessTokenVerifier verifies access tokens this server issued.
type AccessTokenVerifier interface {
	VerifyAccessToken(raw string, now time.Time) (*tokens.AccessClaims, error)
}

// Codes of the on-behalf-of grant.
const (
	codeInvalidAssertion   = 50013   // the incoming token is not valid here
	codeAssertionExpired   = 500133  // the incoming token has expired
	codeAppOnlyOBODenied   = 7000114 // the incoming token is app-only
	requestedTokenUseOBO   = "on_behalf_of"
	paramRequestedTokenUse = "requested_token_use"
)

// onBehalfOfGrant is the on-behalf-of flow: an API (a confidential client)
// that received a user's access token exchanges it for a token to call
// another API as that user. The incoming token must be a user token this
// server issued in this tenant for the calling API (its aud is the API's
// appId or one of its identifier URIs), and the API must have consent for
// the downstream scopes as for any user token.
type onBehalfOfGrant struct{ h *Handler }

func (g onBehalfOfGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	switch use := req.form.Get(paramRequestedTokenUse); {
	case use == "":
		return nil, missingParameter(paramRequestedTokenUse)
	case use != requestedTokenUseOBO:
		return nil, aadsts(codeInvalidRequest, "The provided value for the input parameter '%s' is not valid: only '%s' is supported.", paramRequestedTokenUse, requestedTokenUseOBO)
	}
	raw := req.form.Get("assertion")
	if raw == "" {
		return nil, missingParameter("assertion")
	}
	claims, verr := h.deps.AccessTokens.VerifyAccessToken(raw, req.now)

	// On /common and /organizations the tenant is the one the user's
	// token was issued in.
	var tenantID string
	switch tenantAlias(req.segment) {
	case aliasConsumers:
		return nil, aadsts(codeNotOnCommon, "The grant type is not supported over the /consumers endpoint. Please use the /organizations or tenant-specific endpoint.")
	case aliasCommon, aliasOrganizations:
		if verr != nil {
			return nil, oboAssertionError(verr)
		}
		t, err := h.deps.Tenants.ResolveTenant(ctx, claims.TenantID)
		if err != nil {
			return nil, err
		}
		tenantID = t.ID
	default:
		t, err := h.deps.Tenants.ResolveTenant(ctx, req.segment)
		if err != nil {
			return nil, err
		}
		tenantID = t.ID
	}
	req.log.tenantID, req.log.appID = tenantID, strings.ToLower(req.client.id)
	scope, err := parseUserScope(req.form.Get("scope"))
	if err != nil {
		return nil, err
	}
	client, auth, err := h.confidentialClient(ctx, req, tenantID)
	if err != nil {
		return nil, err
	}
	req.noteClient(client)

	if verr != nil {
		return nil, oboAssertionError(verr)
	}
	if claims.TenantID != tenantID {
		return nil, aadsts(codeInvalidAssertion, "Assertion failed signature validation: the assertion was issued for another tenant ('%s').", claims.TenantID)
	}
	if claims.IsApp() || claims.IDType != "user" {
		return nil, aadsts(codeAppOnlyOBODenied, "Application '%s' is not allowed to make application on-behalf-of calls: the assertion is an app-only token, and the on-behalf-of flow needs a user's token.", client.Application.AppID)
	}
	if !audienceIsClient(claims.Audience, &client.Application) {
		return nil, aadsts(codeInvalidAssertion, "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Ids of the client app.",
			claims.Audience, client.Application.AppID)
	}
	// The user must still exist and be enabled, and sessions revoked since
	// the incoming token was issued end the chain too.
	u, err := h.deps.Users.LoadUser(ctx, tenantID, claims.ObjectID, claims.IssuedAt)
	if err != nil {
		return nil, err
	}
	req.noteUser(&u.User)
	// The downstream token carries the methods the user proved upstream.
	return h.issueUserTokens(ctx, req, &userTokens{tenantID: tenantID, client: client, clientAuth: auth, user: u.User,
		wids: u.Wids, scope: scope, amr: claims.AMR})
}

// oboAssertionError maps the verifier's refusal of the incoming token.
func oboAssertionError(err error) error {
	if tokens.IsOutsideTimeRange(err) {
		return &oauthError{code: codeAssertionExpired, message: "The provided assertion is not within its valid time range: it has expired or is not valid yet.", cause: err}
	}
	return &oauthError{code: codeInvalidAssertion, message: "The provided value for the input parameter 'assertion' is not a valid access token issued by this tenant.", cause: err}
}

// audienceIsClient reports whether aud names the application: its appId
// (v2 tokens, and v1 tokens asked for by appId) or one of its identifier
// URIs (v1 tokens), a trailing slash ignored.
func audienceIsClient(aud string, app *iam.Application) bool {
	aud = strings.TrimRight(aud, "/")
	if aud == "" {
		return false
	}
	if id, ok := iam.NormalizeGUID(aud); ok {
		return id == strings.ToLower(app.AppID)
	}
	for _, u := range app.IdentifierURIs {
		if strings.EqualFold(strings.TrimRight(u, "/"), aud) {
			return true
		}
	}
	return false
}
