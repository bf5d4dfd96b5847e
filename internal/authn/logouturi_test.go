package authn_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// TestIsRegisteredLogoutURI: the sign-out page may redirect only to a URI
// an application of the tenant registered, matched exactly (the store's
// case-insensitive narrowing must not let a case variant through).
func TestIsRegisteredLogoutURI(t *testing.T) {
	w := setup(t)
	logout := "https://app.example/signed-out"
	app := iam.Application{ObjectMeta: iam.ObjectMeta{ID: iam.NewID()}, AppID: iam.NewID(),
		Web:          &iam.WebApplication{RedirectURIs: []string{"https://app.example/cb"}, LogoutURL: &logout},
		Spa:          &iam.RedirectURIs{RedirectURIs: []string{"https://spa.example/"}},
		PublicClient: &iam.RedirectURIs{RedirectURIs: []string{"http://localhost"}}}
	data, _ := json.Marshal(app)
	if err := w.st.Write(context.Background(), func(wr store.Writer) error {
		return wr.Insert(store.Object{TenantID: tenantID, Kind: iam.KindApplication, ID: app.ID, Key: app.AppID, CreatedAt: now, Data: data})
	}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"https://app.example/cb":         true,
		"https://app.example/signed-out": true,
		"https://spa.example/":           true,
		"http://localhost":               true,
		"https://APP.example/cb":         false,
		"https://app.example/cb/":        false,
		"https://evil.example/":          false,
		"":                               false,
	}
	for uri, want := range cases {
		got, err := w.svc.IsRegisteredLogoutURI(context.Background(), tenantID, app.AppID, uri)
		if err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", uri, got, err, want)
		}
	}
	// Another tenant's registrations never count, nor another app's, nor a
	// missing client id.
	if got, _ := w.svc.IsRegisteredLogoutURI(context.Background(), iam.NewID(), app.AppID, "https://app.example/cb"); got {
		t.Error("a URI registered in another tenant was accepted")
	}
	if got, _ := w.svc.IsRegisteredLogoutURI(context.Background(), tenantID, iam.NewID(), "https://app.example/cb"); got {
		t.Error("a URI registered by another application was accepted")
	}
	if got, _ := w.svc.IsRegisteredLogoutURI(context.Background(), tenantID, "", "https://app.example/cb"); got {
		t.Error("a URI was accepted without a client id")
	}
}
