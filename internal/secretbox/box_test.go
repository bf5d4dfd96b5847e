package secretbox

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func newBox(t testing.TB) *Box {
	t.Helper()
	b, err := New(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("a signing key"), bytes.Repeat([]byte{0xAB}, 1<<16)} {
		for _, ad := range [][]byte{nil, []byte("applications/3f2a.../passwordCredentials")} {
			sealed, err := b.Seal(pt, ad)
			if err != nil {
				t.Fatal(err)
			}
			if sealed[0] != version1 || len(sealed) != headerLen+len(pt)+tagSize {
				t.Fatalf("unexpected format: version %d, len %d for %d plaintext bytes", sealed[0], len(sealed), len(pt))
			}
			got, err := b.Open(sealed, ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("Open = %q, want %q", got, pt)
			}
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	b := newBox(t)
	x, _ := b.Seal([]byte("same"), nil)
	y, _ := b.Seal([]byte("same"), nil)
	if bytes.Equal(x[1:headerLen], y[1:headerLen]) || bytes.Equal(x, y) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestTamperDetected(t *testing.T) {
	b := newBox(t)
	ad := []byte("row-1")
	sealed, err := b.Seal([]byte("top secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	cases := map[string]struct {
		sealed, ad []byte
	}{
		"version":        {flip(0), ad},
		"nonce":          {flip(1), ad},
		"nonce last":     {flip(headerLen - 1), ad},
		"ciphertext":     {flip(headerLen), ad},
		"tag":            {flip(len(sealed) - 1), ad},
		"other AD":       {sealed, []byte("row-2")},
		"missing AD":     {sealed, nil},
		"truncated":      {sealed[:len(sealed)-1], ad},
		"header only":    {sealed[:headerLen], ad},
		"empty":          {nil, ad},
		"extended":       {append(bytes.Clone(sealed), 0), ad},
		"future version": {append([]byte{2}, sealed[1:]...), ad},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			pt, err := b.Open(c.sealed, c.ad)
			if err == nil {
				t.Fatalf("Open succeeded with %q", pt)
			}
			if k := errs.KindOf(err); k != errs.Internal {
				t.Fatalf("kind = %v, want Internal", k)
			}
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	sealed, err := newBox(t).Seal([]byte("top secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newBox(t).Open(sealed, nil); !errs.Is(err, errs.Internal) {
		t.Fatalf("Open with another key: err = %v, want Internal", err)
	}
}

func TestNewRejectsBadKeySizes(t *testing.T) {
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); !errs.Is(err, errs.Invalid) {
			t.Errorf("New(%d bytes): err = %v, want Invalid", n, err)
		}
	}
}

func TestNewCopiesKey(t *testing.T) {
	key := newKey(t)
	b, _ := New(key)
	sealed, _ := b.Seal([]byte("p"), nil)
	clear(key)
	if _, err := b.Open(sealed, nil); err != nil {
		t.Fatalf("Open after wiping the caller's key: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := New(key)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := b.Seal([]byte("hello"), []byte("ad"))
	f.Add(good, []byte("ad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{version1}, []byte(nil))
	f.Add(make([]byte, headerLen+tagSize), []byte("x"))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, err := b.Open(sealed, ad)
		if err != nil {
			if pt != nil || errs.KindOf(err) != errs.Internal {
				t.Fatalf("Open error %v with plaintext %q", err, pt)
			}
			return
		}
		// Only a genuine seal opens; it must reseal and reopen.
		again, err := b.Seal(pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.Open(again, ad); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("reseal round trip failed: %v", err)
		}
	})
}

func TestDeriveKey(t *testing.T) {
	master := newKey(t)
	a, err := DeriveKey(master, "a")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := DeriveKey(master, "a")
	b, _ := DeriveKey(master, "b")
	other, _ := DeriveKey(newKey(t), "a")
	if len(a) != KeySize || !bytes.Equal(a, again) {
		t.Fatalf("derivation is not a deterministic %d-byte key: %x %x", KeySize, a, again)
	}
	if bytes.Equal(a, master) || bytes.Equal(a, b) || bytes.Equal(a, other) {
		t.Fatal("a derived key equals the master key, another purpose's or another master's")
	}
	// A value sealed under one key opens under none of the others.
	boxes := map[string][]byte{"master": master, "a": a, "b": b}
	for name, k := range boxes {
		from, _ := New(k)
		sealed, err := from.Seal([]byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for other, k2 := range boxes {
			to, _ := New(k2)
			if _, err := to.Open(sealed, nil); (err == nil) != (name == other) {
				t.Errorf("sealed under %s, opened under %s: %v", name, other, err)
			}
		}
	}
	if _, err := DeriveKey(master[:16], "a"); err == nil {
		t.Error("a short master key was accepted")
	}
	if _, err := DeriveKey(master, ""); err == nil {
		t.Error("a key derived for no purpose")
	}
}
