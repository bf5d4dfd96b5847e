package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMFAUnregistered lists, offline, the users who cannot do MFA yet: a
// new tenant's administrator, marked as one.
func TestMFAUnregistered(t *testing.T) {
	t.Setenv("OSTIARY_ARGON2_MEMORY_KIB", "8192")
	t.Setenv("OSTIARY_ARGON2_TIME", "1")
	dir := t.TempDir()
	out, err := run(t, "tenant", "create", "--data-dir", dir, "--name", "fabrikam")
	if err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	var creds struct{ TenantID, AdminUserPrincipalName string }
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "mfa", "unregistered", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatalf("mfa unregistered: %v", err)
	}
	var rows []struct {
		UserPrincipalName string
		IsAdmin           bool
		IsMfaCapable      bool
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].UserPrincipalName != creds.AdminUserPrincipalName ||
		!rows[0].IsAdmin || rows[0].IsMfaCapable {
		t.Fatalf("mfa unregistered --json printed %q (%v)", out, err)
	}
	out, err = run(t, "mfa", "unregistered", "--data-dir", dir, "--tenant", creds.TenantID)
	if err != nil || !strings.Contains(out, creds.AdminUserPrincipalName+"  (administrator)") {
		t.Fatalf("mfa unregistered printed %q (%v)", out, err)
	}
}
