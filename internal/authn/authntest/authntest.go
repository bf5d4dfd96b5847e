// Package authntest seeds a store with the directory objects client
// authentication reads (tenant, domain, Microsoft Graph, applications,
// service principals, secrets, app role assignments) in exactly the storage
// format the directory service writes, for tests of authn and the token
// endpoints. It writes through the store, not the directory service, so
// those tests do not depend on the directory's own rules.
package authntest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
)

// Secret is a client secret to register on an application.
type Secret struct {
	Value      string
	Start, End *time.Time
}

// AppSpec describes an application registration and its service principal.
type AppSpec struct {
	DisplayName    string
	IdentifierURIs []string
	// TokenVersion is api.requestedAccessTokenVersion (0: unset).
	TokenVersion int
	AppRoles     []iam.AppRole
	Secrets      []Secret
	// Disabled sets the service principal's accountEnabled to false.
	Disabled bool
	// SignInAudience is the application's signInAudience ("" leaves it
	// unset: single-tenant, Entra's default).
	SignInAudience string
}

// App is a seeded application.
type App struct {
	AppID, ObjectID, SPID string
	// KeyIDs are the keyIds of the secrets, in AppSpec order.
	KeyIDs []string
}

// Tenant creates a tenant with a verified domain.
func Tenant(t testing.TB, st store.Store, id, displayName, domain string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	write(t, st, func(w store.Writer) error {
		if err := w.CreateTenant(iam.Tenant{ID: id, DisplayName: displayName, InitialDomain: domain, CreatedDateTime: now}); err != nil {
			return err
		}
		return w.Insert(store.Object{
			TenantID: id, Kind: iam.KindDomain, ID: domain, Key: domain, CreatedAt: now,
			Data: mustJSON(iam.Domain{ID: domain, AuthenticationType: "Managed", IsVerified: true, IsInitial: true, IsDefault: true}),
		})
	})
}

// GraphRoles are the Graph application permissions seeded on the Graph
// service principal.
var GraphRoles = []string{"User.Read.All", "Group.Read.All", "Application.Read.All", "Directory.Read.All"}

// Graph creates the Microsoft Graph service principal in a tenant and
// returns its object id.
func Graph(t testing.TB, st store.Store, tenantID string) string {
	t.Helper()
	var roles []iam.AppRole
	for _, v := range GraphRoles {
		r, ok := graphperms.AppRoleByValue(v)
		if !ok {
			t.Fatalf("graphperms has no %s", v)
		}
		roles = append(roles, r)
	}
	id := iam.NewID()
	name := "Microsoft Graph"
	enabled := true
	sp := iam.ServicePrincipal{
		ObjectMeta: iam.ObjectMeta{ID: id, DisplayName: &name}, AppID: iam.MicrosoftGraphAppID,
		AppDisplayName: &name, AccountEnabled: &enabled,
		ServicePrincipalNames: []string{iam.MicrosoftGraphResource, "https://graph.microsoft.com/", "https://canary.graph.microsoft.com", iam.MicrosoftGraphAppID},
		AppRoles:              roles,
	}
	insert(t, st, store.Object{TenantID: tenantID, Kind: iam.KindServicePrincipal, ID: id, Key: iam.MicrosoftGraphAppID, DisplayName: name, Data: mustJSON(sp)})
	return id
}

// Application registers an application with its service principal in the
// tenant, and the hashes of its secrets.
func Application(t testing.TB, st store.Store, tenantID string, spec AppSpec) App {
	t.Helper()
	app := App{AppID: iam.NewID(), ObjectID: iam.NewID(), SPID: iam.NewID()}
	name := spec.DisplayName
	hashes := map[string]string{}
	a := iam.Application{
		ObjectMeta: iam.ObjectMeta{ID: app.ObjectID, DisplayName: &name},
		AppID:      app.AppID, IdentifierURIs: spec.IdentifierURIs, AppRoles: spec.AppRoles,
		API: &iam.APIApplication{},
	}
	if spec.TokenVersion != 0 {
		v := spec.TokenVersion
		a.API.RequestedAccessTokenVersion = &v
	}
	if spec.SignInAudience != "" {
		aud := spec.SignInAudience
		a.SignInAudience = &aud
	}
	for _, s := range spec.Secrets {
		keyID := iam.NewID()
		hint := s.Value[:3]
		a.PasswordCredentials = append(a.PasswordCredentials, iam.PasswordCredential{KeyID: keyID, Hint: &hint, StartDateTime: s.Start, EndDateTime: s.End})
		hashes[keyID] = passwords.HashClientSecret(s.Value)
		app.KeyIDs = append(app.KeyIDs, keyID)
	}
	enabled := !spec.Disabled
	owner := tenantID
	sp := iam.ServicePrincipal{
		ObjectMeta: iam.ObjectMeta{ID: app.SPID, DisplayName: &name}, AppID: app.AppID,
		AppDisplayName: &name, AccountEnabled: &enabled, AppOwnerOrganizationID: &owner,
		ServicePrincipalNames: append(append([]string{}, spec.IdentifierURIs...), app.AppID),
		AppRoles:              spec.AppRoles,
	}
	secret := mustJSON(map[string]any{"passwords": hashes})
	write(t, st, func(w store.Writer) error {
		if err := w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindApplication, ID: app.ObjectID, Key: app.AppID, DisplayName: name, Data: mustJSON(a), Secret: secret}); err != nil {
			return err
		}
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindServicePrincipal, ID: app.SPID, Key: app.AppID, DisplayName: name, Data: mustJSON(sp)})
	})
	return app
}

// Provision creates, in tenantID, a service principal of app (registered
// in ownerTenantID) and sets the application's signInAudience: what
// consent to a multi-tenant application does in a customer's tenant. It
// returns the new service principal's object id.
func Provision(t testing.TB, st store.Store, tenantID, ownerTenantID string, app App, signInAudience string) string {
	t.Helper()
	id := iam.NewID()
	write(t, st, func(w store.Writer) error {
		o, err := w.Get(ownerTenantID, iam.KindApplication, app.ObjectID)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(o.Data, &doc); err != nil {
			return err
		}
		doc["signInAudience"] = signInAudience
		o.Data = mustJSON(doc)
		if err := w.Update(o); err != nil {
			return err
		}
		name, _ := doc["displayName"].(string)
		enabled := true
		sp := iam.ServicePrincipal{ObjectMeta: iam.ObjectMeta{ID: id, DisplayName: &name}, AppID: app.AppID,
			AppDisplayName: &name, AccountEnabled: &enabled, AppOwnerOrganizationID: &ownerTenantID,
			ServicePrincipalNames: []string{app.AppID}, SignInAudience: &signInAudience}
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindServicePrincipal, ID: id, Key: app.AppID, DisplayName: name, Data: mustJSON(sp)})
	})
	return id
}

// Assign grants the app role appRoleID of the resource service principal
// to the client service principal.
func Assign(t testing.TB, st store.Store, tenantID, clientSPID, resourceSPID, appRoleID string) {
	t.Helper()
	id := iam.NewID()
	now := time.Now().UTC().Truncate(time.Second)
	write(t, st, func(w store.Writer) error {
		return w.AddLink(store.Link{
			TenantID: tenantID, Rel: iam.RelAppRoleAssignment, SourceID: clientSPID, TargetID: resourceSPID,
			Qualifier: appRoleID, ID: id, CreatedAt: now,
			Data: mustJSON(iam.AppRoleAssignment{ID: id, AppRoleID: appRoleID, PrincipalID: clientSPID,
				PrincipalType: "ServicePrincipal", ResourceID: resourceSPID, CreatedDateTime: &now}),
		})
	})
}

// GraphRoleID returns the id of a Graph application permission.
func GraphRoleID(t testing.TB, value string) string {
	t.Helper()
	r, ok := graphperms.AppRoleByValue(value)
	if !ok {
		t.Fatalf("graphperms has no %s", value)
	}
	return r.ID
}

// Role builds an enabled application app role.
func Role(value string) iam.AppRole {
	v := value
	return iam.AppRole{ID: iam.NewID(), AllowedMemberTypes: []string{"Application"}, DisplayName: value, Value: &v, IsEnabled: true}
}

func insert(t testing.TB, st store.Store, o store.Object) {
	t.Helper()
	write(t, st, func(w store.Writer) error { return w.Insert(o) })
}

func write(t testing.TB, st store.Store, fn func(store.Writer) error) {
	t.Helper()
	if err := st.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
