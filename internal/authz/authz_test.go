package authz_test

import (
	"context"
	"testing"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

func TestGraphPermissions(t *testing.T) {
	app := func(roles ...string) *iam.Caller {
		return &iam.Caller{Type: iam.CallerApp, TenantID: "t", Roles: roles}
	}
	cases := []struct {
		name   string
		caller *iam.Caller
		action string
		owned  bool
		allow  bool
	}{
		{"read users with User.Read.All", app("User.Read.All"), authz.UsersRead, false, true},
		{"read users with Directory.Read.All", app("Directory.Read.All"), authz.UsersRead, false, true},
		{"create user with User.Read.All", app("User.Read.All"), authz.UsersCreate, false, false},
		{"create user with Directory.ReadWrite.All", app("Directory.ReadWrite.All"), authz.UsersCreate, false, true},
		{"no roles", app(), authz.UsersRead, false, false},
		{"scope is not a role", &iam.Caller{Type: iam.CallerApp, Scopes: []string{"User.Read.All"}}, authz.UsersRead, false, false},
		{"group member change with GroupMember.ReadWrite.All", app("GroupMember.ReadWrite.All"), authz.GroupsMembers, false, true},
		{"role-assignable group needs RoleManagement", app("Group.ReadWrite.All", "Directory.ReadWrite.All"), authz.RAGroupsUpdate, false, false},
		{"role-assignable group with RoleManagement", app("RoleManagement.ReadWrite.Directory"), authz.RAGroupsCreate, false, true},
		{"app role grant needs AppRoleAssignment", app("Directory.ReadWrite.All"), authz.SPsAppRoleAssign, false, false},
		{"app role grant with RoleManagement", app("RoleManagement.ReadWrite.Directory"), authz.SPsAppRoleAssign, false, true},
		{"OwnedBy on an owned app", app("Application.ReadWrite.OwnedBy"), authz.AppsUpdate, true, true},
		{"OwnedBy on another app", app("Application.ReadWrite.OwnedBy"), authz.AppsUpdate, false, false},
		{"audit logs need AuditLog.Read.All", app("Directory.Read.All"), authz.AuditLogsRead, false, false},
		{"audit logs with AuditLog.Read.All", app("AuditLog.Read.All"), authz.AuditLogsRead, false, true},
		{"unknown action is denied", app("Directory.ReadWrite.All"), "microsoft.directory/unknown/allTasks", false, false},
		{"delegated denied without the directory decision", &iam.Caller{Type: iam.CallerUser, Scopes: []string{"Directory.ReadWrite.All"}}, authz.UsersRead, false, false},
		{"system allowed", iam.System("t"), authz.UsersDelete, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authz.GraphPermissions{}.Authorize(context.Background(), c.caller, authz.Request{Action: c.action, Owned: c.owned})
			if c.allow && err != nil {
				t.Fatalf("denied: %v", err)
			}
			if !c.allow {
				e := errs.As(err)
				if err == nil || e.Kind != errs.Denied || e.Code != "Authorization_RequestDenied" || e.Message != "Insufficient privileges to complete the operation." {
					t.Fatalf("want Authorization_RequestDenied, got %v", err)
				}
			}
		})
	}
}
