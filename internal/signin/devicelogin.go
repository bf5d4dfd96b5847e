package signin

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// DeviceCodes is what the device login page needs from the device code
// store (package authn). Errors carry AADSTS codes.
type DeviceCodes interface {
	LookupUserCode(ctx context.Context, userCode string, now time.Time) (*authn.DeviceCode, error)
	ApproveDeviceCode(ctx context.Context, a authn.DeviceApproval, now time.Time) error
	DeclineDeviceCode(ctx context.Context, userCode, tenantID string, code int, now time.Time) error
}

// deviceLoginPath is the device login page; the token service announces
// it as verification_uri.
const deviceLoginPath = "/devicelogin"

// Limits on wrong user codes: a user code has about 35 bits, so guessing
// must be slow. Every lookup that fails (unknown, expired or used code)
// counts, per client address and per browser (its CSRF cookie); past the
// limit the page refuses codes until the window ends.
const (
	userCodeMaxFailures = 10
	userCodeWindow      = 15 * time.Minute
	// userCodeTrackedKeys bounds the limiter's memory; beyond it, expired
	// entries are swept, and keys that still find no room share one
	// overflow count (fail closed).
	userCodeTrackedKeys = 10000
)

// deviceLogin serves the device login page (RFC 8628 §3.3): the user
// enters the code shown by the device, signs in (or reuses the browser
// session of the code's tenant), and confirms or cancels.
type deviceLogin struct {
	h     *Handler
	codes DeviceCodes
	limit *attemptLimiter
}

// RegisterDeviceLogin mounts the device login page, GET|POST /devicelogin.
func (h *Handler) RegisterDeviceLogin(mux *http.ServeMux, codes DeviceCodes) {
	d := &deviceLogin{h: h, codes: codes, limit: newAttemptLimiter(userCodeMaxFailures, userCodeWindow, userCodeTrackedKeys)}
	mux.HandleFunc("GET "+deviceLoginPath, d.serve)
	mux.HandleFunc("POST "+deviceLoginPath, d.serve)
}

// deviceCodeView asks for the user code.
type deviceCodeView struct {
	Page
	Action string
	CSRF   string
	Code   string
	Error  string
}

// deviceConfirmView asks the signed-in user to confirm the application.
type deviceConfirmView struct {
	Page
	Action   string
	CSRF     string
	AppName  string
	Username string
	UserCode string
}

// deviceDoneView ends the flow.
type deviceDoneView struct {
	Page
	Heading string
	Message string
}

// Messages of the device login page.
const (
	msgBadUserCode   = "That code didn't work. Check the code and try again."
	msgExpiredCode   = "That code has expired. Go back to your device to get a new code, and try again."
	msgUsedCode      = "That code was already used. Go back to your device to get a new code, and try again."
	msgTooManyCodes  = "Too many codes were entered that didn't work. Wait a few minutes and try again."
	msgDeviceExpired = "This page expired or did not come from this site. Enter the code again."
)

func (d *deviceLogin) serve(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	h := d.h
	if r.Method != http.MethodPost {
		d.showCode(w, r, "", "", http.StatusOK)
		return
	}
	form, err := params(w, r)
	if err != nil {
		h.showError(w, http.StatusBadRequest, "Sign-in failed", "AADSTS9002313", "The request is malformed or too large.", "")
		return
	}
	if !h.checkCSRF(r, form) {
		d.showCode(w, r, "", msgDeviceExpired, http.StatusForbidden)
		return
	}
	switch form.Get("ostiary_step") {
	case "code":
		code := form.Get("otc")
		dc, ok := d.lookup(w, r, code)
		if !ok {
			return
		}
		d.proceed(w, r, dc, code)
	case "login":
		code := form.Get("user_code")
		dc, ok := d.lookup(w, r, code)
		if !ok {
			return
		}
		d.login(w, r, dc, code, strings.TrimSpace(form.Get("username")), form.Get("password"))
	case "confirm":
		code := form.Get("user_code")
		dc, ok := d.lookup(w, r, code)
		if !ok {
			return
		}
		d.confirm(w, r, dc, code, form.Get("decision"))
	default:
		d.showCode(w, r, "", "", http.StatusOK)
	}
}

// lookup finds the pending device code a user code names, counting
// failures against the client's address and browser; on failure it has
// rendered the code page with the reason.
func (d *deviceLogin) lookup(w http.ResponseWriter, r *http.Request, code string) (*authn.DeviceCode, bool) {
	now := d.h.now()
	keys := d.limitKeys(r)
	if !d.limit.allowed(now, keys...) {
		w.Header().Set("Retry-After", strconv.Itoa(int(userCodeWindow/time.Second)))
		d.showCode(w, r, code, msgTooManyCodes, http.StatusTooManyRequests)
		return nil, false
	}
	dc, err := d.codes.LookupUserCode(r.Context(), code, now)
	if err == nil {
		return dc, true
	}
	msg, status := msgBadUserCode, http.StatusOK
	switch errs.As(err).Code {
	case "AADSTS70018":
	case "AADSTS70019":
		msg = msgExpiredCode
	case "AADSTS90120":
		msg = msgUsedCode
	default:
		d.h.pageError(w, r, err)
		return nil, false
	}
	d.limit.fail(now, keys...)
	d.h.log.Info("device login: user code refused", "code", errs.As(err).Code, "ip", remoteIP(r))
	d.showCode(w, r, code, msg, status)
	return nil, false
}

func (d *deviceLogin) limitKeys(r *http.Request) []string {
	keys := []string{"ip|" + limitAddress(remoteIP(r))}
	if c := d.h.cookie(r, csrfCookie); c != "" {
		keys = append(keys, "browser|"+c)
	}
	return keys
}

// limitAddress is the address a failure counts against: an IPv4 address
// alone, an IPv6 address by its /64, which one host or customer gets
// whole (counting each of its 2^64 addresses apart would be no limit).
func limitAddress(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

func (d *deviceLogin) showCode(w http.ResponseWriter, r *http.Request, code, errMsg string, status int) {
	d.h.render(w, status, "devicecode.html", deviceCodeView{Page: newPage("Enter code"), Action: deviceLoginPath,
		CSRF: d.h.csrfToken(w, r), Code: code, Error: errMsg})
}

// proceed goes on after a valid code: to the confirmation with a session
// in the code's tenant, to the password page otherwise. A code asked for
// on /common or /organizations has no tenant until its user chooses one:
// the session's tenant counts when the client is an application there.
func (d *deviceLogin) proceed(w http.ResponseWriter, r *http.Request, dc *authn.DeviceCode, code string) {
	ss, user, _ := d.h.session(r)
	tenantID := dc.TenantID
	if tenantID == "" && ss != nil {
		tenantID = ss.TenantID
	}
	client, ok := d.clientIn(w, r, dc, code, tenantID)
	if !ok {
		return
	}
	if client == nil || ss == nil || ss.TenantID != tenantID {
		d.showLogin(w, r, client, code, "", "", http.StatusOK)
		return
	}
	d.showConfirm(w, r, client, user, code)
}

// clientIn finds the code's client in tenantID. For a deferred code it
// may be no application there (nil, true: the user may sign in with an
// account of another tenant); otherwise a failure is shown and ok is
// false.
func (d *deviceLogin) clientIn(w http.ResponseWriter, r *http.Request, dc *authn.DeviceCode, code, tenantID string) (*authn.Client, bool) {
	if tenantID == "" {
		return nil, true
	}
	c, _, err := d.h.dir.LookupClient(r.Context(), tenantID, dc.ClientAppID)
	if err == nil {
		return c, d.checkDeferredClient(w, r, dc, code, tenantID, c)
	}
	if dc.Deferred && dc.TenantID == "" && errs.As(err).Code == "AADSTS700016" {
		return nil, true
	}
	d.h.pageError(w, r, err)
	return nil, false
}

// checkDeferredClient applies Entra's rule for /common and /organizations
// to a deferred code (one asked for there) once a tenant has found its
// client, which the device code endpoint could not do: only a multi-tenant
// application may be used through them (AADSTS50194). A refused code is
// declined with that code, so the device learns it at its next poll
// instead of waiting out the code (no tenant can ever serve it: a
// single-tenant app is found only in its home), and the page shows it.
func (d *deviceLogin) checkDeferredClient(w http.ResponseWriter, r *http.Request, dc *authn.DeviceCode, code, tenantID string, c *authn.Client) bool {
	if !dc.Deferred {
		return true
	}
	err := c.CheckCommonEndpoint()
	if err == nil {
		return true
	}
	ae := fromErr(err)
	if derr := d.codes.DeclineDeviceCode(r.Context(), code, tenantID, ae.code, d.h.now()); derr != nil {
		d.h.log.Warn("device login: could not record the refusal", "err", derr)
	}
	d.h.pageError(w, r, ae)
	return false
}

func (d *deviceLogin) showLogin(w http.ResponseWriter, r *http.Request, client *authn.Client, code, username, errMsg string, status int) {
	v := loginView{Page: newPage("Sign in to your account"), Action: deviceLoginPath,
		CSRF: d.h.csrfToken(w, r), Username: username, Error: errMsg,
		Hidden: []field{{"ostiary_step", "login"}, {"user_code", code}}}
	if client != nil {
		v.AppName = deref(client.Application.DisplayName)
	}
	d.h.render(w, status, "login.html", v)
}

func (d *deviceLogin) showConfirm(w http.ResponseWriter, r *http.Request, client *authn.Client, user *authn.SignedInUser, code string) {
	d.h.render(w, http.StatusOK, "deviceconfirm.html", deviceConfirmView{Page: newPage("Continue sign-in"), Action: deviceLoginPath,
		CSRF: d.h.csrfToken(w, r), AppName: appName(client), Username: user.User.UserPrincipalName, UserCode: code})
}

func appName(c *authn.Client) string {
	if n := deref(c.Application.DisplayName); n != "" {
		return n
	}
	return c.Application.AppID
}

// login checks the password in the device code's tenant (for a deferred
// code, the tenant of the user name's domain, where the client must be an
// application), starts a session and asks for confirmation.
func (d *deviceLogin) login(w http.ResponseWriter, r *http.Request, dc *authn.DeviceCode, code, username, password string) {
	h := d.h
	ctx := r.Context()
	tenantID := dc.TenantID
	var client *authn.Client
	if tenantID != "" {
		var ok bool
		if client, ok = d.clientIn(w, r, dc, code, tenantID); !ok {
			return
		}
	}
	if username == "" || password == "" {
		d.showLogin(w, r, client, code, username, "Enter your user name and password.", http.StatusOK)
		return
	}
	now := h.now()
	if tenantID == "" {
		at := strings.LastIndexByte(username, '@')
		t, err := h.dir.ResolveTenant(ctx, username[at+1:])
		if at < 0 || err != nil {
			// Like an unknown user: say nothing about which domains exist.
			_, _ = h.dir.AuthenticatePassword(ctx, iam.NewID(), username, password, remoteIP(r), now)
			d.showLogin(w, r, nil, code, username, msgBadCredentials, http.StatusOK)
			return
		}
		tenantID = t.ID
		c, _, err := h.dir.LookupClient(ctx, tenantID, dc.ClientAppID)
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		if !d.checkDeferredClient(w, r, dc, code, tenantID, c) {
			return
		}
		client = c
	}
	user, err := h.dir.AuthenticatePassword(ctx, tenantID, username, password, remoteIP(r), now)
	h.logSignIn(r, &authzRequest{tenantID: tenantID, client: client}, user, username, now, err)
	if err != nil {
		msg, status := loginMessage(err)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		d.showLogin(w, r, client, code, username, msg, status)
		return
	}
	if old := h.cookie(r, sessionCookie); old != "" {
		if err := h.dir.EndSignInSession(ctx, old); err != nil {
			h.log.Warn("could not end the previous sign-in session", "err", err)
		}
	}
	raw, _, err := h.dir.CreateSignInSession(ctx, tenantID, user.ID, []string{"pwd"}, h.cfg.SessionLifetime, now)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.setCookie(w, sessionCookie, raw, int(h.cfg.SessionLifetime/time.Second))
	d.showConfirm(w, r, client, &authn.SignedInUser{User: *user}, code)
}

// confirm records the user's answer, in the code's tenant: a deferred
// code is bound here to the tenant of the session that answers it (the
// client must be an application there). Continue checks consent first, as
// the authorize endpoint does: without it the device gets the consent
// error (AADSTS65001) rather than waiting out the code.
func (d *deviceLogin) confirm(w http.ResponseWriter, r *http.Request, dc *authn.DeviceCode, code, decision string) {
	h := d.h
	ctx := r.Context()
	ss, user, _ := h.session(r)
	tenantID := dc.TenantID
	if tenantID == "" && ss != nil {
		tenantID = ss.TenantID
	}
	client, ok := d.clientIn(w, r, dc, code, tenantID)
	if !ok {
		return
	}
	if client == nil || ss == nil || ss.TenantID != tenantID {
		d.showLogin(w, r, client, code, "", "", http.StatusOK)
		return
	}
	now := h.now()
	name := appName(client)
	switch decision {
	case "cancel":
		if err := d.codes.DeclineDeviceCode(ctx, code, tenantID, 0, now); err != nil {
			h.pageError(w, r, err)
			return
		}
		d.done(w, "Sign-in canceled", fmt.Sprintf("You have declined to sign in to %s on your device.", name))
		return
	case "continue":
	default:
		d.showConfirm(w, r, client, user, code)
		return
	}
	if err := h.scopes.CheckUserScopes(ctx, tenantID, client, user.User.ID, dc.Scope); err != nil {
		ae := fromErr(err)
		if ae.code != 50000 {
			if derr := d.codes.DeclineDeviceCode(ctx, code, tenantID, ae.code, now); derr != nil {
				h.log.Warn("device login: could not record the refusal", "err", derr)
			}
		}
		h.pageError(w, r, ae)
		return
	}
	err := d.codes.ApproveDeviceCode(ctx, authn.DeviceApproval{UserCode: code, TenantID: tenantID, UserID: user.User.ID,
		AuthTime: ss.AuthTime, AMR: ss.AMR}, now)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	d.done(w, "You're signed in", fmt.Sprintf("You have signed in to the %s application on your device.", name))
}

func (d *deviceLogin) done(w http.ResponseWriter, heading, msg string) {
	d.h.render(w, http.StatusOK, "devicedone.html", deviceDoneView{Page: newPage(heading), Heading: heading, Message: msg})
}

// attemptLimiter counts failures per key in a fixed window. When the
// table is full of live entries, keys it cannot track share one overflow
// count with the same limit: it fails closed, so filling the table never
// buys unlimited guesses.
type attemptLimiter struct {
	mu       sync.Mutex
	max      int
	window   time.Duration
	cap      int
	seen     map[string]attempts
	overflow attempts
}

type attempts struct {
	n     int
	start time.Time
}

func newAttemptLimiter(max int, window time.Duration, capacity int) *attemptLimiter {
	return &attemptLimiter{max: max, window: window, cap: capacity, seen: map[string]attempts{}}
}

// allowed reports whether every key is under the limit at now.
func (l *attemptLimiter) allowed(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		a, ok := l.seen[k]
		if !ok && len(l.seen) >= l.cap {
			a, ok = l.overflow, true
		}
		if ok && now.Sub(a.start) < l.window && a.n >= l.max {
			return false
		}
	}
	return true
}

// fail counts a failure for every key.
func (l *attemptLimiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		a, ok := l.seen[k]
		if !ok || now.Sub(a.start) >= l.window {
			if !ok && len(l.seen) >= l.cap {
				l.sweep(now)
				if len(l.seen) >= l.cap {
					if now.Sub(l.overflow.start) >= l.window {
						l.overflow = attempts{start: now}
					}
					l.overflow.n++
					continue
				}
			}
			a = attempts{start: now}
		}
		a.n++
		l.seen[k] = a
	}
}

func (l *attemptLimiter) sweep(now time.Time) {
	for k, a := range l.seen {
		if now.Sub(a.start) >= l.window {
			delete(l.seen, k)
		}
	}
}
