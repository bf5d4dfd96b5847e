package signin

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

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
// TestHiddenFields checks the fields carried through a form: sorted, the
// skipped one left out, none lost at scale. Its cost at scale (it must stay
// n log n: a form can carry thousands of parameters) is
// BenchmarkHiddenFields, not a timed test.
func TestHiddenFields(t *testing.T) {
	if m := manyFields(10000); len(hiddenFields(m)) != len(m) {
		t.Fatal("hiddenFields lost fields")
	}
	got := hiddenFields(map[string][]string{"b": {"2"}, "a": {"1"}, "c": {"3"}, "skip": {"x"}}, "skip")
	if len(got) != 3 || got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "c" {
		t.Errorf("hiddenFields = %v", got)
	}
}

func manyFields(n int) map[string][]string {
	m := make(map[string][]string, n)
	for i := range n {
		m[strconv.Itoa(i*7919%n)+"k"] = []string{"v"}
	}
	return m
}

// BenchmarkHiddenFields: compare the 1000 and 10000 cases; ten times the
// parameters should cost about ten (not a hundred) times as much.
func BenchmarkHiddenFields(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		m := manyFields(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				hiddenFields(m)
			}
		})
	}
}

// TestPasskeyPages: a page that offers a passkey loads the one
// same-origin script, with nothing inline, and its CSP allows exactly
// that; the options are escaped into an attribute. The script itself
// evaluates no strings.
func TestPasskeyPages(t *testing.T) {
	got := csp(cspSources{scripts: true})
	want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if got != want {
		t.Errorf("csp with the passkey script = %q", got)
	}
	hostile := `"><script>alert(1)</script>`
	pk := &PasskeyCeremony{Options: `{"publicKey":{"challenge":"` + hostile + `"}}`, Handle: hostile}
	page := newPage("t")
	withPasskeyScript(&page, &cspSources{})
	views := map[string]any{
		"login.html": loginView{Page: page, Action: "/x", CSRF: "c", Passkey: pk, Hidden: []field{{"state", hostile}}},
		"mfa.html":   mfaView{Page: page, Action: "/x", CSRF: "c", Code: true, Passkey: pk},
		"securityinfo.html": securityInfoView{Page: page, CSRF: "c", Verify: true, VerifyCode: true, VerifyPasskey: pk,
			Pending: map[string][]string{"ostiary_change": {"add-passkey"}}},
	}
	views["securityinfo.html+add"] = securityInfoView{Page: page, CSRF: "c", AddingPasskey: pk}
	for name, v := range views {
		var buf bytes.Buffer
		if err := pages.ExecuteTemplate(&buf, strings.TrimSuffix(name, "+add"), v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := strings.ToLower(buf.String())
		if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/static/signin/passkey.js" defer></script>`) {
			t.Errorf("%s: want exactly the passkey script, got %d script tags: %s", name, n, buf.String())
		}
		for _, bad := range []string{" style=", "<style", " onclick", " onload", " onsubmit", "javascript:", "<script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q: %s", name, bad, buf.String())
			}
		}
		if !strings.Contains(body, `data-passkey-options="{&#34;publickey&#34;`) || !strings.Contains(body, " hidden>") {
			t.Errorf("%s: options not escaped into a hidden form's attribute: %s", name, buf.String())
		}
	}
	js := string(passkeyScript)
	for _, bad := range []string{"eval(", "Function(", "innerHTML", "setTimeout(\"", "document.write"} {
		if strings.Contains(js, bad) {
			t.Errorf("passkey.js uses %q", bad)
		}
	}
}
