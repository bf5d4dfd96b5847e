package oidc

import (
	"context"
	"fmt"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
)

// ConsentDescriber describes what a consent page asks (package authn).
type ConsentDescriber interface {
	DescribeConsent(ctx context.Context, tenantID string, client *authn.Client, grant *authn.DelegatedGrant, values []string, dflt bool) (*authn.ConsentPrompt, error)
}

// PendingConsent reports what userID must consent to before client may
// have the scopes of an authorize request (the sign-in pages' consent
// step): nil when every requested scope of the resource is granted and
// force (prompt=consent) is not set. With force it describes every
// requested scope. A ".default" request with nothing granted asks for the
// delegated permissions the client's registration lists for the resource.
// On Microsoft Graph the OpenID Connect scopes asked for are added, as
// Entra records them in the grant (they are Graph permissions); they never
// make consent due on their own. Failures are *errs.Error values with
// Code "AADSTSnnnn".
func (h *Handler) PendingConsent(ctx context.Context, tenantID string, client *authn.Client, userID, scope string, force bool) (*authn.ConsentPrompt, error) {
	if h.deps.Consent == nil || h.deps.Users == nil {
		return nil, aadstsErr(aadsts(codeServerError, "Consent is not available on this server."))
	}
	us, err := parseUserScope(scope)
	if err != nil {
		return nil, aadstsErr(err)
	}
	grant, err := h.deps.Users.DelegatedScopes(ctx, tenantID, client.ServicePrincipal.ID, userID, us.resource)
	if err != nil {
		return nil, aadstsErr(err)
	}
	var missing []string
	for _, v := range us.values {
		if _, ok := grant.Granted(v); !ok || force {
			missing = append(missing, v)
		}
	}
	dflt := us.all && len(us.values) == 0 && us.spelled[".default"] != "" && (force || len(grant.Scopes) == 0)
	if len(missing) == 0 && !dflt {
		return nil, nil
	}
	if grant.IsGraph() {
		for _, o := range oidcScopes {
			if us.oidc[o] {
				missing = append(missing, o)
			}
		}
	}
	p, err := h.deps.Consent.DescribeConsent(ctx, tenantID, client, grant, missing, dflt)
	if err != nil {
		return nil, aadstsErr(err)
	}
	return p, nil
}

// aadstsErr turns an error of this package into an *errs.Error whose Code
// is its AADSTS code, for callers outside it (the sign-in pages).
func aadstsErr(err error) error {
	oe := asOAuth(err)
	kind := errs.Invalid
	if oe.code == codeServerError {
		kind = errs.Internal
	}
	return errs.Wrap(kind, err, "%s", oe.message).WithCode(fmt.Sprintf("AADSTS%d", oe.code))
}

// grantedOIDCScopes appends to scp the OpenID Connect scopes of us that
// the grant holds, for a Microsoft Graph token: on Entra they are Graph
// delegated permissions, recorded in the grant by consent and carried in
// scp (userinfo needs openid). offline_access is left out; it governs
// refresh tokens, not access to Graph.
func grantedOIDCScopes(scp []string, us *userScope, grant *authn.DelegatedGrant) []string {
	if !grant.IsGraph() || us.all {
		return scp // ".default" already took every granted scope
	}
	for _, o := range []string{"openid", "profile", "email"} {
		if g, ok := grant.Granted(o); ok && us.oidc[o] && !containsFold(scp, g) {
			scp = append(scp, g)
		}
	}
	return scp
}
