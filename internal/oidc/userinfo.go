package oidc

import (
	"net/http"
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
)

// registerUserInfo mounts /oidc/userinfo. The v1 discovery document is
// deliberately not served: no token carries a v1 issuer yet and the v1
// endpoints it would advertise (/oauth2/token, /oauth2/authorize) do not
// exist; the issue that adds v1 tokens adds it with them.
func (h *Handler) registerUserInfo(mux *http.ServeMux) {
	mux.HandleFunc("GET /oidc/userinfo", h.userInfo)
	mux.HandleFunc("POST /oidc/userinfo", h.userInfo)
}

// userInfoResponse is the userinfo answer, with Entra's members (picture
// is left out: Ostiary keeps no photos).
type userInfoResponse struct {
	Sub        string `json:"sub"`
	Name       string `json:"name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	Email      string `json:"email,omitempty"`
}

// userInfo is GET|POST /oidc/userinfo (OpenID Connect Core §5.3). As on
// Entra, where userinfo is served by Microsoft Graph, it takes a bearer
// access token for Graph: a user token (not app-only) of this server whose
// scp holds openid. sub is the pairwise subject of the token's client, the
// sub of that client's ID tokens. The user is read again, so a disabled
// user or revoked sessions end access at once. Failures answer 401 with a
// WWW-Authenticate challenge (RFC 6750 §3), and a token without openid
// 403 with error="insufficient_scope".
func (h *Handler) userInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if h.deps.AccessTokens == nil || h.deps.Users == nil {
		http.NotFound(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(auth, "bearer ")
	}
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		bearerChallenge(w, http.StatusUnauthorized, "", "")
		return
	}
	now := h.now()
	c, err := h.deps.AccessTokens.VerifyAccessToken(raw, now)
	if err != nil {
		bearerChallenge(w, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
		return
	}
	if !isGraphAudience(c.Audience) {
		bearerChallenge(w, http.StatusUnauthorized, "invalid_token", "The access token's audience is not Microsoft Graph.")
		return
	}
	if c.IDType == "app" || c.ObjectID == "" || len(c.Scopes) == 0 {
		bearerChallenge(w, http.StatusUnauthorized, "invalid_token", "The access token is not a user token.")
		return
	}
	if !containsFold(c.Scopes, "openid") {
		bearerChallenge(w, http.StatusForbidden, "insufficient_scope", "The access token lacks the openid scope.")
		return
	}
	u, err := h.deps.Users.LoadUser(r.Context(), c.TenantID, c.ObjectID, c.IssuedAt)
	if err != nil {
		if oe := asOAuth(err); oe.code == codeServerError {
			h.log.Error("userinfo failed", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		bearerChallenge(w, http.StatusUnauthorized, "invalid_token", "The user of the access token cannot sign in.")
		return
	}
	writeJSON(w, http.StatusOK, userInfoResponse{
		Sub:        tokens.PairwiseSubject(c.AppID, c.ObjectID),
		Name:       deref(u.User.DisplayName),
		FamilyName: deref(u.User.Surname),
		GivenName:  deref(u.User.GivenName),
		Email:      deref(u.User.Mail),
	})
}

func isGraphAudience(aud string) bool {
	a := strings.TrimRight(strings.ToLower(aud), "/")
	return a == strings.ToLower(iam.MicrosoftGraphResource) || a == iam.MicrosoftGraphAppID
}

// bearerChallenge answers a refused userinfo request.
func bearerChallenge(w http.ResponseWriter, status int, code, description string) {
	ch := `Bearer realm="", authorization_uri="", client_id="` + iam.MicrosoftGraphAppID + `"`
	if code != "" {
		ch += `, error="` + code + `", error_description="` + description + `"`
	}
	w.Header().Set("WWW-Authenticate", ch)
	body := map[string]string{"error": "invalid_request"}
	if code != "" {
		body = map[string]string{"error": code, "error_description": description}
	}
	writeJSON(w, status, body)
}
