package oidc

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/tokens"
)

// clientCredentialsGrant is grant_type=client_credentials: an application
// asks for an app-only token for one resource with its own credential.
type clientCredentialsGrant struct{ h *Handler }

func (g clientCredentialsGrant) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	h := g.h
	// App-only tokens need a real tenant (TOKENS.md §1).
	switch tenantAlias(req.segment) {
	case aliasCommon, aliasConsumers:
		return nil, aadsts(codeNotOnCommon, "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
	case aliasOrganizations:
		return nil, aadsts(codeNotOnCommon, "The grant type is not supported over the /organizations endpoint. Please use the tenant-specific endpoint.")
	}
	tenant, err := h.deps.Tenants.ResolveTenant(ctx, req.segment)
	if err != nil {
		return nil, err
	}
	req.log.tenantID, req.log.appID = tenant.ID, strings.ToLower(req.client.id)
	if req.client.id == "" {
		return nil, missingParameter("client_id")
	}
	resource, err := clientCredentialsResource(req.form.Get("scope"), req.form.Has("scope"))
	if err != nil {
		return nil, err
	}
	client, auth, err := h.confidentialClient(ctx, req, tenant.ID)
	if err != nil {
		return nil, err
	}
	req.log.appID, req.log.appName = client.Application.AppID, deref(client.Application.DisplayName)
	res, err := h.deps.Clients.GrantedAppRoles(ctx, tenant.ID, client.ServicePrincipal.ID, resource)
	if err != nil {
		return nil, err
	}
	req.log.resourceID, req.log.resource = res.AppID, res.DisplayName
	if strings.EqualFold(res.AppID, client.Application.AppID) && !res.ByAppID {
		name := ""
		if dn := client.Application.DisplayName; dn != nil {
			name = *dn
		}
		return nil, aadsts(codeTokenForItself, "Application '%s'(%s) is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.", client.Application.AppID, name)
	}
	tok, err := h.deps.Tokens.IssueAppToken(tokens.AppTokenRequest{
		TenantID:                 tenant.ID,
		ClientAppID:              client.Application.AppID,
		ClientServicePrincipalID: client.ServicePrincipal.ID,
		ClientAuth:               auth,
		Resource: tokens.Resource{
			AppID: res.AppID, Identifier: res.Identifier, AccessTokenVersion: res.AccessTokenVersion,
		},
		Roles: res.Roles,
		Now:   req.now,
	})
	if err != nil {
		return nil, err
	}
	// No scope in the response: Entra's client credentials answer has
	// none, and MSAL Go would read a rewritten one as declined scopes.
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, ExtExpiresIn: tok.ExpiresIn, AccessToken: tok.Raw}, nil
}

// oidcScopes may accompany any request; MSAL Go adds them even to client
// credentials requests, and Entra ignores them there.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

const defaultSuffix = "/.default"

// clientCredentialsResource returns the one resource a client credentials
// scope names: exactly one "{resource}/.default", besides OIDC scopes.
func clientCredentialsResource(scope string, present bool) (string, error) {
	fields := strings.Fields(scope)
	if !present || len(fields) == 0 {
		return "", missingParameter("scope")
	}
	var resources []string
	for _, f := range fields {
		if isOIDCScope(f) {
			continue
		}
		if len(f) < len(defaultSuffix) || !strings.EqualFold(f[len(f)-len(defaultSuffix):], defaultSuffix) {
			return "", aadsts(codeClientCredsScope, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f)
		}
		res := f[:len(f)-len(defaultSuffix)]
		if strings.TrimRight(res, "/") == "" {
			return "", aadsts(codeInvalidScope, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", f)
		}
		dup := false
		for _, seen := range resources {
			dup = dup || strings.EqualFold(strings.TrimRight(seen, "/"), strings.TrimRight(res, "/"))
		}
		if !dup {
			resources = append(resources, res)
		}
	}
	switch len(resources) {
	case 0:
		return "", aadsts(codeClientCredsScope, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	case 1:
		return resources[0], nil
	default:
		return "", aadsts(codeMultipleResources, "The provided value for the input parameter scope is not valid because it contains more than one resource. The scope %s is not valid.", scope)
	}
}

func isOIDCScope(s string) bool {
	for _, o := range oidcScopes {
		if strings.EqualFold(s, o) {
			return true
		}
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
