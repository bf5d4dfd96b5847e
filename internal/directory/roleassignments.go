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
	if ra.DirectoryScopeID == "" {
		ra.DirectoryScopeID = "/"
	}
	ra, err = s.assignRole(ctx, c, ra.PrincipalID, ra.RoleDefinitionID, ra.DirectoryScopeID)
	return withResourceScope(ra), err
}

// assignRole checks and writes one role assignment, with its audit record.
// It is the one way a role is granted: roleAssignments and an
// administrative unit's scopedRoleMembers both come here, so both views
// apply the same rules to the same stored assignments. principalID and
// roleID are normalised GUIDs; the caller is authorized.
func (s *Service) assignRole(ctx context.Context, c *iam.Caller, principalID, roleID, scope string) (iam.RoleAssignment, error) {
	ra := iam.RoleAssignment{ID: iam.NewID(), PrincipalID: principalID, RoleDefinitionID: roleID}
	scopeKind, scopeID, err := parseDirectoryScope(scope)
	if err != nil {
		return ra, err
	}
	switch scopeKind {
	case iam.KindAdministrativeUnit:
		ra.DirectoryScopeID = "/administrativeUnits/" + scopeID
	case "":
		ra.DirectoryScopeID = "/"
	default:
		ra.DirectoryScopeID = "/" + scopeID
	}
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
			guidEq("principalId", ra.PrincipalID), guidEq("roleDefinitionId", ra.RoleDefinitionID), scopeEq(ra.DirectoryScopeID),
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
	return ra, err
}

// scopeEq filters role assignments by their exact directoryScopeId.
func scopeEq(scope string) query.Expr {
	return query.Cmp{Field: query.Field{Path: "directoryScopeId", Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: scope}}
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
	return s.unassignRole(ctx, c, id, "")
}

// unassignRole deletes the role assignment id with its audit record, the
// one way a role is taken away (see assignRole). When scope is not empty
// the assignment must have that directoryScopeId, or it is not found: an
// administrative unit's scopedRoleMembers only reach the unit's own. The
// caller is authorized.
func (s *Service) unassignRole(ctx context.Context, c *iam.Caller, id, scope string) error {
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
		if scope != "" && ra.DirectoryScopeID != scope {
			return notFound(id)
		}
		if err := keepsGlobalAdmin(w, c.TenantID, ra, ""); err != nil {
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
		var scopeObj *store.Object
		if k, sid, err := parseDirectoryScope(ra.DirectoryScopeID); err == nil && k != "" {
			if so, err := w.Get(c.TenantID, "", sid); err == nil {
				scopeObj = &so
			}
		}
		return record(w, c, now, roleAssignmentAudit("Remove member from role", "Unassign", principal, role, ra, scopeObj))
	})
}
