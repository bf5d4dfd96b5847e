package authz

// Entra actions the directory performs. The names are Entra's
// (shared/reference/entra/data/all_resource_actions_in_builtin_roles.json),
// so the RBAC evaluator can match them against role definitions unchanged.
const (
	UsersRead     = "microsoft.directory/users/standard/read"
	UsersCreate   = "microsoft.directory/users/create"
	UsersUpdate   = "microsoft.directory/users/basic/update"
	UsersPassword = "microsoft.directory/users/password/update"
	UsersManager  = "microsoft.directory/users/manager/update"
	// Properties with actions of their own (a PATCH needs each one it touches).
	UsersEnable        = "microsoft.directory/users/enable"
	UsersDisable       = "microsoft.directory/users/disable"
	UsersUPN           = "microsoft.directory/users/userPrincipalName/update"
	UsersUsageLocation = "microsoft.directory/users/usageLocation/update"
	UsersDelete        = "microsoft.directory/users/delete"
	UsersRestore       = "microsoft.directory/users/restore"
	UsersRevokeTokens  = "microsoft.directory/users/invalidateAllRefreshTokens"
	GroupsRead         = "microsoft.directory/groups/standard/read"
	GroupsMembersRead  = "microsoft.directory/groups/members/read"
	GroupsCreate       = "microsoft.directory/groups/create"
	// Default users create groups as owners; security groups only when the
	// authorization policy's allowedToCreateSecurityGroups says so. The
	// subtype in the action is what lets the policy tell them apart.
	SecurityGroupsCreateAsOwner = "microsoft.directory/groups.security/createAsOwner"
	UnifiedGroupsCreateAsOwner  = "microsoft.directory/groups.unified/createAsOwner"
	GroupsUpdate                = "microsoft.directory/groups/basic/update"
	GroupsMembers               = "microsoft.directory/groups/members/update"
	GroupsOwners                = "microsoft.directory/groups/owners/update"
	GroupsDelete                = "microsoft.directory/groups/delete"
	GroupsRestore               = "microsoft.directory/groups/restore"
	RAGroupsCreate              = "microsoft.directory/groupsAssignableToRoles/create"
	RAGroupsUpdate              = "microsoft.directory/groupsAssignableToRoles/allProperties/update"
	RAGroupsDelete              = "microsoft.directory/groupsAssignableToRoles/delete"
	RAGroupsRestore             = "microsoft.directory/groupsAssignableToRoles/restore"
	AppsRead                    = "microsoft.directory/applications/standard/read"
	AppsCreate                  = "microsoft.directory/applications/create"
	// AppsCreateAsOwner is what default users hold: creating an application
	// of which they become the owner (subject to the authorization
	// policy's allowedToCreateApps).
	AppsCreateAsOwner    = "microsoft.directory/applications/createAsOwner"
	AppsUpdate           = "microsoft.directory/applications/basic/update"
	AppsCredentials      = "microsoft.directory/applications/credentials/update"
	AppsOwners           = "microsoft.directory/applications/owners/update"
	AppsDelete           = "microsoft.directory/applications/delete"
	AppsRestore          = "microsoft.directory/deletedItems.applications/restore"
	SPsRead              = "microsoft.directory/servicePrincipals/standard/read"
	SPsCreate            = "microsoft.directory/servicePrincipals/create"
	SPsUpdate            = "microsoft.directory/servicePrincipals/basic/update"
	SPsDelete            = "microsoft.directory/servicePrincipals/delete"
	SPsOwners            = "microsoft.directory/servicePrincipals/owners/update"
	SPsAppRoleAssign     = "microsoft.directory/servicePrincipals/appRoleAssignedTo/update"
	AUsRead              = "microsoft.directory/administrativeUnits/standard/read"
	AUsMembersRead       = "microsoft.directory/administrativeUnits/members/read"
	AUsWrite             = "microsoft.directory/administrativeUnits/allProperties/allTasks"
	DomainsRead          = "microsoft.directory/domains/standard/read"
	DomainsWrite         = "microsoft.directory/domains/allProperties/allTasks"
	OrganizationRead     = "microsoft.directory/organization/standard/read"
	AuditLogsRead        = "microsoft.directory/auditLogs/allProperties/read"
	SignInsRead          = "microsoft.directory/signInReports/allProperties/read"
	GrantsRead           = "microsoft.directory/oAuth2PermissionGrants/standard/read"
	GrantsCreate         = "microsoft.directory/oAuth2PermissionGrants/create"
	GrantsUpdate         = "microsoft.directory/oAuth2PermissionGrants/basic/update"
	GrantsDelete         = "microsoft.directory/oAuth2PermissionGrants/allProperties/allTasks"
	RoleDefinitionsRead  = "microsoft.directory/roleDefinitions/standard/read"
	RoleDefinitionsWrite = "microsoft.directory/roleDefinitions/allProperties/allTasks"
	RoleAssignmentsRead  = "microsoft.directory/roleAssignments/standard/read"
	RoleAssignmentsWrite = "microsoft.directory/roleAssignments/allProperties/allTasks"
	// Administrative units' scopedRoleMembers: Entra's own action names,
	// held by the same roles as the role assignment actions.
	ScopedRoleMembershipsRead  = "microsoft.directory/scopedRoleMemberships/allProperties/read"
	ScopedRoleMembershipsWrite = "microsoft.directory/scopedRoleMemberships/allProperties/allTasks"

	// A user's authentication methods (CONTRACT.md D.14). All four are
	// sensitive: rbac classifies users/authenticationMethods with the
	// password-reset table. Authentication Administrator and Global
	// Reader hold restrictedRead rather than standard/read (Entra masks
	// phone numbers for them); Ostiary has no maskable method, so a read
	// is allowed with either.
	AuthMethodsRead           = "microsoft.directory/users/authenticationMethods/standard/read"
	AuthMethodsRestrictedRead = "microsoft.directory/users/authenticationMethods/standard/restrictedRead"
	AuthMethodsCreate         = "microsoft.directory/users/authenticationMethods/create"
	AuthMethodsUpdate         = "microsoft.directory/users/authenticationMethods/basic/update"
	AuthMethodsDelete         = "microsoft.directory/users/authenticationMethods/delete"
	// AuthMethodsReportRead reads reports/authenticationMethods
	// (userRegistrationDetails). Entra has no action of its own for it: the
	// roles its docs name (Reports Reader, Security Reader, Security
	// Operator, Security Administrator, Global Reader) share
	// signInReports/allProperties/read, and Graph asks AuditLog.Read.All,
	// the sign-in logs' permission. So it is that action.
	AuthMethodsReportRead = SignInsRead

	AuthorizationPolicyRead   = "microsoft.directory/authorizationPolicy/standard/read"
	AuthorizationPolicyUpdate = "microsoft.directory/authorizationPolicy/allProperties/allTasks"
	// Security defaults: Entra has no action of their own; the policies
	// actions are the Security Administrator's and Global Reader's.
	SecurityDefaultsRead   = "microsoft.directory/policies/standard/read"
	SecurityDefaultsUpdate = "microsoft.directory/policies/basic/update"
)

type grant struct {
	any   []string // any one of these suffices
	owned string   // suffices when the caller owns the target
}

// Ostiary's choice: Directory.ReadWrite.All covers writes to every directory
// object kind (users, groups, applications, service principals,
// administrative units, domains), so one bootstrap application can
// administer a tenant. Entra carves a few narrower exceptions out of it that
// are not reproduced. Granting app roles additionally accepts
// RoleManagement.ReadWrite.Directory: its holder can already make itself a
// Global Administrator, so this adds no privilege.
var (
	dirRead  = []string{"Directory.Read.All", "Directory.ReadWrite.All"}
	dirWrite = []string{"Directory.ReadWrite.All"}
	roleMgmt = "RoleManagement.ReadWrite.Directory"
	roleRead = []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All", roleMgmt}
)

func with(base []string, more ...string) []string {
	out := append([]string{}, more...)
	return append(out, base...)
}

var appPermissions = map[string]grant{
	UsersRead:          {any: with(dirRead, "User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All")},
	UsersCreate:        {any: with(dirWrite, "User.ReadWrite.All")},
	UsersUpdate:        {any: with(dirWrite, "User.ReadWrite.All")},
	UsersPassword:      {any: with(dirWrite, "User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All")},
	UsersManager:       {any: with(dirWrite, "User.ReadWrite.All")},
	UsersEnable:        {any: with(dirWrite, "User.ReadWrite.All", "User.EnableDisableAccount.All")},
	UsersDisable:       {any: with(dirWrite, "User.ReadWrite.All", "User.EnableDisableAccount.All")},
	UsersUPN:           {any: with(dirWrite, "User.ReadWrite.All")},
	UsersUsageLocation: {any: with(dirWrite, "User.ReadWrite.All")},
	UsersDelete:        {any: with(dirWrite, "User.ReadWrite.All")},
	UsersRestore:       {any: with(dirWrite, "User.ReadWrite.All")},
	UsersRevokeTokens:  {any: with(dirWrite, "User.ReadWrite.All", "User.RevokeSessions.All")},

	GroupsRead:        {any: with(dirRead, "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All")},
	GroupsMembersRead: {any: with(dirRead, "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All")},
	GroupsCreate:      {any: with(dirWrite, "Group.Create", "Group.ReadWrite.All")},
	// Creating as owner is the same Graph permission; the directory half
	// differs (see the constants).
	SecurityGroupsCreateAsOwner: {any: with(dirWrite, "Group.Create", "Group.ReadWrite.All")},
	UnifiedGroupsCreateAsOwner:  {any: with(dirWrite, "Group.Create", "Group.ReadWrite.All")},
	GroupsUpdate:                {any: with(dirWrite, "Group.ReadWrite.All")},
	GroupsMembers:               {any: with(dirWrite, "Group.ReadWrite.All", "GroupMember.ReadWrite.All")},
	GroupsOwners:                {any: with(dirWrite, "Group.ReadWrite.All")},
	GroupsDelete:                {any: with(dirWrite, "Group.ReadWrite.All")},
	GroupsRestore:               {any: with(dirWrite, "Group.ReadWrite.All")},
	// Role-assignable groups: Entra requires RoleManagement.ReadWrite.Directory
	// for any change to them (CONTRACT.md D.2 rules 5 and 6).
	RAGroupsCreate:  {any: []string{roleMgmt}},
	RAGroupsUpdate:  {any: []string{roleMgmt}},
	RAGroupsDelete:  {any: []string{roleMgmt}},
	RAGroupsRestore: {any: []string{roleMgmt}},

	AppsRead:          {any: with(dirRead, "Application.Read.All", "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	AppsCreate:        {any: with(dirWrite, "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy")},
	AppsCreateAsOwner: {any: with(dirWrite, "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy")},
	AppsUpdate:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	AppsCredentials:   {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	AppsOwners:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	AppsDelete:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	AppsRestore:       {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},

	SPsRead:          {any: with(dirRead, "Application.Read.All", "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	SPsCreate:        {any: with(dirWrite, "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy")},
	SPsUpdate:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	SPsDelete:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	SPsOwners:        {any: with(dirWrite, "Application.ReadWrite.All"), owned: "Application.ReadWrite.OwnedBy"},
	SPsAppRoleAssign: {any: []string{"AppRoleAssignment.ReadWrite.All", roleMgmt}},

	AUsRead:        {any: with(dirRead, "AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All")},
	AUsMembersRead: {any: with(dirRead, "AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All")},
	AUsWrite:       {any: with(dirWrite, "AdministrativeUnit.ReadWrite.All")},

	DomainsRead:  {any: with(dirRead, "Domain.Read.All", "Domain.ReadWrite.All")},
	DomainsWrite: {any: with(dirWrite, "Domain.ReadWrite.All")},

	OrganizationRead: {any: with(dirRead, "Organization.Read.All", "Organization.ReadWrite.All", "User.Read.All")},
	AuditLogsRead:    {any: []string{"AuditLog.Read.All"}},
	SignInsRead:      {any: []string{"AuditLog.Read.All"}},

	// Delegated permission grants (consent). Directory.ReadWrite.All does
	// not cover writing them, as in Entra: granting consent hands out
	// user data, so it takes its own permission.
	GrantsRead:   {any: with(dirRead, "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All")},
	GrantsCreate: {any: []string{"DelegatedPermissionGrant.ReadWrite.All"}},
	GrantsUpdate: {any: []string{"DelegatedPermissionGrant.ReadWrite.All"}},
	GrantsDelete: {any: []string{"DelegatedPermissionGrant.ReadWrite.All"}},

	// The authorization policy (what default users may do, user consent
	// among it), as Graph's policy permissions decide: reading needs
	// Policy.Read.All, writing Policy.ReadWrite.Authorization. Directory.*
	// does not cover policies.
	AuthorizationPolicyRead:   {any: []string{"Policy.Read.All", "Policy.ReadWrite.Authorization"}},
	AuthorizationPolicyUpdate: {any: []string{"Policy.ReadWrite.Authorization"}},
	SecurityDefaultsRead:      {any: []string{"Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"}},
	SecurityDefaultsUpdate:    {any: []string{"Policy.ReadWrite.SecurityDefaults"}},
	// Role management (CONTRACT.md D.9): reads take any of Graph's role
	// management read permissions or Directory.Read.All; writes only
	// RoleManagement.ReadWrite.Directory (Directory.ReadWrite.All does not
	// hand out roles).
	RoleDefinitionsRead:  {any: roleRead},
	RoleDefinitionsWrite: {any: []string{roleMgmt}},
	RoleAssignmentsRead:  {any: roleRead},
	RoleAssignmentsWrite: {any: []string{roleMgmt}},
	// CONTRACT.md: scopedRoleMembers take RoleManagement.Read.Directory /
	// RoleManagement.ReadWrite.Directory (and Directory.Read.All for reads).
	ScopedRoleMembershipsRead:  {any: roleRead},
	ScopedRoleMembershipsWrite: {any: []string{roleMgmt}},
	// Permanent deletion is checked again per kind by the directory service.

	// Authentication methods: Graph's UserAuthenticationMethod.* only;
	// Directory.* does not reach them (they are credentials). The self
	// scopes (UserAuthenticationMethod.Read, .ReadWrite) are in selfScopes.
	AuthMethodsRead:           {any: []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}},
	AuthMethodsRestrictedRead: {any: []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}},
	AuthMethodsCreate:         {any: []string{"UserAuthenticationMethod.ReadWrite.All"}},
	AuthMethodsUpdate:         {any: []string{"UserAuthenticationMethod.ReadWrite.All"}},
	AuthMethodsDelete:         {any: []string{"UserAuthenticationMethod.ReadWrite.All"}},
}
