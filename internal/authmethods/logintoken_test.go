package authmethods_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// ceremonies counts the tenant's ceremony objects, live or not.
func (e *env) ceremonies(tenantID string) int {
	e.t.Helper()
	n := 0
	must(e.t, e.st.Read(e.ctx, func(r store.Reader) error {
		for _, scope := range []store.Scope{store.Live, store.DeletedOnly} {
			p, err := r.List(tenantID, iam.KindAuthMethodCeremony, scope, query.List{Top: 999})
			if err != nil {
				return err
			}
			n += len(p.Items)
		}
		return nil
	}))
	return n
}

// Beginning a passkey sign-in, named or discoverable, writes nothing: a
// sign-in page begins one on every view, for anyone.
func TestPasskeyLoginBeginWritesNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")
	before, writes := e.ceremonies(e.tenant), e.writes.n.Load()
	handles := map[string]bool{}
	for i := range 200 {
		who := ""
		if i%2 == 1 {
			who = alice
		}
		opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, who)
		must(t, err)
		if len(opts) == 0 || handles[string(sess)] {
			t.Fatalf("begin %d: options %s, handle seen before: %v", i, opts, handles[string(sess)])
		}
		handles[string(sess)] = true
	}
	if n := e.writes.n.Load() - writes; n != 0 {
		t.Errorf("200 passkey sign-ins begun in %d writes, want none", n)
	}
	if n := e.ceremonies(e.tenant); n != before {
		t.Errorf("ceremonies went from %d to %d", before, n)
	}
	// The handle is opaque: nothing in it reads as the user or the
	// challenge the options carry.
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	challenge, _ := a.Options(opts)["challenge"].(string)
	for _, clear := range []string{alice, challenge, b64.EncodeToString([]byte(alice)), "challenge", "passkeyLogin"} {
		if clear != "" && strings.Contains(string(sess), clear) {
			t.Errorf("the handle shows %q: %s", clear, sess)
		}
	}
	// The one accepted answer writes one record of its challenge.
	_, err = e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k))
	must(t, err)
	if n := e.ceremonies(e.tenant); n != before+1 {
		t.Errorf("after a sign-in: %d ceremonies, want %d", n, before+1)
	}
}

// A sign-in handle is answered once, even by an authenticator that keeps
// no signature counter, where the counter check cannot tell a replay: the
// same assertion again, a new assertion over the same challenge, or two
// posts racing each other.
func TestPasskeyLoginReplayZeroCounter(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")
	k.FixedZero = true // counter 0, always

	for _, who := range []string{alice, ""} {
		opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, who)
		must(t, err)
		resp := a.Get(opts, k)
		got, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp)
		if err != nil || got != alice {
			t.Fatalf("sign-in (user %q): %q %v", who, got, err)
		}
		if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp); errs.KindOf(err) != errs.Invalid {
			t.Errorf("the same assertion again (user %q): %v", who, err)
		}
		if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("a new assertion over a spent challenge (user %q): %v", who, err)
		}
	}

	// Racing answers to one challenge: exactly one passes.
	for _, who := range []string{alice, ""} {
		opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, who)
		must(t, err)
		const racers = 8
		answers := make([][]byte, racers)
		for i := range answers {
			answers[i] = a.Get(opts, k)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  int
			errz []error
		)
		for i := range racers {
			wg.Go(func() {
				_, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, answers[i])
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
				} else {
					errz = append(errz, err)
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of %d racing answers to one challenge passed (user %q): %v", won, racers, who, errz)
		}
		for _, err := range errz {
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("a racing answer refused as %v", err)
			}
		}
	}

	// A refused answer (another key's signature) spends nothing: the
	// challenge is the passkey holder's to answer until it expires.
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, "")
	must(t, err)
	writes := e.writes.n.Load()
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k.Forged(t))); errs.KindOf(err) != errs.Unauthenticated {
		t.Fatalf("a forged signature: %v", err)
	}
	if n := e.writes.n.Load() - writes; n != 0 {
		t.Errorf("a refused answer wrote %d times", n)
	}
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); err != nil {
		t.Errorf("the holder's answer after a forgery: %v", err)
	}
}

// An expired handle, or one altered in any way, is refused; so is a
// registration's handle, and the answer to it.
func TestPasskeyLoginTokenTamperedOrExpired(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")

	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	h := string(sess)
	resp := a.Get(opts, k)
	flip := func(i int) string {
		b := []byte(h)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	bad := map[string]string{
		"prefix":         flip(0),
		"first byte":     flip(len("AMP1.")),
		"middle":         flip(len(h) / 2),
		"last":           flip(len(h) - 1),
		"truncated":      h[:len(h)-4],
		"extended":       h + "AAAA",
		"no prefix":      strings.TrimPrefix(h, "AMP1."),
		"stored prefix":  "AM1." + strings.TrimPrefix(h, "AMP1."),
		"padded":         h + "=",
		"standard b64":   strings.NewReplacer("-", "+", "_", "/").Replace(h),
		"empty":          "",
		"prefix only":    "AMP1.",
		"huge":           "AMP1." + strings.Repeat("A", 64<<10),
		"another handle": "",
	}
	_, other, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	bad["another handle"] = string(other) // valid, but for another challenge
	for name, v := range bad {
		if v == h {
			continue // the replacer found nothing to replace
		}
		_, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, []byte(v), resp)
		switch {
		case err == nil:
			t.Errorf("%s: a tampered handle was accepted", name)
		case name == "another handle":
			if errs.KindOf(err) != errs.Unauthenticated { // the signature is over the other challenge
				t.Errorf("%s: %v", name, err)
			}
		case errs.KindOf(err) != errs.Invalid:
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	// None of that spent it.
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp); err != nil {
		t.Fatalf("the handle itself after the tampered ones: %v", err)
	}

	// Expired: five minutes, to the second.
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, "")
	must(t, err)
	e.advance(5 * time.Minute)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); errs.KindOf(err) != errs.Invalid {
		t.Errorf("an expired handle: %v", err)
	}
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, "")
	must(t, err)
	e.advance(5*time.Minute - time.Second)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k)); err != nil {
		t.Errorf("a handle a second before it expires: %v", err)
	}

	// A registration's handle does not finish a sign-in, nor the reverse.
	regOpts, regSess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, alice, "", "")
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, regSess, resp); errs.KindOf(err) != errs.Invalid {
		t.Errorf("a registration handle finished a sign-in: %v", err)
	}
	_, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	_, created := newAuthenticator(t).Create(regOpts)
	if _, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, alice, sess, created, ""); errs.KindOf(err) != errs.Invalid {
		t.Errorf("a sign-in handle finished a registration: %v", err)
	}
}

// A handle opens only in the tenant that issued it, even for a user and
// passkey that would pass there.
func TestPasskeyLoginTokenOtherTenant(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")

	creds, err := e.dir.CreateTenant(e.ctx, directory.TenantSpec{Name: "fabrikam", DisplayName: "Fabrikam"})
	must(t, err)
	other := creds.TenantID
	bob, err := e.dir.CreateUser(e.ctx, iam.System(other), directory.Patch(`{"accountEnabled":true,"displayName":"Bob",`+
		`"mailNickname":"bob","userPrincipalName":"bob@`+creds.Domain+`",`+
		`"passwordProfile":{"password":"Str0ng-Passw0rd!","forceChangePasswordNextSignIn":false}}`))
	must(t, err)
	regOpts, regSess, err := e.svc.BeginPasskeyRegistration(e.ctx, other, bob.ID, "", "")
	must(t, err)
	bk, created := a.Create(regOpts)
	_, err = e.svc.FinishPasskeyRegistration(e.ctx, other, bob.ID, regSess, created, "")
	must(t, err)

	// Contoso's handles, answered by contoso's alice or by fabrikam's
	// bob, in fabrikam: refused before anything is verified.
	for _, who := range []string{alice, ""} {
		opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, who)
		must(t, err)
		for _, key := range []struct {
			name string
			resp []byte
		}{{"alice's", a.Get(opts, k)}, {"bob's", a.Get(opts, bk)}} {
			if _, err := e.svc.FinishPasskeyLogin(e.ctx, other, sess, key.resp); errs.KindOf(err) != errs.Invalid {
				t.Errorf("contoso's handle (user %q) with %s passkey in fabrikam: %v", who, key.name, err)
			}
		}
	}
	// Fabrikam's own handle works there, and not in contoso.
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, other, "")
	must(t, err)
	resp := a.Get(opts, bk)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp); errs.KindOf(err) != errs.Invalid {
		t.Errorf("fabrikam's handle in contoso: %v", err)
	}
	if got, err := e.svc.FinishPasskeyLogin(e.ctx, other, sess, resp); err != nil || got != bob.ID {
		t.Errorf("fabrikam's handle at home: %q %v", got, err)
	}
}

// Answered challenges are purged with the expired ceremonies, paced after
// sign-ins, and never before their handle expires.
func TestPasskeyLoginAnsweredPurged(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	a := newAuthenticator(t)
	k, _ := e.register(a, alice, "")
	k.FixedZero = true
	base := e.ceremonies(e.tenant)
	type answered struct{ sess, resp []byte }
	var spent []answered
	for range 3 {
		opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, "")
		must(t, err)
		resp := a.Get(opts, k)
		_, err = e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, resp)
		must(t, err)
		spent = append(spent, answered{sess, resp})
	}
	if n := e.ceremonies(e.tenant); n != base+3 {
		t.Fatalf("%d ceremonies after 3 sign-ins, want %d", n, base+3)
	}
	// Past the handles' expiry and the margin, the next sign-in (a
	// minute after the last purge) takes them away.
	e.advance(11 * time.Minute)
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, "")
	must(t, err)
	_, err = e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.Get(opts, k))
	must(t, err)
	if n := e.ceremonies(e.tenant); n != base+1 {
		t.Errorf("%d ceremonies after the purge, want %d (the last sign-in's)", n, base+1)
	}
	// The purged ones' handles are expired: still refused.
	for _, s := range spent {
		if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, s.sess, s.resp); errs.KindOf(err) != errs.Invalid {
			t.Errorf("a purged challenge's handle: %v", err)
		}
	}
}
