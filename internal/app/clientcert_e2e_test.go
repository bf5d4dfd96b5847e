package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/iam"
)

const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientCert is a self-signed certificate made in the test and its key.
type clientCert struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newClientCert(t testing.TB) clientCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "ostiary test client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return clientCert{cert: cert, key: key}
}

func (c clientCert) x5t() string {
	s := sha1.Sum(c.cert.Raw) //nolint:gosec // thumbprint
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func (c clientCert) x5tS256() string {
	s := sha256.Sum256(c.cert.Raw)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// uploadCert adds the certificate to the application's keyCredentials
// through Graph (PATCH /applications/{id}).
func uploadCert(t testing.TB, srv *apptest.Server, tok, appObjectID string, c clientCert) {
	t.Helper()
	call(t, srv, "PATCH", "/v1.0/applications/"+appObjectID, tok, map[string]any{"keyCredentials": []map[string]any{{
		"type": "AsymmetricX509Cert", "usage": "Verify", "displayName": "CN=ostiary test client",
		"key": base64.StdEncoding.EncodeToString(c.cert.Raw),
	}}}, 204)
}

// signAssertion signs claims with key as a compact JWS.
func signAssertion(t testing.TB, key *rsa.PrivateKey, alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{ExtraHeaders: headers}).WithType("JWT")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// clientAssertion is a valid assertion for clientID at srv's tenant token
// endpoint, with a fresh jti; edit adjusts its claims.
func clientAssertionClaims(srv *apptest.Server, clientID string) map[string]any {
	now := time.Now()
	return map[string]any{"aud": srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token", "iss": clientID, "sub": clientID,
		"jti": iam.NewID(), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

// postForm posts a token request to the tenant's endpoint.
func postForm(t testing.TB, srv *apptest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client.PostForm(srv.URL+"/"+srv.Creds.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token response is not JSON: %d %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func wantTokenError(t testing.TB, status int, m map[string]any, wantStatus int, wantErr string, code int, what string) {
	t.Helper()
	if status != wantStatus || m["error"] != wantErr || aadstsCode(m) != code {
		t.Errorf("%s: got %d %v %v, want %d %s AADSTS%d", what, status, m["error"], m["error_description"], wantStatus, wantErr, code)
	}
}

// TestClientCertificateMSALAndAzidentity: a certificate uploaded through
// Graph authenticates MSAL Go's confidential client (PS256 + x5t#S256) and
// azidentity's ClientCertificateCredential; the tokens say so (appidacr 2)
// and work on Graph.
func TestClientCertificateMSALAndAzidentity(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	a := registerApp(t, srv, tok, "Cert daemon", "User.Read.All")
	c := newClientCert(t)
	uploadCert(t, srv, tok, a.ID, c)
	ctx := t.Context()

	cred, err := confidential.NewCredFromCert([]*x509.Certificate{c.cert}, c.key)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := confidential.New(srv.URL+"/"+srv.Creds.TenantID, a.AppID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cc.AcquireTokenByCredential(ctx, []string{"https://graph.microsoft.com/.default"})
	if err != nil {
		t.Fatalf("MSAL certificate credential: %v", err)
	}
	cl := claimsOf(t, res.AccessToken)
	if cl["appid"] != a.AppID || cl["appidacr"] != "2" || cl["oid"] != a.SPID {
		t.Errorf("MSAL token claims: %v", cl)
	}
	call(t, srv, "GET", "/v1.0/users", res.AccessToken, nil, 200)

	az, err := azidentity.NewClientCertificateCredential(srv.Creds.TenantID, a.AppID, []*x509.Certificate{c.cert}, c.key,
		&azidentity.ClientCertificateCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	at, err := az.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatalf("azidentity ClientCertificateCredential: %v", err)
	}
	if cl := claimsOf(t, at.Token); cl["appid"] != a.AppID || cl["appidacr"] != "2" {
		t.Errorf("azidentity token claims: %v", cl)
	}
	call(t, srv, "GET", "/v1.0/users", at.Token, nil, 200)

	// The domain segment works as the tenant, and the assertion's aud may
	// name either spelling.
	azDomain, err := azidentity.NewClientCertificateCredential(srv.Creds.Domain, a.AppID, []*x509.Certificate{c.cert}, c.key,
		&azidentity.ClientCertificateCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client},
			DisableInstanceDiscovery: true, SendCertificateChain: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := azDomain.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}); err != nil {
		t.Fatalf("azidentity by domain with x5c: %v", err)
	}
}

// TestClientAssertionRefusals: raw private_key_jwt requests; RS256 + x5t
// works, and replays, wrong audiences, expired assertions, foreign keys and
// unknown thumbprints are refused with Entra's codes.
func TestClientAssertionRefusals(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	a := registerApp(t, srv, tok, "Cert daemon", "User.Read.All")
	c, other := newClientCert(t), newClientCert(t)
	uploadCert(t, srv, tok, a.ID, c)

	form := func(assertion string, extra ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.AppID}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				f.Del(extra[i])
			} else {
				f.Set(extra[i], extra[i+1])
			}
		}
		return f
	}
	x5t := map[jose.HeaderKey]any{"x5t": c.x5t()}
	s256 := map[jose.HeaderKey]any{"x5t#S256": c.x5tS256()}
	edited := func(edit func(map[string]any)) map[string]any {
		cl := clientAssertionClaims(srv, a.AppID)
		edit(cl)
		return cl
	}

	good := signAssertion(t, c.key, jose.RS256, x5t, clientAssertionClaims(srv, a.AppID))
	st, m := postForm(t, srv, form(good))
	if st != 200 {
		t.Fatalf("RS256 + x5t: %d %v", st, m)
	}
	if cl := claimsOf(t, m["access_token"].(string)); cl["appidacr"] != "2" || cl["appid"] != a.AppID {
		t.Errorf("claims: %v", cl)
	}
	st, m = postForm(t, srv, form(good))
	wantTokenError(t, st, m, 401, "invalid_client", 50012, "replayed jti")

	cases := []struct {
		name      string
		assertion string
		code      int
	}{
		{"wrong audience", signAssertion(t, c.key, jose.PS256, s256, edited(func(cl map[string]any) {
			cl["aud"] = srv.URL + "/" + iam.NewID() + "/oauth2/v2.0/token"
		})), 50012},
		{"audience of another server", signAssertion(t, c.key, jose.PS256, s256, edited(func(cl map[string]any) {
			cl["aud"] = "https://login.microsoftonline.com/" + srv.Creds.TenantID + "/oauth2/v2.0/token"
		})), 50012},
		{"expired", signAssertion(t, c.key, jose.PS256, s256, edited(func(cl map[string]any) {
			cl["nbf"], cl["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
		})), 700024},
		{"signed with another key", signAssertion(t, other.key, jose.PS256, s256, clientAssertionClaims(srv, a.AppID)), 700027},
		{"unknown thumbprint", signAssertion(t, other.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": other.x5tS256()}, clientAssertionClaims(srv, a.AppID)), 700027},
		{"issued by another client", signAssertion(t, c.key, jose.PS256, s256, edited(func(cl map[string]any) { cl["iss"], cl["sub"] = srv.Creds.ClientID, srv.Creds.ClientID })), 50012},
		{"no jti", signAssertion(t, c.key, jose.PS256, s256, edited(func(cl map[string]any) { delete(cl, "jti") })), 50012},
	}
	for _, tc := range cases {
		st, m := postForm(t, srv, form(tc.assertion))
		wantTokenError(t, st, m, 401, "invalid_client", tc.code, tc.name)
	}

	fresh := func() string { return signAssertion(t, c.key, jose.PS256, s256, clientAssertionClaims(srv, a.AppID)) }
	st, m = postForm(t, srv, form(fresh(), "client_secret", a.Secret))
	wantTokenError(t, st, m, 400, "invalid_request", 90023, "secret and assertion")
	st, m = postForm(t, srv, form(fresh(), "client_assertion_type", ""))
	wantTokenError(t, st, m, 400, "invalid_request", 900144, "no client_assertion_type")
	st, m = postForm(t, srv, form(fresh(), "client_assertion_type", "urn:other"))
	wantTokenError(t, st, m, 400, "invalid_request", 90023, "unknown client_assertion_type")
	st, m = postForm(t, srv, form(fresh(), "client_id", srv.Creds.ClientID))
	wantTokenError(t, st, m, 401, "invalid_client", 700027, "another client's id (its keys do not match)")
	if st, m := postForm(t, srv, form(fresh())); st != 200 {
		t.Fatalf("a fresh assertion after refusals: %d %v", st, m)
	}
}

// TestOnBehalfOf: a middle-tier API, signed into with a user's token for
// it, exchanges that token for a Graph token as the user, authenticating
// with its certificate (MSAL Go) or its secret (raw), within its consent.
func TestOnBehalfOf(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	srv, tok := w.srv, w.tok

	// The middle-tier API: exposes access_as_user, takes v2 tokens, has a
	// secret and a certificate, and holds consent for Graph User.Read.
	r := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": "Middle tier",
		"identifierUris": []string{"api://middle-tier"},
		"api": map[string]any{"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": []map[string]any{{
			"id": iam.NewID(), "value": "access_as_user", "type": "User", "isEnabled": true,
			"adminConsentDisplayName": "Access the middle tier", "adminConsentDescription": "Access the middle tier as the user"}}}}, 201)
	api := clientApp{ID: idOf(t, r)}
	api.AppID, _ = r.JSON(t)["appId"].(string)
	api.SPID = idOf(t, call(t, srv, "POST", "/v1.0/servicePrincipals", tok, map[string]any{"appId": api.AppID}, 201))
	pw := call(t, srv, "POST", "/v1.0/applications/"+api.ID+"/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "obo"}}, 200).JSON(t)
	api.Secret, _ = pw["secretText"].(string)
	c := newClientCert(t)
	uploadCert(t, srv, tok, api.ID, c)
	consent(t, srv, tok, api.SPID, "User.Read")
	// The front end (the public client) has consent for the API's scope.
	call(t, srv, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{
		"clientId": w.client.SPID, "consentType": "AllPrincipals", "resourceId": api.SPID, "scope": "access_as_user"}, 201)

	st, m := w.ropc(t, userPassword, "api://middle-tier/access_as_user")
	if st != 200 {
		t.Fatalf("ROPC for the API: %d %v", st, m)
	}
	userTok := m["access_token"].(string)
	if cl := claimsOf(t, userTok); cl["aud"] != api.AppID || cl["ver"] != "2.0" || cl["scp"] != "access_as_user" {
		t.Fatalf("token for the API: %v", cl)
	}

	// MSAL Go, certificate credential.
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{c.cert}, c.key)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := confidential.New(srv.URL+"/"+srv.Creds.TenantID, api.AppID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cc.AcquireTokenOnBehalfOf(t.Context(), userTok, []string{"https://graph.microsoft.com/User.Read"})
	if err != nil {
		t.Fatalf("MSAL on-behalf-of: %v", err)
	}
	cl := claimsOf(t, res.AccessToken)
	want := map[string]any{"aud": "https://graph.microsoft.com", "oid": w.userID, "scp": "User.Read", "appid": api.AppID,
		"appidacr": "2", "idtyp": "user", "upn": w.upn, "tid": srv.Creds.TenantID}
	for k, v := range want {
		if cl[k] != v {
			t.Errorf("OBO token %s = %v, want %v", k, cl[k], v)
		}
	}
	if me := call(t, srv, "GET", "/v1.0/me", res.AccessToken, nil, 200).JSON(t); me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}

	// Raw, with the secret and offline_access: a refresh token for the API.
	obo := func(assertion, scope string, extra ...string) (int, map[string]any) {
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
			"client_id": {api.AppID}, "client_secret": {api.Secret}, "assertion": {assertion}, "scope": {scope}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				f.Del(extra[i])
			} else {
				f.Set(extra[i], extra[i+1])
			}
		}
		return postForm(t, srv, f)
	}
	st, m = obo(userTok, "User.Read offline_access")
	if st != 200 || m["refresh_token"] == nil || m["scope"] != "User.Read offline_access" {
		t.Fatalf("OBO with a secret: %d %v", st, m)
	}
	if cl := claimsOf(t, m["access_token"].(string)); cl["appidacr"] != "1" || cl["oid"] != w.userID {
		t.Errorf("OBO with a secret: claims %v", cl)
	}
	if st, m := w.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {api.AppID}, "client_secret": {api.Secret},
		"refresh_token": {m["refresh_token"].(string)}, "scope": {"User.Read"}}); st != 200 {
		t.Errorf("the API redeems its OBO refresh token: %d %v", st, m)
	}

	// Refusals.
	st, m = obo(userTok, "Mail.Read")
	wantAADSTS(t, st, m, 65001, "downstream scope without consent")
	_, gm := w.ropc(t, userPassword, "User.Read")
	st, m = obo(gm["access_token"].(string), "User.Read")
	wantAADSTS(t, st, m, 50013, "a Graph token as the assertion")
	st, m = obo("not-a-token", "User.Read")
	wantAADSTS(t, st, m, 50013, "junk assertion")
	appOnly := srv.TokenFor(t, srv.Creds.TenantID, api.AppID, api.Secret, api.AppID+"/.default")
	st, m = obo(appOnly, "User.Read")
	wantTokenError(t, st, m, 400, "unauthorized_client", 7000114, "app-only assertion")
	st, m = obo(userTok, "User.Read", "client_secret", "")
	wantTokenError(t, st, m, 401, "invalid_client", 7000218, "no client credential")
	st, m = obo(userTok, "User.Read", "client_secret", "wrong")
	wantTokenError(t, st, m, 401, "invalid_client", 7000215, "wrong secret")
	st, m = obo(userTok, "User.Read", "requested_token_use", "")
	wantTokenError(t, st, m, 400, "invalid_request", 900144, "no requested_token_use")
	// Another confidential client cannot use a token meant for the API.
	other := registerApp(t, srv, tok, "Other API")
	consent(t, srv, tok, other.SPID, "User.Read")
	st, m = obo(userTok, "User.Read", "client_id", other.AppID, "client_secret", other.Secret)
	wantAADSTS(t, st, m, 50013, "token for another API")
	// Revoking the user's sessions ends the chain.
	call(t, srv, "POST", "/v1.0/users/"+w.userID+"/revokeSignInSessions", tok, nil, 200)
	st, m = obo(userTok, "User.Read")
	wantAADSTS(t, st, m, 50173, "assertion issued before revokeSignInSessions")
}
