package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"crypto/tls"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// BenchmarkMinimalTokenServer is the floor under
// BenchmarkTokenClientCredentials, measured the same way: a net/http server
// on loopback with Ostiary's TLS certificate that parses the form, checks
// one client's secret against its SHA-256 in constant time and signs one
// RS256 (RSA-2048) JWT of the same claims, with nothing else (no store, no
// log). The token-service issue asks Ostiary for 80 % of its rate.
func BenchmarkMinimalTokenServer(b *testing.B) {
	srv := apptest.New(b)
	tlsCfg, _, err := srv.App.TLSConfig()
	if err != nil {
		b.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	wantHash := sha256.Sum256([]byte(srv.Creds.ClientSecret))
	clientID := srv.Creds.ClientID
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			got := sha256.Sum256([]byte(r.PostForm.Get("client_secret")))
			if r.PostForm.Get("client_id") != clientID || subtle.ConstantTimeCompare(got[:], wantHash[:]) != 1 {
				http.Error(w, "invalid_client", http.StatusUnauthorized)
				return
			}
			now := time.Now()
			claims := map[string]any{"aud": "https://graph.microsoft.com", "iss": "https://sts/" + clientID + "/", "iat": now.Unix(),
				"nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "appid": clientID, "appidacr": "1", "idp": "https://sts/",
				"idtyp": "app", "oid": clientID, "roles": []string{"Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory"},
				"sub": clientID, "tid": clientID, "uti": strconv.FormatInt(now.UnixNano(), 36), "ver": "1.0"}
			tok, err := jwt.Signed(signer).Claims(claims).Serialize()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
		}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = hs.Serve(tls.NewListener(ln, tlsCfg)) }()
	b.Cleanup(func() { _ = hs.Close() })
	pub, err := url.Parse(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	endpoint := "https://" + net.JoinHostPort(pub.Hostname(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)) + "/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {srv.Creds.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}.Encode()
	tokenRate(b, tokenCall(srv.Client, endpoint, form))
}
