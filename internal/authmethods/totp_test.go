package authmethods_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

func TestTOTPEnrollment(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	en, err := e.svc.BeginTOTP(e.ctx, e.tenant, alice, "alice@"+e.domain)
	must(t, err)
	if !bytes.HasPrefix(en.QRPNG, []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("the QR code is not a PNG")
	}
	u, err := url.Parse(en.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != en.Secret || u.Query().Get("issuer") != "Contoso" ||
		!strings.Contains(u.Path, "alice@"+e.domain) {
		t.Errorf("otpauth URL %q", en.URL)
	}
	// Not usable before it is confirmed.
	wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, en.Secret, e.clock()), e.clock()), "AADSTS50079", "verify before confirmation")
	st, err := e.svc.Status(e.ctx, e.tenant, alice)
	must(t, err)
	if st.HasTOTP || st.IsMfaCapable || !st.HasPassword {
		t.Errorf("status before confirmation: %+v", st)
	}
	// Another user cannot confirm it; a wrong code leaves it open.
	bob := e.user("bob")
	if _, err := e.svc.ConfirmTOTP(e.ctx, e.tenant, bob, en.ID, code(t, en.Secret, e.clock())); err == nil {
		t.Fatal("another user confirmed the enrollment")
	}
	wantCode(t, errOf(e.svc.ConfirmTOTP(e.ctx, e.tenant, alice, en.ID, "000000")), "AADSTS500121", "confirm with a wrong code")
	m, err := e.svc.ConfirmTOTP(e.ctx, e.tenant, alice, en.ID, code(t, en.Secret, e.clock()))
	must(t, err)
	if m.Type != authmethods.TypeSoftwareOath || !strings.Contains(string(m.Data), `"secretKey":null`) ||
		!strings.Contains(string(m.Data), `"@odata.type":"#microsoft.graph.softwareOathAuthenticationMethod"`) {
		t.Errorf("confirmed method %s", m.Data)
	}
	// The enrollment is used up.
	if _, err := e.svc.ConfirmTOTP(e.ctx, e.tenant, alice, en.ID, code(t, en.Secret, e.clock().Add(30*time.Second))); err == nil {
		t.Error("an enrollment was confirmed twice")
	}
	st, err = e.svc.Status(e.ctx, e.tenant, alice)
	must(t, err)
	if !st.HasTOTP || !st.IsMfaCapable || st.IsPasswordlessCapable || st.DefaultMethod != authmethods.TypeSoftwareOath {
		t.Errorf("status after confirmation: %+v", st)
	}
	// The seed is sealed at rest: neither the document nor the secret
	// column holds it.
	must(t, e.st.Read(e.ctx, func(r store.Reader) error {
		o, err := r.Get(e.tenant, iam.KindAuthenticationMethod, m.ID)
		if err != nil {
			return err
		}
		if bytes.Contains(o.Secret, []byte(en.Secret)) || bytes.Contains(o.Data, []byte(en.Secret)) || len(o.Secret) < 20 {
			t.Error("the TOTP seed is stored in clear")
		}
		return nil
	}))
}

func TestTOTPReplayAndSkew(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	secret := e.enrollTOTP(alice)
	t0 := e.clock()
	verify := func(at, now time.Time) error {
		return e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, secret, at), now)
	}

	// The code that confirmed the app is used up.
	wantCode(t, verify(t0, t0), "AADSTS500121", "the confirmation code again")

	now := t0.Add(90 * time.Second) // three steps on
	must(t, verify(now.Add(-30*time.Second), now))
	wantCode(t, verify(now.Add(-30*time.Second), now), "AADSTS500121", "a code replayed")
	must(t, verify(now.Add(30*time.Second), now))
	// Once a later step was accepted, the current one is too old.
	wantCode(t, verify(now, now), "AADSTS500121", "a code older than the last accepted")

	now = now.Add(5 * time.Minute)
	wantCode(t, verify(now.Add(-60*time.Second), now), "AADSTS500121", "two steps behind")
	wantCode(t, verify(now.Add(60*time.Second), now), "AADSTS500121", "two steps ahead")
	c := code(t, secret, now)
	must(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, c[:3]+" "+c[3:], now))
	wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, c, now), "AADSTS500121", "the spaced code again unspaced")
	for _, bad := range []string{"", "12345", "1234567", "12a456", "１２３４５６"} {
		wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, bad, now), "AADSTS500121", "malformed code "+bad)
	}
}

// Two requests with one code race: exactly one passes.
func TestTOTPConcurrentReplay(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	secret := e.enrollTOTP(alice)
	now := e.clock().Add(time.Minute)
	c := code(t, secret, now)
	const n = 8
	results := make(chan error, n)
	for range n {
		go func() { results <- e.svc.VerifyTOTP(e.ctx, e.tenant, alice, c, now) }()
	}
	ok := 0
	for range n {
		if err := <-results; err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent uses of one code passed", ok, n)
	}
}

func TestTOTPLockout(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	secret := e.enrollTOTP(alice)
	fail := func(n int) {
		t.Helper()
		for i := 1; i <= n; i++ {
			err := e.svc.VerifyTOTP(e.ctx, e.tenant, alice, "000000", e.clock())
			want := "AADSTS500121"
			if i == n {
				want = "AADSTS50053"
			}
			wantCode(t, err, want, "wrong code")
		}
	}
	e.advance(time.Minute)
	fail(authmethods.DefaultLockout.Threshold)
	// Locked: even the right code is refused, and refusing it costs nothing.
	wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, secret, e.clock()), e.clock()), "AADSTS50053", "the right code while locked")
	e.advance(authmethods.DefaultLockout.Lock + time.Second)
	// The next lockout lasts twice as long.
	fail(authmethods.DefaultLockout.Threshold)
	e.advance(authmethods.DefaultLockout.Lock + time.Second)
	wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, secret, e.clock()), e.clock()), "AADSTS50053", "during the doubled lock")
	e.advance(authmethods.DefaultLockout.Lock)
	must(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, secret, e.clock()), e.clock()))
	// Success forgets: nine failures do not lock.
	e.advance(time.Minute)
	for range authmethods.DefaultLockout.Threshold - 1 {
		wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, "000000", e.clock()), "AADSTS500121", "wrong code after success")
	}
	must(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, code(t, secret, e.clock()), e.clock()))
	// Failures outside the window do not add up.
	for range authmethods.DefaultLockout.Threshold - 1 {
		wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, "000000", e.clock()), "AADSTS500121", "wrong code")
	}
	e.advance(authmethods.DefaultLockout.Window)
	wantCode(t, e.svc.VerifyTOTP(e.ctx, e.tenant, alice, "000000", e.clock()), "AADSTS500121", "a failure in a new window")
	// Another user is not affected by alice's lock.
	bob := e.user("bob")
	bs := e.enrollTOTP(bob)
	e.advance(time.Minute)
	must(t, e.svc.VerifyTOTP(e.ctx, e.tenant, bob, code(t, bs, e.clock()), e.clock()))
}

func errOf(_ authmethods.Method, err error) error { return err }

// jsonOf decodes a method's document.
func jsonOf(t testing.TB, m authmethods.Method) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
