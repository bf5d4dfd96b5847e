package signin

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/oauth2"
)

// Front-channel logout (OpenID Connect Front-Channel Logout 1.0, as Entra
// does it): when a session ends, the signed-out page loads, in hidden
// iframes, the web.logoutUrl of every application the session signed in
// to (authn records them as codes are issued), with iss and sid, so each
// app can end its own session in the browser. The page has no script, so
// it cannot wait for the frames and redirect: after them it offers the
// post-logout redirect as a link. Its Content-Security-Policy allows
// frames from exactly those URLs' origins (frame-src), nothing else.

// frontChannelCall is one application's part of the signed-out page.
type frontChannelCall struct {
	// AppName is shown in the list of applications signed out of.
	AppName string
	// URL is the logout URL with iss and sid; "" for an application that
	// registered none (listed, not framed).
	URL string
}

// frontChannelCalls lists the applications the session ss signed in to,
// with their front-channel logout URLs. An application that is gone or
// disabled since is left out; a logout URL that is not https (or http on a
// loopback address, for development, as Entra allows) is not called.
func (h *Handler) frontChannelCalls(ctx context.Context, ss *authn.SignInSession) []frontChannelCall {
	var out []frontChannelCall
	iss := strings.TrimRight(h.cfg.PublicURL, "/") + "/" + ss.TenantID + "/v2.0"
	for _, appID := range ss.Apps {
		c, _, err := h.dir.LookupClient(ctx, ss.TenantID, appID)
		if err != nil {
			continue
		}
		call := frontChannelCall{AppName: appName(c)}
		if web := c.Application.Web; web != nil && web.LogoutURL != nil {
			call.URL = frontChannelURL(*web.LogoutURL, iss, ss.SessionState)
		}
		out = append(out, call)
	}
	return out
}

// anyFrame reports whether a call has a logout URL to frame.
func anyFrame(calls []frontChannelCall) bool {
	for _, c := range calls {
		if c.URL != "" {
			return true
		}
	}
	return false
}

// frontChannelURL adds iss and sid to a registered logout URL, or returns
// "" when the URL may not be framed.
func frontChannelURL(logoutURL, iss, sid string) string {
	u, err := url.Parse(logoutURL)
	if err != nil || u.User != nil || u.Host == "" || oauth2.Origin(logoutURL) == "" {
		return ""
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return ""
	}
	q := u.Query()
	q.Set("iss", iss)
	q.Set("sid", sid)
	u.RawQuery, u.Fragment, u.RawFragment = q.Encode(), "", ""
	return u.String()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// showSignedOut renders the signed-out page: the applications signed out
// of, their logout frames, and the way on to target when there is one.
func (h *Handler) showSignedOut(w http.ResponseWriter, calls []frontChannelCall, target string) {
	v := signedOutView{Page: newPage("Signed out"), Continue: target}
	var frames []string
	for _, c := range calls {
		v.Apps = append(v.Apps, c.AppName)
		if c.URL != "" {
			v.Frames = append(v.Frames, c.URL)
			frames = append(frames, c.URL)
		}
	}
	h.renderPolicy(w, http.StatusOK, "signedout.html", v, cspSources{frames: frames})
}
