package dnstest

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLookups(t *testing.T) {
	s := Start(t)
	long := strings.Repeat("x", 300)
	s.SetTXT("Example.COM", "MS=ms12345678", "v=spf1 -all", long)
	s.SetTXT("empty.example.com")
	r := s.Resolver()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	got, err := r.LookupTXT(ctx, "example.com.")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MS=ms12345678", "v=spf1 -all", long} {
		if !slices.Contains(got, want) {
			t.Errorf("LookupTXT = %q, missing %q", got, want)
		}
	}
	for _, name := range []string{"unknown.example.com.", "empty.example.com."} {
		_, err = r.LookupTXT(ctx, name)
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("LookupTXT(%s) error = %v, want not found", name, err)
		}
	}
	s.Fail("down.example.com")
	_, err = r.LookupTXT(ctx, "down.example.com.")
	if dnsErr := (*net.DNSError)(nil); !errors.As(err, &dnsErr) || dnsErr.IsNotFound || !dnsErr.IsTemporary {
		t.Errorf("failing name: %v, want a temporary error", err)
	}
	s.Remove("example.com")
	if _, err := r.LookupTXT(ctx, "example.com."); err == nil {
		t.Error("removed name still resolves")
	}
}
