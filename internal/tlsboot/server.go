package tlsboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// serverCertUsable reports whether the existing server certificate can be
// kept: its key matches, it chains to ca at now for server use, it has more
// than renewBefore left and it covers every wanted host. Any problem means
// re-issue, which is cheap and breaks no client.
func serverCertUsable(f Files, ca *x509.Certificate, want hostSet, now time.Time) bool {
	certPEM, err := os.ReadFile(f.CertFile)
	if err != nil {
		return false
	}
	keyPEM, err := os.ReadFile(f.KeyFile)
	if err != nil {
		return false
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM) // also checks the key matches
	if err != nil || pair.Leaf == nil || pair.Leaf.IsCA {
		return false
	}
	leaf := pair.Leaf
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return false
	}
	if leaf.NotAfter.Sub(now) < renewBefore {
		return false
	}
	for _, name := range want.dns {
		if !slices.ContainsFunc(leaf.DNSNames, func(n string) bool { return strings.EqualFold(n, name) }) {
			return false
		}
	}
	for _, ip := range want.ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// issueServerCert signs a new P-256 server certificate for want, valid for
// a year but never beyond the CA.
func issueServerCert(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, want hostSet, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "tlsboot: cannot generate the server key")
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	cn := "localhost"
	if len(want.dns) > 0 {
		cn = want.dns[0]
	}
	notAfter := now.Add(serverValidity)
	if ca.NotAfter.Before(notAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Ostiary"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              want.dns,
		IPAddresses:           want.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "tlsboot: cannot create the server certificate")
	}
	// A crash between these writes leaves a mismatched pair, which the
	// next run detects and re-issues.
	if err := writeKey(f.KeyFile, key); err != nil {
		return err
	}
	return writeCert(f.CertFile, der)
}
