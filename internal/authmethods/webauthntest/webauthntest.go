// Package webauthntest is a passkey authenticator in software, for tests
// only: it answers the WebAuthn options Ostiary produces the way a browser
// and an authenticator would hand them back to the server. It is not an
// authenticator anyone should use: its keys live in memory, unprotected.
//
// Keys are ECDSA P-256, attestation is "none", each key keeps a signature
// counter, and user verification is on unless NoUV is set. Options are the
// JSON of authmethods.Service.BeginPasskeyRegistration and
// BeginPasskeyLogin ({"publicKey": …}); answers are the JSON a browser
// posts (PublicKeyCredential.toJSON()).
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator is a software passkey authenticator seen through a
// browser at Origin.
type Authenticator struct {
	t testing.TB
	// Origin is the page's origin the browser reports in clientDataJSON.
	Origin string
	// RPID is the relying party id the authenticator expects in the
	// options and hashes into its answers.
	RPID string
	// NoUV answers without user verification (no PIN or biometric).
	NoUV bool
	// AAGUID names the authenticator model.
	AAGUID [16]byte
	// Reuse, when set, is the key Create answers with instead of a new one
	// (a credential registered twice).
	Reuse *Key
}

// Key is one credential of the authenticator.
type Key struct {
	priv *ecdsa.PrivateKey
	// ID is the credential id; UserHandle the user handle the relying
	// party gave at registration.
	ID, UserHandle []byte
	// Counter is the signature counter, advanced before each assertion
	// unless FixedZero (as many synced passkeys, which keep none).
	Counter   uint32
	FixedZero bool
}

// Clone copies the key, private key included: a cloned authenticator.
func (k *Key) Clone() *Key {
	c := *k
	return &c
}

// Forged is the key with the same credential id and user handle but
// another private key: its signatures do not verify.
func (k *Key) Forged(t testing.TB) *Key {
	t.Helper()
	c := k.Clone()
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.priv = other
	return c
}

var b64 = base64.RawURLEncoding

// New returns an authenticator for the relying party rpID, used from a
// page at origin; its AAGUID reads "ostiary-softkey!".
func New(t testing.TB, origin, rpID string) *Authenticator {
	a := &Authenticator{t: t, Origin: origin, RPID: rpID}
	copy(a.AAGUID[:], []byte("ostiary-softkey!"))
	return a
}

// Options decodes the "publicKey" member of WebAuthn options.
func (a *Authenticator) Options(raw []byte) map[string]any {
	a.t.Helper()
	var o struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey == nil {
		a.t.Fatalf("WebAuthn options %s: %v", raw, err)
	}
	return o.PublicKey
}

func (a *Authenticator) flags(attested bool) byte {
	f := byte(0x01) // user present
	if !a.NoUV {
		f |= 0x04 // user verified
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *Authenticator) clientData(typ string, challenge any) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// Create answers navigator.credentials.create with the options raw. It
// fails the test unless the options name a.RPID and require user
// verification and a discoverable credential, as Ostiary's must.
func (a *Authenticator) Create(raw []byte) (*Key, []byte) {
	a.t.Helper()
	o := a.Options(raw)
	rp, _ := o["rp"].(map[string]any)
	if rp["id"] != a.RPID {
		a.t.Fatalf("relying party %v, want id %q", rp, a.RPID)
	}
	if sel, _ := o["authenticatorSelection"].(map[string]any); sel["userVerification"] != "required" || sel["residentKey"] != "required" {
		a.t.Fatalf("authenticator selection %v", sel)
	}
	user, _ := o["user"].(map[string]any)
	id, _ := user["id"].(string)
	uh, err := b64.DecodeString(id)
	if err != nil {
		a.t.Fatalf("user handle %q: %v", id, err)
	}
	k := a.Reuse
	if k == nil {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			a.t.Fatal(err)
		}
		k = &Key{priv: priv, ID: make([]byte, 32), UserHandle: uh}
		_, _ = rand.Read(k.ID)
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
	rpHash := sha256.Sum256([]byte(a.RPID))
	auth := append(rpHash[:], a.flags(true))
	auth = binary.BigEndian.AppendUint32(auth, k.Counter)
	auth = append(auth, a.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.ID)))
	auth = append(auth, k.ID...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		a.t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
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

// Get answers navigator.credentials.get with the options raw and key k,
// advancing its counter first. It fails the test unless the options name
// a.RPID and require user verification.
func (a *Authenticator) Get(raw []byte, k *Key) []byte {
	a.t.Helper()
	o := a.Options(raw)
	if o["userVerification"] != "required" || o["rpId"] != a.RPID {
		a.t.Fatalf("request options %v", o)
	}
	if !k.FixedZero {
		k.Counter++
	}
	rpHash := sha256.Sum256([]byte(a.RPID))
	auth := append(rpHash[:], a.flags(false))
	auth = binary.BigEndian.AppendUint32(auth, k.Counter)
	cd := a.clientData("webauthn.get", o["challenge"])
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.UserHandle),
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
	return resp
}
