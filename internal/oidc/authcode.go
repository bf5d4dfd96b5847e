package oidc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/oauth2"
	"github.com/ostiary/ostiary/internal/tokens"
)

// AuthCodes redeems authorization codes issued by the sign-in pages
// (package authn). Errors carry AADSTS codes.
type AuthCodes interface {
	RedeemAuthCode(ctx context.Context, tenantID, raw string, now time.Time) (*authn.AuthCode, error)
}

// Codes of the authorization code grant.
const (
	codeVerifierMismatch = 501481
	codeInvalidGrant     = 70000
)

// authorizationCodeGrant is grant_type=authorization_code (TOKENS.md §4.2):
// the code from /authorize, the same redirect_uri, the PKCE verifier when
// a challenge was sent, and the client's credential if it is confidential.
type authorizationCodeGrant struct{ h *Handler }

func (g authorizationCodeGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	raw, redirectURI := req.form.Get("code"), req.form.Get("redirect_uri")
	if raw == "" {
		return nil, missingParameter("code")
	}
	if redirectURI == "" {
		return nil, missingParameter("redirect_uri")
	}
	segTenant, tenantID, err := h.credentialTenant(ctx, req.segment, raw, authn.AuthCodeTenant, aadsts(codeInvalidGrant, "The provided value for the 'code' parameter is not valid."))
	if err != nil {
		return nil, err
	}
	req.log.tenantID, req.log.appID, req.log.interactive = tenantID, strings.ToLower(req.client.id), true
	// The client authenticates first (the shared user-flow client check:
	// secret or assertion; public clients, and single-page apps for codes
	// issued to their spa redirect URIs, with none).
	client, auth, spaOnly, err := h.spaClient(ctx, req, tenantID)
	if err != nil {
		return nil, err
	}
	req.noteClient(client)
	code, err := h.deps.Codes.RedeemAuthCode(ctx, segTenant, raw, req.now)
	if err != nil {
		return nil, err
	}
	req.log.userID = code.UserID
	if err := req.checkSPAOrigin(code.SPA); err != nil {
		return nil, err
	}
	switch {
	case spaOnly && !code.SPA:
		return nil, credentialRequired()
	case !strings.EqualFold(code.ClientAppID, client.Application.AppID):
		return nil, aadsts(codeInvalidGrant, "The code was issued to a different client than the one redeeming it.")
	case code.RedirectURI != redirectURI:
		return nil, aadsts(codeInvalidGrant, "The redirect_uri does not match the redirect_uri used in the authorization request.")
	}
	verifier := req.form.Get("code_verifier")
	switch {
	case code.CodeChallenge == "" && auth == tokens.ClientAuthNone:
		// Without PKCE only the client's credential proves the redeemer
		// is the client: a public client cannot redeem such a code (it
		// was issued to a web redirect URI), or anyone holding an
		// intercepted code could.
		return nil, aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The authorization request had no code_challenge, so the code can only be redeemed by a confidential client.")
	case code.CodeChallenge == "" && verifier != "":
		return nil, aadsts(codeVerifierMismatch, "The code_verifier was sent but the authorization request had no code_challenge.")
	case code.CodeChallenge != "" && verifier == "":
		return nil, missingParameter("code_verifier")
	case code.CodeChallenge != "" && !oauth2.VerifyPKCE(code.CodeChallengeMethod, code.CodeChallenge, verifier):
		return nil, aadsts(codeVerifierMismatch, "The code_verifier does not match the code_challenge supplied in the authorization request.")
	}
	u, err := h.deps.Users.LoadUser(ctx, tenantID, code.UserID, code.AuthTime)
	if err != nil {
		return nil, err
	}
	req.noteUser(&u.User)
	// The token request names the scopes (MSAL repeats the resource's and
	// adds openid, profile and offline_access, which its authorize URL
	// may lack, as Entra allows); consent decides them either way.
	scopeParam := req.form.Get("scope")
	if strings.TrimSpace(scopeParam) == "" {
		scopeParam = code.Scope
	}
	scope, err := parseUserScope(scopeParam)
	if err != nil {
		return nil, err
	}
	// The ID token's nonce is the authorize request's, never the token
	// request's.
	if code.Nonce != "" {
		req.form.Set("nonce", code.Nonce)
	} else {
		req.form.Del("nonce")
	}
	ut := &userTokens{tenantID: tenantID, client: client, clientAuth: auth, user: u.User,
		wids: u.Wids, scope: scope, familyID: code.FamilyID, spa: code.SPA, sessionID: code.SessionID, amr: code.AMR}
	if code.AuthTimeClaim {
		ut.authTime = code.AuthTime
	}
	return h.issueUserTokens(ctx, req, ut)
}

// CheckUserScopes reports whether scope (an authorize request's) is well
// formed and consented for the client to act for userID. It is the
// sign-in pages' check before issuing a code, so that a missing consent
// goes back to the client at once as AADSTS65001 (consent_required).
// Failures are *errs.Error values with Code "AADSTSnnnn".
func (h *Handler) CheckUserScopes(ctx context.Context, tenantID string, client *authn.Client, userID, scope string) error {
	us, err := parseUserScope(scope)
	if err == nil {
		var grant *authn.DelegatedGrant
		grant, err = h.deps.Users.DelegatedScopes(ctx, tenantID, client.ServicePrincipal.ID, userID, us.resource)
		if err == nil {
			scp, _, ok := us.granted(grant.Granted, grant.Scopes, grant.Identifier)
			if !ok || us.all && len(scp) == 0 && len(us.values) == 0 && us.spelled[".default"] != "" {
				err = aadsts(codeConsentRequired, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.",
					client.Application.AppID, deref(client.Application.DisplayName))
			}
		}
	}
	if err == nil {
		return nil
	}
	oe := asOAuth(err)
	kind := errs.Invalid
	if oe.code == codeServerError {
		kind = errs.Internal
	}
	return errs.Wrap(kind, err, "%s", oe.message).WithCode(fmt.Sprintf("AADSTS%d", oe.code))
}
