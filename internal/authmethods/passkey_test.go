package authmethods_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/errs"
)

// softAuthenticator is a passkey authenticator in software: ECDSA P-256
// keys, attestation "none", a signature counter per key, user
// verification on unless told otherwise. It answers the options the
// service produces the way a browser would hand them to the server.
type softAuthenticator struct {
	t      testing.TB
	origin string
	rpID   string
	noUV   bool
	aaguid [16]byte
	// reuse, when set, is the key create answers with (instead of a new one).
	reuse *softKey
}

type softKey struct {
	priv       *ecdsa.PrivateKey
	id         []byte
	userHandle []byte
	counter    uint32
	// fixedZero keeps the counter at 0, as many synced passkeys do.
	fixedZero bool
}

var b64 = base64.RawURLEncoding

func newAuthenticator(t testing.TB) *softAuthenticator {
	a := &softAuthenticator{t: t, origin: publicURL, rpID: rpID}
	copy(a.aaguid[:], []byte("ostiary-softkey!"))
	return a
}

// options decodes the "publicKey" member of the service's options.
func (a *softAuthenticator) options(raw []byte) map[string]any {
	a.t.Helper()
	var o struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey == nil {
		a.t.Fatalf("options %s: %v", raw, err)
	}
	return o.PublicKey
}

func (a *softAuthenticator) flags(attested bool) byte {
	f := byte(0x01) // user present
	if !a.noUV {
		f |= 0x04 // user verified
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *softAuthenticator) clientData(typ string, challenge any) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create answers navigator.credentials.create.
func (a *softAuthenticator) create(raw []byte) (*softKey, []byte) {
	a.t.Helper()
	o := a.options(raw)
	rp := o["rp"].(map[string]any)
	if rp["id"] != a.rpID {
		a.t.Fatalf("relying party %v", rp)
	}
	if sel := o["authenticatorSelection"].(map[string]any); sel["userVerification"] != "required" || sel["residentKey"] != "required" {
		a.t.Fatalf("authenticator selection %v", sel)
	}
	uh, err := b64.DecodeString(o["user"].(map[string]any)["id"].(string))
	if err != nil {
		a.t.Fatal(err)
	}
	k := a.reuse
	if k == nil {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			a.t.Fatal(err)
		}
		k = &softKey{priv: priv, id: make([]byte, 32), userHandle: uh}
		_, _ = rand.Read(k.id)
	}
	pub, err := k.priv.PublicKey.ECDH()
	if err != nil {
		a.t.Fatal(err)
	}
	point := pub.Bytes() // 0x04 || X || Y
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]})
	if err != nil {
		a.t.Fatal(err)
	}
	rpHash := sha256.Sum256([]byte(a.rpID))
	auth := append(rpHash[:], a.flags(true))
	auth = binary.BigEndian.AppendUint32(auth, k.counter)
	auth = append(auth, a.aaguid[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.id)))
	auth = append(auth, k.id...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		a.t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o["challenge"])),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
	return k, resp
}

// get answers navigator.credentials.get with key k.
func (a *softAuthenticator) get(raw []byte, k *softKey) []byte {
	a.t.Helper()
	o := a.options(raw)
	if o["userVerification"] != "required" || o["rpId"] != a.rpID {
		a.t.Fatalf("request options %v", o)
	}
	if !k.fixedZero {
		k.counter++
	}
	rpHash := sha256.Sum256([]byte(a.rpID))
	auth := append(rpHash[:], a.flags(false))
	auth = binary.BigEndian.AppendUint32(auth, k.counter)
	cd := a.clientData("webauthn.get", o["challenge"])
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.userHandle),
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
	return resp
}

// register runs a whole registration for userID.
func (e *env) register(a *softAuthenticator, userID, name string) (*softKey, authmethods.Method) {
	e.t.Helper()
	opts, sess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, userID, "", "")
	must(e.t, err)
	k, resp := a.create(opts)
	m, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, userID, sess, resp, name)
	must(e.t, err)
	return k, m
}

// login runs a sign-in for userID ("" for discoverable) with key k.
func (e *env) login(a *softAuthenticator, userID string, k *softKey) (string, error) {
	e.t.Helper()
	opts, sess, err := e.svc.BeginPasskeyLogin(e.ctx, e.tenant, userID)
	must(e.t, err)
	return e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.get(opts, k))
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
	a.reuse = k
	for _, who := range []string{alice, bob} {
		opts, sess, err := e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, who, "", "")
		must(t, err)
		_, resp := a.create(opts)
		if _, err := e.svc.FinishPasskeyRegistration(e.ctx, e.tenant, who, sess, resp, ""); errs.KindOf(err) != errs.Conflict {
			t.Errorf("alice's credential registered again for %s: %v", who, err)
		}
	}
	a.reuse = nil
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
	resp := a.get(opts, k)
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
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, iam0(), sess, a.get(opts, k)); err == nil {
		t.Error("a session finished in another tenant")
	}
	// Expired after five minutes.
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	e.advance(6 * time.Minute)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.get(opts, k)); err == nil {
		t.Error("an expired session finished")
	}
	// Without user verification, from another origin, or with a bad
	// signature: refused.
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	a.noUV = true
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.get(opts, k)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no user verification: %v", err)
	}
	a.noUV = false
	evil := newAuthenticator(t)
	evil.origin = "https://login.ostiary.test.evil.example"
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, evil.get(opts, k)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("another origin: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := *k
	forged.priv = other
	opts, sess, err = e.svc.BeginPasskeyLogin(e.ctx, e.tenant, alice)
	must(t, err)
	if _, err := e.svc.FinishPasskeyLogin(e.ctx, e.tenant, sess, a.get(opts, &forged)); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("a signature by another key: %v", err)
	}
	// Registration also requires user verification.
	a.noUV = true
	opts, sess, err = e.svc.BeginPasskeyRegistration(e.ctx, e.tenant, alice, "", "")
	must(t, err)
	_, reg := a.create(opts)
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
	clone := *k // copied at counter 0
	for range 2 {
		_, err := e.login(a, alice, k)
		must(t, err)
	}
	clone.counter = 1 // signs with 2, which the original already used
	_, err := e.login(a, alice, &clone)
	wantCode(t, err, "AADSTS500121", "a cloned authenticator")
	if _, err := e.login(a, "", k); err != nil {
		t.Fatalf("the original after the clone was refused: %v", err)
	}
	// An authenticator that keeps no counter (always 0) is accepted.
	bob := e.user("bob")
	zk, _ := e.register(a, bob, "")
	zk.fixedZero = true
	for range 3 {
		_, err := e.login(a, bob, zk)
		must(t, err)
	}
}

// iam0 is a tenant id that exists nowhere.
func iam0() string { return "00000000-0000-0000-0000-000000000000" }
