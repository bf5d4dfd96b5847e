package rbac

import "testing"

func TestCovers(t *testing.T) {
	const d = "microsoft.directory/"
	cases := []struct {
		grant, want, subtype string
		roleAssignable       bool
		ok                   bool
	}{
		// Exact.
		{d + "users/password/update", d + "users/password/update", "", false, true},
		{d + "users/password/update", d + "users/basic/update", "", false, false},
		{d + "users/delete", d + "users/delete", "", false, true},
		{d + "users/delete", d + "users/restore", "", false, false},
		// allProperties/allTasks: every verb and property set of the entity, nothing else.
		{d + "users/allProperties/allTasks", d + "users/password/update", "", false, true},
		{d + "users/allProperties/allTasks", d + "users/delete", "", false, true},
		{d + "users/allProperties/allTasks", d + "users/authenticationMethods/standard/read", "", false, true},
		{d + "users/allProperties/allTasks", d + "groups/delete", "", false, false},
		{d + "users/allProperties/allTasks", d + "usersX/delete", "", false, false},
		{d + "accessReviews/allProperties/allTasks", d + "accessReviews/definitions.groups/create", "", false, true},
		{d + "accessReviews/definitions/allProperties/allTasks", d + "accessReviews/definitions.groups/create", "", false, true},
		{d + "accessReviews/definitions.applications/allProperties/allTasks", d + "accessReviews/definitions.groups/create", "", false, false},
		// allProperties/read: every read, no write.
		{d + "users/allProperties/read", d + "users/standard/read", "", false, true},
		{d + "users/allProperties/read", d + "users/basic/read", "", false, true},
		{d + "users/allProperties/read", d + "users/manager/read", "", false, true},
		{d + "users/allProperties/read", d + "users/basic/update", "", false, false},
		{d + "users/allProperties/read", d + "users/allProperties/read", "", false, true},
		{d + "users/standard/read", d + "users/allProperties/read", "", false, false},
		// allProperties/update: every update.
		{d + "applications/allProperties/update", d + "applications/credentials/update", "", false, true},
		{d + "applications/allProperties/update", d + "applications/delete", "", false, false},
		// property-set allTasks.
		{d + "organization/strongAuthentication/allTasks", d + "organization/strongAuthentication/update", "", false, true},
		{d + "organization/strongAuthentication/allTasks", d + "organization/basic/update", "", false, false},
		// Subtypes narrow by kind; an un-subtyped grant covers all subtypes.
		{d + "applications.myOrganization/basic/update", d + "applications/basic/update", "myOrganization", false, true},
		{d + "applications.myOrganization/basic/update", d + "applications/basic/update", "", false, false},
		{d + "applications.myOrganization/basic/update", d + "applications/basic/update", "multiTenant", false, false},
		{d + "applications/basic/update", d + "applications/basic/update", "myOrganization", false, true},
		{d + "applications.myOrganization/allProperties/read", d + "applications/owners/read", "myOrganization", false, true},
		{d + "groups.security/members/update", d + "groups/members/update", "security.assignedMembership", false, true},
		{d + "groups.security.assignedMembership/members/update", d + "groups/members/update", "security", false, false},
		{d + "groups.security/members/update", d + "groups/members/update", "securityX", false, false},
		{d + "groups.unified/members/update", d + "groups/members/update", "security", false, false},
		{d + "deletedItems/allProperties/allTasks", d + "deletedItems.applications/restore", "", false, true},
		{d + "deletedItems.applications/restore", d + "deletedItems.groups/restore", "", false, false},
		// Role-assignable groups: writes need groupsAssignableToRoles, reads do not.
		{d + "groups/members/update", d + "groups/members/update", "security", true, false},
		{d + "groups/allProperties/allTasks", d + "groups/members/update", "", true, false},
		{d + "groupsAssignableToRoles/allProperties/update", d + "groups/members/update", "security", true, true},
		{d + "groupsAssignableToRoles/allProperties/update", d + "groups/owners/update", "", true, true},
		{d + "groupsAssignableToRoles/delete", d + "groups/delete", "", true, true},
		{d + "groupsAssignableToRoles/restore", d + "deletedItems.groups/restore", "", true, true},
		{d + "groups/members/read", d + "groups/members/read", "", true, true},
		{d + "groupsAssignableToRoles/allProperties/update", d + "groups/members/update", "", false, false},
		// Other namespaces never match directory actions; they match themselves.
		{"microsoft.office365.exchange/allEntities/allProperties/allTasks", d + "users/basic/update", "", false, false},
		{"microsoft.azure.serviceHealth/allEntities/allTasks", d + "users/basic/update", "", false, false},
		{"microsoft.azure.serviceHealth/allEntities/allTasks", "microsoft.azure.serviceHealth/allEntities/allTasks", "", false, true},
		{d + "users/allProperties/allTasks", "microsoft.office365.users/basic/update", "", false, false},
	}
	for _, c := range cases {
		g, err := parseAction(c.grant)
		if err != nil {
			t.Fatal(err)
		}
		w, err := parseAction(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if got := covers(g, w.ns, effectivePath(w, c.subtype, c.roleAssignable)); got != c.ok {
			t.Errorf("covers(%s, %s, subtype %q, roleAssignable %v) = %v, want %v", c.grant, c.want, c.subtype, c.roleAssignable, got, c.ok)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"", "users/read", "microsoft.directory/users", "microsoft.directory//read", "microsoft.directory/users/read/"} {
		if _, err := parseAction(s); err == nil {
			t.Errorf("parseAction(%q) accepted", s)
		}
	}
}

func TestClassify(t *testing.T) {
	const d = "microsoft.directory/"
	cases := map[string]Sensitivity{
		d + "users/password/update":                     PasswordReset,
		d + "users/invalidateAllRefreshTokens":          PasswordReset,
		d + "users/authenticationMethods/create":        PasswordReset,
		d + "users/authenticationMethods/standard/read": PasswordReset,
		d + "users/delete":                              SensitiveAttributes,
		d + "users/restore":                             SensitiveAttributes,
		d + "deletedItems.users/restore":                SensitiveAttributes,
		d + "users/enable":                              SensitiveAttributes,
		d + "users/userPrincipalName/update":            SensitiveAttributes,
		d + "users/basic/update":                        NotSensitive,
		d + "users/standard/read":                       NotSensitive,
		d + "groups/delete":                             NotSensitive,
		"microsoft.office365.users/password/update":     NotSensitive,
	}
	for s, want := range cases {
		a, err := parseAction(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := classify(a); got != want {
			t.Errorf("classify(%s) = %v, want %v", s, got, want)
		}
	}
}
