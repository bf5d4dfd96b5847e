package authmethods_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ostiary/ostiary/internal/access"
	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/directory/dnstest"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/secretbox"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

// publicURL is the test server's origin; passkeys are bound to it.
const (
	publicURL = "https://login.ostiary.test"
	rpID      = "login.ostiary.test"
)

// env is the service on a real store with the server's own authorizer, a
// directory service to make users and roles, and a clock the test moves.
type env struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	// writes counts the transactions the service (and the test) write.
	writes *countingStore
	svc    *authmethods.Service
	dir    *directory.Service
	mu     sync.Mutex
	now    time.Time
	tenant string
	admin  string // the bootstrap Global Administrator's id
	domain string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	db := backendtest.Open(t)
	log := slog.New(slog.DiscardHandler)
	tenants := access.New(db, log)
	e.writes = &countingStore{Store: tenants.Watch(db)}
	e.st = e.writes
	az := &access.Authorizer{Tenants: tenants, Now: e.clock}
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	hasher := passwords.NewHasher(passwords.Params{Memory: 64, Time: 1, Threads: 1}, 2, 16)
	e.dir = directory.New(e.st, az, hasher, dnstest.Start(t).Resolver(), directory.Config{}, e.clock, log)
	e.svc, err = authmethods.New(e.st, box, az, authmethods.Config{PublicURL: publicURL, Roles: tenants, Now: e.clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := e.dir.CreateTenant(e.ctx, directory.TenantSpec{Name: "contoso", DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant, e.domain = creds.TenantID, creds.Domain
	e.admin = e.userID(creds.AdminUserPrincipalName)
	return e
}

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	n atomic.Int64
}

func (c *countingStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	c.n.Add(1)
	return c.Store.Write(ctx, fn)
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// user creates a member user and returns its id.
func (e *env) user(name string) string {
	e.t.Helper()
	u, err := e.dir.CreateUser(e.ctx, iam.System(e.tenant), directory.Patch(`{"accountEnabled":true,"displayName":"`+name+
		`","mailNickname":"`+name+`","userPrincipalName":"`+name+`@`+e.domain+
		`","passwordProfile":{"password":"Str0ng-Passw0rd!","forceChangePasswordNextSignIn":false}}`))
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u.ID
}

func (e *env) userID(upn string) string {
	e.t.Helper()
	id, err := e.dir.ResolveUserID(e.ctx, iam.System(e.tenant), upn)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// assign gives the user a built-in role tenant-wide.
func (e *env) assign(userID, role string) {
	e.t.Helper()
	_, err := e.dir.CreateRoleAssignment(e.ctx, iam.System(e.tenant), directory.Patch(`{"principalId":"`+userID+
		`","roleDefinitionId":"`+role+`","directoryScopeId":"/"}`))
	if err != nil {
		e.t.Fatal(err)
	}
}

// app is an app-only caller holding Graph application permissions.
func (e *env) app(perms ...string) *iam.Caller {
	return &iam.Caller{Type: iam.CallerApp, TenantID: e.tenant, ObjectID: iam.NewID(), AppID: iam.NewID(), Roles: perms}
}

// delegated is userID signed in with the scopes.
func (e *env) delegated(userID string, scopes ...string) *iam.Caller {
	return &iam.Caller{Type: iam.CallerUser, TenantID: e.tenant, ObjectID: userID, AppID: iam.NewID(), Scopes: scopes}
}

// code is the TOTP code of secret at t, as an authenticator app computes it.
func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantCode fails unless err is an errs error with the wire code.
func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if err == nil || errs.As(err).Code != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// enrollTOTP registers an authenticator app for the user at the env's
// now and returns its secret.
func (e *env) enrollTOTP(userID string) string {
	e.t.Helper()
	en, err := e.svc.BeginTOTP(e.ctx, e.tenant, userID, "someone@"+e.domain)
	must(e.t, err)
	_, err = e.svc.ConfirmTOTP(e.ctx, e.tenant, userID, en.ID, code(e.t, en.Secret, e.clock()))
	must(e.t, err)
	return en.Secret
}
