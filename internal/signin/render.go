package signin

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/ostiary/ostiary/internal/oauth2"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/signin.css
var stylesheet []byte

const stylesheetPath = "/static/signin/signin.css"

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// field is a hidden form field.
type field struct{ Name, Value string }

// Page is what every page's layout reads.
type Page struct {
	Title      string
	Stylesheet string
	// Script is the one script a page may load (passkey.go), or "".
	Script string
}

// loginView is the user name and password page.
type loginView struct {
	Page
	Action   string
	CSRF     string
	Username string
	Error    string
	AppName  string
	Hidden   []field
	// Passkey offers a passwordless sign-in (passkey.go).
	Passkey *PasskeyCeremony
}

// errorView is a page that ends a flow with an error the browser cannot
// take back to the client (a bad client_id or redirect_uri).
type errorView struct {
	Page
	Heading string
	Message string
	Code    string
	TraceID string
}

// formPostView carries an authorize response to the client's redirect URI
// as a POSTed form (response_mode=form_post). Without script it cannot
// submit itself: the user presses Continue.
type formPostView struct {
	Page
	Action string
	Fields []field
}

// signOutView asks the user to confirm signing out.
type signOutView struct {
	Page
	Action   string
	CSRF     string
	Username string
	Hidden   []field
}

// signedOutView says the user is signed out, lists the applications the
// session had signed in to, frames their front-channel logout URLs and
// offers the post-logout redirect (Continue) when there is one.
type signedOutView struct {
	Page
	Apps     []string
	Frames   []string
	Continue string
}

// cspSources are the origins a page may send forms to and frame, besides
// this host (forms) and nothing (frames).
type cspSources struct {
	forms, frames []string
	dataImages    bool
	// scripts allows this host's scripts: only the passkey script, on
	// pages that offer a passkey (withPasskeyScript).
	scripts bool
}

// csp is the Content-Security-Policy of every page: nothing but this
// host's stylesheet (and, on pages that offer a passkey, this host's
// script), forms only to this host and the given origins, frames only
// from the given origins (none on almost every page).
func csp(src cspSources) string {
	img := "'self'"
	if src.dataImages {
		img += " data:" // the QR code of an authenticator app being registered
	}
	p := "default-src 'none'; "
	if src.scripts {
		p += "script-src 'self'; "
	}
	p += "style-src 'self'; img-src " + img + "; form-action " + originList("'self'", src.forms)
	if len(src.frames) > 0 {
		if fs := originList("", src.frames); fs != "" {
			p += "; frame-src " + fs
		}
	}
	return p + "; frame-ancestors 'none'; base-uri 'none'"
}

// originList joins first and the origins of uris, each once, with spaces.
func originList(first string, uris []string) string {
	out := first
	seen := map[string]bool{}
	for _, o := range uris {
		if o = oauth2.Origin(o); o != "" && !seen[o] {
			seen[o] = true
			if out != "" {
				out += " "
			}
			out += o
		}
	}
	return out
}

// render executes a page into a buffer and writes it with the page headers.
func (h *Handler) render(w http.ResponseWriter, status int, name string, view any, formOrigins ...string) {
	h.renderPolicy(w, status, name, view, cspSources{forms: formOrigins})
}

// renderPolicy is render with the page's CSP sources.
func (h *Handler) renderPolicy(w http.ResponseWriter, status int, name string, view any, src cspSources) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, view); err != nil {
		h.log.Error("sign-in page failed to render", "page", name, "err", err)
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>An internal error occurred.</p>")
		status = http.StatusInternalServerError
		src = cspSources{}
	}
	setPageHeaders(w, src)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageHeaders sets the headers of every response of the pages, redirects
// included (a redirect's body is HTML too).
func pageHeaders(w http.ResponseWriter, formOrigins ...string) {
	setPageHeaders(w, cspSources{forms: formOrigins})
}

func setPageHeaders(w http.ResponseWriter, src cspSources) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp(src))
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
}

func newPage(title string) Page { return Page{Title: title, Stylesheet: stylesheetPath} }

// showError renders the error page.
func (h *Handler) showError(w http.ResponseWriter, status int, heading, code, message, traceID string) {
	h.render(w, status, "error.html", errorView{Page: newPage(heading), Heading: heading, Code: code, Message: message, TraceID: traceID})
}

func serveStylesheet(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write(stylesheet)
}

// serveNoFavicon answers the icon request every browser sends with each
// page: an empty answer rather than a 404, which browsers log as an error
// in the console of every sign-in page. (A data: icon in the pages would
// break their CSP, img-src 'self'.)
func serveNoFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.WriteHeader(http.StatusNoContent)
}

// hiddenFields turns parameters into sorted hidden fields, leaving out
// names the page sets itself.
func hiddenFields(form map[string][]string, skip ...string) []field {
	var out []field
	for _, k := range sortedKeys(form) {
		if contains(skip, k) || len(form[k]) == 0 {
			continue
		}
		out = append(out, field{Name: k, Value: form[k][0]})
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // O(n log n): a request may carry 10,000 parameters
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
