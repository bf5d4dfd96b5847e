package tokens

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/secretbox"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const (
	testPublicURL = "https://login.ostiary.test"
	testTenant    = "9b3e1b6a-55f1-4c1c-9a57-5a0f2b7c1e01"
	testClientApp = "2f1c5a3e-7d4b-4c8e-9a1f-0e6d5c4b3a21"
	testClientSP  = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
)

// t0 is a fixed start so schedules are easy to reason about.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// openStore opens a real store (SQLite, or PostgreSQL with OSTIARY_TEST_BACKEND=postgres).
func openStore(t testing.TB) store.Store {
	t.Helper()
	return backendtest.Open(t)
}

func newBox(t testing.TB) *secretbox.Box {
	t.Helper()
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// fixture is a key manager on a real store with an issuer and verifier.
type fixture struct {
	st     store.Store
	box    *secretbox.Box
	keys   *Keys
	issuer *Issuer
	verify *Verifier
}

func newFixture(t testing.TB, cfg KeyConfig) *fixture {
	t.Helper()
	st := openStore(t)
	box := newBox(t)
	return newFixtureOn(t, st, box, cfg)
}

// newFixtureOn builds a fixture on an existing store, like another replica.
func newFixtureOn(t testing.TB, st store.Store, box *secretbox.Box, cfg KeyConfig) *fixture {
	t.Helper()
	keys, err := NewKeys(st, box, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.EnsureKeys(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(keys, testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, box: box, keys: keys, issuer: iss, verify: ver}
}

// memKeys builds a key set in memory without a store, for fuzzing and
// benchmarks of the verifier alone.
func memKeys(t testing.TB) *Keys {
	t.Helper()
	box := newBox(t)
	nk, err := generateKey(box, t0)
	if err != nil {
		t.Fatal(err)
	}
	o, doc, err := nk.object(StateCurrent, t0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := buildKeySet(box, []storedKey{{id: o.ID, doc: doc, secret: o.Secret}})
	if err != nil {
		t.Fatal(err)
	}
	k := &Keys{box: box, cfg: KeyConfig{Overlap: DefaultOverlap}}
	k.set.Store(set)
	return k
}

func graphRequest(now time.Time, roles ...string) AppTokenRequest {
	return AppTokenRequest{
		TenantID: testTenant, ClientAppID: testClientApp, ClientServicePrincipalID: testClientSP,
		ClientAuth: ClientAuthSecret,
		Resource:   Resource{AppID: "00000003-0000-0000-c000-000000000000", Identifier: "https://graph.microsoft.com", AccessTokenVersion: 1},
		Roles:      roles, Now: now,
	}
}

// decodeSegment decodes one part of a compact JWS into a map.
func decodeSegment(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := b64.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
