package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/tlsboot"
)

// BootstrapFile is the name of the first-run credentials file.
const BootstrapFile = "bootstrap.json"

// Bootstrap creates the first tenant when the store has none, writes its
// credentials to <data-dir>/bootstrap.json (mode 0600) and returns them;
// it returns nil when a tenant already exists. The credentials are never
// stored in clear anywhere else.
func (a *App) Bootstrap(ctx context.Context) (*directory.TenantCredentials, error) {
	var existing []iam.Tenant
	if err := a.store.Read(ctx, func(r store.Reader) (err error) {
		existing, err = r.Tenants("", 1)
		return err
	}); err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, nil
	}
	b := a.cfg.Bootstrap
	if !b.SecurityDefaultsOn() {
		a.log.Warn("bootstrap: the first tenant is created with security defaults OFF (OSTIARY_BOOTSTRAP_SECURITY_DEFAULTS=false); use this only for CI and emulators")
	}
	creds, err := a.dir.CreateTenant(ctx, directory.TenantSpec{
		TenantID: b.TenantID, Name: b.TenantName, AdminUPN: b.AdminUserPrincipalName, AdminPassword: b.AdminPassword,
		ClientID: b.ClientID, ClientSecret: b.ClientSecret, SecurityDefaults: b.SecurityDefaultsOn(),
	})
	if errs.Is(err, errs.Conflict) {
		// Another replica bootstrapped at the same moment.
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := WriteCredentials(filepath.Join(a.cfg.DataDir, BootstrapFile), creds); err != nil {
		return nil, err
	}
	return &creds, nil
}

// WriteCredentials writes credentials as JSON with mode 0600.
func WriteCredentials(path string, creds directory.TenantCredentials) error {
	b, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	// A fresh temporary file (O_EXCL, mode 0600): writing to a fixed name
	// would reuse a file someone left there with a wider mode, or follow a
	// symlink planted there, and the secrets would end up readable.
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// TLSConfig returns the server's TLS configuration and, for a generated
// local CA, the CA file clients should trust. With PlainHTTP it returns nil.
func (a *App) TLSConfig() (*tls.Config, string, error) {
	if a.cfg.PlainHTTP {
		return nil, "", nil
	}
	certFile, keyFile, caFile := a.cfg.TLSCert, a.cfg.TLSKey, ""
	if certFile == "" {
		files, err := tlsboot.Ensure(filepath.Join(a.cfg.DataDir, "tls"), a.hosts(), a.now())
		if err != nil {
			return nil, "", err
		}
		certFile, keyFile, caFile = files.CertFile, files.KeyFile, files.CAFile
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caFile, nil
}

// hosts are the names the generated certificate must cover.
func (a *App) hosts() []string {
	var out []string
	if u, err := url.Parse(a.cfg.PublicURL); err == nil && u.Hostname() != "" {
		out = append(out, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(a.cfg.Listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		out = append(out, h)
	}
	return out
}

// Serve listens and serves until ctx is done, then shuts down gracefully.
// ready, if not nil, is called with the bound address once listening.
func (a *App) Serve(ctx context.Context, tlsCfg *tls.Config, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	return a.ServeListener(ctx, ln, tlsCfg, ready)
}

// ServeListener is Serve on a listener the caller opened (tests bind port 0).
func (a *App) ServeListener(ctx context.Context, ln net.Listener, tlsCfg *tls.Config, ready func(addr net.Addr)) error {
	var err error
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go a.runJobs(jobsCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// SoleTenant returns the id of the only tenant in the store, for commands
// that may omit --tenant; it fails when there are none or several.
func (a *App) SoleTenant(ctx context.Context) (string, error) {
	var ts []iam.Tenant
	if err := a.store.Read(ctx, func(r store.Reader) (err error) {
		ts, err = r.Tenants("", 2)
		return err
	}); err != nil {
		return "", err
	}
	if len(ts) != 1 {
		return "", fmt.Errorf("the store holds %d tenants; name one with --tenant", len(ts))
	}
	return ts[0].ID, nil
}
