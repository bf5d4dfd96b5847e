package compat_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryobjects"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// graphClient is what NewGraphServiceClientWithCredentialsAndHosts builds
// (the same authentication provider, allowed hosts and default middleware
// pipeline: gzip request bodies, retries, redirects, $-name decoding),
// except that the pipeline ends in the test server's CA-trusting transport,
// which that constructor cannot take.
func graphClient(t *testing.T, srv *apptest.Server, clientID, secret string) (*msgraphsdk.GraphServiceClient, *recorder) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{base: srv.Client.Transport}
	return graphClientWithHosts(t, srv, clientID, secret, []string{u.Hostname()}, rec), rec
}

// graphClientWithHosts is graphClient with the authentication provider's
// allowed hosts; nil means the SDK's default list (Microsoft's hosts only).
func graphClientWithHosts(t *testing.T, srv *apptest.Server, clientID, secret string, hosts []string, rec ...*recorder) *msgraphsdk.GraphServiceClient {
	t.Helper()
	cred := newCredential(t, srv, srv.Client, clientID, secret)
	if hosts == nil {
		hosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "graph.microsoft.de", "microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com"}
	}
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{graphScope}, hosts)
	if err != nil {
		t.Fatal(err)
	}
	var transport http.RoundTripper = srv.Client.Transport
	if len(rec) > 0 {
		transport = rec[0]
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := &http.Client{Timeout: srv.Client.Timeout,
		Transport: khttp.NewCustomTransportWithParentTransport(transport, msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		t.Fatal(err)
	}
	// The base URL is set before the client is built: requests re-apply the
	// adapter's base URL on every send, but the client copies it into its
	// builders' "baseurl" path parameter once, at construction, and batch
	// steps keep that copy. Set afterwards, every $batch step would name
	// https://graph.microsoft.com/v1.0/... as an absolute URL, which Graph
	// (and Ostiary) rejects: a step's url must be relative.
	adapter.SetBaseUrl(srv.URL + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// odataCode returns the Graph error code of err, failing the test unless
// err is an *odataerrors.ODataError whose message is present (Error()
// dereferences it) and whose status is status.
func odataCode(t *testing.T, err error, status int) string {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("error %T %v is not an *odataerrors.ODataError", err, err)
	}
	main := oe.GetErrorEscaped()
	if main == nil || main.GetMessage() == nil || main.GetCode() == nil {
		t.Fatalf("ODataError without code or message: %+v", oe)
	}
	if oe.ResponseStatusCode != status {
		t.Errorf("status = %d, want %d (%s)", oe.ResponseStatusCode, status, oe.Error())
	}
	return *main.GetCode()
}

func newSDKUser(upn, name string) models.Userable {
	pp := models.NewPasswordProfile()
	pp.SetPassword(ptr("Str0ng-Passw0rd!"))
	pp.SetForceChangePasswordNextSignIn(ptr(false))
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr(name))
	u.SetMailNickname(ptr(strings.Split(upn, "@")[0]))
	u.SetUserPrincipalName(ptr(upn))
	u.SetPasswordProfile(pp)
	return u
}

func eventual() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

// TestGraphSDK drives the directory API through msgraph-sdk-go's typed
// request builders: every response must parse under kiota's strict JSON
// types, polymorphic collections must carry @odata.type, paging must
// follow absolute nextLinks, and errors must be ODataErrors.
func TestGraphSDK(t *testing.T) {
	srv := apptest.New(t)
	ctx := t.Context()
	client, rec := graphClient(t, srv, srv.Creds.ClientID, srv.Creds.ClientSecret)
	dom := srv.Creds.Domain

	// Users: create seven (the SDK gzips the bodies), get by id and by UPN.
	ids := map[string]string{}
	var names []string
	for i := range 7 {
		name := fmt.Sprintf("Compat User %d", i)
		upn := fmt.Sprintf("compat%d@%s", i, dom)
		u, err := client.Users().Post(ctx, newSDKUser(upn, name), nil)
		if err != nil {
			t.Fatalf("create %s: %v", upn, err)
		}
		if u == nil || u.GetId() == nil || str(u.GetUserPrincipalName()) != upn {
			t.Fatalf("create %s returned %+v", upn, u)
		}
		ids[upn] = *u.GetId()
		names = append(names, name)
	}
	var gzipped bool
	for _, r := range rec.all() {
		if r.Method == "POST" && r.Path == "/v1.0/users" && r.Header.Get("Content-Encoding") == "gzip" {
			gzipped = true
		}
	}
	if !gzipped {
		t.Error("no gzip-compressed POST reached the server; the compression middleware was bypassed")
	}
	first := ids["compat0@"+dom]
	u, err := client.Users().ByUserId(first).Get(ctx, nil)
	if err != nil || str(u.GetUserPrincipalName()) != "compat0@"+dom || str(u.GetDisplayName()) != "Compat User 0" {
		t.Fatalf("get by id: %v %+v", err, u)
	}
	u, err = client.Users().ByUserId("compat1@"+dom).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "accountEnabled", "createdDateTime"}},
	})
	if err != nil || str(u.GetId()) != ids["compat1@"+dom] || u.GetAccountEnabled() == nil || !*u.GetAccountEnabled() || u.GetCreatedDateTime() == nil {
		t.Fatalf("get by UPN with $select: %v %+v", err, u)
	}

	// List with $filter, $select and $top=2, following every page.
	page, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("startsWith(displayName,'Compat User')"),
			Select: []string{"id", "displayName", "userPrincipalName"},
			Top:    ptr(int32(2)),
		},
	})
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	if len(page.GetValue()) != 2 || page.GetOdataNextLink() == nil {
		t.Fatalf("first page: %d items, nextLink %v", len(page.GetValue()), page.GetOdataNextLink())
	}
	it, err := msgraphcore.NewPageIterator[models.Userable](page, client.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = it.Iterate(ctx, func(u models.Userable) bool {
		seen = append(seen, str(u.GetDisplayName()))
		return true
	})
	if err != nil {
		t.Fatalf("PageIterator: %v", err)
	}
	sort.Strings(seen)
	if !slices.Equal(seen, names) {
		t.Fatalf("pages returned %v, want %v", seen, names)
	}
	if n := rec.count("GET", "/v1.0/users"); n < 4 {
		t.Errorf("%d list requests for 7 users at 2 per page, want 4", n)
	}

	// An advanced query ($search, which needs ConsistencyLevel) paged by
	// the iterator, which re-sends the header on every page.
	searched, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Search: ptr(`"displayName:Compat"`), Count: ptr(true), Top: ptr(int32(3)), Select: []string{"id", "displayName"},
		},
	})
	if err != nil {
		t.Fatalf("$search: %v", err)
	}
	sit, err := msgraphcore.NewPageIterator[models.Userable](searched, client.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	sit.SetHeaders(eventual())
	seen = nil
	if err := sit.Iterate(ctx, func(u models.Userable) bool {
		seen = append(seen, str(u.GetDisplayName()))
		return true
	}); err != nil {
		t.Fatalf("$search pages: %v", err)
	}
	sort.Strings(seen)
	if !slices.Equal(seen, names) || searched.GetOdataCount() == nil || *searched.GetOdataCount() != 7 {
		t.Fatalf("$search pages returned %v (count %v), want %v", seen, searched.GetOdataCount(), names)
	}

	// $count: the segment and the query option, with ConsistencyLevel.
	n, err := client.Users().Count().Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil || n == nil || *n != 8 { // seven plus the bootstrap administrator
		t.Fatalf("users/$count: %v %v", err, n)
	}
	counted, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Count: ptr(true), Filter: ptr("startsWith(displayName,'Compat User')"), Top: ptr(int32(3)),
		},
	})
	if err != nil || counted.GetOdataCount() == nil || *counted.GetOdataCount() != 7 || len(counted.GetValue()) != 3 {
		t.Fatalf("$count=true: %v count %v, %d items", err, counted.GetOdataCount(), len(counted.GetValue()))
	}

	// Update and read back.
	patch := models.NewUser()
	patch.SetJobTitle(ptr("Auditor"))
	patch.SetDepartment(ptr("Compliance"))
	if _, err := client.Users().ByUserId(first).Patch(ctx, patch, nil); err != nil {
		t.Fatalf("patch: %v", err)
	}
	u, err = client.Users().ByUserId(first).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"jobTitle", "department"}},
	})
	if err != nil || str(u.GetJobTitle()) != "Auditor" || str(u.GetDepartment()) != "Compliance" {
		t.Fatalf("after patch: %v %+v", err, u)
	}

	// Groups: a security group with two users, nested in a second group.
	newGroup := func(name string) string {
		g := models.NewGroup()
		g.SetDisplayName(ptr(name))
		g.SetMailEnabled(ptr(false))
		g.SetMailNickname(ptr(strings.ToLower(strings.ReplaceAll(name, " ", ""))))
		g.SetSecurityEnabled(ptr(true))
		created, err := client.Groups().Post(ctx, g, nil)
		if err != nil || created == nil || created.GetId() == nil || created.GetSecurityEnabled() == nil || !*created.GetSecurityEnabled() {
			t.Fatalf("create group %s: %v %+v", name, err, created)
		}
		return *created.GetId()
	}
	addMember := func(group, member string) {
		ref := models.NewReferenceCreate()
		ref.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + member))
		if err := client.Groups().ByGroupId(group).Members().Ref().Post(ctx, ref, nil); err != nil {
			t.Fatalf("add %s to %s: %v", member, group, err)
		}
	}
	inner, outer := newGroup("Compat Auditors"), newGroup("Compat Everyone")
	addMember(inner, first)
	addMember(inner, ids["compat1@"+dom])
	addMember(outer, inner)
	members, err := client.Groups().ByGroupId(inner).Members().Get(ctx, nil)
	if err != nil || len(members.GetValue()) != 2 {
		t.Fatalf("members: %v %+v", err, members)
	}
	for _, m := range members.GetValue() {
		mu, ok := m.(models.Userable)
		if !ok {
			t.Fatalf("member %s deserialized as %T, want a user", str(m.GetId()), m)
		}
		if !strings.HasPrefix(str(mu.GetUserPrincipalName()), "compat") {
			t.Errorf("member without its user properties: %+v", mu)
		}
	}
	outerMembers, err := client.Groups().ByGroupId(outer).Members().Get(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{})
	if err != nil || len(outerMembers.GetValue()) != 1 {
		t.Fatalf("outer members: %v %+v", err, outerMembers)
	}
	if g, ok := outerMembers.GetValue()[0].(models.Groupable); !ok || str(g.GetDisplayName()) != "Compat Auditors" {
		t.Fatalf("nested member deserialized as %T", outerMembers.GetValue()[0])
	}
	tmo, err := client.Users().ByUserId(first).TransitiveMemberOf().Get(ctx, nil)
	if err != nil {
		t.Fatalf("transitiveMemberOf: %v", err)
	}
	var groupsOf []string
	for _, o := range tmo.GetValue() {
		g, ok := o.(models.Groupable)
		if !ok {
			t.Fatalf("transitiveMemberOf item deserialized as %T", o)
		}
		groupsOf = append(groupsOf, str(g.GetDisplayName()))
	}
	sort.Strings(groupsOf)
	if !slices.Equal(groupsOf, []string{"Compat Auditors", "Compat Everyone"}) {
		t.Fatalf("transitiveMemberOf = %v", groupsOf)
	}

	// Applications: create one, add a password, create its service
	// principal, and redeem the new secret through MSAL.
	app := models.NewApplication()
	app.SetDisplayName(ptr("Compat App"))
	app.SetSignInAudience(ptr("AzureADMyOrg"))
	createdApp, err := client.Applications().Post(ctx, app, nil)
	if err != nil || createdApp.GetId() == nil || createdApp.GetAppId() == nil {
		t.Fatalf("create application: %v %+v", err, createdApp)
	}
	pwBody := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(ptr("compat secret"))
	pwBody.SetPasswordCredential(pc)
	secret, err := client.Applications().ByApplicationId(*createdApp.GetId()).AddPassword().Post(ctx, pwBody, nil)
	if err != nil || str(secret.GetSecretText()) == "" || secret.GetKeyId() == nil || secret.GetEndDateTime() == nil {
		t.Fatalf("addPassword: %v %+v", err, secret)
	}
	sp := models.NewServicePrincipal()
	sp.SetAppId(createdApp.GetAppId())
	createdSP, err := client.ServicePrincipals().Post(ctx, sp, nil)
	if err != nil || createdSP.GetId() == nil || str(createdSP.GetAppId()) != *createdApp.GetAppId() {
		t.Fatalf("create service principal: %v %+v", err, createdSP)
	}
	cred, err := confidential.NewCredFromSecret(*secret.GetSecretText())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := confidential.New(srv.URL+"/"+srv.Creds.TenantID, *createdApp.GetAppId(), cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cc.AcquireTokenByCredential(ctx, []string{graphScope}); err != nil || res.AccessToken == "" {
		t.Fatalf("token with the new secret: %v", err)
	}
	// That app holds no Graph permission: its SDK calls are refused with
	// Graph's error shape.
	weak, _ := graphClient(t, srv, *createdApp.GetAppId(), *secret.GetSecretText())
	_, err = weak.Users().Get(ctx, nil)
	if code := odataCode(t, err, http.StatusForbidden); code != "Authorization_RequestDenied" {
		t.Errorf("unprivileged list: code %q", code)
	}

	// directoryObjects/getByIds: polymorphic, each item its own type.
	byIDs := directoryobjects.NewGetByIdsPostRequestBody()
	byIDs.SetIds([]string{first, inner, *createdSP.GetId(), *createdApp.GetId()})
	got, err := client.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, byIDs, nil)
	if err != nil {
		t.Fatalf("getByIds: %v", err)
	}
	kinds := map[string]string{}
	for _, o := range got.GetValue() {
		switch o.(type) {
		case models.Userable:
			kinds[str(o.GetId())] = "user"
		case models.Groupable:
			kinds[str(o.GetId())] = "group"
		case models.ServicePrincipalable:
			kinds[str(o.GetId())] = "servicePrincipal"
		case models.Applicationable:
			kinds[str(o.GetId())] = "application"
		default:
			kinds[str(o.GetId())] = fmt.Sprintf("%T", o)
		}
	}
	want := map[string]string{first: "user", inner: "group", *createdSP.GetId(): "servicePrincipal", *createdApp.GetId(): "application"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("getByIds kinds = %v, want %v", kinds, want)
	}

	// Delete a user, see it in deletedItems, restore it.
	victim := ids["compat6@"+dom]
	if err := client.Users().ByUserId(victim).Delete(ctx, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = client.Users().ByUserId(victim).Get(ctx, nil)
	if code := odataCode(t, err, http.StatusNotFound); code != "Request_ResourceNotFound" {
		t.Errorf("deleted user: code %q", code)
	}
	deleted, err := client.Directory().DeletedItems().GraphUser().Get(ctx, nil)
	if err != nil || !slices.ContainsFunc(deleted.GetValue(), func(u models.Userable) bool { return str(u.GetId()) == victim }) {
		t.Fatalf("deletedItems/microsoft.graph.user: %v", err)
	}
	restored, err := client.Directory().DeletedItems().ByDirectoryObjectId(victim).Restore().Post(ctx, nil)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if ru, ok := restored.(models.Userable); !ok || str(ru.GetUserPrincipalName()) != "compat6@"+dom {
		t.Fatalf("restore returned %T %+v", restored, restored)
	}
	if _, err := client.Users().ByUserId(victim).Get(ctx, nil); err != nil {
		t.Fatalf("restored user: %v", err)
	}

	// Organization and domains.
	orgs, err := client.Organization().Get(ctx, nil)
	if err != nil || len(orgs.GetValue()) != 1 || str(orgs.GetValue()[0].GetId()) != srv.Creds.TenantID {
		t.Fatalf("organization: %v %+v", err, orgs)
	}
	if !slices.ContainsFunc(orgs.GetValue()[0].GetVerifiedDomains(), func(d models.VerifiedDomainable) bool { return str(d.GetName()) == dom }) {
		t.Errorf("organization.verifiedDomains lacks %s", dom)
	}
	domains, err := client.Domains().Get(ctx, nil)
	if err != nil || !slices.ContainsFunc(domains.GetValue(), func(d models.Domainable) bool {
		return str(d.GetId()) == dom && d.GetIsVerified() != nil && *d.GetIsVerified()
	}) {
		t.Fatalf("domains: %v", err)
	}

	// A Graph client that does not list this host among its allowed hosts
	// (the SDK's default list) sends no token; the 401 is an ODataError.
	anon := graphClientWithHosts(t, srv, srv.Creds.ClientID, srv.Creds.ClientSecret, nil)
	_, err = anon.Users().Get(ctx, nil)
	if code := odataCode(t, err, http.StatusUnauthorized); code != "InvalidAuthenticationToken" {
		t.Errorf("request without a token: code %q", code)
	}

	// A missing user is an ODataError with Graph's code, and err.Error()
	// does not panic.
	_, err = client.Users().ByUserId("00000000-0000-0000-0000-000000000001").Get(ctx, nil)
	if code := odataCode(t, err, http.StatusNotFound); code != "Request_ResourceNotFound" {
		t.Errorf("missing user: code %q", code)
	}
	if err.Error() == "" {
		t.Error("empty error text")
	}

	// $batch through the SDK's batch request content.
	batch := msgraphcore.NewBatchRequest(client.GetAdapter())
	getFirst, err := client.Users().ByUserId(first).ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	getMissing, err := client.Users().ByUserId("00000000-0000-0000-0000-000000000001").ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	step1, err := batch.AddBatchRequestStep(*getFirst)
	if err != nil {
		t.Fatal(err)
	}
	step2, err := batch.AddBatchRequestStep(*getMissing)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := batch.Send(ctx, client.GetAdapter())
	if err != nil {
		t.Fatalf("$batch: %v", err)
	}
	bu, err := msgraphcore.GetBatchResponseById[models.Userable](resp, *step1.GetId(), models.CreateUserFromDiscriminatorValue)
	if err != nil || str(bu.GetId()) != first || str(bu.GetUserPrincipalName()) != "compat0@"+dom {
		t.Fatalf("batch step 1: %v %+v", err, bu)
	}
	if st := resp.GetStatusCodes()[*step2.GetId()]; st != http.StatusNotFound {
		t.Fatalf("batch step 2 status = %d, want 404", st)
	}
}
