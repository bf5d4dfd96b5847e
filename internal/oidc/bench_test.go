package oidc_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkIssueClientCredentials is a whole client credentials request:
// HTTPS over loopback with keep-alive, form parsing, tenant lookup, secret
// check, resource and role lookup in SQLite, RS256 signing, JSON response.
func BenchmarkIssueClientCredentials(b *testing.B) {
	s := newServer(b)
	body := clientCreds(s.daemon.AppID, secret, graphURI+"/.default openid offline_access profile").Encode()
	endpoint := s.url + "/" + tenantID + "/oauth2/v2.0/token"
	s.http.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	call := func() {
		resp, err := s.http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	call() // warm the connection and the resource cache
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call()
			}
		})
	})
}
