// Package dnstest runs a DNS server on loopback UDP that answers TXT
// queries from a table, and gives a net.Resolver that uses it. Tests of
// domain verification use it to go through real DNS messages and Go's own
// resolver instead of a fake lookup function.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a DNS server answering TXT queries for the names set on it.
// Other names get NXDOMAIN; other query types on a known name get an
// empty answer. It is safe for concurrent use.
type Server struct {
	conn net.PacketConn
	mu   sync.Mutex
	txt  map[string][]string // by lower-case name without the trailing dot
	fail map[string]bool     // names answered with SERVFAIL
	done chan struct{}
}

// Start runs a server on 127.0.0.1 with a free port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest: listen: %v", err)
	}
	s := &Server{conn: conn, txt: map[string][]string{}, fail: map[string]bool{}, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// SetTXT makes name answer with one TXT record per value (replacing any
// earlier ones); no values leaves the name existing with no TXT records.
func (s *Server) SetTXT(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[canonical(name)] = append([]string{}, values...)
}

// Remove makes name unknown again (NXDOMAIN).
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.txt, canonical(name))
	delete(s.fail, canonical(name))
}

// Fail makes queries for name fail with SERVFAIL, as when the domain's own
// servers are down: a lookup that proves nothing either way.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[canonical(name)] = true
}

// Resolver returns a pure-Go resolver that sends every query to s.
func (s *Server) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 4096)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		resp, err := s.answer(buf[:n])
		if err != nil {
			continue // not a query we can parse: drop it, as servers do
		}
		_, _ = s.conn.WriteTo(resp, from)
	}
}

func (s *Server) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	values, known := s.txt[canonical(q.Name.String())]
	values = append([]string{}, values...)
	failing := s.fail[canonical(q.Name.String())]
	s.mu.Unlock()
	// Authoritative and recursion-available, so Go's resolver takes an
	// empty answer as "no records" rather than a lame referral.
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	switch {
	case failing:
		rh.RCode, values = dnsmessage.RCodeServerFailure, nil
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeTXT && q.Class == dnsmessage.ClassINET {
		for _, v := range values {
			rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60}
			if err := b.TXTResource(rr, dnsmessage.TXTResource{TXT: chunks(v)}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// chunks splits a value into the 255-byte character-strings of a TXT
// record; resolvers join them back.
func chunks(v string) []string {
	out := []string{}
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }
