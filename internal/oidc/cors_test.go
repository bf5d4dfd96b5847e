package oidc

import (
	"net/http/httptest"
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
)

// TestAllowSPAOrigin: only an origin of the client's spa redirect URIs
// may read a token response, compared as browsers do (case and default
// port aside); web and public client URIs, "null" and malformed origins
// never.
func TestAllowSPAOrigin(t *testing.T) {
	app := &iam.Application{
		Spa:          &iam.RedirectURIs{RedirectURIs: []string{"https://SPA.example:443/app", "http://localhost:3000/"}},
		Web:          &iam.WebApplication{RedirectURIs: []string{"https://web.example/cb"}},
		PublicClient: &iam.RedirectURIs{RedirectURIs: []string{"http://localhost"}},
	}
	cases := map[string]string{
		"https://spa.example":      "https://spa.example",
		"http://localhost:3000":    "http://localhost:3000",
		"https://web.example":      "",
		"http://localhost":         "",
		"https://spa.example.evil": "",
		"null":                     "",
		"https://spa.example/":     "",
		"":                         "",
	}
	for origin, want := range cases {
		r := httptest.NewRequest("POST", "/t/oauth2/v2.0/token", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		allowSPAOrigin(w, r, app)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("%q: got %q, want %q", origin, got, want)
		}
	}
	r := httptest.NewRequest("POST", "/t/oauth2/v2.0/token", nil)
	r.Header.Set("Origin", "https://spa.example")
	w := httptest.NewRecorder()
	allowSPAOrigin(w, r, nil)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" || w.Header().Get("Vary") != "Origin" {
		t.Errorf("unknown client: %q %v", got, w.Header())
	}
}
