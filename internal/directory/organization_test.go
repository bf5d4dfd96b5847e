package directory_test

import (
	"testing"
)

func TestGetOrganization(t *testing.T) {
	e := newAppsEnv(t)
	e.addDomain(e.adminA, "contoso.com")
	e.addDomain(e.adminA, "fabrikam.com")
	e.verifyDomain(e.adminA, "contoso.com")
	org, err := e.svc.GetOrganization(e.ctx, e.adminA)
	if err != nil {
		t.Fatal(err)
	}
	if org.ID != e.tenantA || org.DisplayName != "Alpha Corp" || org.TenantType != "AAD" || !org.CreatedDateTime.Equal(e.now) {
		t.Fatalf("organization %+v", org)
	}
	got := map[string]bool{}
	for _, d := range org.VerifiedDomains {
		got[d.Name] = true
		if d.Type != "Managed" || d.Capabilities != "Email, OfficeCommunicationsOnline" {
			t.Errorf("verified domain %+v", d)
		}
		if d.Name == "alpha.ostiary.test" && (!d.IsInitial || !d.IsDefault) || d.Name == "contoso.com" && (d.IsInitial || d.IsDefault) {
			t.Errorf("flags of %+v", d)
		}
	}
	if len(got) != 2 || !got["alpha.ostiary.test"] || !got["contoso.com"] {
		t.Errorf("verified domains = %v, want the initial domain and contoso.com", got)
	}

	orgB, err := e.svc.GetOrganization(e.ctx, e.adminB)
	if err != nil || orgB.ID != e.tenantB || len(orgB.VerifiedDomains) != 1 || orgB.VerifiedDomains[0].Name != "beta.ostiary.test" {
		t.Errorf("tenant B organization %+v, %v", orgB, err)
	}
	_, err = e.svc.GetOrganization(e.ctx, caller(e.tenantA, ""))
	wantDenied(t, err)
	if _, err := e.svc.GetOrganization(e.ctx, caller(e.tenantA, "", "Organization.Read.All")); err != nil {
		t.Fatal(err)
	}
}
