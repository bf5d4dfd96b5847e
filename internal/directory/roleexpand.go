package directory

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Navigation properties of a unifiedRoleAssignment that $expand can load
// (CONTRACT.md D.9).
const (
	NavPrincipal      = "principal"
	NavRoleDefinition = "roleDefinition"
	NavDirectoryScope = "directoryScope"
)

// ExpandRoleAssignments loads one navigation property of each assignment,
// keyed by assignment id; an assignment whose target is gone (or whose
// scope is the tenant, "/") has no entry and renders as null.
//
//   - principal: the user, group or service principal, with its kind for
//     "@odata.type";
//   - roleDefinition: the built-in or custom role;
//   - directoryScope: the administrative unit or object of a scoped
//     assignment.
//
// Expanding never shows more than the caller could read directly: a
// principal or scope object of a kind the caller may not read is reduced to
// its id, as relationship lists do (limitUnreadable), and so is a role
// definition to a caller who may not read role definitions.
func (s *Service) ExpandRoleAssignments(ctx context.Context, c *iam.Caller, ras []iam.RoleAssignment, nav string) (map[string]Object, error) {
	if err := s.authorize(ctx, c, authz.RoleAssignmentsRead, iam.KindRoleAssignment, ""); err != nil {
		return nil, err
	}
	out := make(map[string]Object, len(ras))
	err := s.store.Read(ctx, func(r store.Reader) error {
		switch nav {
		case NavPrincipal:
			objs, err := s.principals(ctx, c, r, ras)
			if err != nil {
				return err
			}
			for _, ra := range ras {
				if o, ok := objs[strings.ToLower(ra.PrincipalID)]; ok {
					out[ra.ID] = o
				}
			}
		case NavDirectoryScope:
			scopeOf := make(map[string]string, len(ras))
			var ids []string
			for _, ra := range ras {
				if kind, id, err := parseDirectoryScope(ra.DirectoryScopeID); err == nil && kind != "" {
					scopeOf[ra.ID] = id
					ids = append(ids, id)
				}
			}
			objs, err := s.readableObjects(ctx, c, r, ids)
			if err != nil {
				return err
			}
			for raID, id := range scopeOf {
				if o, ok := objs[id]; ok {
					out[raID] = o
				}
			}
		case NavRoleDefinition:
			return s.expandRoles(ctx, c, r, ras, out)
		default:
			return errs.E(errs.Invalid, "Could not find a property named '%s' on type 'microsoft.graph.unifiedRoleAssignment'.", nav).WithCode("Request_BadRequest")
		}
		return nil
	})
	return out, err
}

// expandRoles fills out with each assignment's role definition.
func (s *Service) expandRoles(ctx context.Context, c *iam.Caller, r store.Reader, ras []iam.RoleAssignment, out map[string]Object) error {
	readable := s.authz.Authorize(ctx, c, authz.Request{Action: authz.RoleDefinitionsRead, TargetKind: iam.KindRoleDefinition}) == nil
	roles := map[string]Object{}
	for _, ra := range ras {
		id := strings.ToLower(ra.RoleDefinitionID)
		o, seen := roles[id]
		if !seen {
			d, err := findRole(r, c.TenantID, id)
			if errs.Is(err, errs.NotFound) {
				roles[id] = Object{}
				continue
			} else if err != nil {
				return err
			}
			var v any = d
			if !readable {
				v = struct {
					ID string `json:"id"`
				}{d.ID}
			}
			data, err := encode(v)
			if err != nil {
				return err
			}
			o = Object{Kind: iam.KindRoleDefinition, Data: data}
			roles[id] = o
		}
		if o.Data != nil {
			out[ra.ID] = o
		}
	}
	return nil
}
