package signin

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
)

// TestCSP: the policy never allows script or inline style, and adds only
// well-formed origins to form-action.
func TestCSP(t *testing.T) {
	got := csp(cspSources{forms: []string{"http://localhost:5000/cb?x=1", "myapp://auth", "https://a.example/;script-src *", "https://b c;x/", ""}})
	want := "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http://localhost:5000 https://a.example; frame-ancestors 'none'; base-uri 'none'"
	if got != want {
		t.Errorf("csp = %q", got)
	}
	// Frames only from the front-channel logout URLs' origins, once each,
	// never a malformed one.
	got = csp(cspSources{frames: []string{"https://app.example/logout?sid=1", "https://app.example/other", "https://x y;script-src *", "javascript:alert(1)"}})
	want = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-src https://app.example; frame-ancestors 'none'; base-uri 'none'"
	if got != want {
		t.Errorf("csp with frames = %q", got)
	}
	if got := csp(cspSources{frames: []string{"myapp://x"}}); strings.Contains(got, "frame-src") {
		t.Errorf("csp with no valid frame origin = %q", got)
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
		"signedout.html": signedOutView{Page: newPage("t"), Apps: []string{hostile}, Frames: []string{"javascript:alert(1)"}, Continue: "javascript:alert(1)"},
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

// TestHiddenFieldsScale: the hidden fields of a page sort the request's
// parameters, up to the 10,000 the URL parser admits, on every
// unauthenticated authorize request; the sort must not be quadratic.
// (Insertion sort took about 100 times longer for 10 times the keys.)
func TestHiddenFieldsScale(t *testing.T) {
	form := func(n int) map[string][]string {
		m := make(map[string][]string, n)
		for i := range n {
			m[strconv.Itoa(i*7919%n)+"k"] = []string{"v"}
		}
		return m
	}
	best := func(m map[string][]string) time.Duration {
		d := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			if got := hiddenFields(m); len(got) != len(m) {
				t.Fatalf("hiddenFields lost fields: %d of %d", len(got), len(m))
			}
			d = min(d, time.Since(start))
		}
		return d
	}
	small, large := best(form(1000)), best(form(10000))
	if large > 40*small && large > 20*time.Millisecond {
		t.Errorf("10x the parameters took %.0fx as long (%v vs %v): quadratic", float64(large)/float64(small), large, small)
	}
	got := hiddenFields(map[string][]string{"b": {"2"}, "a": {"1"}, "c": {"3"}, "skip": {"x"}}, "skip")
	if len(got) != 3 || got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "c" {
		t.Errorf("hiddenFields = %v", got)
	}
}
