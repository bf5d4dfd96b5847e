package authn_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const (
	tenantID = "3c1f2a4b-5d6e-4f70-8192-a3b4c5d6e7f8"
	domain   = "contoso.ostiary.test"
	secret   = "Qx8~valid.secret_value-0123456789abcdefgh"
)

var now = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

type world struct {
	st                       store.Store
	svc                      *authn.Service
	graphSP                  string
	client, api, legacy, dis authntest.App
	disabledRole             iam.AppRole
}

func setup(t *testing.T) *world {
	t.Helper()
	db := backendtest.Open(t)
	w := &world{st: db, svc: authn.New(db)}
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	w.graphSP = authntest.Graph(t, db, tenantID)

	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	longAgo := now.Add(-48 * time.Hour)
	w.client = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Daemon",
		Secrets: []authntest.Secret{
			{Value: "expired-secret-0123456789abcdefghijklmno", Start: &longAgo, End: &past},
			{Value: secret, Start: &past, End: &future},
			{Value: "not-yet-valid-secret-0123456789abcdefghi", Start: &future},
		},
	})
	ordersRead, ordersWrite := authntest.Role("Orders.Read"), authntest.Role("Orders.Write")
	w.disabledRole = authntest.Role("Orders.Admin")
	w.disabledRole.IsEnabled = false
	w.api = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2,
		AppRoles: []iam.AppRole{ordersRead, ordersWrite, w.disabledRole},
	})
	w.legacy = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Legacy API", IdentifierURIs: []string{"https://legacy.contoso.test/"},
	})
	w.dis = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Disabled", Disabled: true, Secrets: []authntest.Secret{{Value: secret}},
	})
	for _, v := range []string{"User.Read.All", "Group.Read.All"} {
		authntest.Assign(t, db, tenantID, w.client.SPID, w.graphSP, authntest.GraphRoleID(t, v))
	}
	authntest.Assign(t, db, tenantID, w.client.SPID, w.api.SPID, ordersRead.ID)
	authntest.Assign(t, db, tenantID, w.client.SPID, w.api.SPID, w.disabledRole.ID)
	return w
}

// wantCode checks err is an *errs.Error with the AADSTS code.
func wantCode(t *testing.T, err error, code string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return e
}

func TestResolveTenant(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	for _, seg := range []string{tenantID, strings.ToUpper(tenantID), domain, "CONTOSO.ostiary.TEST"} {
		got, err := w.svc.ResolveTenant(ctx, seg)
		if err != nil || got.ID != tenantID {
			t.Errorf("%s → %+v, %v", seg, got, err)
		}
	}
	for _, seg := range []string{"00000000-0000-4000-8000-000000000000", "fabrikam.test", "bad/segment", ""} {
		_, err := w.svc.ResolveTenant(ctx, seg)
		e := wantCode(t, err, "AADSTS90002")
		if !strings.HasPrefix(e.Message, "Tenant '"+seg+"' not found.") {
			t.Errorf("message %q", e.Message)
		}
	}
}

func TestAuthenticateClientSecret(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	c, err := w.svc.AuthenticateClientSecret(ctx, tenantID, strings.ToUpper(w.client.AppID), secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Application.AppID != w.client.AppID || c.ServicePrincipal.ID != w.client.SPID || c.CredentialKeyID != w.client.KeyIDs[1] {
		t.Errorf("client = app %s sp %s key %s", c.Application.AppID, c.ServicePrincipal.ID, c.CredentialKeyID)
	}

	cases := []struct {
		name, tenant, client, secret, code string
	}{
		{"wrong secret", tenantID, w.client.AppID, "nope", "AADSTS7000215"},
		{"empty secret", tenantID, w.client.AppID, "", "AADSTS7000215"},
		{"secret id instead of value", tenantID, w.client.AppID, w.client.KeyIDs[1], "AADSTS7000215"},
		{"expired secret", tenantID, w.client.AppID, "expired-secret-0123456789abcdefghijklmno", "AADSTS7000222"},
		{"secret not valid yet", tenantID, w.client.AppID, "not-yet-valid-secret-0123456789abcdefghi", "AADSTS7000215"},
		{"unknown client", tenantID, iam.NewID(), secret, "AADSTS700016"},
		{"client id not a GUID", tenantID, "daemon", secret, "AADSTS700016"},
		{"disabled service principal", tenantID, w.dis.AppID, secret, "AADSTS7000112"},
		{"disabled, wrong secret", tenantID, w.dis.AppID, "nope", "AADSTS7000215"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.svc.AuthenticateClientSecret(ctx, tc.tenant, tc.client, tc.secret, now)
			e := wantCode(t, err, tc.code)
			if tc.code == "AADSTS700016" && !strings.Contains(e.Message, "'"+tc.client+"' was not found in the directory 'Contoso'") {
				t.Errorf("message %q", e.Message)
			}
		})
	}
}

// TestClientOfAnotherTenant: an app registered in one tenant has no
// service principal in another, so it is unknown there.
func TestClientOfAnotherTenant(t *testing.T) {
	w := setup(t)
	const other = "4d2e3f50-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
	authntest.Tenant(t, w.st, other, "Fabrikam", "fabrikam.ostiary.test")
	_, err := w.svc.AuthenticateClientSecret(context.Background(), other, w.client.AppID, secret, now)
	wantCode(t, err, "AADSTS700016")
}

func TestGrantedAppRoles(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	cases := []struct {
		resource   string
		wantSP     string
		wantID     string
		wantByApp  bool
		wantVer    int
		wantRoles  []string
		wantIsGraf bool
	}{
		{"https://graph.microsoft.com", w.graphSP, "https://graph.microsoft.com", false, 1, []string{"Group.Read.All", "User.Read.All"}, true},
		{"HTTPS://Graph.Microsoft.com/", w.graphSP, "https://graph.microsoft.com", false, 1, []string{"Group.Read.All", "User.Read.All"}, true},
		{iam.MicrosoftGraphAppID, w.graphSP, iam.MicrosoftGraphAppID, true, 1, []string{"Group.Read.All", "User.Read.All"}, true},
		{"https://canary.graph.microsoft.com", w.graphSP, "https://canary.graph.microsoft.com", false, 0, []string{"Group.Read.All", "User.Read.All"}, true},
		{"api://orders", w.api.SPID, "api://orders", false, 2, []string{"Orders.Read"}, false},
		{"API://ORDERS/", w.api.SPID, "api://orders", false, 2, []string{"Orders.Read"}, false},
		{strings.ToUpper(w.api.AppID), w.api.SPID, w.api.AppID, true, 2, []string{"Orders.Read"}, false},
		{"https://legacy.contoso.test", w.legacy.SPID, "https://legacy.contoso.test", false, 0, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.resource, func(t *testing.T) {
			g, err := w.svc.GrantedAppRoles(ctx, tenantID, w.client.SPID, tc.resource)
			if err != nil {
				t.Fatal(err)
			}
			if g.ServicePrincipalID != tc.wantSP || g.Identifier != tc.wantID || g.ByAppID != tc.wantByApp ||
				g.IsGraph() != tc.wantIsGraf || !slices.Equal(g.Roles, tc.wantRoles) {
				t.Errorf("grant = %+v", g)
			}
			if !tc.wantIsGraf && g.AccessTokenVersion != tc.wantVer {
				t.Errorf("version = %d, want %d", g.AccessTokenVersion, tc.wantVer)
			}
		})
	}
	for _, res := range []string{"api://unknown", "https://graph.microsoft.com.evil.test", iam.NewID(), "api://", ""} {
		_, err := w.svc.GrantedAppRoles(ctx, tenantID, w.client.SPID, res)
		e := wantCode(t, err, "AADSTS500011")
		if !strings.HasPrefix(e.Message, "The resource principal named "+res+" was not found in the tenant named Contoso.") {
			t.Errorf("message %q", e.Message)
		}
	}
}

// TestRevokedRoleLeavesAtOnce: resources are cached, assignments are not.
func TestRevokedRoleLeavesAtOnce(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	if g, err := w.svc.GrantedAppRoles(ctx, tenantID, w.client.SPID, "https://graph.microsoft.com"); err != nil || len(g.Roles) != 2 {
		t.Fatalf("%+v %v", g, err)
	}
	if err := w.st.Write(ctx, func(wr store.Writer) error {
		return wr.RemoveLink(tenantID, iam.RelAppRoleAssignment, w.client.SPID, w.graphSP, authntest.GraphRoleID(t, "User.Read.All"))
	}); err != nil {
		t.Fatal(err)
	}
	g, err := w.svc.GrantedAppRoles(ctx, tenantID, w.client.SPID, "https://graph.microsoft.com")
	if err != nil || !slices.Equal(g.Roles, []string{"Group.Read.All"}) {
		t.Fatalf("after revocation: %+v %v", g, err)
	}
}
