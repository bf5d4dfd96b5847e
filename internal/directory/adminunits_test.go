package directory_test

import (
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func TestAdministrativeUnitLifecycle(t *testing.T) {
	e := newAppsEnv(t)
	au, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Finance","description":"Money people","isMemberManagementRestricted":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !iam.IsGUID(au.ID) || !*au.IsMemberManagementRestricted || au.CreatedDateTime == nil {
		t.Fatalf("created %+v", au)
	}
	plain, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Plain"}`))
	if err != nil || *plain.IsMemberManagementRestricted {
		t.Fatalf("default restricted = %v, %v", plain.IsMemberManagementRestricted, err)
	}
	for _, body := range []string{`{"description":"no name"}`, `{"displayName":"x","visibility":"Secret"}`,
		`{"displayName":"x","membershipType":"Dynamic"}`, `{"displayName":"x","membershipType":"Sometimes"}`} {
		_, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(body))
		wantErr(t, err, errs.Invalid, "Request_BadRequest", "")
	}

	if err := e.svc.UpdateAdministrativeUnit(e.ctx, e.adminA, au.ID, directory.Patch(`{"displayName":"Finance EU","visibility":"HiddenMembership"}`)); err != nil {
		t.Fatal(err)
	}
	// Restriction is fixed at creation, either way.
	err = e.svc.UpdateAdministrativeUnit(e.ctx, e.adminA, au.ID, directory.Patch(`{"isMemberManagementRestricted":false}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")
	err = e.svc.UpdateAdministrativeUnit(e.ctx, e.adminA, plain.ID, directory.Patch(`{"isMemberManagementRestricted":true}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")
	if err := e.svc.UpdateAdministrativeUnit(e.ctx, e.adminA, au.ID, directory.Patch(`{"isMemberManagementRestricted":true}`)); err != nil {
		t.Errorf("an unchanged read-only value is refused: %v", err)
	}
	got, err := e.svc.GetAdministrativeUnit(e.ctx, e.adminA, au.ID)
	if err != nil || *got.DisplayName != "Finance EU" || *got.Visibility != "HiddenMembership" || !*got.IsMemberManagementRestricted {
		t.Fatalf("after update %+v, %v", got, err)
	}
	list, err := e.svc.ListAdministrativeUnits(e.ctx, e.adminA, query.List{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list = %d, %v", len(list.Items), err)
	}
	if e.audits(e.tenantA, "Add administrative unit") != 2 || e.audits(e.tenantA, "Update administrative unit") != 2 {
		t.Error("not audited")
	}
	if err := e.svc.DeleteAdministrativeUnit(e.ctx, e.adminA, plain.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetAdministrativeUnit(e.ctx, e.adminA, plain.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleted unit still readable: %v", err)
	}
	if p, _ := e.svc.ListDeleted(e.ctx, e.adminA, iam.KindAdministrativeUnit, query.List{}); len(p.Items) != 1 {
		t.Error("deleted unit not in deletedItems")
	}
}

func TestAdministrativeUnitMembers(t *testing.T) {
	e := newAppsEnv(t)
	au, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Field staff"}`))
	u := e.createUser(e.adminA, "fred@alpha.ostiary.test")
	g := e.createGroup(e.adminA, "drivers")
	sp := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"bot"}`).AppID)
	for _, id := range []string{u.ID, g.ID} {
		if err := e.svc.AddAUMember(e.ctx, e.adminA, au.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminA, au.ID, u.ID), errs.Invalid, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.")
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminA, au.ID, sp.ID), errs.Invalid, "Request_BadRequest", "servicePrincipal")
	other, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Other"}`))
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminA, au.ID, other.ID), errs.Invalid, "Request_BadRequest", "")
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminA, au.ID, iam.NewID()), errs.NotFound, "Request_ResourceNotFound", "")

	p, err := e.svc.ListAUMembers(e.ctx, e.adminA, au.ID, query.List{})
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("members = %d, %v", len(p.Items), err)
	}
	// Deleting and restoring the unit keeps its members.
	if err := e.svc.DeleteAdministrativeUnit(e.ctx, e.adminA, au.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ListAUMembers(e.ctx, e.adminA, au.ID, query.List{}); !errs.Is(err, errs.NotFound) {
		t.Errorf("members of a deleted unit: %v", err)
	}
	if _, err := e.svc.Restore(e.ctx, e.adminA, au.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveAUMember(e.ctx, e.adminA, au.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.RemoveAUMember(e.ctx, e.adminA, au.ID, g.ID), errs.NotFound, "Request_ResourceNotFound", "")
	p, _ = e.svc.ListAUMembers(e.ctx, e.adminA, au.ID, query.List{})
	if len(p.Items) != 1 || p.Items[0].Kind != iam.KindUser {
		t.Fatalf("members after removal = %+v", p.Items)
	}
	if e.audits(e.tenantA, "Add member to administrative unit") != 2 || e.audits(e.tenantA, "Remove member from administrative unit") != 1 {
		t.Error("member changes not audited")
	}

	dyn, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Dyn","membershipType":"Dynamic","membershipRule":"user.department -eq \"x\""}`))
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminA, dyn.ID, u.ID), errs.Invalid, "Request_BadRequest", "dynamic")
}

func TestAdministrativeUnitsDeniedAndIsolated(t *testing.T) {
	e := newAppsEnv(t)
	au, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"A"}`))
	u := e.createUser(e.adminA, "amy@alpha.ostiary.test")
	reader := caller(e.tenantA, "", "AdministrativeUnit.Read.All")
	_, err := e.svc.CreateAdministrativeUnit(e.ctx, reader, directory.Patch(`{"displayName":"x"}`))
	wantDenied(t, err)
	wantDenied(t, e.svc.AddAUMember(e.ctx, reader, au.ID, u.ID))
	wantDenied(t, e.svc.DeleteAdministrativeUnit(e.ctx, reader, au.ID))
	if _, err := e.svc.ListAUMembers(e.ctx, reader, au.ID, query.List{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ListAdministrativeUnits(e.ctx, caller(e.tenantA, ""), query.List{})
	wantDenied(t, err)

	_, err = e.svc.GetAdministrativeUnit(e.ctx, e.adminB, au.ID)
	wantErr(t, err, errs.NotFound, "", "")
	wantErr(t, e.svc.UpdateAdministrativeUnit(e.ctx, e.adminB, au.ID, directory.Patch(`{"displayName":"pwned"}`)), errs.NotFound, "", "")
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminB, au.ID, u.ID), errs.NotFound, "", "")
	bAU, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminB, directory.Patch(`{"displayName":"B"}`))
	wantErr(t, e.svc.AddAUMember(e.ctx, e.adminB, bAU.ID, u.ID), errs.NotFound, "", "")
	if p, _ := e.svc.ListAdministrativeUnits(e.ctx, e.adminB, query.List{}); len(p.Items) != 1 {
		t.Errorf("tenant B sees %d units, want its own 1", len(p.Items))
	}
}
