package tokens

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

func states(keys []PublicKey) []KeyState {
	out := make([]KeyState, len(keys))
	for i, k := range keys {
		out[i] = k.State
	}
	return out
}

func kids(keys []PublicKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KID
	}
	return out
}

func equalStates(got []KeyState, want ...KeyState) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestEnsureKeys(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	pub := f.keys.PublishedKeys()
	if !equalStates(states(pub), StateCurrent, StateNext) {
		t.Fatalf("states = %v, want current, next", states(pub))
	}
	for _, k := range pub {
		if k.Key.N.BitLen() != 2048 || k.KID != thumbprint(k.Certificate) {
			t.Errorf("key %s: %d bits, thumbprint %s", k.KID, k.Key.N.BitLen(), thumbprint(k.Certificate))
		}
	}
	// Idempotent, also from another replica sharing the store.
	if err := f.keys.EnsureKeys(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := newFixtureOn(t, f.st, f.box, KeyConfig{})
	if got := kids(other.keys.PublishedKeys()); len(got) != 2 || got[0] != pub[0].KID || got[1] != pub[1].KID {
		t.Errorf("after a second EnsureKeys the keys are %v, want %v", got, kids(pub))
	}
}

func TestRotateKeepsTokensValid(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, KeyConfig{})
	before := f.keys.PublishedKeys()
	tok, err := f.issuer.IssueAppToken(graphRequest(t0))
	if err != nil {
		t.Fatal(err)
	}

	// Not due yet: nothing changes.
	if err := f.keys.Rotate(ctx, t0.Add(29*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := kids(f.keys.PublishedKeys()); got[0] != before[0].KID || len(got) != 2 {
		t.Fatalf("rotated early: %v", got)
	}

	later := t0.Add(31 * 24 * time.Hour)
	if err := f.keys.Rotate(ctx, later); err != nil {
		t.Fatal(err)
	}
	after := f.keys.PublishedKeys()
	if !equalStates(states(after), StatePrevious, StateCurrent, StateNext) {
		t.Fatalf("states = %v, want previous, current, next", states(after))
	}
	if after[0].KID != before[0].KID || after[1].KID != before[1].KID {
		t.Errorf("old current should be previous and old next current: before %v after %v", kids(before), kids(after))
	}
	if _, err := f.verify.VerifyAccessToken(tok.Raw, t0.Add(time.Minute)); err != nil {
		t.Errorf("token signed by the previous key: %v", err)
	}
	tok2, err := f.issuer.IssueAppToken(graphRequest(later))
	if err != nil {
		t.Fatal(err)
	}
	if kid := decodeSegment(t, tok2.Raw, 0)["kid"]; kid != before[1].KID {
		t.Errorf("new tokens signed by %v, want the promoted key %s", kid, before[1].KID)
	}

	// After the overlap the previous key is forgotten at the next rotation.
	if err := f.keys.Rotate(ctx, later.Add(DefaultOverlap)); err != nil {
		t.Fatal(err)
	}
	if got := states(f.keys.PublishedKeys()); !equalStates(got, StateCurrent, StateNext) {
		t.Errorf("after the overlap states = %v, want current, next", got)
	}
}

// TestRotationAcrossReplicas: two replicas share a store. One rotates; the
// other has not reloaded yet, but already knows the promoted key because it
// was published as next, so it verifies the new tokens.
func TestRotationAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t, KeyConfig{})
	b := newFixtureOn(t, a.st, a.box, KeyConfig{})
	later := t0.Add(31 * 24 * time.Hour)
	if err := a.keys.Rotate(ctx, later); err != nil {
		t.Fatal(err)
	}
	tok, err := a.issuer.IssueAppToken(graphRequest(later))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.verify.VerifyAccessToken(tok.Raw, later); err != nil {
		t.Fatalf("stale replica rejects a token from the new current key: %v", err)
	}
	// b still signs with the old key until it reloads; a must accept that.
	old, err := b.issuer.IssueAppToken(graphRequest(later))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.verify.VerifyAccessToken(old.Raw, later); err != nil {
		t.Fatalf("rotated replica rejects a token from the stale replica: %v", err)
	}
	if err := b.keys.Rotate(ctx, later); err != nil { // not due any more: only reloads
		t.Fatal(err)
	}
	if got, want := kids(b.keys.PublishedKeys()), kids(a.keys.PublishedKeys()); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("replicas disagree: %v vs %v", got, want)
	}
}

// TestConcurrentRotate: replicas rotating at the same moment promote once.
func TestConcurrentRotate(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t, KeyConfig{})
	replicas := []*fixture{a, newFixtureOn(t, a.st, a.box, KeyConfig{}), newFixtureOn(t, a.st, a.box, KeyConfig{})}
	later := t0.Add(31 * 24 * time.Hour)
	var wg sync.WaitGroup
	errc := make(chan error, len(replicas))
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- r.keys.Rotate(ctx, later)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := a.keys.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := states(a.keys.PublishedKeys()); !equalStates(got, StatePrevious, StateCurrent, StateNext) {
		t.Fatalf("states after concurrent rotation = %v, want one previous, current and next", got)
	}
}

func TestRotateWaitsForPrepublishedNext(t *testing.T) {
	ctx := context.Background()
	cfg := KeyConfig{RotationPeriod: 24 * time.Hour, Prepublish: 12 * time.Hour, Overlap: 6 * time.Hour}
	f := newFixture(t, cfg)
	// Lose the next key: the replacement must be published for Prepublish
	// before it may sign, even though the current key is overdue.
	next := f.keys.PublishedKeys()[1]
	if err := deleteKey(ctx, f, next.KID); err != nil {
		t.Fatal(err)
	}
	due := t0.Add(25 * time.Hour)
	if err := f.keys.Rotate(ctx, due); err != nil {
		t.Fatal(err)
	}
	if got := states(f.keys.PublishedKeys()); !equalStates(got, StateCurrent, StateNext) {
		t.Fatalf("states = %v, want current and a fresh next", got)
	}
	if err := f.keys.Rotate(ctx, due.Add(11*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := states(f.keys.PublishedKeys()); len(got) != 2 {
		t.Fatalf("promoted a next key published for only 11h: %v", got)
	}
	if err := f.keys.Rotate(ctx, due.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := states(f.keys.PublishedKeys()); !equalStates(got, StatePrevious, StateCurrent, StateNext) {
		t.Fatalf("states = %v after the prepublish period", got)
	}
}

func TestIssueWithoutKeys(t *testing.T) {
	keys, err := NewKeys(openStore(t), newBox(t), KeyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.IssueAppToken(graphRequest(t0)); err == nil {
		t.Fatal("issued a token before EnsureKeys")
	}
}

// deleteKey removes a key from the store, as an operator might by mistake.
func deleteKey(ctx context.Context, f *fixture, kid string) error {
	return f.st.Write(ctx, func(w store.Writer) error {
		keys, err := listKeys(w)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.doc.KID == kid {
				return w.Delete("", iam.KindSigningKey, k.id)
			}
		}
		return nil
	})
}
