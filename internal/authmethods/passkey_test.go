package authmethods_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/authmethods/webauthntest"
	"github.com/ostiary/ostiary/internal/errs"
)

var b64 = base64.RawURLEncoding

func newAuthenticator(t testing.TB) *webauthntest.Authenticator {
	return webauthntest.New(t, publicURL, rpID)
}

// register runs a whole registration for userID.
func (e *env) register(a *webauthntest.Authenticator, userID, name string) (*webauthntest.Key, authmethods.Method) {
	e.t.Helper()
	opts, sess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, userID, "", "")
	must(e.t, err)
	k, resp := a.Create(opts)
	m, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, userID, sess, resp, name)
	must(e.t, err)
	return k, m
}

// login runs a sign-in for userID ("" for discoverable) with key k.
func (e *env) login(a *webauthntest.Authenticator, userID string, k *webauthntest.Key) (string, error) {
	e.t.Helper()
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, userID)
	must(e.t, err)
	return e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k))
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, m := e.register(a, alice, "  Alice's laptop ")
	d := jsonOf(t, m)
	if d["@odata.type"] != "#microsoft.graph.fido2AuthenticationMethod" || d["displayName"] != "Alice's laptop" ||
		d["aaGuid"] != "6f737469-6172-792d-736f-66746b657921" || d["attestationLevel"] != "notAttested" {
		t.Errorf("registered: %v", d)
	}
	st, err := e.svc.Status(e.ctx, e.tenant, alice)
	must(t, err)
	if !st.HasPasskey || !st.IsPasswordlessCapable || !st.IsMfaCapable || st.DefaultMethod != authmethods.TypeFido2 {
		t.Errorf("status: %+v", st)
	}
	// Named sign-in, then discoverable (the authenticator names the user).
	for _, who := range []string{alice, ""} {
		got, err := e.login(a, who, k)
		if err != nil || got != alice {
			t.Fatalf("sign-in (user %q): %q %v", who, got, err)
		}
	}
	// Bob's sign-in cannot use alice's key.
	bob := e.user("bob")
	e.register(newAuthenticator(t), bob, "")
	if got, err := e.login(a, bob, k); err == nil {
		t.Fatalf("alice's key signed bob in: %q", got)
	}
	// One credential is registered once, for one user.
	a.Reuse = k
	for _, who := range []string{alice, bob} {
		opts, sess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, who, "", "")
		must(t, err)
		_, resp := a.Create(opts)
		if _, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, who, sess, resp, ""); errs.KindOf(err) != errs.Conflict {
			t.Errorf("alice's credential registered again for %s: %v", who, err)
		}
	}
	a.Reuse = nil
	// A deleted passkey no longer signs in.
	must(t, e.svc.Delete(e.ctx, e.app(rw), alice, authmethods.TypeFido2, m.ID))
	if _, err := e.login(a, "", k); err == nil {
		t.Fatal("a deleted passkey signed in")
	}
}

func TestPasskeyCeremonies(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")

	// A session works once.
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	resp := a.Get(opts, k)
	_, err = e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp); errs.KindOf(err) != errs.Invalid {
		t.Errorf("a session used twice: %v", err)
	}
	// A forged or foreign handle, a registration session, another tenant.
	for _, bad := range [][]byte{[]byte("AM1.forged"), []byte("AM1." + b64.EncodeToString(make([]byte, 32))), nil} {
		if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, bad, resp); errs.KindOf(err) != errs.Invalid {
			t.Errorf("handle %q: %v", bad, err)
		}
	}
	_, regSess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, alice, "", "")
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, regSess, resp); err == nil {
		t.Error("a registration session finished a sign-in")
	}
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, iam0(), sess, a.Get(opts, k)); err == nil {
		t.Error("a session finished in another tenant")
	}
	// Expired after five minutes.
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	e.advance(6 * time.Minute)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); err == nil {
		t.Error("an expired session finished")
	}
	// Without user verification, from another origin, or with a bad
	// signature: refused.
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	a.NoUV = true
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no user verification: %v", err)
	}
	a.NoUV = false
	evil := newAuthenticator(t)
	evil.Origin = "https://login.ostiary.test.evil.example"
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, evil.Get(opts, k)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("another origin: %v", err)
	}
	forged := k.Forged(t)
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, forged)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("a signature by another key: %v", err)
	}
	// Registration also requires user verification.
	a.NoUV = true
	opts, sess, err = e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, alice, "", "")
	must(t, err)
	_, reg := a.Create(opts)
	if _, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, alice, sess, reg, ""); errs.KindOf(err) != errs.Invalid {
		t.Errorf("registration without user verification: %v", err)
	}
}

// A cloned authenticator replays a counter the original already used: the
// sign-in is refused, and the original goes on working.
func TestPasskeyClonedCounter(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")
	clone := k.Clone() // copied at counter 0
	for range 2 {
		_, err := e.login(a, alice, k)
		must(t, err)
	}
	clone.Counter = 1 // signs with 2, which the original already used
	_, err := e.login(a, alice, clone)
	wantCode(t, err, "AADSTS500121", "a cloned authenticator")
	if _, err := e.login(a, "", k); err != nil {
		t.Fatalf("the original after the clone was refused: %v", err)
	}
	// An authenticator that keeps no counter (always 0) is accepted.
	bob := e.user("bob")
	zk, _ := e.register(a, bob, "")
	zk.FixedZero = true
	for range 3 {
		_, err := e.login(a, bob, zk)
		must(t, err)
	}
}

// iam0 is a tenant id that exists nowhere.
func iam0() string { return "00000000-0000-0000-0000-000000000000" }
