// Package rbac is Ostiary's pure evaluator for Entra role-based access
// control: "may principal P perform action A on target T, now?".
//
// It knows role definitions (the built-in ones embedded from Entra's data,
// plus custom roles), role assignments with their directory scope and an
// optional schedule, direct memberships of role-assignable groups, and
// administrative-unit memberships. It does no I/O and reads no clock: the
// caller passes a Snapshot and the time, and gets back a Decision whose
// Reasons say which assignment, role, group and scope granted the access, or
// why each candidate did not apply (architecture rules 6 and 8).
//
// The roles service keeps one Snapshot per tenant current by applying the
// store's change feed through Snapshot.Apply; nothing here talks to the
// store.
package rbac

import (
	_ "embed"
	"encoding/json"
	"slices"
	"sync"

	"github.com/ostiary/ostiary/internal/iam"
)

// Condition restricts a role permission to a relation between the principal
// and the target; Entra only uses it on its default user roles.
type Condition string

const (
	// Unconditional permissions apply to every target in the assignment's scope.
	Unconditional Condition = ""
	// ResourceIsSelf: the target is the principal itself.
	ResourceIsSelf Condition = "$ResourceIsSelf"
	// SubjectIsOwner: the principal owns the target.
	SubjectIsOwner Condition = "$SubjectIsOwner"
)

// RolePermission is Graph's unifiedRolePermission.
type RolePermission struct {
	AllowedResourceActions []string  `json:"allowedResourceActions"`
	Condition              Condition `json:"condition,omitempty"`
}

// RoleDefinition is Graph's unifiedRoleDefinition, reduced to what
// authorization and the roleDefinitions endpoints need.
type RoleDefinition struct {
	ID                      string           `json:"id"`
	TemplateID              string           `json:"templateId"`
	DisplayName             string           `json:"displayName"`
	Description             string           `json:"description"`
	IsBuiltIn               bool             `json:"isBuiltIn"`
	IsEnabled               bool             `json:"isEnabled"`
	IsPrivileged            bool             `json:"isPrivileged"`
	AssignmentMode          string           `json:"assignmentMode,omitempty"` // "allowed" or "systemAssigned"
	Version                 string           `json:"version,omitempty"`
	ResourceScopes          []string         `json:"resourceScopes,omitempty"`
	InheritsPermissionsFrom []string         `json:"inheritsPermissionsFrom,omitempty"`
	RolePermissions         []RolePermission `json:"rolePermissions"`
}

// Template ids of the built-in roles this package names in its rules.
const (
	GlobalAdministrator                   = "62e90394-69f5-4237-9190-012177145e10"
	PrivilegedRoleAdministrator           = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	PrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	UserAdministrator                     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	HelpdeskAdministrator                 = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	DirectoryReaders                      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	// DefaultUser, GuestUser and RestrictedGuestUser are the system-assigned
	// roles every member or guest holds implicitly (never by assignment).
	DefaultUser         = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
	GuestUser           = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
	RestrictedGuestUser = "2af84b1e-32c8-42b7-82bc-daa82404023b"
)

//go:embed data/builtin_roles.json
var builtinRolesJSON []byte

const dir = "microsoft.directory/"

// defaultUserConditioned holds the self- and owner-conditioned permissions of
// the default user roles. Graph returns them as extra rolePermissions entries
// on the User role, but the data file was exported without them (its x_note).
// They are defined here from Entra's documented default user permissions
// (entra-docs users-default-permissions.md): a member reads all of its own
// profile and updates its own basic properties, photo and security info
// ($ResourceIsSelf), and manages the applications, service principals and
// groups it owns ($SubjectIsOwner). Which user properties count as "basic"
// for a self-update is the directory service's business, not this package's.
// Owner rights on role-assignable groups do not follow from these: writes on
// such groups are matched against groupsAssignableToRoles (see effectivePath).
var defaultUserConditioned = []RolePermission{
	{Condition: ResourceIsSelf, AllowedResourceActions: prefixed(
		"users/allProperties/read",
		"users/basic/update",
		"users/photo/update",
		"users/authenticationMethods/standard/read",
		"users/authenticationMethods/create",
		"users/authenticationMethods/basic/update",
		"users/authenticationMethods/delete",
	)},
	{Condition: SubjectIsOwner, AllowedResourceActions: prefixed(
		"applications/allProperties/read",
		"applications/basic/update",
		"applications/audience/update",
		"applications/authentication/update",
		"applications/credentials/update",
		"applications/permissions/update",
		"applications/appRoles/update",
		"applications/notes/update",
		"applications/tag/update",
		"applications/owners/update",
		"applications/policies/update",
		"applications/delete",
		"deletedItems.applications/restore",
		"servicePrincipals/allProperties/read",
		"servicePrincipals/basic/update",
		"servicePrincipals/audience/update",
		"servicePrincipals/authentication/update",
		"servicePrincipals/credentials/update",
		"servicePrincipals/permissions/update",
		"servicePrincipals/appRoleAssignedTo/update",
		"servicePrincipals/notes/update",
		"servicePrincipals/tag/update",
		"servicePrincipals/owners/update",
		"servicePrincipals/policies/update",
		"servicePrincipals/enable",
		"servicePrincipals/disable",
		"servicePrincipals/delete",
		"groups/allProperties/read",
		"groups/basic/update",
		"groups/classification/update",
		"groups/dynamicMembershipRule/update",
		"groups/groupType/update",
		"groups/visibility/update",
		"groups/settings/update",
		"groups/members/update",
		"groups/owners/update",
		"groups/delete",
		"deletedItems.groups/restore",
	)},
}

// guestConditioned: guests read and update their own profile (same source).
var guestConditioned = []RolePermission{
	{Condition: ResourceIsSelf, AllowedResourceActions: prefixed(
		"users/allProperties/read",
		"users/basic/update",
	)},
}

func prefixed(actions ...string) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = dir + a
	}
	return out
}

var builtinRoles = sync.OnceValue(func() []RoleDefinition {
	var doc struct {
		Value []RoleDefinition `json:"value"`
	}
	if err := json.Unmarshal(builtinRolesJSON, &doc); err != nil {
		panic("rbac: embedded builtin_roles.json: " + err.Error())
	}
	for i := range doc.Value {
		r := &doc.Value[i]
		switch r.ID {
		case DefaultUser:
			r.RolePermissions = append(r.RolePermissions, defaultUserConditioned...)
		case GuestUser, RestrictedGuestUser:
			r.RolePermissions = append(r.RolePermissions, guestConditioned...)
		}
	}
	return doc.Value
})

// BuiltinRoles returns Entra's built-in role definitions (template id = id).
// The result is a fresh deep copy: built-in roles cannot be changed.
func BuiltinRoles() []RoleDefinition {
	src := builtinRoles()
	out := make([]RoleDefinition, len(src))
	for i, r := range src {
		out[i] = r.clone()
	}
	return out
}

// BuiltinRole returns the built-in role with the given id.
func BuiltinRole(id string) (RoleDefinition, bool) {
	for _, r := range builtinRoles() {
		if r.ID == id {
			return r.clone(), true
		}
	}
	return RoleDefinition{}, false
}

func (r RoleDefinition) clone() RoleDefinition {
	c := r
	c.ResourceScopes = slices.Clone(r.ResourceScopes)
	c.InheritsPermissionsFrom = slices.Clone(r.InheritsPermissionsFrom)
	c.RolePermissions = make([]RolePermission, len(r.RolePermissions))
	for i, p := range r.RolePermissions {
		c.RolePermissions[i] = RolePermission{AllowedResourceActions: slices.Clone(p.AllowedResourceActions), Condition: p.Condition}
	}
	return c
}

// systemAssigned reports whether holding the role is implicit (User, Guest
// User, Restricted Guest User): such roles never make a target an "admin".
func (r *RoleDefinition) systemAssigned() bool { return r.AssignmentMode == "systemAssigned" }

// FromGraph converts a stored custom role (Graph's unifiedRoleDefinition)
// to the evaluator's type.
func FromGraph(d iam.RoleDefinition) RoleDefinition {
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	r := RoleDefinition{ID: d.ID, TemplateID: d.TemplateID, DisplayName: deref(d.DisplayName), Description: deref(d.Description),
		IsBuiltIn: d.IsBuiltIn, IsEnabled: d.IsEnabled != nil && *d.IsEnabled, Version: deref(d.Version), ResourceScopes: d.ResourceScopes}
	for _, p := range d.RolePermissions {
		r.RolePermissions = append(r.RolePermissions, RolePermission{AllowedResourceActions: p.AllowedResourceActions, Condition: Condition(deref(p.Condition))})
	}
	return r
}

// IsPrivileged reports whether a role id is a built-in role Entra marks
// privileged (isPrivileged): the roles whose holders security defaults make
// do MFA at every sign-in.
func IsPrivileged(id string) bool {
	b := builtins()
	i, ok := b.idx[id]
	return ok && b.roles[i].def.IsPrivileged
}
