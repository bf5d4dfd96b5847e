package webdriver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest/webdriver"
)

// TestBrowserClient: the client drives Chromium over a self-signed TLS
// server, and the console log reports what the sign-in tests must not
// see: a Content-Security-Policy violation and a script error.
func TestBrowserClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/csp":
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			_, _ = w.Write([]byte(`<!doctype html><title>CSP</title><p>blocked<script>document.title="ran"</script>`))
		case "/error":
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
			_, _ = w.Write([]byte(`<!doctype html><title>Error</title><p>error<script src="/err.js"></script>`))
		case "/err.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(`undefinedFunction();`))
		case "/done":
			_, _ = w.Write([]byte(`<!doctype html><title>Done</title><p id="q">` + r.URL.Query().Get("q") + `</p>`))
		default:
			_, _ = w.Write([]byte(`<!doctype html><title>Form</title><form action="/done"><input id="q" name="q"><button>Go</button></form>`))
		}
	}))
	defer srv.Close()
	b := webdriver.New(t)

	b.Navigate(srv.URL + "/")
	if b.Title() != "Form" {
		t.Fatalf("title %q", b.Title())
	}
	b.Find("#q").SendKeys("hello")
	b.Find("#q").Submit()
	b.WaitURL(srv.URL + "/done?q=hello")
	if got := b.Find("p#q").Text(); got != "hello" {
		t.Errorf("text after submit: %q", got)
	}
	if got := b.Execute("return document.getElementById(arguments[0]).textContent", "q"); got != "hello" {
		t.Errorf("script result: %v", got)
	}
	if png := b.Capture("done"); len(png) < 100 {
		t.Errorf("screenshot of %d bytes", len(png))
	}
	for _, e := range b.Log() {
		if e.Level == "SEVERE" {
			t.Errorf("console error on a clean page: %s", e)
		}
	}

	b.Navigate(srv.URL + "/csp")
	if b.Title() != "CSP" {
		t.Errorf("the inline script ran despite the CSP: title %q", b.Title())
	}
	if !hasEntry(b.Log(), "Content Security Policy") {
		t.Error("no CSP violation in the console log")
	}
	b.Navigate(srv.URL + "/error")
	if !hasEntry(b.Log(), "undefinedFunction") {
		t.Error("no script error in the console log")
	}
	if id := b.AddVirtualAuthenticator(); id == "" || len(b.Credentials(id)) != 0 {
		t.Error("virtual authenticator")
	}
}

func hasEntry(log []webdriver.LogEntry, s string) bool {
	for _, e := range log {
		if e.Level == "SEVERE" && strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}
