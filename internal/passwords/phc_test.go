package passwords

import (
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

// The argon2id v1.3 known answer from the reference implementation's
// test.c (password "password", salt "somesalt", m=2^16, t=2, p=1), whose
// raw hash is 09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7.
const refHash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestParsePHC(t *testing.T) {
	h, err := parsePHC(refHash)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Params{Memory: 65536, Time: 2, Threads: 1}); h.params != want {
		t.Fatalf("params = %+v, want %+v", h.params, want)
	}
	if string(h.salt) != "somesalt" || len(h.key) != 32 {
		t.Fatalf("salt %q, key %d bytes", h.salt, len(h.key))
	}
	if got := h.encode(); got != refHash {
		t.Fatalf("encode = %s, want %s", got, refHash)
	}
}

func TestParsePHCRejectsMalformed(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8"
	for _, s := range []string{
		"",
		"$",
		"password",
		"$argon2id$",
		"$argon2i$v=19$m=65536,t=2,p=4$" + salt + "$" + key,
		"$argon2d$v=19$m=65536,t=2,p=4$" + salt + "$" + key,
		"$argon2id$v=16$m=65536,t=2,p=4$" + salt + "$" + key,
		"$argon2id$m=65536,t=2,p=4$" + salt + "$" + key,
		"argon2id$v=19$m=65536,t=2,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=65536,t=2$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=65536,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=4,k=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+64,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0064,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, // 4 GiB: over the cap
		"$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=2,p=4$" + salt + "$" + key, // under 8 KiB per lane
		"$argon2id$v=19$m=65536,t=2,p=4$$" + key,
		"$argon2id$v=19$m=65536,t=2,p=4$c2FsdA$" + key, // 4-byte salt
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$",
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$c2hvcnQ", // 5-byte key
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$" + key + "==",
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ=$" + key,
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$" + key[:len(key)-1] + "!",
		"$argon2id$v=19$m=65536,t=2,p=4$" + salt + "$" + strings.Repeat("A", 200),
	} {
		if _, err := parsePHC(s); !errs.Is(err, errs.Internal) {
			t.Errorf("parsePHC(%q): err = %v, want Internal", s, err)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add(refHash)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		p := h.params
		if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads {
			t.Fatalf("accepted out-of-range params %+v", p)
		}
		if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
			t.Fatalf("accepted salt %d / key %d bytes", len(h.salt), len(h.key))
		}
		// The accepted form is canonical: it re-encodes to the same string.
		if got := h.encode(); got != s {
			t.Fatalf("encode(parse(%q)) = %q", s, got)
		}
	})
}
