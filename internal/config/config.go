// Package config is Ostiary's typed configuration: defaults, OSTIARY_*
// environment variables and command-line flags, validated in one place.
// There are no globals; the composition root passes a Config down.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole server configuration.
type Config struct {
	// Listen is the address to serve on.
	Listen string
	// PublicURL is the URL clients use; it appears in issuers and links.
	// Empty means https://<Listen> (http:// with PlainHTTP).
	PublicURL string
	// DataDir holds the SQLite database, TLS files, the master key and
	// bootstrap.json.
	DataDir string
	// DatabaseURL selects PostgreSQL when set (postgres://…).
	DatabaseURL string
	// TLSCert and TLSKey are real certificate files; without them a local CA
	// and server certificate are created in DataDir/tls.
	TLSCert, TLSKey string
	// PlainHTTP serves HTTP for deployments behind a TLS-terminating proxy;
	// PublicURL must then be the proxy's https URL.
	PlainHTTP bool
	// MasterKey (base64, 32 bytes) encrypts secrets at rest. Empty means a
	// key file in DataDir; replicas sharing PostgreSQL must share the key.
	MasterKey string
	// InitialDomainSuffix names tenants' initial domains.
	InitialDomainSuffix string
	// DNSServer ("host:port") answers domain verification lookups; empty
	// uses the system resolver.
	DNSServer string
	// Argon2 parameters for user passwords (OWASP's defaults).
	Argon2MemoryKiB uint32
	Argon2Time      uint32
	Argon2Threads   uint8
	// AccessTokenLifetime is the base lifetime of access tokens.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long an unused refresh token stays
	// valid; every use issues a new one (a sliding window).
	RefreshTokenLifetime time.Duration
	// SignInSessionLifetime bounds a browser sign-in session (single
	// sign-on at the authorize endpoint).
	SignInSessionLifetime time.Duration
	// MFARegistrationGrace is how long security defaults let a user skip
	// registering an MFA method, from the first time they are asked.
	MFARegistrationGrace time.Duration
	// SignInLogRetention is how long sign-in log records are kept (Entra
	// keeps them 30 days); the hourly cleanup deletes older ones.
	SignInLogRetention time.Duration
	// LockoutThreshold is the number of failed passwords that locks an
	// account (smart lockout); LockoutDuration is the first lock, which
	// doubles with each further lock.
	LockoutThreshold int
	LockoutDuration  time.Duration
	// KeyRotation is how often signing keys rotate.
	KeyRotation time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Bootstrap fixes the first tenant's identifiers and credentials.
	Bootstrap Bootstrap
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
}

// Bootstrap fixes what the first run creates. Empty fields are generated.
// The JSON keys match <data-dir>/bootstrap.json.
type Bootstrap struct {
	TenantID               string `json:"tenantId,omitempty"`
	TenantName             string `json:"tenantName,omitempty"`
	AdminUserPrincipalName string `json:"adminUserPrincipalName,omitempty"`
	AdminPassword          string `json:"adminPassword,omitempty"`
	ClientID               string `json:"clientId,omitempty"`
	ClientSecret           string `json:"clientSecret,omitempty"`
	SecurityDefaults       *bool  `json:"securityDefaults,omitempty"`
	// File is a JSON file with the fields above (OSTIARY_BOOTSTRAP_FILE).
	File string `json:"-"`
}

// Default returns the configuration of a fresh local install.
func Default() Config {
	return Config{
		Listen:                "127.0.0.1:8443",
		DataDir:               "./ostiary-data",
		InitialDomainSuffix:   "ostiary.test",
		Argon2MemoryKiB:       19 * 1024,
		Argon2Time:            2,
		Argon2Threads:         1,
		AccessTokenLifetime:   time.Hour,
		RefreshTokenLifetime:  90 * 24 * time.Hour,
		SignInSessionLifetime: 24 * time.Hour,
		MFARegistrationGrace:  14 * 24 * time.Hour,
		SignInLogRetention:    30 * 24 * time.Hour,
		LockoutThreshold:      10,
		LockoutDuration:       time.Minute,
		KeyRotation:           30 * 24 * time.Hour,
		LogLevel:              "info",
		ShutdownTimeout:       15 * time.Second,
	}
}

// FromEnv overrides c with OSTIARY_* variables read through getenv.
func (c *Config) FromEnv(getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("OSTIARY_LISTEN", &c.Listen)
	set("OSTIARY_PUBLIC_URL", &c.PublicURL)
	set("OSTIARY_DATA_DIR", &c.DataDir)
	set("OSTIARY_DATABASE_URL", &c.DatabaseURL)
	set("OSTIARY_TLS_CERT", &c.TLSCert)
	set("OSTIARY_TLS_KEY", &c.TLSKey)
	set("OSTIARY_MASTER_KEY", &c.MasterKey)
	set("OSTIARY_INITIAL_DOMAIN_SUFFIX", &c.InitialDomainSuffix)
	set("OSTIARY_DNS_SERVER", &c.DNSServer)
	set("OSTIARY_LOG_LEVEL", &c.LogLevel)
	set("OSTIARY_BOOTSTRAP_FILE", &c.Bootstrap.File)
	set("OSTIARY_BOOTSTRAP_TENANT_ID", &c.Bootstrap.TenantID)
	set("OSTIARY_BOOTSTRAP_TENANT_NAME", &c.Bootstrap.TenantName)
	set("OSTIARY_BOOTSTRAP_ADMIN_UPN", &c.Bootstrap.AdminUserPrincipalName)
	set("OSTIARY_BOOTSTRAP_ADMIN_PASSWORD", &c.Bootstrap.AdminPassword)
	set("OSTIARY_BOOTSTRAP_CLIENT_ID", &c.Bootstrap.ClientID)
	set("OSTIARY_BOOTSTRAP_CLIENT_SECRET", &c.Bootstrap.ClientSecret)
	if v := getenv("OSTIARY_PLAIN_HTTP"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("OSTIARY_PLAIN_HTTP: %w", err)
		}
		c.PlainHTTP = b
	}
	for name, dst := range map[string]*time.Duration{
		"OSTIARY_REFRESH_TOKEN_LIFETIME":  &c.RefreshTokenLifetime,
		"OSTIARY_SIGNIN_SESSION_LIFETIME": &c.SignInSessionLifetime,
		"OSTIARY_MFA_REGISTRATION_GRACE":  &c.MFARegistrationGrace,
		"OSTIARY_SIGNIN_LOG_RETENTION":    &c.SignInLogRetention,
		"OSTIARY_LOCKOUT_DURATION":        &c.LockoutDuration,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
	}
	for _, k := range []struct {
		name string
		dst  *uint32
	}{{"OSTIARY_ARGON2_MEMORY_KIB", &c.Argon2MemoryKiB}, {"OSTIARY_ARGON2_TIME", &c.Argon2Time}} {
		if v := getenv(k.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			*k.dst = uint32(n)
		}
	}
	if v := getenv("OSTIARY_ARGON2_THREADS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return fmt.Errorf("OSTIARY_ARGON2_THREADS: %w", err)
		}
		c.Argon2Threads = uint8(n)
	}
	if v := getenv("OSTIARY_LOCKOUT_THRESHOLD"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("OSTIARY_LOCKOUT_THRESHOLD: %w", err)
		}
		c.LockoutThreshold = n
	}
	if v := getenv("OSTIARY_BOOTSTRAP_SECURITY_DEFAULTS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("OSTIARY_BOOTSTRAP_SECURITY_DEFAULTS: %w", err)
		}
		c.Bootstrap.SecurityDefaults = &b
	}
	return nil
}

// LoadBootstrapFile merges the bootstrap file (if any) under the values
// already set: explicit variables win over the file.
func (c *Config) LoadBootstrapFile() error {
	if c.Bootstrap.File == "" {
		return nil
	}
	b, err := os.ReadFile(c.Bootstrap.File)
	if err != nil {
		return fmt.Errorf("bootstrap file: %w", err)
	}
	var f Bootstrap
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("bootstrap file %s: %w", c.Bootstrap.File, err)
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&c.Bootstrap.TenantID, f.TenantID)
	fill(&c.Bootstrap.TenantName, f.TenantName)
	fill(&c.Bootstrap.AdminUserPrincipalName, f.AdminUserPrincipalName)
	fill(&c.Bootstrap.AdminPassword, f.AdminPassword)
	fill(&c.Bootstrap.ClientID, f.ClientID)
	fill(&c.Bootstrap.ClientSecret, f.ClientSecret)
	if c.Bootstrap.SecurityDefaults == nil {
		c.Bootstrap.SecurityDefaults = f.SecurityDefaults
	}
	return nil
}

// Validate checks the configuration and fills derived values.
func (c *Config) Validate() error {
	var problems []string
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		problems = append(problems, fmt.Sprintf("listen address %q: %v", c.Listen, err))
	}
	if c.PublicURL == "" {
		scheme := "https"
		if c.PlainHTTP {
			scheme = "http"
		}
		c.PublicURL = scheme + "://" + c.Listen
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") {
		problems = append(problems, fmt.Sprintf("public URL %q must be an http(s) origin with no path", c.PublicURL))
	} else if strings.Contains(strings.ToLower(u.Host), "token") {
		// MSAL Go derives the device-code URL by replacing "token" in the
		// token endpoint URL; a host containing it would be corrupted.
		problems = append(problems, "the public host must not contain the word \"token\" (MSAL rewrites it)")
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "--tls-cert and --tls-key go together")
	}
	if c.DataDir == "" {
		problems = append(problems, "a data directory is required")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		problems = append(problems, "--database-url must be a postgres:// URL")
	}
	if c.Argon2MemoryKiB < 8*1024 || c.Argon2Time < 1 || c.Argon2Threads < 1 {
		problems = append(problems, "argon2 parameters below the safe minimum (8 MiB, t=1, p=1)")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log level %q must be debug, info, warn or error", c.LogLevel))
	}
	if c.AccessTokenLifetime < 5*time.Minute || c.AccessTokenLifetime > 24*time.Hour {
		problems = append(problems, "access token lifetime must be between 5m and 24h")
	}
	if c.RefreshTokenLifetime < time.Hour || c.RefreshTokenLifetime > 365*24*time.Hour {
		problems = append(problems, "refresh token lifetime must be between 1h and 365 days")
	}
	if c.SignInSessionLifetime < time.Minute || c.SignInSessionLifetime > 90*24*time.Hour {
		problems = append(problems, "sign-in session lifetime must be between 1m and 90 days")
	}
	if c.MFARegistrationGrace < 0 || c.MFARegistrationGrace > 90*24*time.Hour {
		problems = append(problems, "MFA registration grace must be between 0 and 90 days")
	}
	if c.SignInLogRetention < 24*time.Hour || c.SignInLogRetention > 3650*24*time.Hour {
		problems = append(problems, "sign-in log retention must be between 1 day and 3650 days")
	}
	if c.LockoutThreshold < 1 || c.LockoutThreshold > 1000 {
		problems = append(problems, "lockout threshold must be between 1 and 1000")
	}
	if c.LockoutDuration < time.Second || c.LockoutDuration > 24*time.Hour {
		problems = append(problems, "lockout duration must be between 1s and 24h")
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	return nil
}

// SecurityDefaults reports whether the first tenant gets security defaults.
func (b Bootstrap) SecurityDefaultsOn() bool { return b.SecurityDefaults == nil || *b.SecurityDefaults }
