package signin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/authn"
)

// TestCSP: the policy never allows script or inline style, and adds only
// well-formed origins to form-action.
func TestCSP(t *testing.T) {
	got := csp("http://localhost:5000/cb?x=1", "myapp://auth", "https://a.example/;script-src *", "https://b c;x/", "")
	want := "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http://localhost:5000 https://a.example; frame-ancestors 'none'; base-uri 'none'"
	if got != want {
		t.Errorf("csp = %q", got)
	}
}

// TestTemplatesHaveNoScript: every page renders without script, inline
// style or event handlers, and escapes what it shows.
func TestTemplatesHaveNoScript(t *testing.T) {
	hostile := `"><script>alert(1)</script>`
	views := map[string]any{
		"login.html":     loginView{Page: newPage("t"), Action: "/x", CSRF: "c", Username: hostile, Error: hostile, Hidden: []field{{"state", hostile}}},
		"error.html":     errorView{Page: newPage("t"), Heading: "h", Message: hostile},
		"formpost.html":  formPostView{Page: newPage("t"), Action: "http://localhost:1/", Fields: []field{{"code", hostile}}},
		"signout.html":   signOutView{Page: newPage("t"), Action: "/x", CSRF: "c", Username: hostile},
		"signedout.html": signedOutView{Page: newPage("t")},
		"consent.html": consentView{Page: newPage("t"), Action: "/x", CSRF: "c", AppName: hostile, PublisherDomain: hostile, Username: hostile,
			Scopes: []authn.ConsentScope{{Value: "v", DisplayName: hostile, Description: hostile}}, Hidden: []field{{"state", hostile}}},
	}
	for name, v := range views {
		var buf bytes.Buffer
		if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		low := strings.ToLower(buf.String())
		for _, bad := range []string{"<script", " style=", "<style", " onclick", " onload", "javascript:"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q: %s", name, bad, buf.String())
			}
		}
	}
}
