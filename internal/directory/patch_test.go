package directory_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// A PATCH replaces array properties whole: an element sent with fewer
// members must not inherit the stored element's other members.
func TestPatchReplacesArraysWhole(t *testing.T) {
	e := newAppsEnv(t)
	u := e.createUser(e.adminA, "patchy@alpha.ostiary.test")
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"identities":[{"signInType":"emailAddress","issuer":"alpha.ostiary.test","issuerAssignedId":"a@x"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"identities":[{"signInType":"userName"}]}`)); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetUser(e.ctx, e.adminA, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Identities) != 1 || got.Identities[0].Issuer != "" || got.Identities[0].IssuerAssignedID != "" {
		t.Fatalf("identities merged into the stored element instead of replaced: %+v", got.Identities)
	}
	// Members not in the patch keep their values; null clears.
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"jobTitle":"Pilot"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"department":"Air"}`)); err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.GetUser(e.ctx, e.adminA, u.ID)
	if deref(got.JobTitle) != "Pilot" || deref(got.Department) != "Air" {
		t.Fatalf("patch lost an untouched member: %+v", got)
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"jobTitle":null}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ = e.svc.GetUser(e.ctx, e.adminA, u.ID); got.JobTitle != nil {
		t.Fatalf("null did not clear jobTitle: %v", *got.JobTitle)
	}
}

// Generic listings (owners' sources, deleted items, getByIds) never carry
// certificate bodies, only the reads of the owning type's shape.
func TestGenericListingsStripCertificates(t *testing.T) {
	e := newAppsEnv(t)
	cert := base64.StdEncoding.EncodeToString(testCert(t, e.now.Add(-time.Hour), e.now.AddDate(1, 0, 0)))
	app := e.createApp(e.adminA, `{"displayName":"certy","keyCredentials":[{"type":"AsymmetricX509Cert","usage":"Verify","key":"`+cert+`"}]}`)
	objs, err := e.svc.GetByIDs(e.ctx, e.adminA, []string{app.ID}, nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("getByIds: %v %v", objs, err)
	}
	if strings.Contains(string(objs[0].Data), cert[:40]) {
		t.Fatal("getByIds returned the certificate body")
	}
	if err := e.svc.DeleteApplication(e.ctx, e.adminA, app.ID); err != nil {
		t.Fatal(err)
	}
	page, err := e.svc.ListDeleted(e.ctx, e.adminA, iam.KindApplication, query.List{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("deleted: %v %v", page, err)
	}
	if strings.Contains(string(page.Items[0].Data), cert[:40]) {
		t.Fatal("deletedItems returned the certificate body")
	}
	restored, err := e.svc.Restore(e.ctx, e.adminA, app.ID)
	if err != nil || strings.Contains(string(restored.Data), cert[:40]) {
		t.Fatalf("restore leaked the certificate body or failed: %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// DisableStrongPassword relaxes Entra's character-class rule, on create and
// on a later reset; the length limit stays.
func TestDisableStrongPassword(t *testing.T) {
	e := newAppsEnv(t)
	body := `{"accountEnabled":true,"displayName":"weak","mailNickname":"weak","userPrincipalName":"weak@alpha.ostiary.test","passwordProfile":{"password":"alllowercase"}%s}`
	if _, err := e.svc.CreateUser(e.ctx, e.adminA, directory.Patch(fmt.Sprintf(body, ""))); err == nil {
		t.Fatal("a one-class password was accepted under the default policy")
	}
	u, err := e.svc.CreateUser(e.ctx, e.adminA, directory.Patch(fmt.Sprintf(body, `,"passwordPolicies":"DisablePasswordExpiration, DisableStrongPassword"`)))
	if err != nil {
		t.Fatalf("DisableStrongPassword ignored on create: %v", err)
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"passwordProfile":{"password":"anotherlowercase"}}`)); err != nil {
		t.Fatalf("DisableStrongPassword ignored on reset: %v", err)
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"passwordProfile":{"password":"short"}}`)); err == nil {
		t.Fatal("the length limit was dropped too")
	}
	if err := e.svc.UpdateUser(e.ctx, e.adminA, u.ID, directory.Patch(`{"passwordPolicies":null,"passwordProfile":{"password":"lowercaseagain"}}`)); err == nil {
		t.Fatal("clearing the policy in the same patch must restore the strong rule")
	}
}
