package oauth2

import (
	"net"
	"net/url"
	"strings"
)

// maxRedirectURILen bounds a redirect URI (Entra's limit is 256 characters
// for registration; requests get some slack for query strings).
const maxRedirectURILen = 2048

// Platform is the kind of an application's redirect URI.
type Platform int

const (
	// PlatformWeb is application.web: a confidential client.
	PlatformWeb Platform = iota + 1
	// PlatformSPA is application.spa: a browser app (PKCE S256 required).
	PlatformSPA
	// PlatformPublic is application.publicClient: a native or desktop app
	// (PKCE S256 required; loopback with any port).
	PlatformPublic
)

func (p Platform) String() string {
	switch p {
	case PlatformWeb:
		return "web"
	case PlatformSPA:
		return "spa"
	case PlatformPublic:
		return "publicClient"
	}
	return "unknown"
}

// RedirectSet is an application's registered redirect URIs per platform.
type RedirectSet struct {
	Web, SPA, Public []string
}

// Match finds the registered URI the requested redirect_uri names and the
// platform it is registered under. The match is exact (case-sensitive, as
// Entra compares paths and queries), except that for publicClient URIs a
// loopback address (http://localhost, http://127.0.0.1, http://[::1]) matches
// with any port, as RFC 8252 §7.3 and Entra allow native apps. Web URIs are
// tried first, then SPA, then publicClient.
func (s RedirectSet) Match(requested string) (Platform, bool) {
	if requested == "" || len(requested) > maxRedirectURILen {
		return 0, false
	}
	for _, r := range s.Web {
		if r == requested {
			return PlatformWeb, true
		}
	}
	for _, r := range s.SPA {
		if r == requested {
			return PlatformSPA, true
		}
	}
	for _, r := range s.Public {
		if r == requested || loopbackMatch(r, requested) {
			return PlatformPublic, true
		}
	}
	return 0, false
}

// loopbackMatch reports whether requested equals registered but for the
// port, both being plain-http loopback URIs on the same loopback host.
func loopbackMatch(registered, requested string) bool {
	ru, ok := parseLoopback(registered)
	if !ok {
		return false
	}
	qu, ok := parseLoopback(requested)
	if !ok {
		return false
	}
	return ru.Hostname() == qu.Hostname() && ru.EscapedPath() == qu.EscapedPath() &&
		ru.RawQuery == qu.RawQuery && ru.ForceQuery == qu.ForceQuery
}

func parseLoopback(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, false
	}
	if !IsLoopbackHost(u.Hostname()) {
		return nil, false
	}
	if p := u.Port(); p != "" {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return nil, false
			}
		}
		if len(p) > 5 {
			return nil, false
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, true
}

// IsLoopbackHost reports whether host (without port or brackets) is
// localhost or a loopback IP literal.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Origin returns scheme://host[:port] of an absolute http(s) URI, for a
// Content-Security-Policy form-action source, or "" if it has none that
// is safe to put in a header.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	o := u.Scheme + "://" + u.Host
	for i := 0; i < len(o); i++ {
		c := o[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '\'' || c == '"' {
			return ""
		}
	}
	return o
}
