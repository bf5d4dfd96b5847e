package compat_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// TestMSALConfidentialClient: MSAL Go's confidential client discovers the
// tenant (by GUID and by domain name), redeems the client secret, accepts
// the response (scope, expiry, token type), serves the second call from its
// cache, and the token works on Graph.
func TestMSALConfidentialClient(t *testing.T) {
	srv := apptest.New(t)
	// The tenant GUID, the domain name, and the GUID in upper case (MSAL
	// lower-cases the tenant it keeps; requests keep the caller's case).
	for _, seg := range []string{srv.Creds.TenantID, srv.Creds.Domain, strings.ToUpper(srv.Creds.TenantID)} {
		t.Run(seg, func(t *testing.T) {
			ctx := t.Context()
			hc, rec := recordingClient(srv)
			cred, err := confidential.NewCredFromSecret(srv.Creds.ClientSecret)
			if err != nil {
				t.Fatal(err)
			}
			client, err := confidential.New(srv.URL+"/"+seg, srv.Creds.ClientID, cred,
				confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(hc))
			if err != nil {
				t.Fatal(err)
			}
			first, err := client.AcquireTokenByCredential(ctx, []string{graphScope})
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			if first.AccessToken == "" || time.Until(first.ExpiresOn) < 5*time.Minute {
				t.Fatalf("token %q expires %v: MSAL would not cache it", first.AccessToken, first.ExpiresOn)
			}
			if first.Metadata.TokenSource != confidential.TokenSourceIdentityProvider {
				t.Errorf("first token source = %v, want the identity provider", first.Metadata.TokenSource)
			}
			listUsers(t, srv, first.AccessToken)

			second, err := client.AcquireTokenByCredential(ctx, []string{graphScope})
			if err != nil {
				t.Fatalf("second AcquireTokenByCredential: %v", err)
			}
			if second.AccessToken != first.AccessToken || second.Metadata.TokenSource != confidential.TokenSourceCache {
				t.Errorf("second call was not served from MSAL's cache (source %v)", second.Metadata.TokenSource)
			}
			if n := rec.count("POST", "/oauth2/v2.0/token"); n != 1 {
				t.Errorf("MSAL sent %d token requests, want 1", n)
			}
			if n := rec.count("GET", "/v2.0/.well-known/openid-configuration"); n != 1 {
				t.Errorf("MSAL fetched discovery %d times, want 1", n)
			}
		})
	}
}

// TestAzidentityClientSecretCredential: azidentity (over MSAL, with CAE
// claims capability and its own pipeline) gets a Graph token and caches it.
func TestAzidentityClientSecretCredential(t *testing.T) {
	srv := apptest.New(t)
	hc, rec := recordingClient(srv)
	cred := newCredential(t, srv, hc, srv.Creds.ClientID, srv.Creds.ClientSecret)
	ctx := t.Context()
	for _, cae := range []bool{false, true} {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}, EnableCAE: cae})
		if err != nil {
			t.Fatalf("GetToken (CAE %v): %v", cae, err)
		}
		if tok.Token == "" || time.Until(tok.ExpiresOn) < 5*time.Minute {
			t.Fatalf("token %q expires %v", tok.Token, tok.ExpiresOn)
		}
		listUsers(t, srv, tok.Token)
		again, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}, EnableCAE: cae})
		if err != nil || again.Token != tok.Token {
			t.Fatalf("second GetToken (CAE %v) not from the cache: %v", cae, err)
		}
	}
	// One token request per cache (azidentity keeps CAE and non-CAE tokens
	// in separate MSAL clients).
	if n := rec.count("POST", "/oauth2/v2.0/token"); n != 2 {
		t.Errorf("azidentity sent %d token requests, want 2", n)
	}

	// The tenant named by its domain works too.
	byDomain, err := azidentity.NewClientSecretCredential(srv.Creds.Domain, srv.Creds.ClientID, srv.Creds.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := byDomain.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}}); err != nil {
		t.Fatalf("GetToken with the domain as tenant: %v", err)
	} else {
		listUsers(t, srv, tok.Token)
	}

	// A wrong secret is an AuthenticationFailedError carrying Entra's 401.
	_, err = newCredential(t, srv, srv.Client, srv.Creds.ClientID, "wrong-secret").GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "AADSTS") {
		t.Errorf("wrong secret error lacks Entra's error: %v", err)
	}
}

// newCredential builds an azidentity ClientSecretCredential pointed at the
// test server.
func newCredential(t *testing.T, srv *apptest.Server, hc *http.Client, clientID, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(srv.Creds.TenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
			Transport: hc,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestOAuth2ClientCredentials: the generic golang.org/x/oauth2 client, with
// the secret in the Authorization header and in the form body.
func TestOAuth2ClientCredentials(t *testing.T) {
	srv := apptest.New(t)
	styles := map[string]oauth2.AuthStyle{"header": oauth2.AuthStyleInHeader, "params": oauth2.AuthStyleInParams}
	for name, style := range styles {
		t.Run(name, func(t *testing.T) {
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client)
			cfg := clientcredentials.Config{
				ClientID: srv.Creds.ClientID, ClientSecret: srv.Creds.ClientSecret,
				TokenURL:  srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token",
				Scopes:    []string{graphScope},
				AuthStyle: style,
			}
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") || time.Until(tok.Expiry) < 5*time.Minute {
				t.Fatalf("token = %+v", tok)
			}
			// The client it builds adds the bearer header itself.
			resp, err := cfg.Client(ctx).Get(srv.URL + "/v1.0/users?$top=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1.0/users: %d %s", resp.StatusCode, body)
			}
		})
	}
	// A wrong secret is an oauth2.RetrieveError carrying Entra's error name.
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client)
	bad := clientcredentials.Config{ClientID: srv.Creds.ClientID, ClientSecret: "wrong",
		TokenURL: srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token", Scopes: []string{graphScope}}
	_, err := bad.Token(ctx)
	re, ok := err.(*oauth2.RetrieveError)
	if !ok || re.ErrorCode != "invalid_client" {
		t.Fatalf("wrong secret: %T %v", err, err)
	}
}

// TestGoOIDC: coreos/go-oidc discovers the tenant's v2.0 issuer (the
// issuer must match the URL exactly) and verifies a client-credentials
// access token against the published JWKS.
func TestGoOIDC(t *testing.T) {
	srv := apptest.New(t)
	ctx := oidc.ClientContext(t.Context(), srv.Client)
	issuer := srv.URL + "/" + srv.Creds.TenantID + "/v2.0"
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	if want := srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token"; provider.Endpoint().TokenURL != want {
		t.Errorf("token endpoint = %q, want %q", provider.Endpoint().TokenURL, want)
	}
	tok := srv.Token(t)
	idt, err := provider.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idt.Issuer != issuer {
		t.Errorf("iss = %q, want %q", idt.Issuer, issuer)
	}
	var claims struct {
		Tid   string   `json:"tid"`
		AppID string   `json:"appid"`
		Roles []string `json:"roles"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Tid != srv.Creds.TenantID || claims.AppID != srv.Creds.ClientID || len(claims.Roles) == 0 {
		t.Errorf("claims = %+v", claims)
	}
	// The audience check works too: the token is for Graph.
	if _, err := provider.VerifierContext(ctx, &oidc.Config{ClientID: "https://graph.microsoft.com"}).Verify(ctx, tok); err != nil {
		t.Errorf("Verify with Graph as the audience: %v", err)
	}
	// A tampered token fails.
	if _, err := provider.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok[:len(tok)-4]+"AAAA"); err == nil {
		t.Error("a token with a broken signature verified")
	}
}
