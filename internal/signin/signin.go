// Package signin serves the browser side of the token service: the
// authorize endpoint with its sign-in page, the browser session that gives
// single sign-on, and sign-out (TOKENS.md §3 and §8).
//
// Pages are html/template files embedded in the binary, one typed view
// struct per page, rendered into a buffer before anything is written. Every
// response carries a strict Content-Security-Policy: no script (except one
// same-origin file on pages that offer a passkey, which WebAuthn needs;
// never inline), no inline style (one small stylesheet served from this
// host), forms only to this host and to the client's validated redirect
// origin, no framing.
// Every form that changes state carries a CSRF token (a double-submit
// cookie compared in constant time). Pages work without JavaScript;
// only passkeys need it.
//
// Protocol errors follow Entra: a problem with client_id or redirect_uri
// is shown on a page and never redirected (AADSTS50011), anything after
// the redirect URI is validated goes back to the client as error and
// error_description with the state.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
)

// Directory is what the pages need from authentication (package authn).
// Errors carry AADSTS codes.
type Directory interface {
	ResolveTenant(ctx context.Context, segment string) (iam.Tenant, error)
	LookupClient(ctx context.Context, tenantID, clientID string) (*authn.Client, bool, error)
	AuthenticatePassword(ctx context.Context, tenantID, username, password, ip string, now time.Time) (*iam.User, error)
	CreateSignInSession(ctx context.Context, tenantID, userID string, amr []string, lifetime time.Duration, now time.Time) (string, *authn.SignInSession, error)
	SignInSessionFromCookie(ctx context.Context, raw string, now time.Time) (*authn.SignInSession, *authn.SignedInUser, error)
	EndSignInSession(ctx context.Context, raw string) error
	RecordSessionApp(ctx context.Context, ss *authn.SignInSession, appID string) error
	IssueAuthCode(ctx context.Context, c authn.AuthCode, now time.Time) (string, error)
	// The second factor (mfa.go).
	MFARequirement(ctx context.Context, tenantID string, user *iam.User, hasMethod func() (bool, error), now time.Time) (authn.MFARequirement, error)
	CreatePendingSession(ctx context.Context, tenantID, userID string, amr []string, now time.Time) (string, *authn.SignInSession, error)
	PendingSignInFromCookie(ctx context.Context, raw string, now time.Time) (*authn.SignInSession, *authn.SignedInUser, error)
	CompleteSignIn(ctx context.Context, ss *authn.SignInSession, amr []string, lifetime time.Duration, now time.Time) error
	ActivateSession(ctx context.Context, ss *authn.SignInSession, lifetime time.Duration, now time.Time) error
	IsRegisteredLogoutURI(ctx context.Context, tenantID, clientID, uri string) (bool, error)
	LogSignIn(ctx context.Context, tenantID string, rec iam.SignIn) error
}

// Scopes checks an authorize request's scopes and the user's consent for
// them (package oidc, which owns scope parsing). Errors carry AADSTS codes.
type Scopes interface {
	CheckUserScopes(ctx context.Context, tenantID string, client *authn.Client, userID, scope string) error
}

// Config is the pages' configuration.
type Config struct {
	// PublicURL is the server's public origin; https makes cookies Secure
	// and __Host- prefixed.
	PublicURL string
	// SessionLifetime bounds a browser session; zero means 24 hours.
	SessionLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives refused requests and server errors; nil discards.
	Log *slog.Logger
}

// DefaultSessionLifetime is a browser session's default lifetime.
const DefaultSessionLifetime = 24 * time.Hour

// Handler serves the sign-in pages.
type Handler struct {
	cfg    Config
	origin string
	secure bool
	dir    Directory
	scopes Scopes
	// consent enables the consent page (consent.go); nil sends
	// consent_required to the client instead.
	consent Consent
	// adminConsent enables admin consent (adminconsent.go); nil leaves
	// prompt=admin_consent without effect.
	adminConsent AdminConsent
	// hints reads logout's id_token_hint (logout.go); nil ignores it.
	hints IDTokenHints
	// methods enables the second factor (mfa.go); nil signs users in with
	// their password alone.
	methods Methods
	// securityInfo enables My Security Info (securityinfo.go).
	securityInfo SecurityInfo
	log          *slog.Logger
	now          func() time.Time
}

// New builds the handler.
func New(cfg Config, dir Directory, scopes Scopes) (*Handler, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("signin: PublicURL must be an absolute http(s) URL")
	}
	if dir == nil || scopes == nil {
		return nil, errors.New("signin: Directory and Scopes are required")
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	h := &Handler{cfg: cfg, origin: strings.ToLower(u.Scheme + "://" + u.Host), secure: u.Scheme == "https",
		dir: dir, scopes: scopes, log: cfg.Log, now: cfg.Now}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h, nil
}

// Register mounts the pages on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", h.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", h.authorize)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", h.logout)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/logout", h.logout)
	mux.HandleFunc("GET "+stylesheetPath, serveStylesheet)
	mux.HandleFunc("GET "+passkeyScriptPath, servePasskeyScript)
	mux.HandleFunc("GET /favicon.ico", serveNoFavicon)
}

// maxFormBody caps a sign-in form.
const maxFormBody = 32 << 10

// params reads a request's parameters: the query of a GET, the form body
// of a POST (Entra accepts authorize and logout either way).
func params(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// Cookies.
const (
	sessionCookie = "ostiary_session"
	csrfCookie    = "ostiary_csrf"
	csrfField     = "csrf_token"
)

func (h *Handler) cookieName(base string) string {
	if h.secure {
		return "__Host-" + base // Secure, Path=/, no Domain: no subdomain can plant it
	}
	return base
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		Secure: h.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(h.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// csrfToken returns the browser's CSRF token, setting a new one if it has
// none (double-submit: the cookie and the form field must agree).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if t := h.cookie(r, csrfCookie); len(t) == 43 {
		return t
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	h.setCookie(w, csrfCookie, t, 0)
	return t
}

// checkCSRF reports whether a POST carries the browser's CSRF token and,
// when the browser names one, comes from this origin.
func (h *Handler) checkCSRF(r *http.Request, form url.Values) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !strings.EqualFold(o, h.origin) {
		return false
	}
	c, f := h.cookie(r, csrfCookie), form.Get(csrfField)
	return c != "" && len(c) == len(f) && subtle.ConstantTimeCompare([]byte(c), []byte(f)) == 1
}

// session returns the browser's live session, or nil.
func (h *Handler) session(r *http.Request) (*authn.SignInSession, *authn.SignedInUser, string) {
	raw := h.cookie(r, sessionCookie)
	if raw == "" {
		return nil, nil, ""
	}
	ss, u, err := h.dir.SignInSessionFromCookie(r.Context(), raw, h.now())
	if err != nil {
		return nil, nil, raw
	}
	return ss, u, raw
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
