package graphperms

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var canonicalGUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCatalogLoads(t *testing.T) {
	if _, err := parseCatalog(catalogJSON); err != nil {
		t.Fatalf("embedded catalog: %v", err)
	}
	if n := len(AppRoles()); n < 300 {
		t.Errorf("only %d app roles", n)
	}
	if n := len(Scopes()); n < 300 {
		t.Errorf("only %d scopes", n)
	}
}

func TestAppRolesWellFormed(t *testing.T) {
	ids := map[string]bool{}
	values := map[string]bool{}
	for _, r := range AppRoles() {
		if !canonicalGUID.MatchString(r.ID) {
			t.Errorf("app role id %q is not a lower-case GUID", r.ID)
		}
		if ids[r.ID] {
			t.Errorf("duplicate app role id %s", r.ID)
		}
		ids[r.ID] = true
		if r.Value == nil || *r.Value == "" {
			t.Errorf("app role %s has no value", r.ID)
			continue
		}
		v := *r.Value
		if values[v] {
			t.Errorf("duplicate app role value %s", v)
		}
		values[v] = true
		if !slices.Equal(r.AllowedMemberTypes, []string{"Application"}) {
			t.Errorf("%s: allowedMemberTypes = %v, want [Application]", v, r.AllowedMemberTypes)
		}
		if !r.IsEnabled {
			t.Errorf("%s: not enabled", v)
		}
		if r.DisplayName == "" || r.Description == "" {
			t.Errorf("%s: missing display name or description", v)
		}
		if r.Origin != "" {
			t.Errorf("%s: unexpected origin %q", v, r.Origin)
		}
	}
}

func TestScopesWellFormed(t *testing.T) {
	ids := map[string]bool{}
	values := map[string]bool{}
	for _, s := range Scopes() {
		if !canonicalGUID.MatchString(s.ID) {
			t.Errorf("scope id %q is not a lower-case GUID", s.ID)
		}
		if ids[s.ID] {
			t.Errorf("duplicate scope id %s", s.ID)
		}
		ids[s.ID] = true
		if s.Value == "" {
			t.Errorf("scope %s has no value", s.ID)
			continue
		}
		if values[s.Value] {
			t.Errorf("duplicate scope value %s", s.Value)
		}
		values[s.Value] = true
		if s.Type != ScopeTypeUser && s.Type != ScopeTypeAdmin {
			t.Errorf("%s: type %q is neither User nor Admin", s.Value, s.Type)
		}
		if !s.IsEnabled {
			t.Errorf("%s: not enabled", s.Value)
		}
		if s.AdminConsentDisplayName == "" || s.AdminConsentDescription == "" {
			t.Errorf("%s: missing admin consent text", s.Value)
		}
		if s.UserConsentDisplayName == nil || *s.UserConsentDisplayName == "" ||
			s.UserConsentDescription == nil || *s.UserConsentDescription == "" {
			t.Errorf("%s: missing user consent text", s.Value)
		}
	}
}

// TestSharedIDs pins the one GUID Graph uses for both an app role and a
// scope, so that a transcription slip producing another overlap is caught.
func TestSharedIDs(t *testing.T) {
	roleIDs := map[string]string{}
	for _, r := range AppRoles() {
		roleIDs[r.ID] = *r.Value
	}
	var shared []string
	for _, s := range Scopes() {
		if v, ok := roleIDs[s.ID]; ok {
			if v != s.Value {
				t.Errorf("id %s is app role %s but scope %s", s.ID, v, s.Value)
			}
			shared = append(shared, s.Value)
		}
	}
	if !slices.Equal(shared, []string{"User.Export.All"}) {
		t.Errorf("app role and scope share ids for %v, want only [User.Export.All]", shared)
	}
}

func TestWellKnownAppRoleIDs(t *testing.T) {
	for id, value := range map[string]string{
		"19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
		"7ab1d382-f21e-4acd-a863-ba3e13f7da61": "Directory.Read.All",
		"df021288-bdef-4463-88db-98f22de89214": "User.Read.All",
		"741f803b-c850-494e-b5df-cde7c675a1ca": "User.ReadWrite.All",
		"97235f07-e226-4f63-ace3-39588e11d3a1": "User.ReadBasic.All",
		"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
		"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
		"9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30": "Application.Read.All",
		"18a4783c-866b-4cc7-a460-3d5e5662c884": "Application.ReadWrite.OwnedBy",
		"06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
		"8e8e4742-1d95-4f68-9d56-6ee75648c72a": "DelegatedPermissionGrant.ReadWrite.All",
		"62a82d76-70ea-41e2-9197-370581804d09": "Group.ReadWrite.All",
		"5b567255-7703-4780-807c-7be8301ae99b": "Group.Read.All",
		"98830695-27a2-44f7-8c18-0c3ebc9698f6": "GroupMember.Read.All",
		"dbaae8cf-10b5-4b86-a4a1-f871c94c6695": "GroupMember.ReadWrite.All",
		"01c0a623-fc9b-48e9-b794-0756f8e8f067": "Policy.ReadWrite.ConditionalAccess",
		"246dd0d5-5bd0-4def-940b-0421030a5b68": "Policy.Read.All",
		"b0afded3-3588-46d8-8b3d-9842eff778da": "AuditLog.Read.All",
		"77f3a031-c388-4f99-b373-dc68676a979e": "User.RevokeSessions.All",
		"cc117bb9-00cf-4eb8-b580-ea2a878fe8f7": "User-PasswordProfile.ReadWrite.All",
		"405a51b5-8d8d-430b-9842-8be4b0e9f324": "User.Export.All",
		"810c84a8-4a9e-49e6-bf7d-12d183f40d01": "Mail.Read",
		"b633e1c5-b582-4048-a93e-9f11b44c7e96": "Mail.Send",
	} {
		r, ok := AppRoleByID(id)
		if !ok {
			t.Errorf("AppRoleByID(%s) not found, want %s", id, value)
			continue
		}
		if *r.Value != value {
			t.Errorf("AppRoleByID(%s) = %s, want %s", id, *r.Value, value)
		}
		byValue, ok := AppRoleByValue(value)
		if !ok || byValue.ID != id {
			t.Errorf("AppRoleByValue(%s) = %s, %v; want %s", value, byValue.ID, ok, id)
		}
	}
}

func TestWellKnownScopeIDs(t *testing.T) {
	for id, want := range map[string]struct{ value, typ string }{
		"e1fe6dd8-ba31-4d61-89e7-88639da4683d": {"User.Read", ScopeTypeUser},
		"b4e74841-8e56-480b-be8b-910348b18b4c": {"User.ReadWrite", ScopeTypeUser},
		"b340eb25-3456-403f-be2f-af7a0d370277": {"User.ReadBasic.All", ScopeTypeUser},
		"a154be20-db9c-4678-8ab7-66f6cc099a59": {"User.Read.All", ScopeTypeAdmin},
		"204e0828-b5ca-4ad8-b9f3-f32a958e7cc4": {"User.ReadWrite.All", ScopeTypeAdmin},
		"37f7f235-527c-4136-accd-4a02d197296e": {"openid", ScopeTypeUser},
		"14dad69e-099b-42c9-810b-d002981feec1": {"profile", ScopeTypeUser},
		"64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0": {"email", ScopeTypeUser},
		"7427e0e9-2fba-42fe-b0c0-848c9e6a8182": {"offline_access", ScopeTypeUser},
		"0e263e50-5827-48a4-b97c-d940288653c7": {"Directory.AccessAsUser.All", ScopeTypeAdmin},
		"06da0dbc-49e2-44d2-8312-53f166ab848a": {"Directory.Read.All", ScopeTypeAdmin},
		"c5366453-9fb0-48a5-a156-24f0c49a4b84": {"Directory.ReadWrite.All", ScopeTypeAdmin},
		"d01b97e9-cbc0-49fe-810a-750afd5527a3": {"RoleManagement.ReadWrite.Directory", ScopeTypeAdmin},
		"fc30e98b-8810-4501-81f5-c20a3196387b": {"User.RevokeSessions.All", ScopeTypeAdmin},
		"56760768-b641-451f-8906-e1b8ab31bca7": {"User-PasswordProfile.ReadWrite.All", ScopeTypeAdmin},
		"405a51b5-8d8d-430b-9842-8be4b0e9f324": {"User.Export.All", ScopeTypeAdmin},
		"570282fd-fa5c-430d-a7fd-fc8dc98a9dca": {"Mail.Read", ScopeTypeUser},
	} {
		s, ok := ScopeByID(id)
		if !ok {
			t.Errorf("ScopeByID(%s) not found, want %s", id, want.value)
			continue
		}
		if s.Value != want.value || s.Type != want.typ {
			t.Errorf("ScopeByID(%s) = %s/%s, want %s/%s", id, s.Value, s.Type, want.value, want.typ)
		}
		byValue, ok := ScopeByValue(want.value)
		if !ok || byValue.ID != id {
			t.Errorf("ScopeByValue(%s) = %s, %v; want %s", want.value, byValue.ID, ok, id)
		}
	}
}

// requiredAppRoles and requiredScopes list the directory and identity
// permissions the catalog must carry (those whose IDs could be confirmed from
// two sources). Not listed because their IDs could not be confirmed: the
// delegated scopes RoleAssignmentSchedule.Remove.Directory and
// RoleEligibilitySchedule.Remove.Directory.
var requiredAppRoles = []string{
	"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "User.Invite.All",
	"User.EnableDisableAccount.All", "User.ManageIdentities.All", "User.Export.All",
	"User.RevokeSessions.All", "User-PasswordProfile.ReadWrite.All", "User.DeleteRestore.All",
	"Group.Create", "Group.Read.All", "Group.ReadWrite.All",
	"GroupMember.Read.All", "GroupMember.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All",
	"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy",
	"AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
	"Domain.Read.All", "Domain.ReadWrite.All",
	"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All",
	"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "RoleManagement.Read.All",
	"RoleAssignmentSchedule.Read.Directory", "RoleAssignmentSchedule.ReadWrite.Directory",
	"RoleAssignmentSchedule.Remove.Directory",
	"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
	"RoleEligibilitySchedule.Remove.Directory",
	"RoleManagementPolicy.Read.Directory", "RoleManagementPolicy.ReadWrite.Directory",
	"RoleManagementPolicy.Read.AzureADGroup", "RoleManagementPolicy.ReadWrite.AzureADGroup",
	"PrivilegedAccess.Read.AzureAD", "PrivilegedAccess.ReadWrite.AzureAD",
	"PrivilegedAccess.Read.AzureADGroup", "PrivilegedAccess.ReadWrite.AzureADGroup",
	"PrivilegedAccess.Read.AzureResources", "PrivilegedAccess.ReadWrite.AzureResources",
	"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "Policy.ReadWrite.SecurityDefaults",
	"Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.Authorization",
	"AuditLog.Read.All",
	"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All",
	"AccessReview.Read.All", "AccessReview.ReadWrite.All", "AccessReview.ReadWrite.Membership",
	"IdentityRiskEvent.Read.All", "IdentityRiskEvent.ReadWrite.All",
	"Organization.Read.All", "Organization.ReadWrite.All",
}

var requiredScopes = []string{
	"openid", "profile", "email", "offline_access",
	"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
	"User.Invite.All", "User.EnableDisableAccount.All", "User.ManageIdentities.All", "User.Export.All",
	"User.RevokeSessions.All", "User-PasswordProfile.ReadWrite.All", "User.DeleteRestore.All",
	"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All",
	"Application.Read.All", "Application.ReadWrite.All",
	"AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
	"Domain.Read.All", "Domain.ReadWrite.All",
	"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All",
	"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "RoleManagement.Read.All",
	"RoleAssignmentSchedule.Read.Directory", "RoleAssignmentSchedule.ReadWrite.Directory",
	"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
	"RoleManagementPolicy.Read.Directory", "RoleManagementPolicy.ReadWrite.Directory",
	"RoleManagementPolicy.Read.AzureADGroup", "RoleManagementPolicy.ReadWrite.AzureADGroup",
	"PrivilegedAccess.Read.AzureAD", "PrivilegedAccess.ReadWrite.AzureAD",
	"PrivilegedAccess.Read.AzureADGroup", "PrivilegedAccess.ReadWrite.AzureADGroup",
	"PrivilegedAccess.Read.AzureResources", "PrivilegedAccess.ReadWrite.AzureResources",
	"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "Policy.ReadWrite.SecurityDefaults",
	"Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.Authorization",
	"AuditLog.Read.All",
	"UserAuthenticationMethod.Read", "UserAuthenticationMethod.ReadWrite",
	"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All",
	"AccessReview.Read.All", "AccessReview.ReadWrite.All", "AccessReview.ReadWrite.Membership",
	"IdentityRiskEvent.Read.All", "IdentityRiskEvent.ReadWrite.All",
	"Organization.Read.All", "Organization.ReadWrite.All",
}

func TestRequiredCoverage(t *testing.T) {
	for _, v := range requiredAppRoles {
		if _, ok := AppRoleByValue(v); !ok {
			t.Errorf("missing app role %s", v)
		}
	}
	for _, v := range requiredScopes {
		if _, ok := ScopeByValue(v); !ok {
			t.Errorf("missing scope %s", v)
		}
	}
	// Delegated-only and application-only permissions stay in their list.
	for _, v := range []string{"User.Read", "User.ReadWrite", "openid", "Directory.AccessAsUser.All"} {
		if _, ok := AppRoleByValue(v); ok {
			t.Errorf("%s must not be an app role", v)
		}
	}
	for _, v := range []string{"Application.ReadWrite.OwnedBy", "Group.Create"} {
		if _, ok := ScopeByValue(v); ok {
			t.Errorf("%s must not be a scope", v)
		}
	}
}

func TestLookupsRoundTrip(t *testing.T) {
	for _, r := range AppRoles() {
		if got, ok := AppRoleByID(r.ID); !ok || *got.Value != *r.Value {
			t.Errorf("AppRoleByID(%s) mismatch", r.ID)
		}
		if got, ok := AppRoleByValue(*r.Value); !ok || got.ID != r.ID {
			t.Errorf("AppRoleByValue(%s) mismatch", *r.Value)
		}
	}
	for _, s := range Scopes() {
		if got, ok := ScopeByID(s.ID); !ok || got.Value != s.Value {
			t.Errorf("ScopeByID(%s) mismatch", s.ID)
		}
		if got, ok := ScopeByValue(s.Value); !ok || got.ID != s.ID {
			t.Errorf("ScopeByValue(%s) mismatch", s.Value)
		}
	}
}

func TestLookupCase(t *testing.T) {
	if _, ok := ScopeByValue("user.read"); ok {
		t.Error(`ScopeByValue("user.read") found; values are case-sensitive`)
	}
	if _, ok := AppRoleByValue("USER.READ.ALL"); ok {
		t.Error(`AppRoleByValue("USER.READ.ALL") found; values are case-sensitive`)
	}
	if r, ok := AppRoleByID(strings.ToUpper("df021288-bdef-4463-88db-98f22de89214")); !ok || *r.Value != "User.Read.All" {
		t.Error("AppRoleByID should accept an upper-case GUID")
	}
	if s, ok := ScopeByID("E1FE6DD8-BA31-4D61-89E7-88639DA4683D"); !ok || s.Value != "User.Read" {
		t.Error("ScopeByID should accept an upper-case GUID")
	}
	for _, q := range []string{"", "00000000-0000-0000-0000-000000000000", "Nope.Read"} {
		if _, ok := AppRoleByID(q); ok {
			t.Errorf("AppRoleByID(%q) found", q)
		}
		if _, ok := AppRoleByValue(q); ok {
			t.Errorf("AppRoleByValue(%q) found", q)
		}
		if _, ok := ScopeByID(q); ok {
			t.Errorf("ScopeByID(%q) found", q)
		}
		if _, ok := ScopeByValue(q); ok {
			t.Errorf("ScopeByValue(%q) found", q)
		}
	}
}

func TestResultsAreCopies(t *testing.T) {
	roles := AppRoles()
	*roles[0].Value = "Mutated"
	roles[0].AllowedMemberTypes[0] = "User"
	roles[0].DisplayName = "Mutated"
	again := AppRoles()
	if *again[0].Value == "Mutated" || again[0].AllowedMemberTypes[0] != "Application" || again[0].DisplayName == "Mutated" {
		t.Error("AppRoles shares state between calls")
	}

	r, _ := AppRoleByValue("User.Read.All")
	*r.Value = "Mutated"
	r.AllowedMemberTypes[0] = "User"
	if r2, ok := AppRoleByValue("User.Read.All"); !ok || *r2.Value != "User.Read.All" || r2.AllowedMemberTypes[0] != "Application" {
		t.Error("AppRoleByValue shares state between calls")
	}

	scopes := Scopes()
	*scopes[0].UserConsentDisplayName = "Mutated"
	*scopes[0].UserConsentDescription = "Mutated"
	if s := Scopes()[0]; *s.UserConsentDisplayName == "Mutated" || *s.UserConsentDescription == "Mutated" {
		t.Error("Scopes shares state between calls")
	}

	s, _ := ScopeByValue("User.Read")
	*s.UserConsentDisplayName = "Mutated"
	if s2, _ := ScopeByID(s.ID); *s2.UserConsentDisplayName == "Mutated" {
		t.Error("ScopeByValue shares state between calls")
	}
}

func TestParseCatalogRejectsBadData(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":              `{`,
		"upper-case id":         `{"appRoles":[{"id":"DF021288-BDEF-4463-88DB-98F22DE89214","value":"A.B","allowedMemberTypes":["Application"]}]}`,
		"bad member types":      `{"appRoles":[{"id":"df021288-bdef-4463-88db-98f22de89214","value":"A.B","allowedMemberTypes":["User"]}]}`,
		"missing value":         `{"appRoles":[{"id":"df021288-bdef-4463-88db-98f22de89214","allowedMemberTypes":["Application"]}]}`,
		"duplicate role id":     `{"appRoles":[{"id":"df021288-bdef-4463-88db-98f22de89214","value":"A.B","allowedMemberTypes":["Application"]},{"id":"df021288-bdef-4463-88db-98f22de89214","value":"A.C","allowedMemberTypes":["Application"]}]}`,
		"duplicate role value":  `{"appRoles":[{"id":"df021288-bdef-4463-88db-98f22de89214","value":"A.B","allowedMemberTypes":["Application"]},{"id":"741f803b-c850-494e-b5df-cde7c675a1ca","value":"A.B","allowedMemberTypes":["Application"]}]}`,
		"bad scope type":        `{"oauth2PermissionScopes":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","value":"User.Read","type":"Everyone"}]}`,
		"duplicate scope id":    `{"oauth2PermissionScopes":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","value":"A","type":"User"},{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","value":"B","type":"User"}]}`,
		"duplicate scope value": `{"oauth2PermissionScopes":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","value":"A","type":"User"},{"id":"b4e74841-8e56-480b-be8b-910348b18b4c","value":"A","type":"Admin"}]}`,
		"short guid":            `{"oauth2PermissionScopes":[{"id":"e1fe6dd8-ba31-4d61-89e7","value":"A","type":"User"}]}`,
	} {
		if _, err := parseCatalog([]byte(doc)); err == nil {
			t.Errorf("%s: parseCatalog accepted invalid data", name)
		}
	}
}

func TestServicePrincipalIdentity(t *testing.T) {
	if AppID != "00000003-0000-0000-c000-000000000000" || DisplayName != "Microsoft Graph" {
		t.Errorf("AppID/DisplayName = %s/%s", AppID, DisplayName)
	}
}
