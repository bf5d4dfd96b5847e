package tlsboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// loadOrCreateCA returns the CA in certFile/keyFile, creating a new one
// when certFile does not exist or the CA is about to expire. created
// reports that a new CA was made, so the server certificate must be
// re-issued under it.
func loadOrCreateCA(certFile, keyFile string, now time.Time) (cert *x509.Certificate, key *ecdsa.PrivateKey, created bool, err error) {
	cert, err = readCert(certFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A key without a certificate (a crash between the two writes)
		// is trusted by nobody and is simply replaced.
		cert, key, err = createCA(certFile, keyFile, now)
		return cert, key, err == nil, err
	case err != nil:
		return nil, nil, false, errs.Wrap(errs.Internal, err,
			"tlsboot: %s is unreadable; restore it, or delete ca.pem and ca-key.pem to create a new CA that clients must trust again", certFile)
	}
	key, err = readKey(keyFile)
	if err != nil {
		return nil, nil, false, errs.Wrap(errs.Internal, err,
			"tlsboot: the CA key %s is missing or unreadable; restore it, or delete ca.pem to create a new CA that clients must trust again", keyFile)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, false, errs.E(errs.Internal, "tlsboot: %s does not match %s; restore the pair, or delete ca.pem to create a new CA", keyFile, certFile)
	}
	if !cert.IsCA {
		return nil, nil, false, errs.E(errs.Internal, "tlsboot: %s is not a CA certificate", certFile)
	}
	if cert.NotAfter.Sub(now) < renewBefore {
		cert, key, err = createCA(certFile, keyFile, now)
		return cert, key, err == nil, err
	}
	return cert, key, false, nil
}

// createCA makes a P-256 CA valid for 10 years that may sign only leaf
// certificates (path length 0), which limits what a stolen CA key can do.
func createCA(certFile, keyFile string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "tlsboot: cannot generate the CA key")
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Ostiary Local CA", Organization: []string{"Ostiary"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "tlsboot: cannot create the CA certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "tlsboot: cannot parse the new CA certificate")
	}
	// Key first: a crash before the certificate is written leaves a state
	// that the next run recognises as "no CA yet".
	if err := writeKey(keyFile, key); err != nil {
		return nil, nil, err
	}
	if err := writeCert(certFile, der); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}
