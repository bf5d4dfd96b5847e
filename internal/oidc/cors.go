package oidc

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oauth2"
)

// Single-page apps (an application's spa platform) redeem codes and
// refresh tokens with fetch from their own origin, so the token endpoint
// answers CORS as Entra does for them: a response is readable by an origin
// only when the client of the request registered a spa redirect URI of
// that origin. The check needs the client, which only the request body
// names, so it is made on the real request (token); the preflight cannot
// know the client and answers any well-formed origin, which exposes
// nothing: whether the browser may read the answer is decided by the
// actual response's header alone.

// corsAllowedHeaders are the request headers a browser may send: the form
// content type and the MSAL.js telemetry and correlation headers.
const corsAllowedHeaders = "content-type, client-request-id, return-client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, " +
	"x-client-current-telemetry, x-client-last-telemetry, x-ms-lib-capability, x-app-name, x-app-ver, x-anchormailbox"

// tokenPreflight answers OPTIONS on the token endpoint.
func (h *Handler) tokenPreflight(w http.ResponseWriter, r *http.Request) error {
	hd := w.Header()
	hd.Set("Allow", "POST, OPTIONS")
	hd.Add("Vary", "Origin")
	if origin := requestOrigin(r); origin != "" {
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
		hd.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// allowSPAOrigin lets the request's origin read the response when app
// registered a spa redirect URI of that origin. It is called for answers
// and for errors once the client is known, so a SPA can read why a
// refresh failed (an expired SPA refresh token is AADSTS700084).
func allowSPAOrigin(w http.ResponseWriter, r *http.Request, app *iam.Application) {
	if r.Header.Get("Origin") == "" {
		return
	}
	w.Header().Add("Vary", "Origin")
	origin := requestOrigin(r)
	if origin == "" || app == nil || app.Spa == nil {
		return
	}
	for _, uri := range app.Spa.RedirectURIs {
		if o := normalizeOrigin(oauth2.Origin(uri)); o != "" && o == normalizeOrigin(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			return
		}
	}
}

// requestOrigin is the request's Origin header when it is a web origin
// (scheme, host, optional port and nothing else); "" otherwise, "null"
// included, which no registration can match.
func requestOrigin(r *http.Request) string {
	o := r.Header.Get("Origin")
	if o == "" || oauth2.Origin(o) != o {
		return ""
	}
	return o
}

// normalizeOrigin lower-cases an origin and drops its scheme's default
// port, so "https://App.example:443" and "https://app.example" compare
// equal as browsers treat them.
func normalizeOrigin(o string) string {
	u, err := url.Parse(strings.ToLower(o))
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Host
	if port := u.Port(); u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return u.Scheme + "://" + host
}

// checkSPAOrigin refuses a single-page app's code or refresh token redeemed
// without an Origin header: Entra redeems them only in a browser's
// cross-origin request (AADSTS9002327), so a token stolen from a SPA cannot
// be redeemed from a server, where no CORS policy binds it to the app's
// origin.
func (req *tokenRequest) checkSPAOrigin(spa bool) error {
	if spa && !req.crossOrigin {
		return aadsts(codeSPAOriginRequired, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.")
	}
	return nil
}
