package directory

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

const auType = "microsoft.graph.administrativeUnit"

// auReadOnly are the administrative unit properties a PATCH may not change.
// isMemberManagementRestricted is fixed at creation: turning it on later
// would silently take rights from tenant-level admins over existing
// members, turning it off would expose members it was meant to protect.
var auReadOnly = []string{"id", "createdDateTime", "deletedDateTime", "isMemberManagementRestricted"}

// CreateAdministrativeUnit adds an administrative unit.
func (s *Service) CreateAdministrativeUnit(ctx context.Context, c *iam.Caller, body Patch) (iam.AdministrativeUnit, error) {
	if err := s.authorize(ctx, c, authz.AUsWrite, iam.KindAdministrativeUnit, ""); err != nil {
		return iam.AdministrativeUnit{}, err
	}
	var au iam.AdministrativeUnit
	binds, err := decodeBody(&au, body, auType)
	if err != nil {
		return au, err
	}
	if len(binds) > 0 {
		return au, badRequest("Binding references is not supported when creating an administrative unit.")
	}
	if err := checkAU(&au); err != nil {
		return au, err
	}
	now := s.clock()
	au.ID, au.CreatedDateTime, au.DeletedDateTime = iam.NewID(), &now, nil
	if au.IsMemberManagementRestricted == nil {
		au.IsMemberManagementRestricted = boolp(false)
	}
	err = s.store.Write(ctx, func(w store.Writer) error {
		data, err := encode(au)
		if err != nil {
			return err
		}
		if err := w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindAdministrativeUnit, ID: au.ID,
			DisplayName: deref(au.DisplayName), CreatedAt: now, Data: data}); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.DirectoryManagement, Activity: "Add administrative unit", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindAdministrativeUnit, au.ID, au.DisplayName, "",
				audit.Changed("DisplayName", nil, au.DisplayName), audit.Changed("IsMemberManagementRestricted", nil, au.IsMemberManagementRestricted))}})
	})
	return au, err
}

// checkAU enforces the rules that hold at creation and at every update.
func checkAU(au *iam.AdministrativeUnit) error {
	if deref(au.DisplayName) == "" {
		return missing("displayName", "AdministrativeUnit")
	}
	if v := deref(au.Visibility); v != "" && v != "Public" && v != "HiddenMembership" {
		return missing("visibility", "AdministrativeUnit")
	}
	switch deref(au.MembershipType) {
	case "", "Assigned":
	case "Dynamic":
		if deref(au.MembershipRule) == "" {
			return badRequest("A dynamic administrative unit needs a membershipRule.")
		}
	default:
		return missing("membershipType", "AdministrativeUnit")
	}
	if v := deref(au.MembershipRuleProcessingState); v != "" && v != "On" && v != "Paused" {
		return missing("membershipRuleProcessingState", "AdministrativeUnit")
	}
	return nil
}

// GetAdministrativeUnit returns a live administrative unit.
func (s *Service) GetAdministrativeUnit(ctx context.Context, c *iam.Caller, id string) (iam.AdministrativeUnit, error) {
	return readOne[iam.AdministrativeUnit](s, ctx, c, authz.AUsRead, iam.KindAdministrativeUnit, id, func(r store.Reader) (store.Object, error) {
		return get(r, c.TenantID, iam.KindAdministrativeUnit, id)
	})
}

// ListAdministrativeUnits lists live administrative units.
func (s *Service) ListAdministrativeUnits(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.AdministrativeUnit], error) {
	return readPage[iam.AdministrativeUnit](s, ctx, c, authz.AUsRead, iam.KindAdministrativeUnit, q)
}

// UpdateAdministrativeUnit applies a Graph PATCH.
func (s *Service) UpdateAdministrativeUnit(ctx context.Context, c *iam.Caller, id string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, authz.AUsWrite, iam.KindAdministrativeUnit, id); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindAdministrativeUnit, id)
		if err != nil {
			return err
		}
		old, err := decode[iam.AdministrativeUnit](o)
		if err != nil {
			return err
		}
		au, err := decode[iam.AdministrativeUnit](o)
		if err != nil {
			return err
		}
		binds, err := applyPatch(&au, p, auType, auReadOnly...)
		if err != nil {
			return err
		}
		if len(binds) > 0 {
			return badRequest("Binding references is not supported when updating an administrative unit; use the members reference.")
		}
		if err := checkAU(&au); err != nil {
			return err
		}
		if o.Data, err = encode(au); err != nil {
			return err
		}
		o.DisplayName = deref(au.DisplayName)
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.DirectoryManagement, Activity: "Update administrative unit", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindAdministrativeUnit, au.ID, au.DisplayName, "", changes(old, au, members)...)}})
	})
}

// DeleteAdministrativeUnit soft-deletes an administrative unit; its
// members come back with it on restore.
func (s *Service) DeleteAdministrativeUnit(ctx context.Context, c *iam.Caller, id string) error {
	if err := s.authorize(ctx, c, authz.AUsWrite, iam.KindAdministrativeUnit, id); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindAdministrativeUnit, id)
		if err != nil {
			return err
		}
		return s.softDelete(w, c, o, audit.DirectoryManagement, "Delete administrative unit")
	})
}

// AddAUMember adds a user or group to an administrative unit.
func (s *Service) AddAUMember(ctx context.Context, c *iam.Caller, auID, memberID string) error {
	if err := s.authorize(ctx, c, authz.AUsWrite, iam.KindAdministrativeUnit, auID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindAdministrativeUnit, auID)
		if err != nil {
			return err
		}
		au, err := decode[iam.AdministrativeUnit](o)
		if err != nil {
			return err
		}
		if deref(au.MembershipType) == "Dynamic" {
			return badRequest("Members of an administrative unit with dynamic membership cannot be changed manually.")
		}
		m, err := get(w, c.TenantID, "", memberID)
		if err != nil {
			return err
		}
		if m.Kind != iam.KindUser && m.Kind != iam.KindGroup {
			return badRequest("An object of type '%s' cannot be a member of an administrative unit.", m.Kind)
		}
		err = w.AddLink(store.Link{TenantID: c.TenantID, Rel: iam.RelMember, SourceID: o.ID, TargetID: m.ID, CreatedAt: now})
		if errs.Is(err, errs.Conflict) {
			return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.DirectoryManagement, Activity: "Add member to administrative unit", OperationType: "Assign",
			Targets: []iam.TargetResource{target(m), target(o)}})
	})
}

// RemoveAUMember removes a member from an administrative unit.
func (s *Service) RemoveAUMember(ctx context.Context, c *iam.Caller, auID, memberID string) error {
	if err := s.authorize(ctx, c, authz.AUsWrite, iam.KindAdministrativeUnit, auID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindAdministrativeUnit, auID)
		if err != nil {
			return err
		}
		// The member may be soft-deleted: its membership still goes.
		m, err := w.Get(c.TenantID, "", strings.ToLower(memberID))
		if errs.Is(err, errs.NotFound) {
			return notFound(memberID)
		} else if err != nil {
			return err
		}
		if err := w.RemoveLink(c.TenantID, iam.RelMember, o.ID, m.ID, ""); errs.Is(err, errs.NotFound) {
			return notFound(memberID)
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.DirectoryManagement, Activity: "Remove member from administrative unit", OperationType: "Unassign",
			Targets: []iam.TargetResource{target(m), target(o)}})
	})
}

// ListAUMembers pages through an administrative unit's live members.
func (s *Service) ListAUMembers(ctx context.Context, c *iam.Caller, auID string, q query.List) (Page[Object], error) {
	if err := s.authorize(ctx, c, authz.AUsMembersRead, iam.KindAdministrativeUnit, auID); err != nil {
		return Page[Object]{}, err
	}
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := get(r, c.TenantID, iam.KindAdministrativeUnit, auID)
		if err != nil {
			return err
		}
		p, err := r.ListLinked(c.TenantID, iam.RelMember, store.Targets, o.ID, []iam.Kind{iam.KindUser, iam.KindGroup}, q)
		if err != nil {
			return err
		}
		out, err = objectsPage(p)
		return err
	})
	return out, err
}
