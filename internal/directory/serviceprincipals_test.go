package directory_test

import (
	"encoding/json"

	"github.com/ostiary/ostiary/internal/store"
	"slices"
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func TestCreateServicePrincipal(t *testing.T) {
	e := newAppsEnv(t)
	roleID, scopeID := iam.NewID(), iam.NewID()
	app := e.createApp(e.adminA, `{"displayName":"Orders API","signInAudience":"AzureADMultipleOrgs","identifierUris":["api://orders"],`+
		`"appRoles":[{"id":"`+roleID+`","allowedMemberTypes":["Application"],"displayName":"Read","description":"d","value":"Orders.Read","isEnabled":true}],`+
		`"api":{"oauth2PermissionScopes":[{"id":"`+scopeID+`","value":"orders.read","isEnabled":true,"adminConsentDisplayName":"r","adminConsentDescription":"r"}]}}`)
	sp, err := e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"appId":"`+app.AppID+`","tags":["WindowsAzureActiveDirectoryIntegratedApp"],"appRoleAssignmentRequired":true}`))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !iam.IsGUID(sp.ID) || sp.AppID != app.AppID:
		t.Errorf("ids %q %q", sp.ID, sp.AppID)
	case *sp.DisplayName != "Orders API" || *sp.AppDisplayName != "Orders API":
		t.Errorf("names %q %q", *sp.DisplayName, *sp.AppDisplayName)
	case *sp.AppOwnerOrganizationID != e.tenantA || *sp.ServicePrincipalType != "Application" || !*sp.AccountEnabled:
		t.Errorf("owner org %q type %q enabled %v", *sp.AppOwnerOrganizationID, *sp.ServicePrincipalType, *sp.AccountEnabled)
	case !slices.Equal(sp.ServicePrincipalNames, []string{app.AppID, "api://orders"}):
		t.Errorf("servicePrincipalNames = %q", sp.ServicePrincipalNames)
	case *sp.SignInAudience != "AzureADMultipleOrgs" || !*sp.AppRoleAssignmentRequired || sp.Tags[0] != "WindowsAzureActiveDirectoryIntegratedApp":
		t.Errorf("audience %q, assignment required %v, tags %q", *sp.SignInAudience, *sp.AppRoleAssignmentRequired, sp.Tags)
	case len(sp.AppRoles) != 1 || sp.AppRoles[0].ID != roleID || len(sp.OAuth2PermissionScopes) != 1 || sp.OAuth2PermissionScopes[0].ID != scopeID:
		t.Errorf("roles %+v scopes %+v", sp.AppRoles, sp.OAuth2PermissionScopes)
	}
	if e.audits(e.tenantA, "Add service principal") != 1 {
		t.Error("not audited")
	}

	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"appId":"`+app.AppID+`"}`))
	wantErr(t, err, errs.Conflict, "Request_MultipleObjectsWithSameKeyValue", "")
	unknown := iam.NewID()
	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"appId":"`+unknown+`"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "The appId '"+unknown+"' of the service principal does not reference a valid application object.")
	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"appId":"orders"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "does not reference a valid application object")
	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"displayName":"no app"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "appId")
	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminA, directory.Patch(`{"appId":"`+app.AppID+`","servicePrincipalNames":["https://graph.microsoft.com"]}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")

	byApp, err := e.svc.GetServicePrincipalByAppID(e.ctx, e.adminA, app.AppID)
	if err != nil || byApp.ID != sp.ID {
		t.Fatalf("GetServicePrincipalByAppID = %v, %v", byApp.ID, err)
	}
	if _, err := e.svc.GetServicePrincipal(e.ctx, e.adminA, "appId="+iam.NewID()); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown appId: %v", err)
	}
}

func TestUpdateServicePrincipal(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Portal"}`)
	sp := e.createSP(e.adminA, app.AppID)
	if err := e.svc.UpdateServicePrincipal(e.ctx, e.adminA, sp.ID, directory.Patch(`{"displayName":"Portal (prod)","accountEnabled":false,"notes":"n"}`)); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.GetServicePrincipal(e.ctx, e.adminA, sp.ID)
	if *got.DisplayName != "Portal (prod)" || *got.AccountEnabled || *got.AppDisplayName != "Portal" {
		t.Errorf("after PATCH: %q enabled=%v app %q", *got.DisplayName, *got.AccountEnabled, *got.AppDisplayName)
	}
	for _, body := range []string{
		`{"appRoles":[{"id":"` + iam.NewID() + `","allowedMemberTypes":["Application"],"displayName":"x","description":"x","value":"x","isEnabled":true}]}`,
		`{"servicePrincipalNames":["api://stolen"]}`,
		`{"appId":"` + iam.NewID() + `"}`,
		`{"appOwnerOrganizationId":"` + iam.NewID() + `"}`,
		`{"passwordCredentials":[{"keyId":"` + iam.NewID() + `"}]}`,
		`{"displayName":""}`,
	} {
		err := e.svc.UpdateServicePrincipal(e.ctx, e.adminA, sp.ID, directory.Patch(body))
		wantErr(t, err, errs.Invalid, "Request_BadRequest", "")
	}
	if err := e.svc.DeleteServicePrincipal(e.ctx, e.adminA, sp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetApplication(e.ctx, e.adminA, app.ID); err != nil {
		t.Errorf("deleting the service principal took the application: %v", err)
	}
	// The appId is free again for a new service principal.
	e.createSP(e.adminA, app.AppID)
}

func TestApplicationChangesMirrorToServicePrincipal(t *testing.T) {
	e := newAppsEnv(t)
	r1, r2, s1 := iam.NewID(), iam.NewID(), iam.NewID()
	app := e.createApp(e.adminA, `{"displayName":"Inventory",`+
		`"appRoles":[{"id":"`+r1+`","allowedMemberTypes":["Application"],"displayName":"Read","description":"d","value":"Inv.Read","isEnabled":true}]}`)
	sp := e.createSP(e.adminA, app.AppID)
	patch := `{"displayName":"Inventory v2","identifierUris":["api://inventory"],` +
		`"appRoles":[{"id":"` + r1 + `","allowedMemberTypes":["Application"],"displayName":"Read","description":"d","value":"Inv.Read","isEnabled":true},` +
		`{"id":"` + r2 + `","allowedMemberTypes":["User"],"displayName":"Admin","description":"d","value":"Inv.Admin","isEnabled":true}],` +
		`"api":{"oauth2PermissionScopes":[{"id":"` + s1 + `","value":"inv.read","isEnabled":true,"adminConsentDisplayName":"r","adminConsentDescription":"r"}]}}`
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(patch)); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetServicePrincipal(e.ctx, e.adminA, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.DisplayName != "Inventory v2" || *got.AppDisplayName != "Inventory v2" || len(got.AppRoles) != 2 ||
		len(got.OAuth2PermissionScopes) != 1 || !slices.Equal(got.ServicePrincipalNames, []string{app.AppID, "api://inventory"}) {
		t.Fatalf("service principal not mirrored: %+v", got)
	}
	if page, _ := e.svc.ListServicePrincipals(e.ctx, e.adminA, query.List{Filter: query.Cmp{Field: query.Field{Path: "displayName", Type: query.String},
		Op: query.Eq, Value: query.Value{Type: query.String, Str: "inventory V2"}}}); len(page.Items) != 1 {
		t.Error("the indexed display name was not updated")
	}
	if e.audits(e.tenantA, "Update service principal") != 1 {
		t.Error("mirroring not audited")
	}
	// The service principal keeps its own name until the application is renamed.
	if err := e.svc.UpdateServicePrincipal(e.ctx, e.adminA, sp.ID, directory.Patch(`{"displayName":"Inventory (prod)"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"identifierUris":["api://inventory","api://inv"]}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.GetServicePrincipal(e.ctx, e.adminA, sp.ID); *got.DisplayName != "Inventory (prod)" || len(got.ServicePrincipalNames) != 3 {
		t.Fatalf("after mirroring names only: %q %q", *got.DisplayName, got.ServicePrincipalNames)
	}
	// Changes the service principal does not mirror leave it alone.
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"notes":"n"}`)); err != nil {
		t.Fatal(err)
	}
	if e.audits(e.tenantA, "Update service principal") != 3 {
		t.Error("a change that is not mirrored rewrote the service principal")
	}
}

func TestServicePrincipalOwners(t *testing.T) {
	e := newAppsEnv(t)
	sp := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"Ent"}`).AppID)
	u := e.createUser(e.adminA, "sam@alpha.ostiary.test")
	if err := e.svc.AddServicePrincipalOwner(e.ctx, e.adminA, sp.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.AddServicePrincipalOwner(e.ctx, e.adminA, sp.ID, u.ID), errs.Invalid, "Request_BadRequest", "'owners'")
	p, err := e.svc.ListServicePrincipalOwners(e.ctx, e.adminA, sp.ID, query.List{})
	if err != nil || len(p.Items) != 1 || p.Items[0].Kind != iam.KindUser {
		t.Fatalf("owners = %+v, %v", p.Items, err)
	}
	if err := e.svc.RemoveServicePrincipalOwner(e.ctx, e.adminA, sp.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if e.audits(e.tenantA, "Add owner to service principal") != 1 || e.audits(e.tenantA, "Remove owner from service principal") != 1 {
		t.Error("owner changes not audited")
	}
}

func TestServicePrincipalsDenied(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"x"}`)
	sp := e.createSP(e.adminA, app.AppID)
	none := caller(e.tenantA, "")
	_, err := e.svc.CreateServicePrincipal(e.ctx, none, directory.Patch(`{"appId":"`+app.AppID+`"}`))
	wantDenied(t, err)
	_, err = e.svc.GetServicePrincipal(e.ctx, none, sp.ID)
	wantDenied(t, err)
	_, err = e.svc.ListServicePrincipals(e.ctx, none, query.List{})
	wantDenied(t, err)
	wantDenied(t, e.svc.UpdateServicePrincipal(e.ctx, none, sp.ID, directory.Patch(`{"notes":"x"}`)))
	wantDenied(t, e.svc.DeleteServicePrincipal(e.ctx, none, sp.ID))
	wantDenied(t, e.svc.AddServicePrincipalOwner(e.ctx, none, sp.ID, sp.ID))
}

func TestGraphServicePrincipalIsProtected(t *testing.T) {
	e := newAppsEnv(t)
	sys := iam.System(e.tenantA)
	// Seed Graph's service principal the way bootstrap does.
	data, _ := json.Marshal(iam.ServicePrincipal{ObjectMeta: iam.ObjectMeta{ID: iam.NewID(), DisplayName: str("Microsoft Graph")},
		AppID: iam.MicrosoftGraphAppID, AccountEnabled: boolp(true)})
	var id string
	if err := e.st.Write(e.ctx, func(w store.Writer) error {
		var sp iam.ServicePrincipal
		_ = json.Unmarshal(data, &sp)
		id = sp.ID
		return w.Insert(store.Object{TenantID: e.tenantA, Kind: iam.KindServicePrincipal, ID: sp.ID, Key: sp.AppID, DisplayName: "Microsoft Graph", CreatedAt: e.now, Data: data})
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*iam.Caller{e.adminA, sys} {
		if err := e.svc.DeleteServicePrincipal(e.ctx, c, id); !errs.Is(err, errs.Invalid) {
			t.Fatalf("delete Graph SP: %v", err)
		}
		if err := e.svc.UpdateServicePrincipal(e.ctx, c, id, directory.Patch(`{"accountEnabled":false}`)); !errs.Is(err, errs.Invalid) {
			t.Fatalf("disable Graph SP: %v", err)
		}
	}
	if err := e.svc.UpdateServicePrincipal(e.ctx, e.adminA, id, directory.Patch(`{"notes":"ok"}`)); err != nil {
		t.Fatalf("other updates stay allowed: %v", err)
	}
}

func str(s string) *string { return &s }

func boolp(b bool) *bool { return &b }
