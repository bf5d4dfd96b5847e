// Package app is Ostiary's composition root: it opens the store, runs
// migrations, builds every service with plain constructors, mounts the
// transports on one mux, starts the periodic jobs and shuts down
// gracefully. It is the only package that knows every other one.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ostiary/ostiary/internal/access"
	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/config"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/graphapi"
	"github.com/ostiary/ostiary/internal/oidc"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/secretbox"
	"github.com/ostiary/ostiary/internal/signin"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/postgres"
	"github.com/ostiary/ostiary/internal/store/sqlite"
	"github.com/ostiary/ostiary/internal/store/sqlstore"
	"github.com/ostiary/ostiary/internal/tokens"
	"github.com/ostiary/ostiary/internal/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBody caps request bodies (Graph's own limit is 4 MiB).
const maxBody = 4 << 20

// App is a running Ostiary server's parts.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	now     func() time.Time
	store   *sqlstore.DB
	dir     *directory.Service
	methods *authmethods.Service
	keys    *tokens.Keys
	clients *authn.Service
	access  *access.Tenants
	watched store.Store // store, with this replica's writes seen by access
	handler http.Handler
}

// Options adjust what tests and tools need to control.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Resolver answers domain verification lookups; nil derives one from
	// the configuration.
	Resolver directory.TXTResolver
}

// OpenStore opens and migrates the configured store.
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	var (
		db  *sqlstore.DB
		err error
	)
	if cfg.DatabaseURL != "" {
		db, err = postgres.Open(ctx, cfg.DatabaseURL)
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		path := filepath.Join(cfg.DataDir, "ostiary.db")
		// The database holds password hashes and sealed keys: create it
		// private to the server's user (SQLite gives its WAL the same mode).
		f, ferr := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
		if ferr != nil {
			return nil, fmt.Errorf("database file: %w", ferr)
		}
		f.Close()
		db, err = sqlite.Open(path)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// New builds the server from a validated configuration.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, now: now, store: db}
	if err := a.build(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, opts Options) error {
	cfg := a.cfg
	if cfg.DatabaseURL != "" && cfg.MasterKey == "" {
		// A key file on one machine cannot be shared by replicas: each would
		// seal signing keys the others cannot open.
		a.log.Warn("PostgreSQL without OSTIARY_MASTER_KEY: the master key lives in the data directory; give every replica the same key")
	}
	key, err := masterKey(cfg)
	if err != nil {
		return err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return err
	}
	// Passkey sign-in challenges are sealed on every view of a sign-in
	// page, at anyone's request: under a key of their own, never the one
	// that protects secrets at rest. Replicas derive the same key.
	challengeKey, err := secretbox.DeriveKey(key, "authmethods passkey sign-in challenges")
	if err != nil {
		return err
	}
	challenges, err := secretbox.New(challengeKey)
	if err != nil {
		return err
	}
	// Password hashes run at most one per core, so memory stays at idle +
	// cores × Argon2MemoryKiB (the hasher reuses that memory), and at most
	// one more per core waits: beyond that, 429 with Retry-After at once.
	// The queue bounds latency: a sign-in that joins a full queue of q
	// behind c running hashes waits q/c hashes, then hashes, so it takes
	// q/c + 1 hashes plus the rest of the request: q = c allows 2, within
	// the goal of 4 for the p99 of successful sign-ins with room for the
	// rest, where q = 2c would allow 3. A waiter per core is enough to keep
	// the cores busy under load (the measured rate is the same as with
	// q = 2c, within noise); the 256 this replaced made 128 clients wait 83
	// hashes (2.4 s) at the median, and none was told to back off.
	hashers := runtime.GOMAXPROCS(0)
	hasher := passwords.NewHasher(passwords.Params{Memory: cfg.Argon2MemoryKiB, Time: cfg.Argon2Time, Threads: cfg.Argon2Threads}, hashers, hashers)
	resolver := opts.Resolver
	if resolver == nil {
		resolver = dnsResolver(cfg.DNSServer)
	}
	// Services write through the access cache's watch, so this replica
	// enforces its own role changes on the next request.
	a.access = access.New(a.store, a.log)
	st := a.access.Watch(a.store)
	a.watched = st
	a.dir = directory.New(st, &access.Authorizer{Tenants: a.access, Now: a.now}, hasher, resolver,
		directory.Config{InitialDomainSuffix: cfg.InitialDomainSuffix}, a.now, a.log)
	a.methods, err = authmethods.New(st, box, &access.Authorizer{Tenants: a.access, Now: a.now},
		authmethods.Config{PublicURL: cfg.PublicURL, Roles: a.access, ChallengeSealer: challenges, Now: a.now, Log: a.log})
	if err != nil {
		return err
	}

	// Retired keys stay published long enough for every token they signed.
	a.keys, err = tokens.NewKeys(st, box, tokens.KeyConfig{RotationPeriod: cfg.KeyRotation, Overlap: cfg.AccessTokenLifetime*2 + 24*time.Hour})
	if err != nil {
		return err
	}
	if err := a.keys.EnsureKeys(ctx, a.now()); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	issuer, err := tokens.NewIssuer(a.keys, tokens.IssuerConfig{PublicURL: cfg.PublicURL, AccessTokenLifetime: cfg.AccessTokenLifetime})
	if err != nil {
		return err
	}
	verifier, err := tokens.NewVerifier(a.keys, cfg.PublicURL)
	if err != nil {
		return err
	}
	clients := authn.NewWith(st, authn.Config{
		Hasher:               hasher,
		Lockout:              authn.LockoutPolicy{Threshold: cfg.LockoutThreshold, Duration: cfg.LockoutDuration},
		RefreshTokenLifetime: cfg.RefreshTokenLifetime,
		Roles:                a.access,
		Changes:              a.access,
		MFARegistrationGrace: cfg.MFARegistrationGrace,
	})
	a.clients = clients
	mfa := mfaMethods{methods: a.methods, clients: clients}
	sts, err := oidc.New(oidc.Config{PublicURL: cfg.PublicURL, Now: a.now},
		oidc.Deps{Tenants: clients, Clients: clients, Tokens: issuer, Keys: a.keys, SignIns: clients,
			Users: clients, UserTokens: issuer, AccessTokens: verifier, Codes: clients, DeviceCodes: clients, Consent: clients, LegacyAuth: clients, MFA: mfa, Log: a.log})
	if err != nil {
		return err
	}
	pages, err := signin.New(signin.Config{PublicURL: cfg.PublicURL, SessionLifetime: cfg.SignInSessionLifetime, Now: a.now, Log: a.log}, clients, sts)
	if err != nil {
		return err
	}
	pages.EnableConsent(consentPages{sts: sts, dir: a.dir})
	pages.EnableAdminConsent(adminConsentPages{sts: sts, clients: clients, dir: a.dir})
	pages.EnableIDTokenHints(verifier)
	pages.EnableMFA(mfa)
	graph := graphapi.New(a.dir, a.methods, verifier, cfg.PublicURL, a.now, a.log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := web.NewMetrics(reg)

	mux := http.NewServeMux()
	sts.Register(mux)
	pages.Register(mux)
	pages.RegisterDeviceLogin(mux, clients)
	pages.RegisterAdminConsent(mux)
	pages.EnableSecurityInfo(mux, mfa)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if graphapi.Owns(r.URL.Path) {
			graph.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	a.handler = web.Chain(root,
		web.RequestIDs,
		web.Recover(a.log),
		web.Observe(a.log, metrics),
		web.SecurityHeaders,
		web.LimitBody(maxBody),
		web.GzipRequests(maxBody),
	)
	return nil
}

// ready answers /readyz: the store must be reachable and keys loaded.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		http.Error(w, "store unavailable\n", http.StatusServiceUnavailable)
		return
	}
	if len(a.keys.PublishedKeys()) == 0 {
		http.Error(w, "no signing keys\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler { return a.handler }

// Directory exposes the directory service (bootstrap, CLI commands).
func (a *App) Directory() *directory.Service { return a.dir }

// AuthMethods exposes the authentication methods service (CLI commands).
func (a *App) AuthMethods() *authmethods.Service { return a.methods }

// Store exposes the store (CLI commands).
func (a *App) Store() store.Store { return a.watched }

// Close releases the store.
func (a *App) Close() error { return a.store.Close() }

func masterKey(cfg config.Config) ([]byte, error) {
	if cfg.MasterKey != "" {
		return secretbox.ParseKey(cfg.MasterKey)
	}
	return secretbox.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "master.key"))
}

// dnsResolver returns a resolver that asks server ("host:port") or, when
// server is empty, the system's resolver.
func dnsResolver(server string) directory.TXTResolver {
	if server == "" {
		return net.DefaultResolver
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, server)
	}}
}
