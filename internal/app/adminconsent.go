package app

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oidc"
)

// adminConsentPages is what admin consent calls: the token service parses
// the scope parameter (what an authorize request asks for), authn
// describes the app's requested permissions and whether the user may
// grant them, and the directory records the consent with audit.
type adminConsentPages struct {
	sts     *oidc.Handler
	clients *authn.Service
	dir     *directory.Service
}

func (c adminConsentPages) PendingAdminConsent(ctx context.Context, tenantID string, client *authn.Client, userID, scope string) (*authn.AdminConsentPrompt, error) {
	var extra *authn.ConsentPrompt
	if strings.TrimSpace(scope) != "" {
		var err error
		if extra, err = c.sts.PendingConsent(ctx, tenantID, client, userID, scope, true); err != nil {
			return nil, err
		}
	}
	return c.clients.DescribeAdminConsent(ctx, tenantID, client, userID, extra)
}

func (c adminConsentPages) GrantAdminConsent(ctx context.Context, caller *iam.Caller, p *authn.AdminConsentPrompt) error {
	ac := directory.AdminConsent{ClientSPID: p.ClientSPID}
	for _, r := range p.Resources {
		g := directory.AdminConsentGrant{ResourceSPID: r.ResourceSPID, Scopes: r.ScopeValues()}
		for _, role := range r.Roles {
			g.AppRoleIDs = append(g.AppRoleIDs, role.ID)
		}
		ac.Resources = append(ac.Resources, g)
	}
	return c.dir.GrantAdminConsent(ctx, caller, ac)
}

// MayConsentForOrganization reports whether the user's tenant-wide roles
// let them grant delegated permissions for everyone (the consent page's
// organization checkbox).
func (c adminConsentPages) MayConsentForOrganization(ctx context.Context, tenantID, userID string) (bool, error) {
	roles, err := c.clients.UserWids(ctx, tenantID, userID)
	return err == nil && iam.MayGrantTenantConsent(roles, false), err
}
