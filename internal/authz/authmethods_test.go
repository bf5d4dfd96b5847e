package authz_test

import (
	"testing"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
)

// Authentication methods take UserAuthenticationMethod.* only; the
// .Read/.ReadWrite scopes reach the signed-in user's own methods.
func TestAuthMethodsPermissions(t *testing.T) {
	app := func(roles ...string) *iam.Caller { return &iam.Caller{Type: iam.CallerApp, Roles: roles} }
	user := func(scopes ...string) *iam.Caller {
		return &iam.Caller{Type: iam.CallerUser, ObjectID: "me", Scopes: scopes}
	}
	for _, c := range []struct {
		name   string
		ok     bool
		action string
		c      *iam.Caller
	}{
		{"app reads with Read.All", true, authz.AuthMethodsRead, app("UserAuthenticationMethod.Read.All")},
		{"app restricted-reads with ReadWrite.All", true, authz.AuthMethodsRestrictedRead, app("UserAuthenticationMethod.ReadWrite.All")},
		{"app deletes with Read.All", false, authz.AuthMethodsDelete, app("UserAuthenticationMethod.Read.All")},
		{"app creates with ReadWrite.All", true, authz.AuthMethodsCreate, app("UserAuthenticationMethod.ReadWrite.All")},
		{"Directory.ReadWrite.All does not reach methods", false, authz.AuthMethodsRead, app("Directory.ReadWrite.All")},
		{"report with AuditLog.Read.All", true, authz.AuthMethodsReportRead, app("AuditLog.Read.All")},
		{"report with a methods permission", false, authz.AuthMethodsReportRead, app("UserAuthenticationMethod.ReadWrite.All")},
	} {
		if got := authz.AppAllows(c.c, c.action, false); got != c.ok {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	for _, c := range []struct {
		name   string
		ok     bool
		action string
		c      *iam.Caller
		self   bool
	}{
		{"own methods with .Read", true, authz.AuthMethodsRead, user("UserAuthenticationMethod.Read"), true},
		{"another's methods with .Read", false, authz.AuthMethodsRead, user("UserAuthenticationMethod.Read"), false},
		{"delete own with .Read", false, authz.AuthMethodsDelete, user("UserAuthenticationMethod.Read"), true},
		{"delete own with .ReadWrite", true, authz.AuthMethodsDelete, user("UserAuthenticationMethod.ReadWrite"), true},
		{"another's with .ReadWrite.All", true, authz.AuthMethodsDelete, user("UserAuthenticationMethod.ReadWrite.All"), false},
		{"own with User.ReadWrite", false, authz.AuthMethodsRead, user("User.ReadWrite"), true},
	} {
		if got := authz.ScopeAllows(c.c, c.action, c.self); got != c.ok {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
