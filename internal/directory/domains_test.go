package directory_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

func (e *appsEnv) addDomain(c *iam.Caller, name string) iam.Domain {
	e.t.Helper()
	d, err := e.svc.AddDomain(e.ctx, c, directory.Patch(`{"id":"`+name+`"}`))
	if err != nil {
		e.t.Fatalf("AddDomain(%s): %v", name, err)
	}
	return d
}

// verifyDomain publishes the domain's code in DNS and verifies it.
func (e *appsEnv) verifyDomain(c *iam.Caller, name string) {
	e.t.Helper()
	recs, err := e.svc.VerificationDNSRecords(e.ctx, c, name)
	if err != nil {
		e.t.Fatal(err)
	}
	e.dns.SetTXT(name, "v=spf1 -all", recs[0].Text)
	if _, err := e.svc.VerifyDomain(e.ctx, c, name); err != nil {
		e.t.Fatalf("VerifyDomain(%s): %v", name, err)
	}
}

func TestAddDomain(t *testing.T) {
	e := newAppsEnv(t)
	d := e.addDomain(e.adminA, "Contoso.COM")
	if d.ID != "contoso.com" || d.IsVerified || d.IsDefault || d.IsInitial || !d.IsRoot || d.AuthenticationType != "Managed" {
		t.Fatalf("added %+v", d)
	}
	if !regexp.MustCompile(`^MS=ms\d{8}$`).MatchString(d.VerificationCode) {
		t.Errorf("verification code %q", d.VerificationCode)
	}
	if o := e.raw(e.tenantA, iam.KindDomain, "contoso.com"); o.Key != "" {
		t.Errorf("an unverified domain has key %q", o.Key)
	}
	if e.audits(e.tenantA, "Add unverified domain") != 1 {
		t.Error("not audited")
	}
	_, err := e.svc.AddDomain(e.ctx, e.adminA, directory.Patch(`{"id":"contoso.com"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "already exists")
	// Another tenant may claim the same name until someone proves it.
	e.addDomain(e.adminB, "contoso.com")

	for _, name := range []string{"", "localhost", "-bad.com", "bad-.com", "a..b.com", "x.123", "under_score.com", "sp ace.com",
		strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 25) + "abcd", "contoso.com."} {
		if _, err := e.svc.AddDomain(e.ctx, e.adminA, directory.Patch(`{"id":"`+name+`"}`)); !errs.Is(err, errs.Invalid) {
			t.Errorf("AddDomain(%q) = %v, want Invalid", name, err)
		}
	}
	e.addDomain(e.adminA, strings.Repeat("abcdefghi.", 25)+"abc") // 253 characters
	_, err = e.svc.AddDomain(e.ctx, e.adminA, directory.Patch(`{"id":"x.com","isVerified":true}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "")
	ok63 := strings.Repeat("a", 63) + ".com"
	e.addDomain(e.adminA, ok63)

	recs, err := e.svc.VerificationDNSRecords(e.ctx, e.adminA, "contoso.com")
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	r := recs[0]
	if !iam.IsGUID(r.ID) || r.IsOptional || r.Label != "contoso.com" || r.RecordType != "Txt" || r.SupportedService != "Email" || r.TTL != 3600 || r.Text != d.VerificationCode {
		t.Errorf("record %+v", r)
	}
	list, err := e.svc.ListDomains(e.ctx, e.adminA, query.List{})
	if err != nil || len(list.Items) != 4 {
		t.Fatalf("domains = %d, %v", len(list.Items), err)
	}
}

func TestVerifyDomain(t *testing.T) {
	e := newAppsEnv(t)
	d := e.addDomain(e.adminA, "contoso.com")
	bDomain := e.addDomain(e.adminB, "contoso.com")

	_, err := e.svc.VerifyDomain(e.ctx, e.adminA, "contoso.com")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", d.VerificationCode)
	e.dns.SetTXT("contoso.com", "MS=ms00000000", d.VerificationCode+"0", strings.ToLower(d.VerificationCode))
	_, err = e.svc.VerifyDomain(e.ctx, e.adminA, "contoso.com")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "contoso.com")

	// A lookup that cannot complete proves nothing: retry later.
	e.dns.Fail("contoso.com")
	_, err = e.svc.VerifyDomain(e.ctx, e.adminA, "contoso.com")
	wantErr(t, err, errs.Unavailable, "", "try again later")
	e.dns.Remove("contoso.com")

	// Both tenants publish their codes; the first to verify wins the name.
	e.dns.SetTXT("contoso.com", "v=spf1 -all", d.VerificationCode, bDomain.VerificationCode)
	got, err := e.svc.VerifyDomain(e.ctx, e.adminA, "CONTOSO.com")
	if err != nil || !got.IsVerified {
		t.Fatalf("VerifyDomain = %+v, %v", got, err)
	}
	if o := e.raw(e.tenantA, iam.KindDomain, "contoso.com"); o.Key != "contoso.com" {
		t.Errorf("verified domain key = %q", o.Key)
	}
	err = e.st.Read(e.ctx, func(r store.Reader) error {
		tnt, err := r.TenantByDomain("contoso.com")
		if err == nil && tnt.ID != e.tenantA {
			t.Errorf("contoso.com resolves to %s", tnt.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.audits(e.tenantA, "Verify domain") != 1 {
		t.Error("not audited")
	}
	if again, err := e.svc.VerifyDomain(e.ctx, e.adminA, "contoso.com"); err != nil || !again.IsVerified {
		t.Errorf("verifying again: %v", err)
	}
	_, err = e.svc.VerifyDomain(e.ctx, e.adminB, "contoso.com")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "already verified by another tenant")
	if got, _ := e.svc.GetDomain(e.ctx, e.adminB, "contoso.com"); got.IsVerified {
		t.Error("tenant B's copy got verified")
	}

	// Subdomains of a domain the tenant verified need no proof.
	sub := e.addDomain(e.adminA, "mail.contoso.com")
	if !sub.IsVerified || sub.IsRoot {
		t.Errorf("subdomain %+v", sub)
	}
	if e.audits(e.tenantA, "Add verified domain") != 1 {
		t.Error("not audited")
	}
	if bSub := e.addDomain(e.adminB, "mail.contoso.com"); bSub.IsVerified {
		t.Error("tenant B's subdomain of its unverified domain is verified")
	}
	_, err = e.svc.VerifyDomain(e.ctx, e.adminA, "nowhere.example")
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
}

func TestDefaultDomainAndDelete(t *testing.T) {
	e := newAppsEnv(t)
	e.addDomain(e.adminA, "contoso.com")
	e.addDomain(e.adminA, "fabrikam.com")
	wantErr(t, e.svc.PromoteDomain(e.ctx, e.adminA, "fabrikam.com"), errs.Invalid, "Request_BadRequest", "verified")
	e.verifyDomain(e.adminA, "contoso.com")
	if err := e.svc.PromoteDomain(e.ctx, e.adminA, "contoso.com"); err != nil {
		t.Fatal(err)
	}
	defaults := func() []string {
		var out []string
		p, _ := e.svc.ListDomains(e.ctx, e.adminA, query.List{})
		for _, d := range p.Items {
			if d.IsDefault {
				out = append(out, d.ID)
			}
		}
		return out
	}
	if got := defaults(); len(got) != 1 || got[0] != "contoso.com" {
		t.Fatalf("defaults = %q", got)
	}
	if app := e.createApp(e.adminA, `{"displayName":"x"}`); *app.PublisherDomain != "contoso.com" {
		t.Errorf("publisherDomain = %q, want the new default", *app.PublisherDomain)
	}
	wantErr(t, e.svc.UpdateDomain(e.ctx, e.adminA, "contoso.com", directory.Patch(`{"isDefault":false}`)), errs.Invalid, "Request_BadRequest", "promote")
	wantErr(t, e.svc.UpdateDomain(e.ctx, e.adminA, "fabrikam.com", directory.Patch(`{"isVerified":true}`)), errs.Invalid, "Request_BadRequest", "read-only")
	wantErr(t, e.svc.UpdateDomain(e.ctx, e.adminA, "fabrikam.com", directory.Patch(`{"authenticationType":"Federated"}`)), errs.Invalid, "Request_BadRequest", "")
	if err := e.svc.UpdateDomain(e.ctx, e.adminA, "fabrikam.com", directory.Patch(`{"passwordValidityPeriodInDays":90}`)); err != nil {
		t.Fatal(err)
	}

	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminA, "alpha.ostiary.test"), errs.Invalid, "Request_BadRequest", "initial")
	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminA, "contoso.com"), errs.Invalid, "Request_BadRequest", "default")
	if err := e.svc.UpdateDomain(e.ctx, e.adminA, "alpha.ostiary.test", directory.Patch(`{"isDefault":true}`)); err != nil {
		t.Fatal(err)
	}
	if got := defaults(); len(got) != 1 || got[0] != "alpha.ostiary.test" {
		t.Fatalf("defaults = %q", got)
	}
	e.addDomain(e.adminA, "mail.contoso.com")
	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminA, "contoso.com"), errs.Invalid, "Request_BadRequest", "subdomain")
	u := e.createUser(e.adminA, "postmaster@mail.contoso.com")
	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminA, "mail.contoso.com"), errs.Invalid, "Request_BadRequest", "userPrincipalName")
	if err := e.svc.DeleteUser(e.ctx, e.adminA, u.ID); err != nil {
		t.Fatal(err)
	}
	// A deleted user could be restored with that name, so it still counts.
	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminA, "mail.contoso.com"), errs.Invalid, "Request_BadRequest", "userPrincipalName")
	if err := e.svc.Purge(e.ctx, e.adminA, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mail.contoso.com", "contoso.com", "fabrikam.com"} {
		if err := e.svc.DeleteDomain(e.ctx, e.adminA, name); err != nil {
			t.Fatalf("DeleteDomain(%s): %v", name, err)
		}
	}
	if e.audits(e.tenantA, "Remove domain") != 3 {
		t.Error("deletions not audited")
	}
	// The name is free: another tenant can now prove and own it.
	e.addDomain(e.adminB, "contoso.com")
	e.verifyDomain(e.adminB, "contoso.com")
}

func TestDomainsDeniedAndIsolated(t *testing.T) {
	e := newAppsEnv(t)
	e.addDomain(e.adminA, "contoso.com")
	reader := caller(e.tenantA, "", "Domain.Read.All")
	_, err := e.svc.AddDomain(e.ctx, reader, directory.Patch(`{"id":"x.com"}`))
	wantDenied(t, err)
	_, err = e.svc.VerifyDomain(e.ctx, reader, "contoso.com")
	wantDenied(t, err)
	wantDenied(t, e.svc.PromoteDomain(e.ctx, reader, "contoso.com"))
	wantDenied(t, e.svc.DeleteDomain(e.ctx, reader, "contoso.com"))
	if _, err := e.svc.GetDomain(e.ctx, reader, "contoso.com"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ListDomains(e.ctx, caller(e.tenantA, ""), query.List{})
	wantDenied(t, err)
	_, err = e.svc.VerificationDNSRecords(e.ctx, caller(e.tenantA, ""), "contoso.com")
	wantDenied(t, err)

	_, err = e.svc.GetDomain(e.ctx, e.adminB, "contoso.com")
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	wantErr(t, e.svc.DeleteDomain(e.ctx, e.adminB, "alpha.ostiary.test"), errs.NotFound, "", "")
	wantErr(t, e.svc.PromoteDomain(e.ctx, e.adminB, "alpha.ostiary.test"), errs.NotFound, "", "")
	if p, _ := e.svc.ListDomains(e.ctx, e.adminB, query.List{}); len(p.Items) != 1 || p.Items[0].ID != "beta.ostiary.test" {
		t.Errorf("tenant B domains = %+v", p.Items)
	}
}
