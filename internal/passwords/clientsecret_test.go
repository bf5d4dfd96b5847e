package passwords

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewClientSecret(t *testing.T) {
	counts := map[rune]int{}
	seen := map[string]bool{}
	const n = 2000
	for range n {
		s, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 40 {
			t.Fatalf("secret %q has %d characters", s, len(s))
		}
		for i, r := range s {
			if !strings.ContainsRune(secretAlphabet, r) {
				t.Fatalf("secret %q has %q outside the alphabet", s, r)
			}
			if (i == 0 || i == len(s)-1) && strings.ContainsRune("~._-", r) {
				t.Fatalf("secret %q starts or ends with punctuation", s)
			}
			counts[r]++
		}
		if seen[s] {
			t.Fatalf("repeated secret %q", s)
		}
		seen[s] = true
	}
	// Every character of the alphabet shows up, none grossly over-used:
	// a cheap guard against a biased or truncated alphabet.
	if len(counts) != 64 {
		t.Fatalf("%d distinct characters used, want 64", len(counts))
	}
	mean := float64(n*40) / 64
	for r, c := range counts {
		if float64(c) < mean*0.7 || float64(c) > mean*1.3 {
			t.Errorf("character %q used %d times, mean %.0f", r, c, mean)
		}
	}
}

func TestClientSecretHashRoundTrip(t *testing.T) {
	s, _ := NewClientSecret()
	h := HashClientSecret(s)
	if !strings.HasPrefix(h, "sha256$") {
		t.Fatalf("hash %q lacks the scheme prefix", h)
	}
	sum := sha256.Sum256([]byte(s))
	if h != "sha256$"+base64.RawStdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("hash %q is not sha256$ + base64(SHA-256)", h)
	}
	if !VerifyClientSecret(h, s) {
		t.Fatal("secret does not verify against its own hash")
	}
	for _, wrong := range []string{"", s[:39], s + "x", strings.ToUpper(s), " " + s} {
		if wrong != s && VerifyClientSecret(h, wrong) {
			t.Errorf("VerifyClientSecret accepted %q", wrong)
		}
	}
}

func TestVerifyClientSecretMalformed(t *testing.T) {
	s := "abc8Q~secret"
	good := HashClientSecret(s)
	enc := strings.TrimPrefix(good, "sha256$")
	for _, h := range []string{
		"",
		"sha256$",
		enc,                                    // no scheme
		"SHA256$" + enc,                        // wrong case
		"sha512$" + enc,                        // unknown scheme
		"sha256$" + enc + "=",                  // padding
		"sha256$" + enc[:40],                   // short digest
		"sha256$" + enc + "AA",                 // long digest
		"sha256$" + enc[:42] + "!",             // bad character
		"sha256$" + enc[:20] + "\n" + enc[20:], // newline base64 would skip
		"$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		if VerifyClientSecret(h, s) {
			t.Errorf("VerifyClientSecret(%q) = true", h)
		}
	}
}

func BenchmarkVerifyClientSecret(b *testing.B) {
	s, _ := NewClientSecret()
	h := HashClientSecret(s)
	for b.Loop() {
		if !VerifyClientSecret(h, s) {
			b.Fatal("no match")
		}
	}
}
