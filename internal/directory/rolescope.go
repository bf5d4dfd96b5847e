package directory

import (
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Where a role may be assigned (CONTRACT.md C.4, D.7, D.9). A role
// assignment's directoryScopeId is "/" (the tenant), "/administrativeUnits/{id}"
// (the unit's members) or "/{objectId}" (that one object). Entra refuses
// assignments that could grant nothing at their scope, and so does Ostiary:
// they would look like delegation in every listing while doing nothing.

// auScopedRoles are the built-in roles Entra allows at an administrative
// unit scope (CONTRACT.md D.7).
var auScopedRoles = map[string]bool{
	"Authentication Administrator":            true,
	"Cloud Device Administrator":              true,
	"Groups Administrator":                    true,
	"Helpdesk Administrator":                  true,
	"License Administrator":                   true,
	"Password Administrator":                  true,
	"Printer Administrator":                   true,
	"Privileged Authentication Administrator": true,
	"SharePoint Administrator":                true,
	"Teams Administrator":                     true,
	"Teams Devices Administrator":             true,
	"User Administrator":                      true,
}

const directoryNS = "microsoft.directory/"

// parseDirectoryScope splits "/", "/administrativeUnits/{id}" and
// "/{objectId}" into the scope object's kind (empty for the tenant, "" id)
// and id; an object scope's kind is settled against the store.
func parseDirectoryScope(scope string) (iam.Kind, string, error) {
	bad := badRequest("Invalid value specified for property 'directoryScopeId' of resource 'UnifiedRoleAssignment'.")
	if scope == "/" {
		return "", "", nil
	}
	if rest, ok := strings.CutPrefix(scope, "/administrativeUnits/"); ok {
		id, ok := iam.NormalizeGUID(rest)
		if !ok {
			return "", "", bad
		}
		return iam.KindAdministrativeUnit, id, nil
	}
	id, ok := iam.NormalizeGUID(strings.TrimPrefix(scope, "/"))
	if !ok || !strings.HasPrefix(scope, "/") {
		return "", "", bad
	}
	return "object", id, nil
}

// directoryActions yields the role's microsoft.directory actions without
// the namespace; other namespaces (microsoft.office365.*, microsoft.azure.*)
// grant nothing on directory objects.
func directoryActions(role iam.RoleDefinition) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for _, p := range role.RolePermissions {
			for _, a := range p.AllowedResourceActions {
				if rest, ok := strings.CutPrefix(a, directoryNS); ok && !yield(rest) {
					return
				}
			}
		}
	}
}

// splitAction splits "groups.security/members/update" into its entity
// segment ("groups.security") and verb ("update").
func splitAction(a string) (entity, verb string) {
	entity, _, _ = strings.Cut(a, "/")
	return entity, a[strings.LastIndexByte(a, '/')+1:]
}

func isCreateVerb(verb string) bool { return verb == "create" || verb == "createAsOwner" }

func isReadVerb(verb string) bool { return verb == "read" || strings.HasSuffix(verb, "Read") }

// entityCovers reports whether an action's entity segment applies to an
// object whose entity and subtypes are want ("groups.security.assignedMembership"):
// the same segment or a wider one ("groups", "groups.security").
func entityCovers(grant, want string) bool {
	return grant == want || strings.HasPrefix(want, grant+".")
}

// scopeEntities are the entities of the kinds that can be a directory
// scope, as Entra's actions name them.
var scopeEntities = map[iam.Kind]string{
	iam.KindApplication:      "applications",
	iam.KindServicePrincipal: "servicePrincipals",
	iam.KindGroup:            "groups",
}

// scopeEntity is the entity path by which Entra's actions name the object,
// with its subtypes as the authorizer sees them (targetOf):
// "applications.myOrganization" for a single-tenant app registration,
// "groups.security.assignedMembership" or "groups.unified.dynamicMembership"
// for groups, "servicePrincipals". ok is false for kinds that cannot be a
// directory scope.
func scopeEntity(o store.Object) (path string, roleAssignable, ok bool) {
	entity, ok := scopeEntities[o.Kind]
	if !ok {
		return "", false, false
	}
	t := targetOf(o)
	if t.Subtype != "" {
		entity += "." + t.Subtype
	}
	return entity, t.RoleAssignable, true
}

// checkScope checks that the scope object exists in the tenant and that the
// role may be assigned there.
//
// At an administrative unit: the built-in roles Entra lists (D.7), or a
// custom role with at least one user, group or device permission.
//
// At an object (an app registration, an enterprise application or a group;
// users, units and domains cannot be scopes): the role must hold at least
// one action that can apply to that very object, which is how Entra's
// portal offers only "the roles which have permissions related to managing
// app registrations" on an app's Roles and administrators page. Such an
// action:
//   - names the object's entity with a subtype the object has: an
//     "applications.myOrganization" action counts at a single-tenant app
//     registration only, "groups.unified" at a Microsoft 365 group only,
//     "groups.security" at a security group only;
//   - is not a create ("create", "createAsOwner"): creating needs the
//     tenant scope, so Application Developer, whose only application
//     actions are createAsOwner, has nothing to do at an app's scope;
//   - at a role-assignable group, is a read of the group or any action on
//     groupsAssignableToRoles: the evaluator treats every other write on
//     such a group as a groupsAssignableToRoles write, so Groups
//     Administrator's writes would be inert there.
//
// Reads count: Entra's custom-role docs tell admins to include read
// permissions when they assign an app-scoped role to a guest or a service
// principal, which cannot read apps by default. Inherited permissions
// (Directory Readers) do not: a role qualifies by its own actions.
//
// A custom role that holds any create permission is refused at an object
// scope: Entra's docs require a role with create permissions to be
// assigned at the directory scope. Built-in roles are exempt, because
// Entra's own example scopes Application Administrator (which can create
// apps) to one app registration.
func checkScope(r store.Reader, tenantID string, kind iam.Kind, id string, role iam.RoleDefinition) (*store.Object, error) {
	if kind == "" {
		return nil, nil
	}
	o, err := get(r, tenantID, "", id)
	if errs.Is(err, errs.NotFound) {
		return nil, badRequest("The directory scope object '%s' does not exist.", id)
	} else if err != nil {
		return nil, err
	}
	notHere := badRequest("The role '%s' cannot be assigned at the scope '%s'.", deref(role.DisplayName), id)
	if kind == iam.KindAdministrativeUnit {
		if o.Kind != iam.KindAdministrativeUnit {
			return nil, badRequest("The directory scope object '%s' is not an administrative unit.", id)
		}
		if role.IsBuiltIn && !auScopedRoles[deref(role.DisplayName)] || !role.IsBuiltIn && !actsOnAny(role, "users", "groups", "devices") {
			return nil, notHere
		}
		return &o, nil
	}
	want, roleAssignable, ok := scopeEntity(o)
	if !ok {
		return nil, badRequest("An object of type '%s' cannot be a directory scope; use an application, a service principal or a group.", o.Kind)
	}
	if !actsOnObject(role, want, roleAssignable) {
		return nil, notHere
	}
	if !role.IsBuiltIn {
		for a := range directoryActions(role) {
			if _, verb := splitAction(a); isCreateVerb(verb) {
				return nil, notHere
			}
		}
	}
	return &o, nil
}

// actsOnAny reports whether the role has an action on any subtype of one
// of the entities.
func actsOnAny(role iam.RoleDefinition, entities ...string) bool {
	for a := range directoryActions(role) {
		entity, _ := splitAction(a)
		for _, e := range entities {
			if entityCovers(e, entity) {
				return true
			}
		}
	}
	return false
}

// actsOnObject reports whether the role has an action that can apply to an
// object whose entity path is want (see checkScope).
func actsOnObject(role iam.RoleDefinition, want string, roleAssignable bool) bool {
	for a := range directoryActions(role) {
		entity, verb := splitAction(a)
		switch {
		case isCreateVerb(verb):
		case roleAssignable && entity == "groupsAssignableToRoles":
			return true
		case roleAssignable && !isReadVerb(verb) && verb != "allTasks":
		case entityCovers(entity, want):
			return true
		}
	}
	return false
}
