package authmethods_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

const rw = "UserAuthenticationMethod.ReadWrite.All"

func TestTAPOnceOnly(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	admin := e.app(rw)
	m, pass, err := e.svc.IssueTAP(e.ctx, admin, alice, time.Hour, true, time.Time{})
	must(t, err)
	doc := jsonOf(t, m)
	if doc["temporaryAccessPass"] != pass || len(pass) < 16 || doc["isUsable"] != true || doc["isUsableOnce"] != true ||
		doc["lifetimeInMinutes"] != float64(60) || doc["methodUsabilityReason"] != "EnabledByPolicy" ||
		doc["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethod" {
		t.Errorf("issued: %v", doc)
	}
	// Shown once: later reads have no pass, and the store only a hash.
	got, err := e.svc.Get(e.ctx, admin, alice, authmethods.TypeTAP, m.ID)
	must(t, err)
	if d := jsonOf(t, got); d["temporaryAccessPass"] != nil {
		t.Errorf("the pass is shown again: %v", d)
	}
	must(t, e.st.Read(e.ctx, func(r store.Reader) error {
		o, err := r.Get(e.tenant, iam.KindAuthenticationMethod, m.ID)
		if err == nil && (bytes.Contains(o.Secret, []byte(pass)) || bytes.Contains(o.Data, []byte(pass))) {
			t.Error("the pass is stored in clear")
		}
		return err
	}))
	st, err := e.svc.Status(e.ctx, e.tenant, alice)
	must(t, err)
	if !st.UsableTAP || !st.TAPOnce || st.IsMfaCapable {
		t.Errorf("status with a pass: %+v", st)
	}
	// Only one live pass per user.
	if _, _, err := e.svc.IssueTAP(e.ctx, admin, alice, time.Hour, false, time.Time{}); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("a second pass: %v", err)
	}

	wantCode(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, "not-the-pass", e.clock()), "AADSTS500121", "a wrong pass")
	bob := e.user("bob")
	wantCode(t, e.svc.VerifyTAP(e.ctx, e.tenant, bob, pass, e.clock()), "AADSTS500121", "alice's pass for bob")
	must(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, " "+pass+" ", e.clock()))
	wantCode(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass, e.clock()), "AADSTS500121", "a one-time pass used twice")
	got, err = e.svc.Get(e.ctx, admin, alice, authmethods.TypeTAP, m.ID)
	must(t, err)
	if d := jsonOf(t, got); d["isUsable"] != false || d["methodUsabilityReason"] != "OneTimeUsed" {
		t.Errorf("a used pass: %v", d)
	}
	// A used pass gives way to a new one.
	_, pass2, err := e.svc.IssueTAP(e.ctx, admin, alice, 30*time.Minute, true, time.Time{})
	must(t, err)
	results := make(chan error, 6)
	for range 6 {
		go func() { results <- e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass2, e.clock()) }()
	}
	ok := 0
	for range 6 {
		if <-results == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("a one-time pass worked %d times under concurrency", ok)
	}
}

func TestTAPLifetime(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	admin := e.app(rw)
	// Valid from an hour from now, for ten minutes, many times.
	start := e.clock().Add(time.Hour)
	m, pass, err := e.svc.IssueTAP(e.ctx, admin, alice, 10*time.Minute, false, start)
	must(t, err)
	if d := jsonOf(t, m); d["isUsable"] != false || d["methodUsabilityReason"] != "NotYetValid" {
		t.Errorf("before its start: %v", d)
	}
	wantCode(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass, e.clock()), "AADSTS500121", "before its start")
	e.advance(time.Hour)
	must(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass, e.clock()))
	must(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass, e.clock().Add(9*time.Minute)))
	e.advance(10 * time.Minute)
	wantCode(t, e.svc.VerifyTAP(e.ctx, e.tenant, alice, pass, e.clock()), "AADSTS500121", "after it expired")
	got, err := e.svc.Get(e.ctx, admin, alice, authmethods.TypeTAP, m.ID)
	must(t, err)
	if d := jsonOf(t, got); d["methodUsabilityReason"] != "Expired" {
		t.Errorf("expired: %v", d)
	}

	for _, c := range []struct {
		name     string
		lifetime time.Duration
		start    time.Time
	}{
		{"too short", 5 * time.Minute, time.Time{}},
		{"too long", 31 * 24 * time.Hour, time.Time{}},
		{"in the past", time.Hour, e.clock().Add(-time.Hour)},
	} {
		if _, _, err := e.svc.IssueTAP(e.ctx, admin, alice, c.lifetime, false, c.start); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestTAPAuthorization(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	// Users cannot issue themselves a pass, even with every scope.
	self := e.delegated(alice, "Directory.AccessAsUser.All", "UserAuthenticationMethod.ReadWrite")
	if _, _, err := e.svc.IssueTAP(e.ctx, self, alice, time.Hour, true, time.Time{}); errs.KindOf(err) != errs.Denied {
		t.Errorf("self-issued pass: %v", err)
	}
	// Read permission does not issue.
	if _, _, err := e.svc.IssueTAP(e.ctx, e.app("UserAuthenticationMethod.Read.All"), alice, time.Hour, true, time.Time{}); errs.KindOf(err) != errs.Denied {
		t.Errorf("pass issued with a read permission: %v", err)
	}
	// An application's Graph permission does not reach a Global
	// Administrator: that needs a directory role the matrix allows.
	if _, _, err := e.svc.IssueTAP(e.ctx, e.app(rw), e.admin, time.Hour, true, time.Time{}); errs.KindOf(err) != errs.Denied {
		t.Errorf("pass issued for a Global Administrator by an app: %v", err)
	}
	// A Privileged Authentication Administrator issues one for anybody.
	pa := e.user("pauth")
	e.assign(pa, "7be44c8a-adaf-4e2a-84d6-ab2649e08a13")
	if _, _, err := e.svc.IssueTAP(e.ctx, e.delegated(pa, "UserAuthenticationMethod.ReadWrite.All"), e.admin, time.Hour, true, time.Time{}); err != nil {
		t.Errorf("Privileged Authentication Administrator: %v", err)
	}
}
