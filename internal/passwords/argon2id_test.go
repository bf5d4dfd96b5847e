package passwords

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// idKey computes exactly what x/crypto's argon2.IDKey computes, over many
// inputs, lane counts, pass counts, memory sizes (rounded or not, more
// than one address block per segment) and key lengths, with buffers
// reused from the pool in between (their stale contents must not matter).
func TestIDKeyMatchesXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32}, {1, 16, 2, 16}, {2, 64, 1, 32}, {3, 37, 1, 64}, {1, 1024, 1, 32},
		{2, 2048, 1, 32}, {2, 2048, 4, 100}, {4, 129, 3, 65}, {1, 4096, 2, 4}, {2, 19456, 1, 32},
	}
	for i, c := range cases {
		for range 3 {
			pw := make([]byte, r.IntN(40))
			salt := make([]byte, 8+r.IntN(24))
			for j := range pw {
				pw[j] = byte(r.Uint32())
			}
			for j := range salt {
				salt[j] = byte(r.Uint32())
			}
			want := argon2.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen)
			if got := idKey(pw, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("case %d %+v: idKey = %x, x/crypto %x", i, c, got, want)
			}
		}
	}
}

// The example the reference implementation's documentation gives for
// argon2id (password "password", salt "somesalt", t=2, 64 MiB, p=1): an
// expectation that does not come from x/crypto. RFC 9106's own vector
// needs a secret and associated data, which Ostiary never uses.
func TestIDKeyVector(t *testing.T) {
	const want = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if got := base64.RawStdEncoding.EncodeToString(idKey([]byte("password"), []byte("somesalt"), 2, 65536, 1, 32)); got != want {
		t.Fatalf("idKey = %s, want %s", got, want)
	}
}

// Concurrent hashes share the pool without disturbing each other (run
// with -race).
func TestIDKeyConcurrent(t *testing.T) {
	want := map[string][]byte{}
	for i := range 4 {
		pw := fmt.Sprint("password-", i)
		want[pw] = argon2.IDKey([]byte(pw), []byte("saltsaltsalt"), 1, 512, 1, 32)
	}
	var wg sync.WaitGroup
	for range 3 {
		for pw, w := range want {
			wg.Go(func() {
				if got := idKey([]byte(pw), []byte("saltsaltsalt"), 1, 512, 1, 32); !bytes.Equal(got, w) {
					t.Errorf("%s: %x, want %x", pw, got, w)
				}
			})
		}
	}
	wg.Wait()
}

func BenchmarkIDKey(b *testing.B) {
	p := DefaultParams()
	b.Run("ostiary", func(b *testing.B) {
		for b.Loop() {
			idKey([]byte("password"), []byte("saltsaltsaltsalt"), p.Time, p.Memory, p.Threads, 32)
		}
	})
	b.Run("x-crypto", func(b *testing.B) {
		for b.Loop() {
			argon2.IDKey([]byte("password"), []byte("saltsaltsaltsalt"), p.Time, p.Memory, p.Threads, 32)
		}
	})
}
