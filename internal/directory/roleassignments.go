package directory

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

const roleAssignmentType = "microsoft.graph.unifiedRoleAssignment"

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

// roleAssignmentKey keeps one assignment per (principal, role, scope).
func roleAssignmentKey(ra iam.RoleAssignment) string {
	return strings.ToLower(ra.PrincipalID + "|" + ra.RoleDefinitionID + "|" + ra.DirectoryScopeID)
}

// withResourceScope fills in the legacy resourceScope, which mirrors
// directoryScopeId (assignments written before it existed lack it).
func withResourceScope(ra iam.RoleAssignment) iam.RoleAssignment {
	ra.ResourceScope = ra.DirectoryScopeID
	return ra
}

// CreateRoleAssignment grants a role to a user, service principal or
// role-assignable group at a directory scope.
func (s *Service) CreateRoleAssignment(ctx context.Context, c *iam.Caller, body Patch) (iam.RoleAssignment, error) {
	if err := s.authorize(ctx, c, authz.RoleAssignmentsWrite, iam.KindRoleAssignment, ""); err != nil {
		return iam.RoleAssignment{}, err
	}
	var ra iam.RoleAssignment
	binds, err := applyPatch(&ra, body, roleAssignmentType, "id", "resourceScope")
	if err != nil {
		return ra, err
	}
	if len(binds) > 0 {
		return ra, badRequest("Binding references is not supported when creating a role assignment.")
	}
	var ok bool
	if ra.PrincipalID, ok = iam.NormalizeGUID(ra.PrincipalID); !ok {
		return ra, missing("principalId", "UnifiedRoleAssignment")
	}
	if ra.RoleDefinitionID, ok = iam.NormalizeGUID(ra.RoleDefinitionID); !ok {
		return ra, missing("roleDefinitionId", "UnifiedRoleAssignment")
	}
	if ra.AppScopeID != nil && *ra.AppScopeID != "" {
		// Ostiary's choice: app scopes belong to other providers (Exchange,
		// Intune); the directory provider has none.
		return ra, badRequest("Invalid value specified for property 'appScopeId' of resource 'UnifiedRoleAssignment'.")
	}
	ra.AppScopeID = nil
	if ra.DirectoryScopeID == "" {
		ra.DirectoryScopeID = "/"
	}
	scopeKind, scopeID, err := parseDirectoryScope(ra.DirectoryScopeID)
	if err != nil {
		return ra, err
	}
	switch scopeKind {
	case iam.KindAdministrativeUnit:
		ra.DirectoryScopeID = "/administrativeUnits/" + scopeID
	case "":
	default:
		ra.DirectoryScopeID = "/" + scopeID
	}
	ra.ID = iam.NewID()
	now := s.clock()
	err = s.store.Write(ctx, func(w store.Writer) error {
		p, err := get(w, c.TenantID, "", ra.PrincipalID)
		if errs.Is(err, errs.NotFound) {
			return badRequest("The principal '%s' does not exist in the directory.", ra.PrincipalID)
		} else if err != nil {
			return err
		}
		switch p.Kind {
		case iam.KindUser, iam.KindServicePrincipal:
		case iam.KindGroup:
			g, err := decode[iam.Group](p)
			if err != nil {
				return err
			}
			if !g.IsRoleAssignable() {
				return badRequest("The group '%s' is not role-assignable: only groups created with isAssignableToRole can hold directory roles.", p.ID)
			}
		default:
			return badRequest("A principal of type '%s' cannot be assigned a directory role.", p.Kind)
		}
		role, err := findRole(w, c.TenantID, ra.RoleDefinitionID)
		if errs.Is(err, errs.NotFound) {
			return badRequest("The role definition '%s' does not exist.", ra.RoleDefinitionID)
		} else if err != nil {
			return err
		}
		if role.IsEnabled == nil || !*role.IsEnabled {
			return badRequest("The role definition '%s' is disabled and cannot be assigned.", role.ID)
		}
		if b, ok := rbac.BuiltinRole(role.ID); ok && b.AssignmentMode == "systemAssigned" {
			return badRequest("The role '%s' is held implicitly by every user and cannot be assigned.", deref(role.DisplayName))
		}
		scope, err := checkScope(w, c.TenantID, scopeKind, scopeID, role)
		if err != nil {
			return err
		}
		dup, err := w.List(c.TenantID, iam.KindRoleAssignment, store.Live, query.List{Top: 1, Filter: query.And{
			guidEq("principalId", ra.PrincipalID), guidEq("roleDefinitionId", ra.RoleDefinitionID),
			query.Cmp{Field: query.Field{Path: "directoryScopeId", Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: ra.DirectoryScopeID}},
		}})
		if err != nil {
			return err
		}
		conflict := errs.E(errs.Conflict, "A conflicting object with one or more of the specified property values is present in the directory.").
			WithCode("Request_MultipleObjectsWithSameKeyValue")
		if len(dup.Items) > 0 {
			return conflict
		}
		data, err := encode(ra)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindRoleAssignment, ID: ra.ID, Key: roleAssignmentKey(ra), CreatedAt: now, Data: data})
		if errs.Is(err, errs.Conflict) {
			return conflict
		} else if err != nil {
			return err
		}
		return record(w, c, now, roleAssignmentAudit("Add member to role", "Assign", p, role, ra, scope))
	})
	return withResourceScope(ra), err
}

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

// checkScope checks that the scope object exists in the tenant and that the
// role may be assigned there: at an administrative unit, the roles Entra
// lists (D.7) or a custom role with a user, group or device permission; at
// an application, service principal or group, a role with a permission on
// that kind of object and, for custom roles, no create permission (creating
// objects only makes sense tenant-wide).
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
	actions := func(yield func(string) bool) {
		for _, p := range role.RolePermissions {
			for _, a := range p.AllowedResourceActions {
				if !yield(strings.TrimPrefix(a, "microsoft.directory/")) {
					return
				}
			}
		}
	}
	on := func(entities ...string) bool {
		for a := range actions {
			for _, e := range entities {
				if strings.HasPrefix(a, e+"/") || strings.HasPrefix(a, e+".") {
					return true
				}
			}
		}
		return false
	}
	notHere := badRequest("The role '%s' cannot be assigned at the scope '%s'.", deref(role.DisplayName), id)
	if kind == iam.KindAdministrativeUnit {
		if o.Kind != iam.KindAdministrativeUnit {
			return nil, badRequest("The directory scope object '%s' is not an administrative unit.", id)
		}
		if role.IsBuiltIn && !auScopedRoles[deref(role.DisplayName)] || !role.IsBuiltIn && !on("users", "groups", "devices") {
			return nil, notHere
		}
		return &o, nil
	}
	var entity string
	switch o.Kind {
	case iam.KindApplication:
		entity = "applications"
	case iam.KindServicePrincipal:
		entity = "servicePrincipals"
	case iam.KindGroup:
		entity = "groups"
	default:
		return nil, badRequest("An object of type '%s' cannot be a directory scope; use an application, a service principal or a group.", o.Kind)
	}
	if !on(entity) {
		return nil, notHere
	}
	if !role.IsBuiltIn {
		for a := range actions {
			if strings.HasSuffix(a, "/create") || strings.HasSuffix(a, "/createAsOwner") {
				return nil, notHere
			}
		}
	}
	return &o, nil
}

func roleAssignmentAudit(activity, op string, principal store.Object, role iam.RoleDefinition, ra iam.RoleAssignment, scope *store.Object) audit.Entry {
	targets := []iam.TargetResource{target(principal), roleTarget(role)}
	if scope != nil {
		targets = append(targets, target(*scope))
	}
	return audit.Entry{Category: audit.RoleManagement, Activity: activity, OperationType: op, Targets: targets,
		Details: []iam.KeyValue{{Key: "RoleAssignmentId", Value: ra.ID}, {Key: "RoleDefinitionId", Value: ra.RoleDefinitionID},
			{Key: "DirectoryScopeId", Value: ra.DirectoryScopeID}}}
}

// GetRoleAssignment returns a role assignment.
func (s *Service) GetRoleAssignment(ctx context.Context, c *iam.Caller, id string) (iam.RoleAssignment, error) {
	ra, err := readOne[iam.RoleAssignment](s, ctx, c, authz.RoleAssignmentsRead, iam.KindRoleAssignment, id, func(r store.Reader) (store.Object, error) {
		return get(r, c.TenantID, iam.KindRoleAssignment, id)
	})
	return withResourceScope(ra), err
}

// ListRoleAssignments lists role assignments ($filter on principalId,
// roleDefinitionId and directoryScopeId is applied by the store).
func (s *Service) ListRoleAssignments(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.RoleAssignment], error) {
	p, err := readPage[iam.RoleAssignment](s, ctx, c, authz.RoleAssignmentsRead, iam.KindRoleAssignment, q)
	for i := range p.Items {
		p.Items[i] = withResourceScope(p.Items[i])
	}
	return p, err
}

// DeleteRoleAssignment removes a role assignment; the next request of its
// principal no longer holds the role.
func (s *Service) DeleteRoleAssignment(ctx context.Context, c *iam.Caller, id string) error {
	if err := s.authorize(ctx, c, authz.RoleAssignmentsWrite, iam.KindRoleAssignment, id); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindRoleAssignment, id)
		if err != nil {
			return err
		}
		ra, err := decode[iam.RoleAssignment](o)
		if err != nil {
			return err
		}
		if err := w.Delete(c.TenantID, iam.KindRoleAssignment, o.ID); err != nil {
			return err
		}
		principal, err := w.Get(c.TenantID, "", strings.ToLower(ra.PrincipalID))
		if errs.Is(err, errs.NotFound) {
			principal = store.Object{TenantID: c.TenantID, ID: ra.PrincipalID}
		} else if err != nil {
			return err
		}
		role, err := findRole(w, c.TenantID, ra.RoleDefinitionID)
		if errs.Is(err, errs.NotFound) {
			role = iam.RoleDefinition{ID: ra.RoleDefinitionID}
		} else if err != nil {
			return err
		}
		var scope *store.Object
		if k, sid, err := parseDirectoryScope(ra.DirectoryScopeID); err == nil && k != "" {
			if so, err := w.Get(c.TenantID, "", sid); err == nil {
				scope = &so
			}
		}
		return record(w, c, now, roleAssignmentAudit("Remove member from role", "Unassign", principal, role, ra, scope))
	})
}
