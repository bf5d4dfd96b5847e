package app_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Graph permission ids the admin consent tests request.
const (
	graphUserReadScope    = "e1fe6dd8-ba31-4d61-89e7-88639da4683d" // User.Read (delegated)
	graphUserReadAllScope = "a154be20-db9c-4678-8ab7-66f6cc099a59" // User.Read.All (delegated, Admin)
	graphUserReadAllRole  = "df021288-bdef-4463-88db-98f22de89214" // User.Read.All (application)
)

// adminConsentURL is the tenant's v1 adminconsent endpoint for the
// world's client.
func (w *userWorld) adminConsentURL(extra ...string) string {
	q := url.Values{"client_id": {w.client.AppID}, "redirect_uri": {loopbackRedirect}, "state": {"ac-1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/" + w.srv.Creds.TenantID + "/adminconsent?" + q.Encode()
}

// signInAs fills the password page p (if it is one) as upn and returns
// the page that follows.
func signInAs(t testing.TB, b *browser, p page, upn, password string) page {
	t.Helper()
	if p.status != 200 {
		t.Fatalf("want the sign-in page, got %d: %s", p.status, p.body)
	}
	if !strings.Contains(p.body, `name="password"`) {
		return p
	}
	f := parseForm(t, p.body)
	f.fields.Set("username", upn)
	f.fields.Set("password", password)
	return b.do(t, "POST", f.action, f.fields)
}

// requestPermissions sets the world client's requiredResourceAccess on
// Graph: entries are id/type pairs.
func (w *userWorld) requestPermissions(t testing.TB, entries ...string) {
	t.Helper()
	var ra []map[string]any
	for i := 0; i+1 < len(entries); i += 2 {
		ra = append(ra, map[string]any{"id": entries[i], "type": entries[i+1]})
	}
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.client.ID, w.tok, map[string]any{"requiredResourceAccess": []any{
		map[string]any{"resourceAppId": graphAppID, "resourceAccess": ra}}}, 204)
}

// allPrincipalsScopes returns the sorted scopes of the client's
// AllPrincipals grant, and how many such grants exist.
func (w *userWorld) allPrincipalsScopes(t testing.TB) ([]string, int) {
	t.Helper()
	r := call(t, w.srv, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+w.client.SPID+"'"), w.tok, nil, 200).JSON(t)
	var scopes []string
	n := 0
	for _, v := range r["value"].([]any) {
		if g := v.(map[string]any); g["consentType"] == "AllPrincipals" {
			n++
			scopes = append(scopes, strings.Fields(g["scope"].(string))...)
		}
	}
	slices.Sort(scopes)
	return scopes, n
}

// clientAppRoles returns the app role ids assigned to the world's client.
func (w *userWorld) clientAppRoles(t testing.TB) []string {
	t.Helper()
	r := call(t, w.srv, "GET", "/v1.0/servicePrincipals/"+w.client.SPID+"/appRoleAssignments", w.tok, nil, 200).JSON(t)
	var out []string
	for _, v := range r["value"].([]any) {
		out = append(out, v.(map[string]any)["appRoleId"].(string))
	}
	return out
}

// assignRole writes a tenant-wide directory role assignment straight into
// the store (there is no role management API yet).
func assignRole(t testing.TB, w *userWorld, userID, roleID string) {
	t.Helper()
	ra := iam.RoleAssignment{ID: iam.NewID(), PrincipalID: userID, RoleDefinitionID: roleID, DirectoryScopeID: "/"}
	err := w.srv.App.Store().Write(context.Background(), func(wr store.Writer) error {
		data, err := json.Marshal(ra)
		if err != nil {
			return err
		}
		return wr.Insert(store.Object{TenantID: w.srv.Creds.TenantID, Kind: iam.KindRoleAssignment, ID: ra.ID, CreatedAt: time.Now(), Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdminConsentEndpoint: the bootstrap Global Administrator signs in at
// /{tenant}/adminconsent, sees every permission the app requests (its
// delegated scope and its Graph application permission) for the
// organization, and accepts: the client gets an AllPrincipals grant and
// the app role assignment, the browser goes back with admin_consent=True,
// tenant and state, and the consent is audited as the administrator's.
// Another user's code flow then needs no consent. Cancel is access_denied,
// and a redirect URI the app did not register is never redirected to.
func TestAdminConsentEndpoint(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	w.requestPermissions(t, graphUserReadScope, "Scope", graphUserReadAllRole, "Role")
	tid := w.srv.Creds.TenantID
	admin := newBrowser(w.srv)

	p := signInAs(t, admin, admin.do(t, "GET", w.adminConsentURL(), nil), w.srv.Creds.AdminUserPrincipalName, w.srv.Creds.AdminPassword)
	for _, want := range []string{"Consent on behalf of your organization", "Notes", "Microsoft Graph",
		"Sign in and read the user&#39;s profile", "Read all users&#39; full profiles", "(application)"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("admin consent page lacks %q: %s", want, p.body)
		}
	}
	if f := parseForm(t, p.body); !strings.HasSuffix(f.action, "/adminconsent") {
		t.Errorf("admin consent form posts to %q", f.action)
	}
	loc := answer(t, admin, p, "accept").location(t)
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host != loopbackRedirect || q.Get("admin_consent") != "True" || q.Get("tenant") != tid || q.Get("state") != "ac-1" || q.Get("code") != "" {
		t.Fatalf("after admin consent: %v", loc)
	}
	if scopes, n := w.allPrincipalsScopes(t); n != 1 || !slices.Equal(scopes, []string{"User.Read"}) {
		t.Errorf("AllPrincipals grants: %d %v", n, scopes)
	}
	if roles := w.clientAppRoles(t); !slices.Equal(roles, []string{graphUserReadAllRole}) {
		t.Errorf("client app roles after admin consent: %v", roles)
	}
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Consent to application'"), w.tok, nil, 200).JSON(t)
	vals := audits["value"].([]any)
	if len(vals) != 1 {
		t.Fatalf("consent audit records: %v", audits)
	}
	rec := vals[0].(map[string]any)
	if by := rec["initiatedBy"].(map[string]any)["user"].(map[string]any); by["userPrincipalName"] != w.srv.Creds.AdminUserPrincipalName {
		t.Errorf("admin consent initiated by %v", by)
	}
	details := map[string]string{}
	for _, d := range rec["additionalDetails"].([]any) {
		kv := d.(map[string]any)
		details[kv["key"].(string)], _ = kv["value"].(string)
	}
	if details["AdminConsent"] != "True" || details["ConsentType"] != "AllPrincipals" || !strings.Contains(details["Permissions"], graphUserReadAllRole) {
		t.Errorf("admin consent audit details: %v", details)
	}

	// An ordinary user now signs in to the app without a consent page.
	verifier, challenge := pkcePair(t)
	code := w.signIn(t, newBrowser(w.srv), w.authorizeURL(challenge)).Get("code")
	if code == "" {
		t.Fatal("the user's code flow after admin consent gave no code")
	}
	st, m := w.postToken(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {code},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {verifier}, "scope": {"User.Read openid"}})
	if st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read" {
		t.Errorf("redeem after admin consent: %d %v", st, m)
	}

	// Accepting again changes nothing; Cancel goes back as access_denied.
	p = admin.do(t, "GET", w.adminConsentURL("state", "ac-2"), nil)
	q = answer(t, admin, p, "cancel").location(t).Query()
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004") || q.Get("state") != "ac-2" || q.Get("admin_consent") != "" {
		t.Errorf("cancel: %v", q)
	}
	if roles := w.clientAppRoles(t); len(roles) != 1 {
		t.Errorf("app roles after cancel: %v", roles)
	}
	// A redirect URI the app did not register gets a page, never a redirect.
	p = admin.do(t, "GET", w.adminConsentURL("redirect_uri", "https://evil.example/cb"), nil)
	if p.status != 400 || p.header.Get("Location") != "" || !strings.Contains(p.body, "AADSTS50011") {
		t.Errorf("unregistered redirect URI: %d %v %s", p.status, p.header, p.body)
	}
	// The v2.0 path takes a scope and echoes it.
	p = admin.do(t, "GET", "/"+tid+"/v2.0/adminconsent?"+url.Values{"client_id": {w.client.AppID}, "redirect_uri": {loopbackRedirect},
		"state": {"ac-3"}, "scope": {"https://graph.microsoft.com/User.ReadBasic.All"}}.Encode(), nil)
	q = answer(t, admin, p, "accept").location(t).Query()
	if q.Get("admin_consent") != "True" || q.Get("scope") != "https://graph.microsoft.com/User.ReadBasic.All" {
		t.Errorf("v2.0 admin consent: %v", q)
	}
	if scopes, n := w.allPrincipalsScopes(t); n != 1 || !slices.Equal(scopes, []string{"User.Read", "User.ReadBasic.All"}) {
		t.Errorf("merged AllPrincipals grant: %d %v", n, scopes)
	}
}

// TestAdminConsentNeedsAdminRole: a user without an administrator role
// gets "Need admin approval" (AADSTS90094) from the adminconsent endpoint
// and from prompt=admin_consent, and nothing is granted. An Application
// Administrator may consent to delegated permissions but not to Microsoft
// Graph application permissions. prompt=admin_consent by the Global
// Administrator covers the requested scopes (an Admin-type one too) and
// continues to a code.
func TestAdminConsentNeedsAdminRole(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	w.requestPermissions(t, graphUserReadScope, "Scope")
	_, challenge := pkcePair(t)

	alice := newBrowser(w.srv)
	p := signInAs(t, alice, alice.do(t, "GET", w.adminConsentURL(), nil), w.upn, userPassword)
	if p.status != 403 || !strings.Contains(p.body, "Need admin approval") || !strings.Contains(p.body, "AADSTS90094") || p.header.Get("Location") != "" {
		t.Errorf("non-admin at adminconsent: %d %s", p.status, p.body)
	}
	p = alice.do(t, "GET", w.authorizeURL(challenge, "prompt", "admin_consent"), nil)
	if p.status != 403 || !strings.Contains(p.body, "AADSTS90094") {
		t.Errorf("non-admin with prompt=admin_consent: %d %s", p.status, p.body)
	}
	if _, n := w.allPrincipalsScopes(t); n != 0 {
		t.Errorf("a non-admin created %d AllPrincipals grants", n)
	}

	// An Application Administrator: delegated permissions yes, Graph
	// application permissions no.
	assignRole(t, w, w.userID, iam.ApplicationAdministratorRoleID)
	p = alice.do(t, "GET", w.adminConsentURL(), nil)
	if q := answer(t, alice, p, "accept").location(t).Query(); q.Get("admin_consent") != "True" {
		t.Errorf("application administrator, delegated: %v", q)
	}
	w.requestPermissions(t, graphUserReadScope, "Scope", graphUserReadAllRole, "Role")
	if p = alice.do(t, "GET", w.adminConsentURL(), nil); p.status != 403 || !strings.Contains(p.body, "AADSTS90094") {
		t.Errorf("application administrator, Graph app role: %d %s", p.status, p.body)
	}
	if roles := w.clientAppRoles(t); len(roles) != 0 {
		t.Errorf("app roles granted by an application administrator: %v", roles)
	}

	// The Global Administrator with prompt=admin_consent on authorize.
	admin := newBrowser(w.srv)
	w.requestPermissions(t, graphUserReadScope, "Scope")
	authURL := w.authorizeURL(challenge, "prompt", "admin_consent", "scope", "User.Read User.Read.All openid")
	p = signInAs(t, admin, admin.do(t, "GET", authURL, nil), w.srv.Creds.AdminUserPrincipalName, w.srv.Creds.AdminPassword)
	if !strings.Contains(p.body, "Consent on behalf of your organization") || !strings.Contains(p.body, "Read all users&#39; full profiles") {
		t.Fatalf("prompt=admin_consent page: %d %s", p.status, p.body)
	}
	if q := answer(t, admin, p, "accept").location(t).Query(); q.Get("code") == "" || q.Get("state") != "st-1" {
		t.Errorf("after prompt=admin_consent: %v", q)
	}
	if scopes, _ := w.allPrincipalsScopes(t); !slices.Equal(scopes, []string{"User.Read", "User.Read.All", "openid"}) {
		t.Errorf("grant after prompt=admin_consent: %v", scopes)
	}
	// Now the user needs no consent for the Admin-type scope either.
	if q := alice.do(t, "GET", w.authorizeURL(challenge, "scope", "User.Read.All"), nil).location(t).Query(); q.Get("code") == "" {
		t.Errorf("user after admin consent of an Admin scope: %v", q)
	}
}
