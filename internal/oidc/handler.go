// Package oidc serves the OAuth 2.0 / OpenID Connect endpoints on Entra ID's
// v2.0 paths, with Entra's response shapes, so Microsoft's client libraries
// (MSAL, azidentity) and generic OIDC clients work against Ostiary by
// changing only the authority host.
//
// It is transport only: tenants, clients and resources are resolved by
// package authn, tokens are signed by package tokens, both reached through
// the small interfaces below, wired in package app. Handlers return errors;
// writeError maps them once to Entra's OAuth error body with its AADSTS
// code, OAuth error and HTTP status from the embedded code table.
package oidc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
	"github.com/ostiary/ostiary/internal/web"
)

// Tenants resolves the tenant segment of a URL (GUID or verified domain).
type Tenants interface {
	ResolveTenant(ctx context.Context, segment string) (iam.Tenant, error)
}

// Clients authenticates client applications and looks up what they were
// granted. Errors carry AADSTS codes (see package authn).
type Clients interface {
	AuthenticateClientSecret(ctx context.Context, tenantID, clientID, secret string, now time.Time) (*authn.Client, error)
	AuthenticateClientAssertion(ctx context.Context, req authn.ClientAssertion) (*authn.Client, error)
	GrantedAppRoles(ctx context.Context, tenantID, clientSPID, resource string) (*authn.ResourceGrant, error)
}

// TokenIssuer signs tokens.
type TokenIssuer interface {
	IssueAppToken(req tokens.AppTokenRequest) (tokens.Token, error)
}

// SignInLog records sign-ins; each record is written in a transaction of
// its own.
type SignInLog interface {
	LogSignIn(ctx context.Context, tenantID string, rec iam.SignIn) error
	// TokenRequest marks a token request in flight until done, called
	// once its record is logged, so records can be committed together.
	TokenRequest() (done func())
}

// KeySet lists the signing keys to publish.
type KeySet interface {
	PublishedKeys() []tokens.PublicKey
}

// Config is the handler's configuration.
type Config struct {
	// PublicURL is the origin clients use ("https://login.example.com"); it
	// is the host of every issuer and endpoint, so behind a proxy it must be
	// the public one. MSAL requires https.
	PublicURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Deps are the services the handler calls.
type Deps struct {
	Tenants Tenants
	Clients Clients
	Tokens  TokenIssuer
	Keys    KeySet
	// SignIns records every token request whose tenant is known; nil
	// records nothing.
	SignIns SignInLog
	// Users and UserTokens enable the user grants (password, refresh
	// token); without them only client credentials is served.
	Users      Users
	UserTokens UserTokenIssuer
	// Codes enables the authorization code grant (with Users and
	// UserTokens).
	Codes AuthCodes
	// AccessTokens verifies the incoming user token of the on-behalf-of
	// grant, which is served only with it and the user grants.
	AccessTokens AccessTokenVerifier
	// Consent describes consent pages (PendingConsent); nil disables them.
	Consent ConsentDescriber
	// DeviceCodes enables the device code grant and its devicecode
	// endpoint (with Users and UserTokens).
	DeviceCodes DeviceCodes
	// LegacyAuth is the tenant's legacy authentication policy; nil allows
	// the password grant everywhere.
	LegacyAuth LegacyAuthPolicy
	// MFA says what a user's sign-in owes beyond the password now; nil
	// requires nothing (refresh tokens then never need a new MFA).
	MFA MFAPolicy
	// Log receives refused requests (info) and server errors; nil discards.
	Log *slog.Logger
}

// MFAPolicy decides whether a user's sign-in must include MFA.
type MFAPolicy interface {
	MFARequirementFor(ctx context.Context, tenantID string, user *iam.User, now time.Time) (authn.MFARequirement, error)
}

// Handler serves the token service endpoints.
type Handler struct {
	publicURL string
	host      string // host[:port] of PublicURL, lower case
	origin    string // scheme://host[:port] of PublicURL, lower case
	now       func() time.Time
	deps      Deps
	log       *slog.Logger
	codes     codeTable
	grants    map[string]grant
}

// New builds the handler.
func New(cfg Config, deps Deps) (*Handler, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("oidc: PublicURL must be an absolute http(s) URL")
	}
	if deps.Tenants == nil || deps.Clients == nil || deps.Tokens == nil || deps.Keys == nil {
		return nil, errors.New("oidc: Tenants, Clients, Tokens and Keys are required")
	}
	codes, err := loadCodes()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		host:      strings.ToLower(u.Host),
		origin:    strings.ToLower(u.Scheme + "://" + u.Host),
		now:       cfg.Now,
		deps:      deps,
		log:       deps.Log,
		codes:     codes,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.grants = map[string]grant{
		"client_credentials": clientCredentialsGrant{h},
	}
	if deps.Users != nil && deps.UserTokens != nil {
		h.grants["password"] = passwordGrant{h}
		h.grants["refresh_token"] = refreshTokenGrant{h}
		if deps.Codes != nil {
			h.grants["authorization_code"] = authorizationCodeGrant{h}
		}
		if deps.AccessTokens != nil {
			h.grants[grantTypeJWTBearer] = onBehalfOfGrant{h}
		}
		if deps.DeviceCodes != nil {
			h.grants[grantTypeDeviceCode] = deviceCodeGrant{h}
			h.grants[grantTypeDeviceCodeShort] = deviceCodeGrant{h}
		}
	}
	return h, nil
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", h.handle(h.openIDConfiguration))
	mux.Handle("GET /{tenant}/discovery/v2.0/keys", h.handle(h.keys))
	mux.Handle("GET /common/discovery/instance", h.handle(h.instanceDiscovery))
	mux.Handle("GET /{tenant}/UserRealm/{username}", h.handle(h.userRealm))
	mux.Handle("POST /{tenant}/oauth2/v2.0/token", h.handle(h.token))
	mux.Handle("OPTIONS /{tenant}/oauth2/v2.0/token", h.handle(h.tokenPreflight))
	mux.Handle("GET /{tenant}/oauth2/v2.0/token", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return aadsts(codeWrongVerb, "The endpoint only accepts POST, OPTIONS requests. Received a GET request.")
	}))
	h.registerUserInfo(mux)
	h.registerDeviceCode(mux)
}

// handle adapts an error-returning handler.
func (h *Handler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// MSAL correlates by client-request-id; Entra echoes it.
		if id := web.ClientRequestID(r); id != "" {
			w.Header().Set("client-request-id", id)
		}
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// alias is a tenant segment that names no single tenant.
type alias int

const (
	notAlias alias = iota
	aliasCommon
	aliasOrganizations
	aliasConsumers
)

func tenantAlias(segment string) alias {
	switch strings.ToLower(segment) {
	case "common":
		return aliasCommon
	case "organizations":
		return aliasOrganizations
	case "consumers":
		return aliasConsumers
	}
	return notAlias
}

// isCommonAlias reports whether segment is /common or /organizations: the
// aliases whose tenant the user decides, where Entra accepts multi-tenant
// applications only (AADSTS50194, authn.Client.CheckCommonEndpoint).
func isCommonAlias(segment string) bool {
	a := tenantAlias(segment)
	return a == aliasCommon || a == aliasOrganizations
}

// issuerTemplate is the issuer of a multi-tenant discovery document and of
// every key in the JWKS: the client substitutes the token's tid.
func (h *Handler) issuerTemplate() string { return h.publicURL + "/{tenantid}/v2.0" }
