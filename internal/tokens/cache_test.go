package tokens

import (
	"testing"
	"time"
)

func TestVerifiedCache(t *testing.T) {
	keys := memKeys(t)
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL, AccessTokenLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(keys, testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	first, err := ver.VerifyAccessToken(tok.Raw, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ver.VerifyAccessToken(tok.Raw, now)
	if err != nil || second != first {
		t.Fatalf("second presentation not served from the cache: %v", err)
	}
	// A cached token still expires on time.
	if _, err := ver.VerifyAccessToken(tok.Raw, tok.ExpiresAt.Add(ClockSkew+time.Second)); !IsOutsideTimeRange(err) {
		t.Fatalf("expired cached token accepted: %v", err)
	}
	// Other bytes never hit the entry: a changed signature is verified, and refused.
	tampered := tok.Raw[:len(tok.Raw)-2] + "AA"
	if tampered == tok.Raw {
		tampered = tok.Raw[:len(tok.Raw)-2] + "BB"
	}
	if _, err := ver.VerifyAccessToken(tampered, now); err == nil {
		t.Fatal("tampered token accepted")
	}
	// The cache stays bounded.
	c := newVerifiedCache(2)
	for i := 0; i < 5; i++ {
		c.put([32]byte{byte(i)}, first, now)
	}
	if len(c.m) > 2 {
		t.Fatalf("cache grew to %d entries", len(c.m))
	}
}
