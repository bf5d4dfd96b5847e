// Package tlsboot gives a fresh Ostiary install working HTTPS on its first
// run. OAuth 2.0 and OIDC clients refuse plain HTTP for anything but
// localhost, and browsers will not keep secure cookies without it, so
// `ostiary serve` must speak TLS before an operator has certificates.
//
// On first run Ensure creates a small private CA and a server certificate
// signed by it. Clients then trust one file, ca.pem, which stays the same
// across restarts, host changes and yearly server certificate renewals, so
// it is distributed once. Operators with their own certificates configure
// those instead and never call Ensure.
package tlsboot

import (
	"os"
	"path/filepath"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// Files are the PEM files Ensure maintains. CAFile is what clients trust;
// CertFile and KeyFile are what the server loads.
type Files struct {
	CAFile, CertFile, KeyFile string
}

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 365 * 24 * time.Hour
	// renewBefore: a certificate closer than this to expiry is replaced,
	// leaving a month of restarts in which renewal can happen.
	renewBefore = 30 * 24 * time.Hour
	// backdate covers clients whose clocks run a little behind ours.
	backdate = time.Hour
)

// Ensure makes dir (the caller passes <data-dir>/tls; mode 0700) hold a CA
// (ca.pem, ca-key.pem) and a server certificate for hosts (server.pem,
// server-key.pem), creating or renewing them as needed at time now:
//
//   - the CA is created when ca.pem is missing and is otherwise reused;
//     only a CA within 30 days of expiry is replaced, since by then every
//     certificate it could sign would be short-lived. A ca.pem that does not
//     parse, or whose key is missing, is an error rather than a reason to
//     start over: clients may already trust it.
//   - the server certificate is re-issued when it is missing or unreadable,
//     was not signed by the CA, expires within 30 days, or does not cover
//     every host (plus localhost, 127.0.0.1 and ::1). Extra names in an
//     existing certificate are harmless, so removing a host does not
//     re-issue.
//
// hosts are DNS names (a leading "*." is allowed) or IP addresses; IPv6
// may be bracketed.
func Ensure(dir string, hosts []string, now time.Time) (Files, error) {
	want, err := parseHosts(hosts)
	if err != nil {
		return Files{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, errs.Wrap(errs.Internal, err, "tlsboot: cannot create %s", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return Files{}, errs.Wrap(errs.Internal, err, "tlsboot: cannot restrict %s", dir)
	}
	files := Files{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"),
		KeyFile:  filepath.Join(dir, "server-key.pem"),
	}
	caKeyFile := filepath.Join(dir, "ca-key.pem")

	ca, caKey, created, err := loadOrCreateCA(files.CAFile, caKeyFile, now)
	if err != nil {
		return Files{}, err
	}
	if !created && serverCertUsable(files, ca, want, now) {
		return files, nil
	}
	if err := issueServerCert(files, ca, caKey, want, now); err != nil {
		return Files{}, err
	}
	return files, nil
}
