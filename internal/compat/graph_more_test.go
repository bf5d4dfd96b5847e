package compat_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/google/uuid"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
)

// selectAll lists every top-level property Ostiary's schema lets $select
// name, so a read returns every property Ostiary can produce and kiota's
// strict parser checks each one's JSON type.
func selectAll(s *odata.Schema) []string {
	var out []string
	for _, p := range s.Props {
		if !strings.Contains(p.Name, "/") {
			out = append(out, p.Name)
		}
	}
	return out
}

// TestGraphSDKParsesEveryProperty reads every selectable property of
// users, groups, applications and service principals (the Microsoft Graph
// service principal with its hundreds of app roles included) through the
// SDK: one property of the wrong JSON type fails the whole parse.
func TestGraphSDKParsesEveryProperty(t *testing.T) {
	srv := apptest.New(t)
	ctx := t.Context()
	client, _ := graphClient(t, srv, srv.Creds.ClientID, srv.Creds.ClientSecret)
	dom := srv.Creds.Domain

	u := newSDKUser("rich@"+dom, "Rich Profile")
	u.SetGivenName(ptr("Rich"))
	u.SetSurname(ptr("Profile"))
	u.SetJobTitle(ptr("Engineer"))
	u.SetDepartment(ptr("R&D"))
	u.SetCompanyName(ptr("Contoso"))
	u.SetUsageLocation(ptr("NL"))
	u.SetCountry(ptr("Netherlands"))
	u.SetCity(ptr("Utrecht"))
	u.SetBusinessPhones([]string{"+31 30 000 0000"})
	u.SetMobilePhone(ptr("+31 6 0000 0000"))
	u.SetOtherMails([]string{"rich@example.org"})
	u.SetEmployeeId(ptr("E-1"))
	u.SetEmployeeType(ptr("Employee"))
	hired := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	u.SetEmployeeHireDate(&hired)
	u.SetPreferredLanguage(ptr("nl-NL"))
	created, err := client.Users().Post(ctx, u, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	id := *created.GetId()
	full, err := client.Users().ByUserId(id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: selectAll(odata.UserSchema)},
	})
	if err != nil {
		t.Fatalf("get user with every property: %v", err)
	}
	if str(full.GetUsageLocation()) != "NL" || !slices.Equal(full.GetOtherMails(), []string{"rich@example.org"}) ||
		full.GetEmployeeHireDate() == nil || !full.GetEmployeeHireDate().Equal(hired) ||
		full.GetCreatedDateTime() == nil || str(full.GetUserType()) != "Member" || full.GetAccountEnabled() == nil {
		t.Errorf("user read back: usageLocation %q otherMails %v hired %v created %v userType %q",
			str(full.GetUsageLocation()), full.GetOtherMails(), full.GetEmployeeHireDate(), full.GetCreatedDateTime(), str(full.GetUserType()))
	}
	if _, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: selectAll(odata.UserSchema)},
	}); err != nil {
		t.Fatalf("list users with every property: %v", err)
	}

	// A group created with members@odata.bind in the SDK's AdditionalData.
	g := models.NewGroup()
	g.SetDisplayName(ptr("Rich Group"))
	g.SetDescription(ptr("every property"))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr("richgroup"))
	g.SetSecurityEnabled(ptr(true))
	g.SetAdditionalData(map[string]any{"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + id}})
	cg, err := client.Groups().Post(ctx, g, nil)
	if err != nil {
		t.Fatalf("create group with members@odata.bind: %v", err)
	}
	gfull, err := client.Groups().ByGroupId(*cg.GetId()).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: selectAll(odata.GroupSchema)},
	})
	if err != nil || str(gfull.GetDescription()) != "every property" {
		t.Fatalf("get group with every property: %v", err)
	}
	if gl, err := client.Groups().Get(ctx, nil); err != nil || len(gl.GetValue()) == 0 {
		t.Fatalf("list groups: %v", err)
	}
	gm, err := client.Groups().ByGroupId(*cg.GetId()).Members().Get(ctx, nil)
	if err != nil || len(gm.GetValue()) != 1 || str(gm.GetValue()[0].GetId()) != id {
		t.Fatalf("members bound at creation: %v", err)
	}

	// Applications and service principals, listed whole and page by page.
	apps, err := client.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Select: selectAll(odata.ApplicationSchema)},
	})
	if err != nil || len(apps.GetValue()) == 0 {
		t.Fatalf("list applications with every property: %v", err)
	}
	boot, err := client.ApplicationsWithAppId(ptr(srv.Creds.ClientID)).Get(ctx, nil)
	if err != nil || len(boot.GetRequiredResourceAccess()) != 1 || len(boot.GetPasswordCredentials()) != 1 || boot.GetPasswordCredentials()[0].GetKeyId() == nil {
		t.Fatalf("applications(appId=) of the bootstrap app: %v", err)
	}
	sps, err := client.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Select: selectAll(odata.ServicePrincipalSchema), Top: ptr(int32(1))},
	})
	if err != nil {
		t.Fatalf("list service principals with every property: %v", err)
	}
	it, err := msgraphcore.NewPageIterator[models.ServicePrincipalable](sps, client.GetAdapter(), models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	var spApps []string
	if err := it.Iterate(ctx, func(sp models.ServicePrincipalable) bool {
		spApps = append(spApps, str(sp.GetAppId()))
		return true
	}); err != nil {
		t.Fatalf("service principal pages: %v", err)
	}
	if !slices.Contains(spApps, graphAppID) || !slices.Contains(spApps, srv.Creds.ClientID) {
		t.Fatalf("service principals = %v", spApps)
	}
	graphSP, err := client.ServicePrincipalsWithAppId(ptr(graphAppID)).Get(ctx, nil)
	if err != nil || len(graphSP.GetAppRoles()) < 100 {
		t.Fatalf("servicePrincipals(appId='%s'): %v", graphAppID, err)
	}
}

// graphAppID is Microsoft Graph's well-known application id.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// TestGraphSDKAppRoleGrant is the whole life of a daemon app through the
// SDK and MSAL: register it, add a secret, create its service principal,
// grant it User.Read.All on Microsoft Graph, then use its own token.
func TestGraphSDKAppRoleGrant(t *testing.T) {
	srv := apptest.New(t)
	ctx := t.Context()
	admin, _ := graphClient(t, srv, srv.Creds.ClientID, srv.Creds.ClientSecret)

	app := models.NewApplication()
	app.SetDisplayName(ptr("Daemon"))
	ra := models.NewResourceAccess()
	graphSP, err := admin.ServicePrincipalsWithAppId(ptr(graphAppID)).Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var roleID *uuid.UUID
	for _, r := range graphSP.GetAppRoles() {
		if str(r.GetValue()) == "User.Read.All" {
			roleID = r.GetId()
		}
	}
	if roleID == nil {
		t.Fatal("Microsoft Graph has no User.Read.All app role")
	}
	ra.SetId(roleID)
	ra.SetTypeEscaped(ptr("Role"))
	rra := models.NewRequiredResourceAccess()
	rra.SetResourceAppId(ptr(graphAppID))
	rra.SetResourceAccess([]models.ResourceAccessable{ra})
	app.SetRequiredResourceAccess([]models.RequiredResourceAccessable{rra})
	ca, err := admin.Applications().Post(ctx, app, nil)
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	body := applications.NewItemAddPasswordPostRequestBody()
	body.SetPasswordCredential(models.NewPasswordCredential())
	secret, err := admin.Applications().ByApplicationId(*ca.GetId()).AddPassword().Post(ctx, body, nil)
	if err != nil {
		t.Fatalf("addPassword: %v", err)
	}
	sp := models.NewServicePrincipal()
	sp.SetAppId(ca.GetAppId())
	csp, err := admin.ServicePrincipals().Post(ctx, sp, nil)
	if err != nil {
		t.Fatalf("create service principal: %v", err)
	}
	spID, err := uuid.Parse(*csp.GetId())
	if err != nil {
		t.Fatal(err)
	}
	graphSPID, err := uuid.Parse(*graphSP.GetId())
	if err != nil {
		t.Fatal(err)
	}
	grant := models.NewAppRoleAssignment()
	grant.SetPrincipalId(&spID)
	grant.SetResourceId(&graphSPID)
	grant.SetAppRoleId(roleID)
	cg, err := admin.ServicePrincipals().ByServicePrincipalId(*csp.GetId()).AppRoleAssignments().Post(ctx, grant, nil)
	if err != nil || cg.GetId() == nil || str(cg.GetPrincipalType()) != "ServicePrincipal" {
		t.Fatalf("grant app role: %v", err)
	}
	assigned, err := admin.ServicePrincipals().ByServicePrincipalId(*graphSP.GetId()).AppRoleAssignedTo().Get(ctx, nil)
	if err != nil || !slices.ContainsFunc(assigned.GetValue(), func(a models.AppRoleAssignmentable) bool {
		return a.GetPrincipalId() != nil && *a.GetPrincipalId() == spID
	}) {
		t.Fatalf("appRoleAssignedTo: %v", err)
	}

	// MSAL redeems the new secret; the token carries the role.
	cred, err := confidential.NewCredFromSecret(*secret.GetSecretText())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := confidential.New(srv.URL+"/"+srv.Creds.TenantID, *ca.GetAppId(), cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cc.AcquireTokenByCredential(ctx, []string{graphScope})
	if err != nil {
		t.Fatalf("MSAL with the new secret: %v", err)
	}
	listUsers(t, srv, res.AccessToken)

	// The daemon's own SDK client can read users but not create them.
	daemon, _ := graphClient(t, srv, *ca.GetAppId(), *secret.GetSecretText())
	if _, err := daemon.Users().Get(ctx, nil); err != nil {
		t.Fatalf("daemon lists users: %v", err)
	}
	_, err = daemon.Users().Post(ctx, newSDKUser("nope@"+srv.Creds.Domain, "Nope"), nil)
	if code := odataCode(t, err, http.StatusForbidden); code != "Authorization_RequestDenied" {
		t.Errorf("daemon creates a user: code %q", code)
	}
}

// TestGraphSDKRelations: manager and direct reports, owners,
// administrative units and getMemberGroups, each typed by @odata.type.
func TestGraphSDKRelations(t *testing.T) {
	srv := apptest.New(t)
	ctx := t.Context()
	client, _ := graphClient(t, srv, srv.Creds.ClientID, srv.Creds.ClientSecret)
	dom := srv.Creds.Domain
	mk := func(nick string) string {
		u, err := client.Users().Post(ctx, newSDKUser(nick+"@"+dom, strings.ToUpper(nick[:1])+nick[1:]), nil)
		if err != nil {
			t.Fatalf("create %s: %v", nick, err)
		}
		return *u.GetId()
	}
	boss, worker := mk("boss"), mk("worker")

	ref := models.NewReferenceUpdate()
	ref.SetOdataId(ptr("https://graph.microsoft.com/v1.0/users/" + boss))
	if err := client.Users().ByUserId(worker).Manager().Ref().Put(ctx, ref, nil); err != nil {
		t.Fatalf("set manager: %v", err)
	}
	m, err := client.Users().ByUserId(worker).Manager().Get(ctx, nil)
	if err != nil {
		t.Fatalf("get manager: %v", err)
	}
	if mu, ok := m.(models.Userable); !ok || str(mu.GetUserPrincipalName()) != "boss@"+dom {
		t.Fatalf("manager deserialized as %T", m)
	}
	dr, err := client.Users().ByUserId(boss).DirectReports().Get(ctx, nil)
	if err != nil || len(dr.GetValue()) != 1 {
		t.Fatalf("directReports: %v", err)
	}
	if _, ok := dr.GetValue()[0].(models.Userable); !ok {
		t.Fatalf("direct report deserialized as %T", dr.GetValue()[0])
	}

	// Owners of an application.
	ca, err := client.Applications().Post(ctx, func() models.Applicationable {
		a := models.NewApplication()
		a.SetDisplayName(ptr("Owned"))
		return a
	}(), nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := models.NewReferenceCreate()
	owner.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + boss))
	if err := client.Applications().ByApplicationId(*ca.GetId()).Owners().Ref().Post(ctx, owner, nil); err != nil {
		t.Fatalf("add owner: %v", err)
	}
	owners, err := client.Applications().ByApplicationId(*ca.GetId()).Owners().Get(ctx, nil)
	if err != nil || len(owners.GetValue()) != 1 {
		t.Fatalf("owners: %v", err)
	}
	if _, ok := owners.GetValue()[0].(models.Userable); !ok {
		t.Fatalf("owner deserialized as %T", owners.GetValue()[0])
	}

	// An administrative unit with a member.
	au := models.NewAdministrativeUnit()
	au.SetDisplayName(ptr("Region"))
	cau, err := client.Directory().AdministrativeUnits().Post(ctx, au, nil)
	if err != nil || cau.GetId() == nil {
		t.Fatalf("create administrative unit: %v", err)
	}
	aum := models.NewReferenceCreate()
	aum.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + worker))
	if err := client.Directory().AdministrativeUnits().ByAdministrativeUnitId(*cau.GetId()).Members().Ref().Post(ctx, aum, nil); err != nil {
		t.Fatalf("add AU member: %v", err)
	}
	aus, err := client.Directory().AdministrativeUnits().ByAdministrativeUnitId(*cau.GetId()).Members().Get(ctx, nil)
	if err != nil || len(aus.GetValue()) != 1 {
		t.Fatalf("AU members: %v", err)
	}
	if _, ok := aus.GetValue()[0].(models.Userable); !ok {
		t.Fatalf("AU member deserialized as %T", aus.GetValue()[0])
	}
	mo, err := client.Users().ByUserId(worker).MemberOf().Get(ctx, nil)
	if err != nil || len(mo.GetValue()) != 1 {
		t.Fatalf("memberOf: %v", err)
	}
	if _, ok := mo.GetValue()[0].(models.AdministrativeUnitable); !ok {
		t.Fatalf("memberOf item deserialized as %T", mo.GetValue()[0])
	}

	// getMemberGroups: a collection of strings.
	g := models.NewGroup()
	g.SetDisplayName(ptr("Workers"))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr("workers"))
	g.SetSecurityEnabled(ptr(true))
	cg, err := client.Groups().Post(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := models.NewReferenceCreate()
	mem.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + worker))
	if err := client.Groups().ByGroupId(*cg.GetId()).Members().Ref().Post(ctx, mem, nil); err != nil {
		t.Fatal(err)
	}
	gmg := users.NewItemGetMemberGroupsPostRequestBody()
	gmg.SetSecurityEnabledOnly(ptr(true))
	groupIDs, err := client.Users().ByUserId(worker).GetMemberGroups().PostAsGetMemberGroupsPostResponse(ctx, gmg, nil)
	if err != nil || !slices.Equal(groupIDs.GetValue(), []string{*cg.GetId()}) {
		t.Fatalf("getMemberGroups: %v %v", err, groupIDs)
	}
	// memberOf cast to groups through the SDK's graph.group segment.
	only, err := client.Users().ByUserId(worker).MemberOf().GraphGroup().Get(ctx, nil)
	if err != nil || len(only.GetValue()) != 1 || str(only.GetValue()[0].GetId()) != *cg.GetId() {
		t.Fatalf("memberOf/graph.group: %v", err)
	}
	// A generic directory object read is typed too.
	obj, err := client.DirectoryObjects().ByDirectoryObjectId(*cg.GetId()).Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obj.(models.Groupable); !ok {
		t.Fatalf("directoryObjects/{id} deserialized as %T", obj)
	}
}
