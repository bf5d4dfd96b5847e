package passwords

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/ostiary/ostiary/internal/errs"
)

// cheap keeps tests fast; DefaultParams are covered once below.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerifyDefault(t *testing.T) {
	h := NewHasher(DefaultParams(), 0, 0)
	enc, err := h.Hash(context.Background(), "Correct horse 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q lacks the default PHC prefix", enc)
	}
	parsed, err := parsePHC(enc)
	if err != nil || len(parsed.salt) != 16 || len(parsed.key) != 32 {
		t.Fatalf("parse: %v, salt %d key %d", err, len(parsed.salt), len(parsed.key))
	}
	ok, err := h.Verify(context.Background(), enc, "Correct horse 1")
	if err != nil || !ok {
		t.Fatalf("Verify right password = %v, %v", ok, err)
	}
	if h.NeedsRehash(enc) {
		t.Fatal("fresh hash needs rehash")
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1, 0)
	enc, err := h.Hash(ctx, "pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := h.Hash(ctx, "pässwörd")
	if other == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for pw, want := range map[string]bool{"pässwörd": true, "passwörd": false, "": false, "pässwörd ": false, "Pässwörd": false} {
		ok, err := h.Verify(ctx, enc, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}

func TestVerifyUsesStoredParams(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(Params{Memory: 128, Time: 3, Threads: 2}, 1, 0)
	enc, err := old.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(enc, "$m=128,t=3,p=2$") {
		t.Fatalf("params not encoded: %s", enc)
	}
	cur := NewHasher(cheap, 1, 0)
	if ok, err := cur.Verify(ctx, enc, "secret"); err != nil || !ok {
		t.Fatalf("Verify of an old-params hash = %v, %v", ok, err)
	}
	if !cur.NeedsRehash(enc) {
		t.Fatal("old-params hash does not need rehash")
	}
	if old.NeedsRehash(enc) {
		t.Fatal("hash needs rehash under its own params")
	}
}

func TestVerifyReferenceVector(t *testing.T) {
	// The reference implementation's known answer (see refHash).
	h := NewHasher(cheap, 1, 0)
	if ok, err := h.Verify(context.Background(), refHash, "password"); err != nil || !ok {
		t.Fatalf("Verify(refHash) = %v, %v", ok, err)
	}
	if ok, _ := h.Verify(context.Background(), refHash, "Password"); ok {
		t.Fatal("Verify(refHash) accepted a wrong password")
	}
	// Independent of our encoder: derive with x/crypto and encode by hand.
	key := argon2.IDKey([]byte("password"), []byte("somesalt"), 2, 64, 1, 32)
	enc := phc{params: Params{Memory: 64, Time: 2, Threads: 1}, salt: []byte("somesalt"), key: key}.encode()
	ok, err := h.Verify(context.Background(), enc, "password")
	if err != nil || !ok {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(cheap, 1, 0)
	for _, enc := range []string{"", "plaintext", "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8", HashClientSecret("x")} {
		ok, err := h.Verify(context.Background(), enc, "x")
		if ok || !errs.Is(err, errs.Internal) {
			t.Errorf("Verify(%q) = %v, %v; want false, Internal", enc, ok, err)
		}
		if !h.NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = false", enc)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, 0)
	const salt16 = "AAAAAAAAAAAAAAAAAAAAAA"
	const key32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for enc, want := range map[string]bool{
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32:      false,
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt16 + "$" + key32:      true,
		"$argon2id$v=19$m=19456,t=3,p=1$" + salt16 + "$" + key32:      true,
		"$argon2id$v=19$m=19456,t=2,p=2$" + salt16 + "$" + key32:      true,
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$" + key32:         true, // 8-byte salt
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32[:22]: true, // 16-byte key
	} {
		if got := h.NeedsRehash(enc); got != want {
			t.Errorf("NeedsRehash(%s) = %v, want %v", enc, got, want)
		}
	}
}

func TestNewHasherNormalizesParams(t *testing.T) {
	if got := NewHasher(Params{}, 0, 0).Params(); got != DefaultParams() {
		t.Errorf("zero params -> %+v, want defaults", got)
	}
	got := NewHasher(Params{Memory: 1 << 30, Time: 1000, Threads: 200}, 1, 0).Params()
	if got.Memory > maxMemory || got.Time > maxTime || got.Threads > maxThreads {
		t.Errorf("params not clamped: %+v", got)
	}
	if got := NewHasher(Params{Memory: 1, Time: 1, Threads: 4}, 1, 0).Params(); got.Memory != 32 {
		t.Errorf("memory below 8 KiB per lane not raised: %+v", got)
	}
}

// hold occupies the hasher's slots deterministically, without relying
// on how long a real hash takes.
func hold(t *testing.T, h *Hasher, n int) (release func()) {
	t.Helper()
	var rels []func()
	for range n {
		r, err := h.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, r)
	}
	return func() {
		for _, r := range rels {
			r()
		}
	}
}

func TestPoolRefusesBeyondQueue(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1, 0)
	release := hold(t, h, 1)

	_, err := h.Hash(ctx, "pw")
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Hash with a busy pool and no queue: err = %v, want Unavailable", err)
	}
	if e := errs.As(err); e.Code != "TooManyRequests" {
		t.Fatalf("code = %q", e.Code)
	}
	if _, err := h.Verify(ctx, "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pw"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Verify with a busy pool: err = %v, want Unavailable", err)
	}
	release()
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatalf("Hash after release: %v", err)
	}
}

func TestPoolConcurrentHashes(t *testing.T) {
	// The scenario with real hashes: one slot, no queue, two callers at
	// once. A slow first hash (64 MiB, 4 passes) is still running when the
	// second caller arrives, which must be refused at once.
	h := NewHasher(Params{Memory: 64 * 1024, Time: 4, Threads: 1}, 1, 0)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "first")
		done <- err
	}()
	waitFor(t, func() bool { return len(h.slots) == 1 })
	if _, err := h.Hash(ctx, "second"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("second concurrent Hash: err = %v, want Unavailable", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPoolQueueWaitsThenRuns(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1, 2)
	release := hold(t, h, 1)

	var wg sync.WaitGroup
	results := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "queued")
			results <- err
		})
	}
	waitFor(t, func() bool { return len(h.queue) == 2 })
	if _, err := h.Hash(ctx, "third"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Hash beyond the queue: err = %v, want Unavailable", err)
	}
	release()
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatalf("queued Hash: %v", err)
		}
	}
}

func TestPoolHonoursContext(t *testing.T) {
	h := NewHasher(cheap, 1, 1)
	release := hold(t, h, 1)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "pw")
		errc <- err
	}()
	waitFor(t, func() bool { return len(h.queue) == 1 })
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !errs.Is(err, errs.Unavailable) {
			t.Fatalf("err = %v, want Unavailable wrapping context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Hash kept waiting after cancellation")
	}
	if len(h.queue) != 0 {
		t.Fatal("cancelled waiter still holds a queue place")
	}

	dead, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	<-dead.Done()
	if _, err := h.Verify(dead, "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with an expired context: err = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "Correct horse 1"); err != nil {
			b.Fatal(err)
		}
	}
}
