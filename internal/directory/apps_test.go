package directory_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/directory/dnstest"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

// appsEnv is a directory service on a real SQLite file and a loopback DNS
// server, with two tenants A and B, each with a verified initial domain.
type appsEnv struct {
	t       *testing.T
	ctx     context.Context
	st      store.Store
	svc     *directory.Service
	dns     *dnstest.Server
	mu      sync.Mutex
	now     time.Time
	tenantA string
	tenantB string
	adminA  *iam.Caller // Directory.ReadWrite.All and AppRoleAssignment.ReadWrite.All
	adminB  *iam.Caller
}

func newAppsEnv(t *testing.T) *appsEnv {
	t.Helper()
	ctx := context.Background()
	db := backendtest.Open(t)
	e := &appsEnv{t: t, ctx: ctx, st: db, dns: dnstest.Start(t), now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	hasher := passwords.NewHasher(passwords.Params{Memory: 64, Time: 1, Threads: 1}, 2, 16)
	e.svc = directory.New(db, authz.GraphPermissions{}, hasher, e.dns.Resolver(), directory.Config{}, e.clock, slog.New(slog.DiscardHandler))
	e.tenantA, e.tenantB = e.seedTenant("alpha"), e.seedTenant("beta")
	roles := []string{"Directory.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
	e.adminA = &iam.Caller{Type: iam.CallerApp, TenantID: e.tenantA, ObjectID: iam.NewID(), AppID: iam.NewID(), AppDisplayName: "admin A", Roles: roles}
	e.adminB = &iam.Caller{Type: iam.CallerApp, TenantID: e.tenantB, ObjectID: iam.NewID(), AppID: iam.NewID(), AppDisplayName: "admin B", Roles: roles}
	return e
}

func (e *appsEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *appsEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// seedTenant writes a tenant and its verified initial domain directly.
func (e *appsEnv) seedTenant(name string) string {
	e.t.Helper()
	id := iam.NewID()
	domain := name + ".ostiary.test"
	d := iam.Domain{ID: domain, AuthenticationType: "Managed", IsAdminManaged: true, IsDefault: true, IsInitial: true,
		IsRoot: true, IsVerified: true, SupportedServices: []string{"Email"}}
	data, _ := json.Marshal(d)
	err := e.st.Write(e.ctx, func(w store.Writer) error {
		if err := w.CreateTenant(iam.Tenant{ID: id, DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Corp", InitialDomain: domain, CreatedDateTime: e.now}); err != nil {
			return err
		}
		return w.Insert(store.Object{TenantID: id, Kind: iam.KindDomain, ID: domain, Key: domain, DisplayName: domain, CreatedAt: e.now, Data: data})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// caller is an app-only caller of tenant holding roles, acting as the
// service principal spID ("" for none).
func caller(tenant, spID string, roles ...string) *iam.Caller {
	return &iam.Caller{Type: iam.CallerApp, TenantID: tenant, ObjectID: spID, ServicePrincipalID: spID, AppID: iam.NewID(), Roles: roles}
}

func (e *appsEnv) createApp(c *iam.Caller, body string) iam.Application {
	e.t.Helper()
	app, err := e.svc.CreateApplication(e.ctx, c, directory.Patch(body))
	if err != nil {
		e.t.Fatalf("CreateApplication(%s): %v", body, err)
	}
	return app
}

func (e *appsEnv) createSP(c *iam.Caller, appID string) iam.ServicePrincipal {
	e.t.Helper()
	sp, err := e.svc.CreateServicePrincipal(e.ctx, c, directory.Patch(`{"appId":"`+appID+`"}`))
	if err != nil {
		e.t.Fatalf("CreateServicePrincipal: %v", err)
	}
	return sp
}

func (e *appsEnv) createUser(c *iam.Caller, upn string) iam.User {
	e.t.Helper()
	nick := upn[:strings.IndexByte(upn, '@')]
	u, err := e.svc.CreateUser(e.ctx, c, directory.Patch(fmt.Sprintf(
		`{"accountEnabled":true,"displayName":%q,"mailNickname":%q,"userPrincipalName":%q,"passwordProfile":{"password":"Correct-Horse-42!"}}`, nick, nick, upn)))
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	return u
}

func (e *appsEnv) createGroup(c *iam.Caller, name string) iam.Group {
	e.t.Helper()
	g, err := e.svc.CreateGroup(e.ctx, c, directory.Patch(fmt.Sprintf(`{"displayName":%q,"mailEnabled":false,"mailNickname":%q,"securityEnabled":true}`, name, name)))
	if err != nil {
		e.t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

// raw reads a stored object as the store holds it, live or deleted.
func (e *appsEnv) raw(tenant string, kind iam.Kind, id string) store.Object {
	e.t.Helper()
	var o store.Object
	if err := e.st.Read(e.ctx, func(r store.Reader) (err error) { o, err = r.Get(tenant, kind, id); return err }); err != nil {
		e.t.Fatalf("Get %s %s: %v", kind, id, err)
	}
	return o
}

// audits counts the audit records of tenant with the activity.
func (e *appsEnv) audits(tenant, activity string) int {
	e.t.Helper()
	var n int
	err := e.st.Read(e.ctx, func(r store.Reader) error {
		p, err := r.List(tenant, iam.KindDirectoryAudit, store.Live, query.List{Top: query.MaxTop,
			Filter: query.Cmp{Field: query.Field{Path: "activityDisplayName", Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: activity}}})
		n = len(p.Items)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// wantErr checks err's kind and, when given, its wire code and a message fragment.
func wantErr(t *testing.T, err error, kind errs.Kind, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	e := errs.As(err)
	if e.Kind != kind || (code != "" && e.Code != code) || !strings.Contains(e.Message, msg) {
		t.Fatalf("got %v (code %q), want kind %v code %q message containing %q", err, e.Code, kind, code, msg)
	}
}

func wantDenied(t *testing.T, err error) {
	t.Helper()
	wantErr(t, err, errs.Denied, "Authorization_RequestDenied", "Insufficient privileges")
}

// testCert returns a self-signed certificate as DER.
func testCert(t *testing.T, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ostiary test"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCreateApplication(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Payroll","tags":["hr"]}`)
	if !iam.IsGUID(app.ID) || !iam.IsGUID(app.AppID) || app.ID == app.AppID {
		t.Errorf("ids = %q, %q; want two distinct GUIDs", app.ID, app.AppID)
	}
	if got := *app.SignInAudience; got != "AzureADMyOrg" {
		t.Errorf("signInAudience = %q", got)
	}
	if got := *app.PublisherDomain; got != "alpha.ostiary.test" {
		t.Errorf("publisherDomain = %q, want the default domain", got)
	}
	if app.CreatedDateTime == nil || !app.CreatedDateTime.Equal(e.now) || app.PasswordCredentials == nil || len(app.PasswordCredentials) != 0 {
		t.Errorf("createdDateTime %v, passwordCredentials %v", app.CreatedDateTime, app.PasswordCredentials)
	}
	if e.audits(e.tenantA, "Add application") != 1 {
		t.Error("no audit record for the new application")
	}
	got, err := e.svc.GetApplication(e.ctx, e.adminA, app.ID)
	if err != nil || got.AppID != app.AppID {
		t.Fatalf("GetApplication = %+v, %v", got, err)
	}
	got, err = e.svc.GetApplicationByAppID(e.ctx, e.adminA, strings.ToUpper(app.AppID))
	if err != nil || got.ID != app.ID {
		t.Fatalf("GetApplicationByAppID = %+v, %v", got, err)
	}
	if got, err = e.svc.GetApplication(e.ctx, e.adminA, "appId='"+app.AppID+"'"); err != nil || got.ID != app.ID {
		t.Fatalf("GetApplication(appId='…') = %+v, %v", got, err)
	}
	page, err := e.svc.ListApplications(e.ctx, e.adminA, query.List{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListApplications = %d items, %v", len(page.Items), err)
	}

	for body, msg := range map[string]string{
		`{"tags":[]}`: "displayName",
		`{"displayName":"x","passwordCredentials":[{"keyId":"` + iam.NewID() + `"}]}`: "addPassword",
		`{"displayName":"x","signInAudience":"Everyone"}`:                             "signInAudience",
		`{"displayName":"x","color":"blue"}`:                                          "'color' does not exist",
		`{"displayName":"x","identifierUris":["not a uri"]}`:                          "identifierUris",
	} {
		_, err := e.svc.CreateApplication(e.ctx, e.adminA, directory.Patch(body))
		wantErr(t, err, errs.Invalid, "Request_BadRequest", msg)
	}
}

func TestApplicationIdentifierURIsUnique(t *testing.T) {
	e := newAppsEnv(t)
	a := e.createApp(e.adminA, `{"displayName":"API","identifierUris":["api://payroll"]}`)
	const dup = "Another object with the same value for property identifierUris already exists."
	_, err := e.svc.CreateApplication(e.ctx, e.adminA, directory.Patch(`{"displayName":"Other","identifierUris":["API://Payroll"]}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", dup)
	b := e.createApp(e.adminA, `{"displayName":"Other"}`)
	err = e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["https://api.alpha.ostiary.test/b","api://payroll"]}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", dup)
	// http(s) URIs must be on the tenant's verified domains, so no app can
	// pose as another tenant's API or as Microsoft Graph.
	for _, uri := range []string{"https://graph.microsoft.com", "https://beta.ostiary.test/api", "http://alpha.ostiary.test.evil.example/x"} {
		err = e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["`+uri+`"]}`))
		wantErr(t, err, errs.Invalid, "Request_BadRequest", "verified domain")
	}
	// Nor may it take a name a service principal without an application here answers to.
	graph := iam.ServicePrincipal{ObjectMeta: iam.ObjectMeta{ID: iam.NewID()}, AppID: iam.MicrosoftGraphAppID, ServicePrincipalNames: []string{iam.MicrosoftGraphAppID, "api://graph-like"}}
	data, _ := json.Marshal(graph)
	if err := e.st.Write(e.ctx, func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: e.tenantA, Kind: iam.KindServicePrincipal, ID: graph.ID, Key: graph.AppID, CreatedAt: e.now, Data: data})
	}); err != nil {
		t.Fatal(err)
	}
	err = e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["api://graph-like"]}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", dup)
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["https://api.alpha.ostiary.test/b"]}`)); err != nil {
		t.Fatal(err)
	}
	// An application's own service principal answers to its URIs already.
	e.createSP(e.adminA, b.AppID)
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["https://api.alpha.ostiary.test/b","api://b"]}`)); err != nil {
		t.Fatal(err)
	}
	// The owner of the URI can keep it through an update, and another tenant may use it.
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, a.ID, directory.Patch(`{"identifierUris":["api://payroll","api://payroll2"]}`)); err != nil {
		t.Fatal(err)
	}
	e.createApp(e.adminB, `{"displayName":"API","identifierUris":["api://payroll"]}`)
	// A deleted application frees its URIs.
	if err := e.svc.DeleteApplication(e.ctx, e.adminA, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, b.ID, directory.Patch(`{"identifierUris":["api://payroll"]}`)); err != nil {
		t.Fatal(err)
	}
}

func TestApplicationAppRolesAndScopes(t *testing.T) {
	e := newAppsEnv(t)
	r1, r2, s1 := iam.NewID(), iam.NewID(), iam.NewID()
	role := func(id, value string, enabled bool, types ...string) string {
		tj, _ := json.Marshal(types)
		return fmt.Sprintf(`{"id":%q,"allowedMemberTypes":%s,"displayName":%q,"description":"d","value":%q,"isEnabled":%t}`, id, tj, value, value, enabled)
	}
	for name, body := range map[string]string{
		"non-GUID id":   `{"displayName":"x","appRoles":[` + role("r1", "Read", true, "Application") + `]}`,
		"duplicate id":  `{"displayName":"x","appRoles":[` + role(r1, "Read", true, "Application") + `,` + role(r1, "Write", true, "User") + `]}`,
		"duplicate val": `{"displayName":"x","appRoles":[` + role(r1, "Read", true, "Application") + `,` + role(r2, "read", true, "User") + `]}`,
		"member type":   `{"displayName":"x","appRoles":[` + role(r1, "Read", true, "Device") + `]}`,
		"no types":      `{"displayName":"x","appRoles":[` + role(r1, "Read", true) + `]}`,
		"scope id":      `{"displayName":"x","api":{"oauth2PermissionScopes":[{"id":"x","value":"read","type":"User","isEnabled":true}]}}`,
		"scope dup": `{"displayName":"x","api":{"oauth2PermissionScopes":[{"id":"` + s1 + `","value":"read","isEnabled":true},` +
			`{"id":"` + iam.NewID() + `","value":"READ","isEnabled":true}]}}`,
		"scope type": `{"displayName":"x","api":{"oauth2PermissionScopes":[{"id":"` + s1 + `","value":"read","type":"Root","isEnabled":true}]}}`,
	} {
		_, err := e.svc.CreateApplication(e.ctx, e.adminA, directory.Patch(body))
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
	}
	app := e.createApp(e.adminA, `{"displayName":"API","appRoles":[`+role(strings.ToUpper(r1), "Read", true, "Application")+`],`+
		`"api":{"oauth2PermissionScopes":[{"id":"`+s1+`","value":"read","isEnabled":true,"adminConsentDisplayName":"Read","adminConsentDescription":"Read"}]}}`)
	if app.AppRoles[0].ID != r1 || app.AppRoles[0].Origin != "Application" || app.API.OAuth2PermissionScopes[0].Type != "User" {
		t.Errorf("roles not normalized: %+v %+v", app.AppRoles, app.API.OAuth2PermissionScopes)
	}
	// An enabled role cannot be removed; disabling it first allows it.
	err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"appRoles":[]}`))
	wantErr(t, err, errs.Invalid, "CannotDeleteOrUpdateEnabledEntitlement", "disabled first")
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"appRoles":[`+role(r1, "Read", false, "Application")+`]}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"appRoles":[]}`)); err != nil {
		t.Fatal(err)
	}
	err = e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"api":{"oauth2PermissionScopes":[]}}`))
	wantErr(t, err, errs.Invalid, "CannotDeleteOrUpdateEnabledEntitlement", "")
}

func TestApplicationKeyCredentials(t *testing.T) {
	e := newAppsEnv(t)
	nb, na := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	der := testCert(t, nb, na)
	b64 := base64.StdEncoding.EncodeToString(der)
	sum := sha1.Sum(der)
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	app := e.createApp(e.adminA, `{"displayName":"Cert app","keyCredentials":[{"key":"`+b64+`","displayName":"CN=ostiary test"}]}`)
	k := app.KeyCredentials[0]
	if k.Key != nil || !iam.IsGUID(k.KeyID) || k.Type != "AsymmetricX509Cert" || k.Usage != "Verify" || *k.CustomKeyIdentifier != thumb ||
		!k.StartDateTime.Equal(nb) || !k.EndDateTime.Equal(na) {
		t.Fatalf("key credential = %+v (thumbprint %s)", k, thumb)
	}
	// The certificate is kept (the token service checks assertions with it) but never read back.
	if !bytes.Contains(e.raw(e.tenantA, iam.KindApplication, app.ID).Data, []byte(b64)) {
		t.Error("stored document lost the certificate")
	}
	got, _ := e.svc.GetApplication(e.ctx, e.adminA, app.ID)
	list, _ := e.svc.ListApplications(e.ctx, e.adminA, query.List{})
	if got.KeyCredentials[0].Key != nil || list.Items[0].KeyCredentials[0].Key != nil {
		t.Error("a read returned keyCredentials[].key")
	}
	// A client can PATCH back what it read (no key) and add a certificate.
	der2 := testCert(t, nb, na)
	patch := fmt.Sprintf(`{"keyCredentials":[{"keyId":%q,"displayName":"renamed"},{"key":%q,"startDateTime":"2026-06-01T00:00:00Z"}]}`,
		k.KeyID, base64.StdEncoding.EncodeToString(der2))
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(patch)); err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.GetApplication(e.ctx, e.adminA, app.ID)
	if len(got.KeyCredentials) != 2 || *got.KeyCredentials[0].DisplayName != "renamed" || *got.KeyCredentials[0].CustomKeyIdentifier != thumb ||
		got.KeyCredentials[1].StartDateTime.Format(time.RFC3339) != "2026-06-01T00:00:00Z" {
		t.Fatalf("after PATCH: %+v", got.KeyCredentials)
	}
	for name, kc := range map[string]string{
		"garbage base64":   `{"key":"!!!"}`,
		"not a cert":       `{"key":"` + base64.StdEncoding.EncodeToString([]byte("hello")) + `"}`,
		"unknown keyId":    `{"keyId":"` + iam.NewID() + `"}`,
		"sign usage":       `{"key":"` + b64 + `","usage":"Sign"}`,
		"end before start": `{"key":"` + b64 + `","startDateTime":"2027-01-01T00:00:00Z","endDateTime":"2026-01-01T00:00:00Z"}`,
	} {
		err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"keyCredentials":[`+kc+`]}`))
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
	}
}

func TestApplicationSecrets(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Daemon"}`)
	cred, err := e.svc.AddPassword(e.ctx, e.adminA, app.ID, directory.Patch(`{"passwordCredential":{"displayName":"ci"}}`))
	if err != nil {
		t.Fatal(err)
	}
	secret := *cred.SecretText
	if len(secret) < 22 || *cred.Hint != secret[:3] || *cred.DisplayName != "ci" || !iam.IsGUID(cred.KeyID) {
		t.Fatalf("credential = %+v", cred)
	}
	if !cred.StartDateTime.Equal(e.now) || !cred.EndDateTime.Equal(e.now.AddDate(2, 0, 0)) {
		t.Errorf("validity %v–%v, want now to now+2y", cred.StartDateTime, cred.EndDateTime)
	}
	o := e.raw(e.tenantA, iam.KindApplication, app.ID)
	var sec struct {
		Passwords map[string]string `json:"passwords"`
	}
	if err := json.Unmarshal(o.Secret, &sec); err != nil || len(sec.Passwords) != 1 {
		t.Fatalf("Secret column = %s (%v)", o.Secret, err)
	}
	hash := sec.Passwords[cred.KeyID]
	if !passwords.VerifyClientSecret(hash, secret) {
		t.Error("stored hash does not verify the secret")
	}
	if bytes.Contains(o.Secret, []byte(secret)) || bytes.Contains(o.Data, []byte(secret)) {
		t.Error("the secret text is stored")
	}
	if bytes.Contains(o.Data, []byte(hash)) || bytes.Contains(o.Data, []byte("secretText\":\"")) {
		t.Error("the document holds the hash or a secretText")
	}
	got, _ := e.svc.GetApplication(e.ctx, e.adminA, app.ID)
	if len(got.PasswordCredentials) != 1 || got.PasswordCredentials[0].SecretText != nil || *got.PasswordCredentials[0].Hint != secret[:3] {
		t.Fatalf("read passwordCredentials = %+v", got.PasswordCredentials)
	}
	// Round-tripping the read value is allowed; changing it is not.
	rt, _ := json.Marshal(map[string]any{"passwordCredentials": got.PasswordCredentials, "notes": "n"})
	if err := e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(rt)); err != nil {
		t.Fatalf("PATCH with unchanged passwordCredentials: %v", err)
	}
	err = e.svc.UpdateApplication(e.ctx, e.adminA, app.ID, directory.Patch(`{"passwordCredentials":[]}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")

	_, err = e.svc.AddPassword(e.ctx, e.adminA, app.ID, directory.Patch(`{"passwordCredential":{"startDateTime":"2026-05-01T00:00:00Z","endDateTime":"2026-04-01T00:00:00Z"}}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "endDateTime")
	second, err := e.svc.AddPassword(e.ctx, e.adminA, app.ID, nil)
	if err != nil || *second.SecretText == secret {
		t.Fatalf("second secret: %v", err)
	}
	if e.audits(e.tenantA, "Update application – Certificates and secrets management ") != 2 {
		t.Error("secret changes are not audited")
	}

	if err := e.svc.RemovePassword(e.ctx, e.adminA, app.ID, cred.KeyID); err != nil {
		t.Fatal(err)
	}
	o = e.raw(e.tenantA, iam.KindApplication, app.ID)
	if bytes.Contains(o.Secret, []byte(cred.KeyID)) || bytes.Contains(o.Secret, []byte(hash)) || bytes.Contains(o.Data, []byte(cred.KeyID)) {
		t.Error("the removed secret is still stored")
	}
	if !bytes.Contains(o.Secret, []byte(second.KeyID)) {
		t.Error("the other secret was removed too")
	}
	wantErr(t, e.svc.RemovePassword(e.ctx, e.adminA, app.ID, cred.KeyID), errs.NotFound, "Request_ResourceNotFound", "")
	wantErr(t, e.svc.RemovePassword(e.ctx, e.adminA, app.ID, "nope"), errs.Invalid, "", "keyId")
}

func TestDeleteApplicationTakesServicePrincipal(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Gone"}`)
	sp := e.createSP(e.adminA, app.AppID)
	if err := e.svc.DeleteApplication(e.ctx, e.adminA, app.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.GetServicePrincipal(e.ctx, e.adminA, sp.ID)
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	if p, _ := e.svc.ListServicePrincipals(e.ctx, e.adminA, query.List{}); len(p.Items) != 0 {
		t.Errorf("live service principals = %d, want 0", len(p.Items))
	}
	if p, _ := e.svc.ListDeleted(e.ctx, e.adminA, iam.KindServicePrincipal, query.List{}); len(p.Items) != 1 {
		t.Errorf("deleted service principals = %d, want 1", len(p.Items))
	}
	// The appId is free while the application is deleted.
	if _, err := e.svc.GetApplicationByAppID(e.ctx, e.adminA, app.AppID); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleted application still found by appId: %v", err)
	}
	if _, err := e.svc.Restore(e.ctx, e.adminA, app.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetServicePrincipalByAppID(e.ctx, e.adminA, app.AppID)
	if err != nil || got.ID != sp.ID || got.DeletedDateTime != nil {
		t.Fatalf("service principal after restore = %+v, %v", got, err)
	}
}

func TestRestoreApplicationKeepsSeparatelyReplacedSP(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Twice"}`)
	first := e.createSP(e.adminA, app.AppID)
	if err := e.svc.DeleteServicePrincipal(e.ctx, e.adminA, first.ID); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	second := e.createSP(e.adminA, app.AppID)
	e.advance(time.Minute)
	if err := e.svc.DeleteApplication(e.ctx, e.adminA, app.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Restore(e.ctx, e.adminA, app.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetServicePrincipalByAppID(e.ctx, e.adminA, app.AppID)
	if err != nil || got.ID != second.ID {
		t.Fatalf("restored %v (%v), want the service principal deleted with the application %s", got.ID, err, second.ID)
	}
}

func TestApplicationOwners(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Owned"}`)
	u := e.createUser(e.adminA, "olga@alpha.ostiary.test")
	g := e.createGroup(e.adminA, "devs")
	sp := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"Robot"}`).AppID)
	for _, id := range []string{u.ID, sp.ID} {
		if err := e.svc.AddApplicationOwner(e.ctx, e.adminA, app.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	err := e.svc.AddApplicationOwner(e.ctx, e.adminA, app.ID, u.ID)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'owners'.")
	wantErr(t, e.svc.AddApplicationOwner(e.ctx, e.adminA, app.ID, g.ID), errs.Invalid, "Request_BadRequest", "")
	wantErr(t, e.svc.AddApplicationOwner(e.ctx, e.adminA, app.ID, iam.NewID()), errs.NotFound, "", "")
	p, err := e.svc.ListApplicationOwners(e.ctx, e.adminA, "appId="+app.AppID, query.List{})
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("owners = %d, %v", len(p.Items), err)
	}
	for _, o := range p.Items {
		if o.Kind == iam.KindServicePrincipal && bytes.Contains(o.Data, []byte(`"key":"`)) {
			t.Error("owner listing leaks certificate bodies")
		}
	}
	if err := e.svc.RemoveApplicationOwner(e.ctx, e.adminA, app.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.RemoveApplicationOwner(e.ctx, e.adminA, app.ID, u.ID), errs.NotFound, "Request_ResourceNotFound", "")
	if e.audits(e.tenantA, "Add owner to application") != 2 || e.audits(e.tenantA, "Remove owner from application") != 1 {
		t.Error("owner changes are not audited")
	}
}

func TestApplicationReadWriteOwnedBy(t *testing.T) {
	e := newAppsEnv(t)
	robotApp := e.createApp(e.adminA, `{"displayName":"Provisioner"}`)
	robot := e.createSP(e.adminA, robotApp.AppID)
	ownedBy := caller(e.tenantA, robot.ID, "Application.ReadWrite.OwnedBy")
	other := e.createApp(e.adminA, `{"displayName":"Someone else's"}`)

	// createAsOwner: the caller owns what it creates and can manage it.
	mine := e.createApp(ownedBy, `{"displayName":"Mine"}`)
	owners, err := e.svc.ListApplicationOwners(e.ctx, e.adminA, mine.ID, query.List{})
	if err != nil || len(owners.Items) != 1 || !bytes.Contains(owners.Items[0].Data, []byte(robot.ID)) {
		t.Fatalf("owners of the created app = %+v, %v", owners.Items, err)
	}
	if _, err := e.svc.GetApplication(e.ctx, ownedBy, mine.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateApplication(e.ctx, ownedBy, mine.ID, directory.Patch(`{"notes":"mine"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddPassword(e.ctx, ownedBy, mine.ID, nil); err != nil {
		t.Fatal(err)
	}
	mySP := e.createSP(ownedBy, mine.AppID)
	if err := e.svc.UpdateServicePrincipal(e.ctx, ownedBy, mySP.ID, directory.Patch(`{"notes":"mine"}`)); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.ListApplications(e.ctx, ownedBy, query.List{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != mine.ID {
		t.Fatalf("owned-only listing = %+v, %v", list.Items, err)
	}

	// Everything else is refused.
	_, err = e.svc.GetApplication(e.ctx, ownedBy, other.ID)
	wantDenied(t, err)
	wantDenied(t, e.svc.UpdateApplication(e.ctx, ownedBy, other.ID, directory.Patch(`{"notes":"theirs"}`)))
	_, err = e.svc.AddPassword(e.ctx, ownedBy, other.ID, nil)
	wantDenied(t, err)
	wantDenied(t, e.svc.DeleteApplication(e.ctx, ownedBy, other.ID))
	wantDenied(t, e.svc.AddApplicationOwner(e.ctx, ownedBy, other.ID, robot.ID))
	_, err = e.svc.CreateServicePrincipal(e.ctx, ownedBy, directory.Patch(`{"appId":"`+other.AppID+`"}`))
	wantDenied(t, err)

	// Once an admin makes it an owner, the same calls work.
	if err := e.svc.AddApplicationOwner(e.ctx, e.adminA, other.ID, robot.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateApplication(e.ctx, ownedBy, other.ID, directory.Patch(`{"notes":"shared"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteApplication(e.ctx, ownedBy, mine.ID); err != nil {
		t.Fatal(err)
	}
}

func TestApplicationsTenantIsolation(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"A only"}`)
	sp := e.createSP(e.adminA, app.AppID)
	_, err := e.svc.GetApplication(e.ctx, e.adminB, app.ID)
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	_, err = e.svc.GetApplicationByAppID(e.ctx, e.adminB, app.AppID)
	wantErr(t, err, errs.NotFound, "", "")
	wantErr(t, e.svc.UpdateApplication(e.ctx, e.adminB, app.ID, directory.Patch(`{"notes":"x"}`)), errs.NotFound, "", "")
	wantErr(t, e.svc.DeleteApplication(e.ctx, e.adminB, app.ID), errs.NotFound, "", "")
	_, err = e.svc.AddPassword(e.ctx, e.adminB, app.ID, nil)
	wantErr(t, err, errs.NotFound, "", "")
	wantErr(t, e.svc.AddApplicationOwner(e.ctx, e.adminB, app.ID, sp.ID), errs.NotFound, "", "")
	_, err = e.svc.GetServicePrincipal(e.ctx, e.adminB, sp.ID)
	wantErr(t, err, errs.NotFound, "", "")
	wantErr(t, e.svc.UpdateServicePrincipal(e.ctx, e.adminB, sp.ID, directory.Patch(`{"notes":"x"}`)), errs.NotFound, "", "")
	wantErr(t, e.svc.DeleteServicePrincipal(e.ctx, e.adminB, sp.ID), errs.NotFound, "", "")
	_, err = e.svc.CreateServicePrincipal(e.ctx, e.adminB, directory.Patch(`{"appId":"`+app.AppID+`"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "does not reference a valid application object")
	if p, _ := e.svc.ListApplications(e.ctx, e.adminB, query.List{}); len(p.Items) != 0 {
		t.Error("tenant B lists tenant A's application")
	}
	if p, _ := e.svc.ListServicePrincipals(e.ctx, e.adminB, query.List{}); len(p.Items) != 0 {
		t.Error("tenant B lists tenant A's service principal")
	}
	if got, err := e.svc.GetApplication(e.ctx, e.adminA, app.ID); err != nil || got.Notes != nil {
		t.Errorf("tenant A's application changed: %+v, %v", got, err)
	}
}

func TestApplicationsDenied(t *testing.T) {
	e := newAppsEnv(t)
	app := e.createApp(e.adminA, `{"displayName":"Locked"}`)
	none := caller(e.tenantA, "")
	reader := caller(e.tenantA, "", "Application.Read.All")
	_, err := e.svc.CreateApplication(e.ctx, none, directory.Patch(`{"displayName":"x"}`))
	wantDenied(t, err)
	_, err = e.svc.CreateApplication(e.ctx, reader, directory.Patch(`{"displayName":"x"}`))
	wantDenied(t, err)
	_, err = e.svc.GetApplication(e.ctx, none, app.ID)
	wantDenied(t, err)
	_, err = e.svc.ListApplications(e.ctx, none, query.List{})
	wantDenied(t, err)
	if _, err := e.svc.GetApplication(e.ctx, reader, app.ID); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, e.svc.UpdateApplication(e.ctx, reader, app.ID, directory.Patch(`{"notes":"x"}`)))
	_, err = e.svc.AddPassword(e.ctx, reader, app.ID, nil)
	wantDenied(t, err)
	wantDenied(t, e.svc.RemovePassword(e.ctx, reader, app.ID, iam.NewID()))
	wantDenied(t, e.svc.DeleteApplication(e.ctx, reader, app.ID))
	// Delegated callers wait for the RBAC evaluator.
	user := &iam.Caller{Type: iam.CallerUser, TenantID: e.tenantA, ObjectID: iam.NewID(), Scopes: []string{"Application.ReadWrite.All"}}
	_, err = e.svc.CreateApplication(e.ctx, user, directory.Patch(`{"displayName":"x"}`))
	wantDenied(t, err)
}
