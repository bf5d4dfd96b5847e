package tokens

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyAccessToken feeds arbitrary input to the verifier: it must never
// panic, and must accept only the one untouched token.
func FuzzVerifyAccessToken(f *testing.F) {
	keys := memKeys(f)
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		f.Fatal(err)
	}
	ver, err := NewVerifier(keys, testPublicURL)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := iss.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(tok.Raw, ".")
	for _, seed := range []string{
		tok.Raw, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2], tok.Raw + ".", "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6W119.e30.AA", parts[0] + "." + parts[1] + "." + parts[2][:10],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ver.VerifyAccessToken(raw, t0.Add(time.Minute))
		if err == nil && raw != tok.Raw {
			t.Fatalf("accepted a token that was not issued: %q → %+v", raw, c)
		}
	})
}

// BenchmarkVerifyAccessToken is the full check of a token not seen before
// (the RSA verification); BenchmarkVerifyAccessTokenCached is the same
// token presented again.
func BenchmarkVerifyAccessToken(b *testing.B) {
	ver, raw, now := benchVerifier(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ver.verify(raw, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccessTokenCached(b *testing.B) {
	ver, raw, now := benchVerifier(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ver.VerifyAccessToken(raw, now); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerifier(b *testing.B) (*Verifier, string, time.Time) {
	keys := memKeys(b)
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		b.Fatal(err)
	}
	ver, err := NewVerifier(keys, testPublicURL)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := iss.IssueAppToken(graphRequest(t0, "User.Read.All", "Group.Read.All", "Application.Read.All"))
	if err != nil {
		b.Fatal(err)
	}
	return ver, tok.Raw, t0.Add(time.Minute)
}

func BenchmarkIssueAppToken(b *testing.B) {
	keys := memKeys(b)
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		b.Fatal(err)
	}
	req := graphRequest(t0, "User.Read.All", "Group.Read.All")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.IssueAppToken(req); err != nil {
			b.Fatal(err)
		}
	}
}
