package iam

import "testing"

func TestMayGrantTenantConsent(t *testing.T) {
	for _, c := range []struct {
		roles      []string
		graphRoles bool
		want       bool
	}{
		{nil, false, false},
		{[]string{"fe930be7-5e62-47db-91af-98c3a49a38b1"}, false, false}, // User Administrator
		{[]string{GlobalAdministratorRoleID}, true, true},
		{[]string{"E8611AB8-C189-46E8-94E1-60213AB1F814"}, true, true}, // Privileged Role Administrator, any case
		{[]string{CloudApplicationAdministratorRoleID}, false, true},
		{[]string{CloudApplicationAdministratorRoleID}, true, false},
		{[]string{ApplicationAdministratorRoleID}, false, true},
		{[]string{ApplicationAdministratorRoleID}, true, false},
	} {
		if got := MayGrantTenantConsent(c.roles, c.graphRoles); got != c.want {
			t.Errorf("MayGrantTenantConsent(%v, %v) = %v, want %v", c.roles, c.graphRoles, got, c.want)
		}
	}
}
