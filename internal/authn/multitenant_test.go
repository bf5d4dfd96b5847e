package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
)

const fabrikamID = "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a"

// TestMultiTenantClients: an application is a client in another tenant
// only through a service principal there and only while it is
// multi-tenant; its home tenant is known either way.
func TestMultiTenantClients(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	authntest.Tenant(t, w.st, fabrikamID, "Fabrikam", "fabrikam.ostiary.test")

	if _, _, err := w.svc.LookupClient(ctx, fabrikamID, w.client.AppID); err == nil {
		t.Fatal("an app without a service principal in the tenant is a client there")
	}
	authntest.Provision(t, w.st, fabrikamID, tenantID, w.client, "AzureADMultipleOrgs")
	c, _, err := w.svc.LookupClient(ctx, fabrikamID, w.client.AppID)
	if err != nil || c.TenantID != fabrikamID || c.HomeTenantID != tenantID {
		t.Fatalf("multi-tenant client in the customer tenant: %+v %v", c, err)
	}
	// Made single-tenant again: the remaining service principal no longer
	// makes it a client outside its home.
	authntest.Provision(t, w.st, iamNewTenant(t, w), tenantID, w.client, "AzureADMyOrg")
	_, _, err = w.svc.LookupClient(ctx, fabrikamID, w.client.AppID)
	wantCode(t, err, "AADSTS700016")
	_, err = w.svc.AuthenticateClientSecret(ctx, fabrikamID, w.client.AppID, secret, now)
	wantCode(t, err, "AADSTS700016")
	if c, _, err := w.svc.LookupClient(ctx, tenantID, w.client.AppID); err != nil || c.HomeTenantID != tenantID {
		t.Fatalf("single-tenant client at home: %+v %v", c, err)
	}
}

// iamNewTenant creates a third tenant (Provision needs a tenant to put a
// service principal in; the point is the application's new audience).
func iamNewTenant(t *testing.T, w *world) string {
	t.Helper()
	const id = "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"
	authntest.Tenant(t, w.st, id, "Northwind", "northwind.ostiary.test")
	return id
}

// TestAssertionJTIAcrossTenants: a client assertion is single-use per
// client, whichever tenant the request resolves to. An assertion whose
// audience names the /organizations token endpoint is valid wherever the
// multi-tenant client is used; its second use, in another tenant, is a
// replay (AADSTS50012).
func TestAssertionJTIAcrossTenants(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	authntest.Tenant(t, w.st, fabrikamID, "Fabrikam", "fabrikam.ostiary.test")
	authntest.Provision(t, w.st, fabrikamID, tenantID, w.client, "AzureADMultipleOrgs")
	cert := newTestCert(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	addKeyCredential(t, w.st, w.client.ObjectID, cert, now.Add(-time.Hour), now.Add(24*time.Hour))

	const aud = "https://login.ostiary.test/organizations/oauth2/v2.0/token"
	claims := assertionClaims(w.client.AppID)
	claims["aud"] = aud
	raw := sign(t, cert.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256()}, claims)
	req := authn.ClientAssertion{TenantID: tenantID, ClientID: w.client.AppID, Assertion: raw, Audiences: []string{aud}, Now: now}
	if _, err := w.svc.AuthenticateClientAssertion(ctx, req); err != nil {
		t.Fatalf("first use: %v", err)
	}
	req.TenantID = fabrikamID
	_, err := w.svc.AuthenticateClientAssertion(ctx, req)
	wantCode(t, err, "AADSTS50012")

	// A fresh assertion works in the customer tenant, and its replay at
	// home is refused too.
	claims = assertionClaims(w.client.AppID)
	claims["aud"] = aud
	req.Assertion = sign(t, cert.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256()}, claims)
	if c, err := w.svc.AuthenticateClientAssertion(ctx, req); err != nil || c.TenantID != fabrikamID {
		t.Fatalf("use in the customer tenant: %+v %v", c, err)
	}
	req.TenantID = tenantID
	_, err = w.svc.AuthenticateClientAssertion(ctx, req)
	wantCode(t, err, "AADSTS50012")
}
