package graphapi

import (
	"encoding/json"
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// roleRoutes mounts Entra's unified role management for the directory
// provider: role definitions (built-in and custom) and role assignments,
// which have no PATCH in Graph; and the scopedRoleMembers of
// administrative units, a view of the role assignments at a unit's scope.
func (s *Server) roleRoutes() {
	mountEntity(s, entity[iam.RoleDefinition]{set: "roleManagement/directory/roleDefinitions", kind: iam.KindRoleDefinition,
		list: s.dir.ListRoleDefinitions, create: s.dir.CreateRoleDefinition, get: s.dir.GetRoleDefinition,
		update: s.dir.UpdateRoleDefinition, del: s.dir.DeleteRoleDefinition})
	mountEntity(s, entity[iam.RoleAssignment]{set: "roleManagement/directory/roleAssignments", kind: iam.KindRoleAssignment,
		list: s.dir.ListRoleAssignments, create: s.dir.CreateRoleAssignment, get: s.dir.GetRoleAssignment,
		del: s.dir.DeleteRoleAssignment})
	s.scopedRoleRoutes()
}

// expandRoleAssignments loads $expand=principal,roleDefinition,directoryScope
// for rendered role assignments.
func (s *Server) expandRoleAssignments(r *http.Request, rc *reqCtx, items []item, exps []odata.Expand) (expansion, error) {
	ras := make([]iam.RoleAssignment, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it.data, &ras[i]); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "decode role assignment")
		}
	}
	out := make(expansion, len(exps))
	for _, exp := range exps {
		objs, err := s.dir.ExpandRoleAssignments(r.Context(), rc.caller, ras, exp.Property)
		if err != nil {
			return nil, err
		}
		byID := make(map[string][]item, len(objs))
		for id, o := range objs {
			byID[id] = []item{{kind: o.Kind, data: o.Data}}
		}
		out[exp.Property] = byID
	}
	return out, nil
}

// scopedRoleRoutes mounts GET|POST /directory/administrativeUnits/{id}/scopedRoleMembers,
// GET|DELETE …/scopedRoleMembers/{membershipId} and GET /users/{id}/scopedRoleMemberOf.
func (s *Server) scopedRoleRoutes() {
	rt := &s.routes
	const (
		set  = "directory/administrativeUnits/{id}/scopedRoleMembers"
		kind = odata.KindScopedRoleMembership
		ctx  = "scopedRoleMemberships"
	)
	rt.add("GET", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return listEntities(s, w, r, rc, kind, ctx, func(q query.List) (directory.Page[iam.ScopedRoleMembership], error) {
			return s.dir.ListScopedRoleMembers(r.Context(), rc.caller, rc.params["id"], q)
		})
	})
	rt.add("POST", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		m, err := s.dir.CreateScopedRoleMember(r.Context(), rc.caller, rc.params["id"], body)
		if err != nil {
			return err
		}
		return created(s, w, rc, kind, ctx, m)
	})
	rt.add("GET", set+"/{mid}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		m, err := s.dir.GetScopedRoleMember(r.Context(), rc.caller, rc.params["id"], rc.params["mid"])
		if err != nil {
			return err
		}
		return getEntity(s, w, r, rc, kind, ctx, m)
	})
	rt.add("DELETE", set+"/{mid}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.DeleteScopedRoleMember(r.Context(), rc.caller, rc.params["id"], rc.params["mid"]); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("GET", "users/{id}/scopedRoleMemberOf", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return listEntities(s, w, r, rc, kind, ctx, func(q query.List) (directory.Page[iam.ScopedRoleMembership], error) {
			return s.dir.ListScopedRoleMemberOf(r.Context(), rc.caller, rc.params["id"], q)
		})
	})
}
