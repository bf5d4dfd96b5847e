// Package apptest runs a whole Ostiary server for tests: the real
// composition root over real HTTPS on loopback, trusted through the
// server's own generated CA, on a SQLite file in a temporary directory or
// on a fresh PostgreSQL schema.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/config"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/store/postgres/pgtest"
)

// Server is a running test server.
type Server struct {
	URL    string
	Creds  directory.TenantCredentials
	Client *http.Client
	App    *app.App
	Config config.Config
	// CAFile is the PEM file of the CA the server's certificate chains
	// to, for clients in other processes.
	CAFile string
}

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// SecurityDefaults creates the first tenant with security defaults on, as
// a production server does.
func SecurityDefaults() Option {
	return func(c *config.Config) {
		on := true
		c.Bootstrap.SecurityDefaults = &on
	}
}

// PublicHost gives the server a public URL on host instead of the
// listener's IP address (https://host:port), for what needs a domain name:
// passkeys, whose relying party id cannot be an IP address. host must
// resolve to the loopback address ("localhost"); the generated certificate
// covers it, and the test client dials the listener whatever it resolves to.
func PublicHost(host string) Option {
	return func(c *config.Config) {
		_, port, _ := net.SplitHostPort(c.Listen)
		c.PublicURL = "https://" + net.JoinHostPort(host, port)
	}
}

// Postgres runs the server on a fresh PostgreSQL schema (skipped locally
// without OSTIARY_TEST_POSTGRES, fatal in CI).
func Postgres(t testing.TB) Option {
	u := pgtest.URL(t)
	return func(c *config.Config) {
		c.DatabaseURL = u
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		c.MasterKey = base64.StdEncoding.EncodeToString(key)
	}
}

// New starts a server and bootstraps its first tenant with known
// credentials; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return NewWith(t, app.Options{}, opts...)
}

// NewWith is New with app options (a fake clock, a DNS resolver).
func NewWith(t testing.TB, aopts app.Options, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	// Small argon2 parameters keep tests fast; production keeps OWASP's.
	cfg.Argon2MemoryKiB, cfg.Argon2Time = 8*1024, 1
	cfg.LogLevel = "warn"
	// The first tenant starts with security defaults off, as a CI or
	// emulator setup would (OSTIARY_BOOTSTRAP_SECURITY_DEFAULTS=false): most
	// tests are about something else and sign in with a password alone.
	// Tests of security defaults turn them on (SecurityDefaults).
	off := false
	cfg.Bootstrap = config.Bootstrap{TenantName: "contoso", AdminPassword: "Adm1n-Passw0rd!", ClientSecret: "test-client-secret-0123456789",
		SecurityDefaults: &off}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, caFile := start(t, cfg, aopts, ln)
	creds, err := a.Bootstrap(context.Background())
	if err != nil || creds == nil {
		t.Fatalf("bootstrap: %v", err)
	}
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("read CA %s: %v", caFile, err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16,
		DialContext: dialListener(cfg),
	}}
	return &Server{URL: cfg.PublicURL, Creds: *creds, Client: client, App: a, Config: cfg, CAFile: caFile}
}

// dialListener dials the server's listener for its public host (see
// PublicHost), and anything else as usual.
func dialListener(cfg config.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	public := ""
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		public = u.Host
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == public {
			addr = cfg.Listen
		}
		return d.DialContext(ctx, network, addr)
	}
}

// start builds and serves an app on ln until the test ends, and returns it
// with the CA file its certificate chains to.
func start(t testing.TB, cfg config.Config, aopts app.Options, ln net.Listener) (*app.App, string) {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("OSTIARY_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, aopts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tlsCfg, caFile, err := a.TLSConfig()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, tlsCfg, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return a, caFile
}

// Replica starts a second server on the primary's PostgreSQL database and
// master key, as a replica behind the same load balancer: it has the
// primary's public URL (tokens from either are valid on both), its own
// listener, and URL points at that listener.
func Replica(t testing.TB, primary *Server) *Server {
	t.Helper()
	if primary.Config.DatabaseURL == "" {
		t.Fatal("apptest.Replica needs a primary on PostgreSQL (apptest.Postgres)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := primary.Config
	cfg.Listen = ln.Addr().String()
	a, _ := start(t, cfg, app.Options{}, ln)
	return &Server{URL: "https://" + cfg.Listen, Creds: primary.Creds, Client: primary.Client, App: a, Config: cfg}
}

// Token gets an app-only Graph token for the bootstrap application.
func (s *Server) Token(t testing.TB) string {
	t.Helper()
	return s.TokenFor(t, s.Creds.TenantID, s.Creds.ClientID, s.Creds.ClientSecret, "https://graph.microsoft.com/.default")
}

// TokenFor runs the client-credentials grant and returns the access token.
func (s *Server) TokenFor(t testing.TB, tenant, clientID, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
	resp, err := s.Client.PostForm(s.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, &body) != nil || body.AccessToken == "" {
		t.Fatalf("token request: %d %s", resp.StatusCode, raw)
	}
	return body.AccessToken
}

// Response is a decoded API response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// ErrorCode returns the Graph error code of the body, or "".
func (r Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request with a bearer token; body is JSON-encoded unless it
// is already []byte. headers are name, value pairs.
func (s *Server) Do(t testing.TB, method, path, token string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = s.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}
