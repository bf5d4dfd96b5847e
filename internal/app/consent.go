package app

import (
	"context"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oidc"
)

// consentPages is what the consent page calls: the token service decides
// what is missing (it owns scope parsing), the directory records the
// user's consent through its grant logic, with audit.
type consentPages struct {
	sts *oidc.Handler
	dir *directory.Service
}

func (c consentPages) PendingConsent(ctx context.Context, tenantID string, client *authn.Client, userID, scope string, force bool) (*authn.ConsentPrompt, error) {
	return c.sts.PendingConsent(ctx, tenantID, client, userID, scope, force)
}

func (c consentPages) GrantUserConsent(ctx context.Context, caller *iam.Caller, clientSPID, resourceSPID string, scopes []string) error {
	_, err := c.dir.GrantUserConsent(ctx, caller, directory.UserConsent{ClientSPID: clientSPID, ResourceSPID: resourceSPID, Scopes: scopes})
	return err
}
