package oidc

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/tokens"
)

// confidentialClient authenticates a client that must prove who it is: by
// a client secret (client_secret_basic or _post) or by a certificate
// assertion (private_key_jwt). Every grant that takes a confidential
// client comes through here, so each accepts both. Sending both is
// invalid_request (RFC 6749 §2.3); sending neither AADSTS7000218.
func (h *Handler) confidentialClient(ctx context.Context, req *tokenRequest, tenantID string) (*authn.Client, tokens.ClientAuth, error) {
	if req.client.id == "" {
		return nil, 0, missingParameter("client_id")
	}
	var (
		c    *authn.Client
		auth tokens.ClientAuth
		err  error
	)
	switch {
	case req.client.assertion != "" || req.form.Has("client_assertion_type"):
		c, err = h.assertedClient(ctx, req, tenantID)
		auth = tokens.ClientAuthCertificate
	case req.client.hasSecret:
		c, err = h.deps.Clients.AuthenticateClientSecret(ctx, tenantID, req.client.id, req.client.secret, req.now)
		auth = tokens.ClientAuthSecret
	default:
		return nil, 0, aadsts(codeCredentialRequired, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if err != nil {
		return nil, 0, err
	}
	// After the credential, as the other checks of the application (a
	// disabled service principal, AADSTS7000112) are.
	if err := req.checkAlias(c); err != nil {
		return nil, 0, err
	}
	return c, auth, nil
}

// checkAlias refuses an application that is not multi-tenant when the
// request uses it through /common or /organizations (AADSTS50194, as
// Entra does on both). Every way a grant resolves its client comes
// through here (confidentialClient, userClient, spaClient) as soon as the
// client is known, in the user's tenant for the flows whose tenant the
// user decides. The application is noted first, so the refusal is logged
// with its name and a single-page app can read it (CORS).
func (req *tokenRequest) checkAlias(c *authn.Client) error {
	if !req.viaAlias {
		return nil
	}
	if err := c.CheckCommonEndpoint(); err != nil {
		req.noteClient(c)
		return err
	}
	return nil
}

// hasClientCredential reports whether the request carries a secret or an
// assertion (a confidential client's credential).
func (req *tokenRequest) hasClientCredential() bool {
	return req.client.hasSecret || req.client.assertion != "" || req.form.Has("client_assertion_type")
}

// assertedClient authenticates a client by its client_assertion.
func (h *Handler) assertedClient(ctx context.Context, req *tokenRequest, tenantID string) (*authn.Client, error) {
	switch {
	case req.client.hasSecret:
		return nil, aadsts(codeInvalidRequest, "The request used more than one client authentication method. Send either 'client_secret' or 'client_assertion', not both.")
	case !req.form.Has("client_assertion_type"):
		return nil, missingParameter("client_assertion_type")
	case req.client.assertion == "":
		return nil, missingParameter("client_assertion")
	case req.form.Get("client_assertion_type") != authn.ClientAssertionType:
		return nil, aadsts(codeInvalidRequest, "The client_assertion_type '%s' is not supported; it must be '%s'.", req.form.Get("client_assertion_type"), authn.ClientAssertionType)
	}
	return h.deps.Clients.AuthenticateClientAssertion(ctx, authn.ClientAssertion{
		TenantID: tenantID, ClientID: req.client.id, Assertion: req.client.assertion,
		Audiences: h.assertionAudiences(req.segment, tenantID), Now: req.now,
	})
}

// assertionAudiences are the aud values a client assertion may carry: the
// token endpoint the client called, named by the tenant GUID (as the
// discovery document names it) or by the segment it used.
func (h *Handler) assertionAudiences(segment, tenantID string) []string {
	out := []string{h.publicURL + "/" + tenantID + "/oauth2/v2.0/token"}
	if !strings.EqualFold(segment, tenantID) && segment != "" {
		out = append(out, h.publicURL+"/"+segment+"/oauth2/v2.0/token")
	}
	return out
}
