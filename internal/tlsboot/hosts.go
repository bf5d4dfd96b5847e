package tlsboot

import (
	"net"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
)

// hostSet is the subject alternative names a server certificate needs.
type hostSet struct {
	dns []string
	ips []net.IP
}

// parseHosts sorts hosts into DNS and IP names, normalizes them (lower
// case, no trailing dot, IPv6 brackets removed), drops duplicates and
// appends localhost, 127.0.0.1 and ::1 so local tools and health checks
// always verify. The caller's hosts come first; the first DNS name becomes
// the certificate's common name.
func parseHosts(hosts []string) (hostSet, error) {
	var s hostSet
	all := append(append([]string(nil), hosts...), "localhost", "127.0.0.1", "::1")
	for _, h := range all {
		h = strings.TrimSpace(h)
		if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1]
		}
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			if !containsIP(s.ips, ip) {
				s.ips = append(s.ips, ip)
			}
			continue
		}
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		if !validDNSName(h) {
			return hostSet{}, errs.E(errs.Invalid, "tlsboot: %q is neither a DNS name nor an IP address", h)
		}
		if !slices.Contains(s.dns, h) {
			s.dns = append(s.dns, h)
		}
	}
	return s, nil
}

// validDNSName accepts LDH labels (letters, digits, hyphens; not starting
// or ending with a hyphen), optionally under one leading "*." wildcard.
// Unicode names must be given in their xn-- form.
func validDNSName(name string) bool {
	name = strings.TrimPrefix(name, "*.")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
