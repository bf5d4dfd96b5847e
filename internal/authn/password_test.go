package authn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const userPassword = "C0rrect-Horse-Battery!"

// passwordWorld is a tenant with one user whose password is userPassword.
func passwordWorld(t *testing.T, policy authn.LockoutPolicy) (*authn.Service, string, string) {
	t.Helper()
	db := backendtest.Open(t)
	hasher := passwords.NewHasher(passwords.Params{Memory: 8 * 1024, Time: 1, Threads: 1}, 2, 8)
	svc := authn.NewWith(db, authn.Config{Hasher: hasher, Lockout: policy})
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	hash, err := hasher.Hash(context.Background(), userPassword)
	if err != nil {
		t.Fatal(err)
	}
	upn := "alice@" + domain
	id := iam.NewID()
	enabled := true
	name := "Alice"
	data, _ := json.Marshal(iam.User{ObjectMeta: iam.ObjectMeta{ID: id, DisplayName: &name}, UserPrincipalName: upn, AccountEnabled: &enabled})
	secret, _ := json.Marshal(map[string]string{"password": hash})
	if err := db.Write(context.Background(), func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindUser, ID: id, Key: upn, CreatedAt: now, Data: data, Secret: secret})
	}); err != nil {
		t.Fatal(err)
	}
	return svc, id, upn
}

func TestPasswordLockout(t *testing.T) {
	t.Parallel()
	svc, id, upn := passwordWorld(t, authn.LockoutPolicy{Threshold: 3, Duration: time.Minute})
	ctx := context.Background()
	const home, away = "10.0.0.1", "203.0.113.9"
	at := now

	u, err := svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, home, at)
	if err != nil || u.ID != id {
		t.Fatalf("right password: %v %v", u, err)
	}
	_, err = svc.AuthenticatePassword(ctx, tenantID, "nobody@"+domain, userPassword, home, at)
	wantCode(t, err, "AADSTS50034")

	// Three failures from an unfamiliar address lock it out there...
	for i := 0; i < 3; i++ {
		_, err = svc.AuthenticatePassword(ctx, tenantID, upn, "wrong", away, at)
		wantCode(t, err, "AADSTS50126")
	}
	_, err = svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, away, at)
	wantCode(t, err, "AADSTS50053")
	// ...but not at home.
	if _, err := svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, home, at); err != nil {
		t.Fatalf("familiar address must not be locked out: %v", err)
	}
	// The lock expires after a minute; the next failure locks again, for
	// two minutes.
	at = at.Add(61 * time.Second)
	_, err = svc.AuthenticatePassword(ctx, tenantID, upn, "wrong", away, at)
	wantCode(t, err, "AADSTS50126")
	at = at.Add(90 * time.Second)
	_, err = svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, away, at)
	wantCode(t, err, "AADSTS50053")
	at = at.Add(31 * time.Second)
	if _, err := svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, away, at); err != nil {
		t.Fatalf("after the second lock: %v", err)
	}
	// A success there made the address familiar and reset the escalation.
	_, err = svc.AuthenticatePassword(ctx, tenantID, upn, "wrong", away, at)
	wantCode(t, err, "AADSTS50126")
	if _, err := svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, away, at); err != nil {
		t.Fatalf("one failure must not lock: %v", err)
	}
}

func TestPasswordDisabledAndBusy(t *testing.T) {
	t.Parallel()
	svc, _, upn := passwordWorld(t, authn.LockoutPolicy{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := svc.AuthenticatePassword(ctx, tenantID, upn, userPassword, "10.0.0.1", now)
	if err == nil || !errs.Is(err, errs.Unavailable) {
		t.Fatalf("cancelled request: %v", err)
	}
}
