package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://127.0.0.1:8443" {
		t.Fatalf("derived public URL %q", c.PublicURL)
	}
	p := Default()
	p.PlainHTTP = true
	if err := p.Validate(); err != nil || p.PublicURL != "http://127.0.0.1:8443" {
		t.Fatalf("plain HTTP public URL %q, %v", p.PublicURL, err)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]func(*Config){
		"bad listen":           func(c *Config) { c.Listen = "nope" },
		"public URL with path": func(c *Config) { c.PublicURL = "https://x.example/sub" },
		"token in host":        func(c *Config) { c.PublicURL = "https://token.example" },
		"cert without key":     func(c *Config) { c.TLSCert = "a.pem" },
		"mysql URL":            func(c *Config) { c.DatabaseURL = "mysql://x" },
		"weak argon2":          func(c *Config) { c.Argon2MemoryKiB = 1024 },
		"bad log level":        func(c *Config) { c.LogLevel = "loud" },
		"no data dir":          func(c *Config) { c.DataDir = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := Default()
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestEnvAndBootstrapFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bootstrap.json")
	if err := os.WriteFile(file, []byte(`{"tenantId":"11111111-1111-1111-1111-111111111111","clientSecret":"from-file-secret-123","securityDefaults":false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OSTIARY_LISTEN":                  "127.0.0.1:9443",
		"OSTIARY_BOOTSTRAP_FILE":          file,
		"OSTIARY_BOOTSTRAP_CLIENT_SECRET": "from-env-secret-456",
		"OSTIARY_PLAIN_HTTP":              "true",
	}
	c := Default()
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadBootstrapFile(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9443" || !c.PlainHTTP {
		t.Fatalf("env not applied: %+v", c)
	}
	if c.Bootstrap.ClientSecret != "from-env-secret-456" || c.Bootstrap.TenantID != "11111111-1111-1111-1111-111111111111" {
		t.Fatalf("env must win over the file, the file fills the rest: %+v", c.Bootstrap)
	}
	if c.Bootstrap.SecurityDefaultsOn() {
		t.Fatal("securityDefaults false from the file ignored")
	}
	bad := Default()
	if err := bad.FromEnv(func(k string) string {
		if k == "OSTIARY_PLAIN_HTTP" {
			return "maybe"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "OSTIARY_PLAIN_HTTP") {
		t.Fatalf("bad boolean accepted: %v", err)
	}
}

func TestArgon2FromEnv(t *testing.T) {
	env := map[string]string{"OSTIARY_ARGON2_MEMORY_KIB": "65536", "OSTIARY_ARGON2_TIME": "3", "OSTIARY_ARGON2_THREADS": "2"}
	c := Default()
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Argon2MemoryKiB != 65536 || c.Argon2Time != 3 || c.Argon2Threads != 2 {
		t.Fatalf("argon2 parameters not applied: %d %d %d", c.Argon2MemoryKiB, c.Argon2Time, c.Argon2Threads)
	}
	env["OSTIARY_ARGON2_THREADS"] = "300"
	if err := c.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("threads beyond 255 accepted")
	}
}
