package directory

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// An administrative unit's scopedRoleMembers (CONTRACT.md D.7) are a view
// of the role assignments whose directoryScopeId is the unit's:
// "/administrativeUnits/{id}". Entra says the two APIs are equivalent; here
// they share storage, so they cannot disagree, and the RBAC evaluator sees
// one set of assignments. A membership's id is its role assignment's id,
// and writes go through assignRole and unassignRole, with their checks and
// audit records.
//
// Authorization: Entra names these operations
// scopedRoleMemberships/allProperties/allTasks (and …/read), held by
// exactly the roles that hold roleAssignments/allProperties/allTasks
// (Global Administrator, Privileged Role Administrator, Partner Tier2
// Support), and Graph asks the same permissions as for roleAssignments
// (RoleManagement.Read.Directory, RoleManagement.ReadWrite.Directory).
// Since every operation here reads or writes a role assignment, it asks the
// role assignment actions, so no caller can do through one view what the
// other would refuse.

const scopedRoleMembershipType = "microsoft.graph.scopedRoleMembership"

// unitScope is the directoryScopeId of an administrative unit.
func unitScope(auID string) string { return "/administrativeUnits/" + auID }

// liveUnit returns the normalised id of a live administrative unit.
func liveUnit(r store.Reader, tenantID, auID string) (string, error) {
	id, ok := iam.NormalizeGUID(auID)
	if !ok {
		return "", notFound(auID)
	}
	if _, err := get(r, tenantID, iam.KindAdministrativeUnit, id); err != nil {
		return "", err
	}
	return id, nil
}

// CreateScopedRoleMember grants a role over the members of an
// administrative unit: POST …/scopedRoleMembers with
// {"roleId":"…","roleMemberInfo":{"id":"<principal>"}}. It is the role
// assignment POST roleAssignments would make with directoryScopeId
// "/administrativeUnits/{auID}", with the same checks (principal kinds,
// roles Entra allows at a unit, duplicates 409).
//
// roleId: Entra expects the id of the activated directoryRole (the legacy
// directoryRoles object, whose id is not the template id). Ostiary has no
// directoryRoles, so roleId is the role definition's id: a built-in role's
// template id or a custom role's id, as roleDefinitionId is.
func (s *Service) CreateScopedRoleMember(ctx context.Context, c *iam.Caller, auID string, body Patch) (iam.ScopedRoleMembership, error) {
	if err := s.authorize(ctx, c, authz.ScopedRoleMembershipsWrite, iam.KindRoleAssignment, ""); err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	err := s.store.Read(ctx, func(r store.Reader) (err error) {
		auID, err = liveUnit(r, c.TenantID, auID)
		return err
	})
	if err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	// administrativeUnitId may repeat the unit of the path, nothing else.
	in := iam.ScopedRoleMembership{AdministrativeUnitID: auID}
	binds, err := applyPatch(&in, body, scopedRoleMembershipType, "id", "administrativeUnitId")
	if err != nil {
		return in, err
	}
	if len(binds) > 0 {
		return in, badRequest("Binding references is not supported when creating a scoped role membership.")
	}
	roleID, ok := iam.NormalizeGUID(in.RoleID)
	if !ok {
		return in, missing("roleId", "ScopedRoleMembership")
	}
	principalID, ok := iam.NormalizeGUID(in.RoleMemberInfo.ID)
	if !ok {
		return in, missing("roleMemberInfo", "ScopedRoleMembership")
	}
	ra, err := s.assignRole(ctx, c, principalID, roleID, unitScope(auID))
	if err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	var out []iam.ScopedRoleMembership
	err = s.store.Read(ctx, func(r store.Reader) (err error) {
		out, err = s.scopedMemberships(ctx, c, r, []iam.RoleAssignment{ra})
		return err
	})
	if err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	return out[0], nil
}

// ListScopedRoleMembers pages through the role assignments at an
// administrative unit's scope, as scopedRoleMemberships.
func (s *Service) ListScopedRoleMembers(ctx context.Context, c *iam.Caller, auID string, q query.List) (Page[iam.ScopedRoleMembership], error) {
	if err := s.authorize(ctx, c, authz.ScopedRoleMembershipsRead, iam.KindRoleAssignment, ""); err != nil {
		return Page[iam.ScopedRoleMembership]{}, err
	}
	var out Page[iam.ScopedRoleMembership]
	err := s.store.Read(ctx, func(r store.Reader) error {
		id, err := liveUnit(r, c.TenantID, auID)
		if err != nil {
			return err
		}
		q.Filter = andFilter(scopeEq(unitScope(id)), q.Filter)
		out, err = s.scopedPage(ctx, c, r, q)
		return err
	})
	return out, err
}

// ListScopedRoleMemberOf pages through the administrative-unit-scoped
// roles a user holds directly (GET /users/{id}/scopedRoleMemberOf).
func (s *Service) ListScopedRoleMemberOf(ctx context.Context, c *iam.Caller, userKey string, q query.List) (Page[iam.ScopedRoleMembership], error) {
	if err := s.authorize(ctx, c, authz.ScopedRoleMembershipsRead, iam.KindRoleAssignment, ""); err != nil {
		return Page[iam.ScopedRoleMembership]{}, err
	}
	var out Page[iam.ScopedRoleMembership]
	err := s.store.Read(ctx, func(r store.Reader) error {
		u, err := s.userObject(r, c.TenantID, userKey)
		if err != nil {
			return err
		}
		q.Filter = andFilter(query.And{guidEq("principalId", u.ID),
			query.StartsWith{Field: query.Field{Path: "directoryScopeId", Type: query.String}, Prefix: "/administrativeUnits/"}}, q.Filter)
		out, err = s.scopedPage(ctx, c, r, q)
		return err
	})
	return out, err
}

// GetScopedRoleMember returns one of an administrative unit's scoped role
// memberships; an assignment at another scope is not found here.
func (s *Service) GetScopedRoleMember(ctx context.Context, c *iam.Caller, auID, id string) (iam.ScopedRoleMembership, error) {
	if err := s.authorize(ctx, c, authz.ScopedRoleMembershipsRead, iam.KindRoleAssignment, id); err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	var out []iam.ScopedRoleMembership
	err := s.store.Read(ctx, func(r store.Reader) error {
		unit, err := liveUnit(r, c.TenantID, auID)
		if err != nil {
			return err
		}
		o, err := get(r, c.TenantID, iam.KindRoleAssignment, id)
		if err != nil {
			return err
		}
		ra, err := decode[iam.RoleAssignment](o)
		if err != nil {
			return err
		}
		if ra.DirectoryScopeID != unitScope(unit) {
			return notFound(id)
		}
		out, err = s.scopedMemberships(ctx, c, r, []iam.RoleAssignment{ra})
		return err
	})
	if err != nil {
		return iam.ScopedRoleMembership{}, err
	}
	return out[0], nil
}

// DeleteScopedRoleMember removes one of an administrative unit's scoped
// role memberships (its role assignment).
func (s *Service) DeleteScopedRoleMember(ctx context.Context, c *iam.Caller, auID, id string) error {
	if err := s.authorize(ctx, c, authz.ScopedRoleMembershipsWrite, iam.KindRoleAssignment, id); err != nil {
		return err
	}
	err := s.store.Read(ctx, func(r store.Reader) (err error) {
		auID, err = liveUnit(r, c.TenantID, auID)
		return err
	})
	if err != nil {
		return err
	}
	return s.unassignRole(ctx, c, id, unitScope(auID))
}

// scopedPage lists role assignments by q as scopedRoleMemberships.
func (s *Service) scopedPage(ctx context.Context, c *iam.Caller, r store.Reader, q query.List) (Page[iam.ScopedRoleMembership], error) {
	p, err := r.List(c.TenantID, iam.KindRoleAssignment, store.Live, q)
	if err != nil {
		return Page[iam.ScopedRoleMembership]{}, err
	}
	ras, err := decodePage[iam.RoleAssignment](p)
	if err != nil {
		return Page[iam.ScopedRoleMembership]{}, err
	}
	items, err := s.scopedMemberships(ctx, c, r, ras.Items)
	return Page[iam.ScopedRoleMembership]{Items: items, Next: p.Next, Count: p.Count}, err
}

// scopedMemberships renders unit-scoped role assignments. roleMemberInfo
// names the principal as far as the caller may read its kind: a caller who
// may read role assignments but not, say, users gets the member's id only,
// as relationship lists show such objects (limitUnreadable).
func (s *Service) scopedMemberships(ctx context.Context, c *iam.Caller, r store.Reader, ras []iam.RoleAssignment) ([]iam.ScopedRoleMembership, error) {
	members, err := s.principals(ctx, c, r, ras)
	if err != nil {
		return nil, err
	}
	out := make([]iam.ScopedRoleMembership, 0, len(ras))
	for _, ra := range ras {
		info := iam.Identity{ID: ra.PrincipalID}
		if m, ok := members[strings.ToLower(ra.PrincipalID)]; ok {
			var doc struct {
				DisplayName       *string `json:"displayName"`
				UserPrincipalName *string `json:"userPrincipalName"`
			}
			if err := json.Unmarshal(m.Data, &doc); err != nil {
				return nil, errInternal(err, "decode principal")
			}
			info.DisplayName = doc.DisplayName
			if m.Kind == iam.KindUser {
				info.UserPrincipalName = doc.UserPrincipalName
			}
		}
		out = append(out, iam.ScopedRoleMembership{ID: ra.ID, RoleID: ra.RoleDefinitionID,
			AdministrativeUnitID: strings.TrimPrefix(ra.DirectoryScopeID, "/administrativeUnits/"), RoleMemberInfo: info})
	}
	return out, nil
}

// principals loads the live principals of role assignments by id, each
// reduced to its id when the caller may not read its kind.
func (s *Service) principals(ctx context.Context, c *iam.Caller, r store.Reader, ras []iam.RoleAssignment) (map[string]Object, error) {
	ids := make([]string, 0, len(ras))
	for _, ra := range ras {
		ids = append(ids, strings.ToLower(ra.PrincipalID))
	}
	return s.readableObjects(ctx, c, r, ids)
}

// readableObjects loads live directory objects by id (public documents,
// reduced to the id when the caller may not read the kind), keyed by id.
func (s *Service) readableObjects(ctx context.Context, c *iam.Caller, r store.Reader, ids []string) (map[string]Object, error) {
	if len(ids) == 0 {
		return map[string]Object{}, nil
	}
	objs, err := r.GetMany(c.TenantID, ids, nil)
	if err != nil {
		return nil, err
	}
	items := make([]Object, len(objs))
	for i, o := range objs {
		if items[i], err = publicObject(o); err != nil {
			return nil, err
		}
	}
	if err := s.limitUnreadable(ctx, c, items); err != nil {
		return nil, err
	}
	out := make(map[string]Object, len(objs))
	for i, o := range objs {
		out[o.ID] = items[i]
	}
	return out, nil
}

// andFilter conjoins a required filter with an optional one.
func andFilter(required, more query.Expr) query.Expr {
	if more == nil {
		return required
	}
	return query.And{required, more}
}
