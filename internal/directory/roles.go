package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

const roleDefinitionType = "microsoft.graph.unifiedRoleDefinition"

// roleDefinitionReadOnly are the custom role properties a PATCH may not
// change. templateId is fixed at creation: assignments and other tenants
// refer to a role by it.
var roleDefinitionReadOnly = []string{"id", "isBuiltIn", "templateId"}

// builtinDefinition renders a built-in role as Graph's v1.0 shape.
func builtinDefinition(r rbac.RoleDefinition) iam.RoleDefinition {
	out := iam.RoleDefinition{ID: r.ID, DisplayName: str(r.DisplayName), Description: str(r.Description), IsBuiltIn: true,
		IsEnabled: boolp(r.IsEnabled), TemplateID: r.TemplateID, ResourceScopes: []string{"/"},
		RolePermissions: make([]iam.RolePermission, 0, len(r.RolePermissions))}
	if r.TemplateID == "" {
		out.TemplateID = r.ID
	}
	if r.Version != "" {
		out.Version = str(r.Version)
	}
	for _, p := range r.RolePermissions {
		rp := iam.RolePermission{AllowedResourceActions: slices.Clone(p.AllowedResourceActions)}
		if p.Condition != rbac.Unconditional {
			rp.Condition = str(string(p.Condition))
		}
		out.RolePermissions = append(out.RolePermissions, rp)
	}
	return out
}

// checkCustomRole normalises and validates a custom role definition.
func checkCustomRole(d *iam.RoleDefinition) error {
	if d.IsEnabled == nil {
		return missing("isEnabled", "UnifiedRoleDefinition")
	}
	for _, s := range d.ResourceScopes {
		if s != "/" {
			return badRequest("Invalid value specified for property 'resourceScopes' of resource 'UnifiedRoleDefinition'.")
		}
	}
	d.ResourceScopes = []string{"/"}
	if d.RolePermissions == nil {
		d.RolePermissions = []iam.RolePermission{}
	}
	for i := range d.RolePermissions {
		if d.RolePermissions[i].AllowedResourceActions == nil {
			d.RolePermissions[i].AllowedResourceActions = []string{}
		}
	}
	return rbac.ValidateCustomRole(rbac.FromGraph(*d))
}

// findRole returns the built-in or custom role with the id (lowercased).
func findRole(r store.Reader, tenantID, id string) (iam.RoleDefinition, error) {
	id = strings.ToLower(id)
	if b, ok := rbac.BuiltinRole(id); ok {
		return builtinDefinition(b), nil
	}
	o, err := get(r, tenantID, iam.KindRoleDefinition, id)
	if err != nil {
		return iam.RoleDefinition{}, err
	}
	return decode[iam.RoleDefinition](o)
}

// CreateRoleDefinition adds a custom role whose permissions all come from
// Entra's custom-role catalog.
func (s *Service) CreateRoleDefinition(ctx context.Context, c *iam.Caller, body Patch) (iam.RoleDefinition, error) {
	if err := s.authorize(ctx, c, authz.RoleDefinitionsWrite, iam.KindRoleDefinition, ""); err != nil {
		return iam.RoleDefinition{}, err
	}
	var d iam.RoleDefinition
	binds, err := applyPatch(&d, body, roleDefinitionType, "id", "isBuiltIn")
	if err != nil {
		return d, err
	}
	if len(binds) > 0 {
		return d, badRequest("Binding references is not supported when creating a role definition.")
	}
	if err := checkCustomRole(&d); err != nil {
		return d, err
	}
	d.ID = iam.NewID()
	if d.TemplateID == "" {
		d.TemplateID = d.ID
	} else if d.TemplateID, err = guid(d.TemplateID, "templateId"); err != nil {
		return d, badRequest("Invalid value specified for property 'templateId' of resource 'UnifiedRoleDefinition'.")
	}
	if _, ok := rbac.BuiltinRole(d.TemplateID); ok {
		return d, badRequest("The templateId '%s' belongs to a built-in role.", d.TemplateID)
	}
	now := s.clock()
	err = s.store.Write(ctx, func(w store.Writer) error {
		data, err := encode(d)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindRoleDefinition, ID: d.ID, Key: d.TemplateID,
			DisplayName: deref(d.DisplayName), CreatedAt: now, Data: data})
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "A role definition with templateId '%s' already exists.", d.TemplateID).WithCode("Request_MultipleObjectsWithSameKeyValue")
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.RoleManagement, Activity: "Add role definition", OperationType: "Add",
			Targets: []iam.TargetResource{roleTarget(d, audit.Changed("DisplayName", nil, d.DisplayName),
				audit.Changed("RolePermissions", nil, d.RolePermissions), audit.Changed("IsEnabled", nil, d.IsEnabled))}})
	})
	return d, err
}

func roleTarget(d iam.RoleDefinition, changes ...iam.ModifiedProperty) iam.TargetResource {
	if changes == nil {
		changes = []iam.ModifiedProperty{}
	}
	return iam.TargetResource{ID: d.ID, DisplayName: d.DisplayName, Type: "Role", ModifiedProperties: changes}
}

// GetRoleDefinition returns a built-in or custom role.
func (s *Service) GetRoleDefinition(ctx context.Context, c *iam.Caller, id string) (iam.RoleDefinition, error) {
	if err := s.authorize(ctx, c, authz.RoleDefinitionsRead, iam.KindRoleDefinition, id); err != nil {
		return iam.RoleDefinition{}, err
	}
	var out iam.RoleDefinition
	err := s.store.Read(ctx, func(r store.Reader) error {
		var err error
		out, err = findRole(r, c.TenantID, id)
		return err
	})
	return out, err
}

// ListRoleDefinitions lists the built-in roles then the tenant's custom
// roles, filtered in memory: Graph does not page this collection, and the
// built-ins are not stored.
func (s *Service) ListRoleDefinitions(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.RoleDefinition], error) {
	if err := s.authorize(ctx, c, authz.RoleDefinitionsRead, iam.KindRoleDefinition, ""); err != nil {
		return Page[iam.RoleDefinition]{}, err
	}
	var all []iam.RoleDefinition
	for _, b := range rbac.BuiltinRoles() {
		all = append(all, builtinDefinition(b))
	}
	err := s.store.Read(ctx, func(r store.Reader) error {
		lq := query.List{Top: query.MaxTop}
		for {
			p, err := r.List(c.TenantID, iam.KindRoleDefinition, store.Live, lq)
			if err != nil {
				return err
			}
			for _, o := range p.Items {
				d, err := decode[iam.RoleDefinition](o)
				if err != nil {
					return err
				}
				all = append(all, d)
			}
			if p.Next == nil {
				return nil
			}
			lq.After = p.Next
		}
	})
	if err != nil {
		return Page[iam.RoleDefinition]{}, err
	}
	out := Page[iam.RoleDefinition]{Items: []iam.RoleDefinition{}, Count: -1}
	for _, d := range all {
		if matchRole(q.Filter, d) {
			out.Items = append(out.Items, d)
		}
	}
	if q.Count {
		out.Count = int64(len(out.Items))
	}
	return out, nil
}

// matchRole evaluates the filters the roleDefinition schema admits (eq and
// in on id, displayName, isBuiltIn, templateId, with and, or, not).
func matchRole(e query.Expr, d iam.RoleDefinition) bool {
	field := func(f query.Field) (string, bool, bool) {
		switch f.Path {
		case "id":
			return d.ID, false, true
		case "templateId":
			return d.TemplateID, false, true
		case "displayName":
			return deref(d.DisplayName), false, true
		case "isBuiltIn":
			return "", d.IsBuiltIn, true
		}
		return "", false, false
	}
	eq := func(f query.Field, v query.Value) bool {
		sv, bv, ok := field(f)
		switch {
		case !ok || v.Null:
			return false
		case v.Type == query.Bool:
			return f.Path == "isBuiltIn" && bv == v.Bool
		default:
			return f.Path != "isBuiltIn" && strings.EqualFold(sv, v.Str)
		}
	}
	switch x := e.(type) {
	case nil:
		return true
	case query.Cmp:
		r := eq(x.Field, x.Value)
		if x.Op == query.Ne {
			return !r
		}
		return x.Op == query.Eq && r
	case query.In:
		for _, v := range x.Values {
			if eq(x.Field, v) {
				return true
			}
		}
		return false
	case query.And:
		for _, t := range x {
			if !matchRole(t, d) {
				return false
			}
		}
		return true
	case query.Or:
		for _, t := range x {
			if matchRole(t, d) {
				return true
			}
		}
		return false
	case query.Not:
		return !matchRole(x.X, d)
	}
	return false
}

func builtinUnchangeable(id string) error {
	return badRequest("The role definition '%s' is built-in and cannot be modified or deleted.", id)
}

// UpdateRoleDefinition applies a Graph PATCH to a custom role.
func (s *Service) UpdateRoleDefinition(ctx context.Context, c *iam.Caller, id string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, authz.RoleDefinitionsWrite, iam.KindRoleDefinition, id); err != nil {
		return err
	}
	id = strings.ToLower(id)
	if _, ok := rbac.BuiltinRole(id); ok {
		return builtinUnchangeable(id)
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindRoleDefinition, id)
		if err != nil {
			return err
		}
		old, err := decode[iam.RoleDefinition](o)
		if err != nil {
			return err
		}
		d := old
		binds, err := applyPatch(&d, p, roleDefinitionType, roleDefinitionReadOnly...)
		if err != nil {
			return err
		}
		if len(binds) > 0 {
			return badRequest("Binding references is not supported when updating a role definition.")
		}
		if err := checkCustomRole(&d); err != nil {
			return err
		}
		if o.Data, err = encode(d); err != nil {
			return err
		}
		o.DisplayName = deref(d.DisplayName)
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.RoleManagement, Activity: "Update role definition", OperationType: "Update",
			Targets: []iam.TargetResource{roleTarget(d, changes(old, d, members)...)}})
	})
}

// DeleteRoleDefinition removes a custom role that nobody holds.
func (s *Service) DeleteRoleDefinition(ctx context.Context, c *iam.Caller, id string) error {
	if err := s.authorize(ctx, c, authz.RoleDefinitionsWrite, iam.KindRoleDefinition, id); err != nil {
		return err
	}
	id = strings.ToLower(id)
	if _, ok := rbac.BuiltinRole(id); ok {
		return builtinUnchangeable(id)
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindRoleDefinition, id)
		if err != nil {
			return err
		}
		d, err := decode[iam.RoleDefinition](o)
		if err != nil {
			return err
		}
		p, err := w.List(c.TenantID, iam.KindRoleAssignment, store.Live, query.List{Top: 1,
			Filter: guidEq("roleDefinitionId", id)})
		if err != nil {
			return err
		}
		if len(p.Items) > 0 {
			return badRequest("The role definition '%s' cannot be deleted while it is assigned; remove its role assignments first.", id)
		}
		if err := w.Delete(c.TenantID, iam.KindRoleDefinition, id); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.RoleManagement, Activity: "Delete role definition", OperationType: "Delete",
			Targets: []iam.TargetResource{roleTarget(d)}})
	})
}

func guidEq(path, v string) query.Expr {
	return query.Cmp{Field: query.Field{Path: path, Type: query.GUID}, Op: query.Eq, Value: query.Value{Type: query.GUID, Str: v}}
}
