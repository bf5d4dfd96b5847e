package compat_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// graphScope is what every Microsoft client asks for to call Graph.
const graphScope = "https://graph.microsoft.com/.default"

// recorder is an http.RoundTripper over the test server's CA-trusting
// transport that remembers every request a client library sends, so a
// test can tell what went over the wire (a token request, or a cache hit).
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path string
	Header       http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone()})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// count returns how many requests had this method and a path ending in
// suffix.
func (r *recorder) count(method, suffix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.reqs {
		if q.Method == method && strings.HasSuffix(q.Path, suffix) {
			n++
		}
	}
	return n
}

// all returns a copy of the requests seen so far.
func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// recordingClient is srv.Client with a recorder in front of its transport.
func recordingClient(srv *apptest.Server) (*http.Client, *recorder) {
	rec := &recorder{base: srv.Client.Transport}
	return &http.Client{Timeout: srv.Client.Timeout, Transport: rec}, rec
}

// listUsers calls GET /v1.0/users with a bearer token and fails the test
// unless Graph answers 200.
func listUsers(t *testing.T, srv *apptest.Server, token string) {
	t.Helper()
	r := srv.Do(t, "GET", "/v1.0/users?$top=1", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1.0/users with the client's token: %d %s", r.Status, r.Body)
	}
}
