package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI in process with args and returns what it printed to
// stdout.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	cmd := root()
	cmd.SetArgs(args)
	runErr := cmd.Execute()
	os.Stdout = stdout
	w.Close()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, r)
	return buf.String(), runErr
}

// TestCommands drives migrate, tenant create and admin recover against a
// real SQLite store in a temporary data directory.
func TestCommands(t *testing.T) {
	// Small argon2 parameters keep the test fast; the flags and variables
	// path is what is under test.
	t.Setenv("OSTIARY_ARGON2_MEMORY_KIB", "8192")
	t.Setenv("OSTIARY_ARGON2_TIME", "1")
	dir := t.TempDir()
	if _, err := run(t, "migrate", "--data-dir", dir); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ostiary.db")); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
	out, err := run(t, "tenant", "create", "--data-dir", dir, "--name", "fabrikam")
	if err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	var creds struct {
		TenantID, Domain, AdminUserPrincipalName, AdminPassword, ClientID, ClientSecret string
	}
	if err := json.Unmarshal([]byte(out), &creds); err != nil || creds.Domain != "fabrikam.ostiary.test" || creds.ClientSecret == "" || creds.AdminPassword == "" {
		t.Fatalf("tenant create printed %q (%v)", out, err)
	}
	// One tenant: recover needs no --tenant and prints a new password.
	out, err = run(t, "admin", "recover", "--data-dir", dir)
	if err != nil {
		t.Fatalf("admin recover: %v", err)
	}
	if !strings.Contains(out, creds.TenantID) || !strings.Contains(out, creds.AdminUserPrincipalName) || strings.Contains(out, creds.AdminPassword) {
		t.Fatalf("admin recover printed %q", out)
	}
	// Explaining access offline: the bootstrap admin is a Global
	// Administrator; the decision names the role.
	out, err = run(t, "access", "explain", "--data-dir", dir, "--principal", creds.AdminUserPrincipalName,
		"--action", "microsoft.directory/users/create")
	if err != nil || !strings.HasPrefix(out, "allowed:") || !strings.Contains(out, "Global Administrator") {
		t.Fatalf("access explain printed %q (%v)", out, err)
	}
	if _, err := run(t, "access", "explain", "--data-dir", dir, "--principal", creds.AdminUserPrincipalName, "--action", "nonsense"); err == nil {
		t.Fatal("access explain accepted a malformed action")
	}
	// Two tenants: recover must be told which.
	if _, err := run(t, "tenant", "create", "--data-dir", dir, "--name", "contoso"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "admin", "recover", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--tenant") {
		t.Fatalf("recover with two tenants and no --tenant: %v", err)
	}
	if _, err := run(t, "admin", "recover", "--data-dir", dir, "--tenant", creds.TenantID); err != nil {
		t.Fatalf("recover --tenant: %v", err)
	}
	// A flag beats the environment.
	t.Setenv("OSTIARY_LOG_LEVEL", "loud")
	if _, err := run(t, "migrate", "--data-dir", dir); err == nil {
		t.Fatal("an invalid OSTIARY_LOG_LEVEL was accepted")
	}
	if _, err := run(t, "migrate", "--data-dir", dir, "--log-level", "warn"); err != nil {
		t.Fatalf("--log-level did not override the environment: %v", err)
	}
}
