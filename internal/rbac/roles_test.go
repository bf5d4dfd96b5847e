package rbac_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
)

func TestBuiltinRoles(t *testing.T) {
	roles := rbac.BuiltinRoles()
	if len(roles) != 145 {
		t.Fatalf("got %d built-in roles, want 145", len(roles))
	}
	ids := map[string]bool{}
	privileged := 0
	for _, r := range roles {
		if r.ID != r.TemplateID || !iam.IsGUID(r.ID) || !r.IsBuiltIn || r.DisplayName == "" || r.Description == "" {
			t.Errorf("role %q: id %q template %q builtIn %v", r.DisplayName, r.ID, r.TemplateID, r.IsBuiltIn)
		}
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		if r.IsPrivileged {
			privileged++
		}
	}
	if privileged != 35 {
		t.Errorf("%d privileged roles, want 35 (data/SOURCES.md)", privileged)
	}
	ga, ok := rbac.BuiltinRole(rbac.GlobalAdministrator)
	if !ok || ga.DisplayName != "Global Administrator" || !ga.IsPrivileged {
		t.Fatalf("Global Administrator: %+v", ga.DisplayName)
	}
	// Callers get copies: changing one must not change the embedded data.
	ga.RolePermissions[0].AllowedResourceActions[0] = "tampered"
	again, _ := rbac.BuiltinRole(rbac.GlobalAdministrator)
	if again.RolePermissions[0].AllowedResourceActions[0] == "tampered" {
		t.Error("BuiltinRole returned shared data")
	}
}

func TestDefaultUserConditions(t *testing.T) {
	u, ok := rbac.BuiltinRole(rbac.DefaultUser)
	if !ok || u.AssignmentMode != "systemAssigned" {
		t.Fatal("User role missing or not system-assigned")
	}
	conds := map[rbac.Condition][]string{}
	for _, p := range u.RolePermissions {
		conds[p.Condition] = append(conds[p.Condition], p.AllowedResourceActions...)
	}
	if !slices.Contains(conds[rbac.ResourceIsSelf], "microsoft.directory/users/basic/update") {
		t.Error("User role lacks self basic/update")
	}
	if !slices.Contains(conds[rbac.SubjectIsOwner], "microsoft.directory/groups/members/update") {
		t.Error("User role lacks owner groups/members/update")
	}
	if slices.Contains(conds[rbac.Unconditional], "microsoft.directory/users/basic/update") {
		t.Error("User role may update any user")
	}
}

func TestValidateCustomPermissions(t *testing.T) {
	if n := len(rbac.CustomRolePermissions()); n != 157 {
		t.Errorf("catalog has %d permissions, want 157", n)
	}
	for _, p := range rbac.CustomRolePermissions() {
		action := p.Permission
		if a, ok := strings.CutSuffix(action, "{id}"); ok {
			action = a + "some-policy"
		}
		if err := rbac.ValidateCustomPermissions([]string{action}); err != nil {
			t.Errorf("%s: %v", action, err)
		}
	}
	err := rbac.ValidateCustomPermissions([]string{"microsoft.directory/applications/basic/update", "microsoft.directory/users/delete", "x"})
	e := errs.As(err)
	if e.Kind != errs.Invalid || e.Code != "Request_BadRequest" || e.Message != "The resource action 'microsoft.directory/users/delete' is not supported in custom role definitions." {
		t.Errorf("got %v (code %q)", err, e.Code)
	}
	if err := rbac.ValidateCustomRole(rbac.RoleDefinition{DisplayName: "x", RolePermissions: []rbac.RolePermission{
		{AllowedResourceActions: []string{"microsoft.directory/groups/members/update"}, Condition: rbac.SubjectIsOwner}}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("condition accepted: %v", err)
	}
	if err := rbac.ValidateCustomRole(rbac.RoleDefinition{DisplayName: "x"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("empty role accepted: %v", err)
	}
}

// TestConcurrentApply runs decisions while the snapshot changes (for -race)
// and checks that a removed assignment stops granting on the next decision.
func TestConcurrentApply(t *testing.T) {
	s := rbac.NewSnapshot()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := rbac.Request{Principal: rbac.Principal{ID: "u", Type: rbac.User},
		Action: "microsoft.directory/users/password/update", Target: rbac.Target{ID: "t", Kind: iam.KindUser}}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					rbac.Evaluate(s, req, now)
				}
			}
		}()
	}
	for i := range 200 {
		if err := s.Apply(
			rbac.PutAssignment{Assignment: rbac.Assignment{ID: "a", PrincipalID: "g", RoleDefinitionID: rbac.HelpdeskAdministrator, DirectoryScopeID: "/"}},
			rbac.AddGroupMember{GroupID: "g", MemberID: "u"},
			rbac.PutRole{Role: rbac.RoleDefinition{ID: "c", DisplayName: "c", IsEnabled: true, RolePermissions: []rbac.RolePermission{
				{AllowedResourceActions: []string{"microsoft.directory/users/basic/update"}}}}},
		); err != nil {
			t.Fatal(err)
		}
		if d := rbac.Evaluate(s, req, now); !d.Allowed {
			t.Fatalf("round %d: denied: %v", i, d.Reasons)
		}
		if err := s.Apply(rbac.RemoveGroupMember{GroupID: "g", MemberID: "u"}, rbac.DeleteAssignment{ID: "a"}, rbac.DeleteRole{ID: "c"}); err != nil {
			t.Fatal(err)
		}
		if d := rbac.Evaluate(s, req, now); d.Allowed {
			t.Fatalf("round %d: allowed after removal: %v", i, d.Reasons)
		}
	}
	close(stop)
	wg.Wait()
	if s.Len() != 0 {
		t.Errorf("%d assignments left", s.Len())
	}
}
