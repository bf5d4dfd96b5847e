package directory

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// MaxRoleAssignableGroups is Entra's per-tenant limit.
const MaxRoleAssignableGroups = 500

// maxBinds is how many references one "@odata.bind" may carry.
const maxBinds = 20

// CreateGroup adds a group from a Graph create body, with any
// members@odata.bind and owners@odata.bind in the same transaction.
func (s *Service) CreateGroup(ctx context.Context, c *iam.Caller, body Patch) (iam.Group, error) {
	var g iam.Group
	binds, err := decodeBody(&g, body, "microsoft.graph.group")
	if err != nil {
		return g, err
	}
	asOwner := authz.SecurityGroupsCreateAsOwner
	if g.IsUnified() {
		asOwner = authz.UnifiedGroupsCreateAsOwner
	}
	owner, err := s.authorizeCreate(ctx, c, authz.GroupsCreate, asOwner, iam.KindGroup)
	if err != nil {
		return g, err
	}
	if g.IsRoleAssignable() {
		if err := s.authorize(ctx, c, authz.RAGroupsCreate, iam.KindGroup, ""); err != nil {
			return g, err
		}
	}
	switch {
	case deref(g.DisplayName) == "":
		return g, missing("displayName", "Group")
	case g.MailEnabled == nil:
		return g, missing("mailEnabled", "Group")
	case deref(g.MailNickname) == "":
		return g, missing("mailNickname", "Group")
	case g.SecurityEnabled == nil:
		return g, missing("securityEnabled", "Group")
	}
	if err := checkGroupShape(&g); err != nil {
		return g, err
	}
	memberRefs, ownerRefs, err := parseBinds(binds, "members", "owners")
	if err != nil {
		return g, err
	}
	if owner != "" && !slices.Contains(ownerRefs, owner) {
		ownerRefs = append(ownerRefs, owner)
	}
	now := s.clock()
	g.ID = iam.NewID()
	g.CreatedDateTime, g.RenewedDateTime, g.DeletedDateTime = &now, &now, nil
	g.SecurityIdentifier = str(securityIdentifier(g.ID))
	if g.IsAssignableToRole == nil {
		g.IsAssignableToRole = boolp(false)
	}
	if g.GroupTypes == nil {
		g.GroupTypes = []string{}
	}
	if g.ProxyAddresses == nil {
		g.ProxyAddresses = []string{}
	}
	err = s.store.Write(ctx, func(w store.Writer) error {
		if g.IsRoleAssignable() {
			p, err := w.List(c.TenantID, iam.KindGroup, store.Live, query.List{Top: 1, Count: true,
				Filter: query.Cmp{Field: query.Field{Path: "isAssignableToRole", Type: query.Bool}, Op: query.Eq, Value: query.Value{Type: query.Bool, Bool: true}}})
			if err != nil {
				return err
			}
			if p.Count >= MaxRoleAssignableGroups {
				return badRequest("The maximum number of role-assignable groups (%d) in this tenant has been reached.", MaxRoleAssignableGroups)
			}
		}
		data, err := encode(g)
		if err != nil {
			return err
		}
		if err := w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindGroup, ID: g.ID, DisplayName: deref(g.DisplayName), CreatedAt: now, Data: data}); err != nil {
			return err
		}
		if err := record(w, c, now, audit.Entry{Category: audit.GroupManagement, Activity: "Add group", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindGroup, g.ID, g.DisplayName, "", audit.Changed("DisplayName", nil, g.DisplayName))}}); err != nil {
			return err
		}
		for _, id := range memberRefs {
			if err := s.addGroupLink(w, c, g, iam.RelMember, id); err != nil {
				return err
			}
		}
		for _, id := range ownerRefs {
			if err := s.addGroupLink(w, c, g, iam.RelOwner, id); err != nil {
				return err
			}
		}
		return nil
	})
	return g, err
}

// checkGroupShape enforces the rules on group types that hold at creation
// and at every update.
func checkGroupShape(g *iam.Group) error {
	if g.IsUnified() && g.MailEnabled != nil && !*g.MailEnabled {
		return badRequest("A Microsoft 365 group must be mail-enabled.")
	}
	if !g.IsUnified() && g.MailEnabled != nil && *g.MailEnabled && g.SecurityEnabled != nil && !*g.SecurityEnabled {
		// Distribution lists are Exchange objects; Graph refuses to create them.
		return badRequest("Creating mail-enabled security groups or distribution groups is not supported.")
	}
	if g.IsDynamic() && deref(g.MembershipRule) == "" {
		return badRequest("A dynamic group needs a membershipRule.")
	}
	if g.IsRoleAssignable() {
		if g.SecurityEnabled == nil || !*g.SecurityEnabled {
			return badRequest("A role-assignable group must be security-enabled.")
		}
		if g.IsDynamic() {
			return badRequest("A role-assignable group cannot have dynamic membership.")
		}
		if g.IsUnified() {
			if g.Visibility == nil {
				g.Visibility = str("Private")
			} else if *g.Visibility != "Private" {
				return badRequest("A role-assignable Microsoft 365 group must have Private visibility.")
			}
		}
	}
	return nil
}

// GetGroup returns a live group.
func (s *Service) GetGroup(ctx context.Context, c *iam.Caller, id string) (iam.Group, error) {
	return readOne[iam.Group](s, ctx, c, authz.GroupsRead, iam.KindGroup, id, func(r store.Reader) (store.Object, error) {
		return get(r, c.TenantID, iam.KindGroup, id)
	})
}

// ListGroups lists live groups.
func (s *Service) ListGroups(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.Group], error) {
	return readPage[iam.Group](s, ctx, c, authz.GroupsRead, iam.KindGroup, q)
}

// UpdateGroup applies a Graph PATCH, including members@odata.bind and
// owners@odata.bind (added, not replaced, as Graph does).
func (s *Service) UpdateGroup(ctx context.Context, c *iam.Caller, id string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, authz.GroupsUpdate, iam.KindGroup, id); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindGroup, id)
		if err != nil {
			return err
		}
		old, err := decode[iam.Group](o)
		if err != nil {
			return err
		}
		if old.IsRoleAssignable() {
			if err := s.authorize(ctx, c, authz.RAGroupsUpdate, iam.KindGroup, id); err != nil {
				return err
			}
		}
		g := old
		binds, err := applyPatch(&g, p, "microsoft.graph.group", "id", "createdDateTime", "deletedDateTime",
			"renewedDateTime", "securityIdentifier", "proxyAddresses", "isAssignableToRole")
		if err != nil {
			return err
		}
		if deref(g.DisplayName) == "" {
			return badRequest("Invalid value specified for property 'displayName' of resource 'Group'.")
		}
		if err := checkGroupShape(&g); err != nil {
			return err
		}
		memberRefs, ownerRefs, err := parseBinds(binds, "members", "owners")
		if err != nil {
			return err
		}
		if o.Data, err = encode(g); err != nil {
			return err
		}
		o.DisplayName = deref(g.DisplayName)
		if err := w.Update(o); err != nil {
			return err
		}
		if err := record(w, c, now, audit.Entry{Category: audit.GroupManagement, Activity: "Update group", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindGroup, g.ID, g.DisplayName, "", changes(old, g, members)...)}}); err != nil {
			return err
		}
		for _, ref := range memberRefs {
			if err := s.authorize(ctx, c, authz.GroupsMembers, iam.KindGroup, id); err != nil {
				return err
			}
			if err := s.addGroupLink(w, c, g, iam.RelMember, ref); err != nil {
				return err
			}
		}
		for _, ref := range ownerRefs {
			if err := s.authorize(ctx, c, authz.GroupsOwners, iam.KindGroup, id); err != nil {
				return err
			}
			if err := s.addGroupLink(w, c, g, iam.RelOwner, ref); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteGroup soft-deletes a group; its memberships come back on restore.
func (s *Service) DeleteGroup(ctx context.Context, c *iam.Caller, id string) error {
	if err := s.authorize(ctx, c, authz.GroupsDelete, iam.KindGroup, id); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindGroup, id)
		if err != nil {
			return err
		}
		if g, err := decode[iam.Group](o); err != nil {
			return err
		} else if g.IsRoleAssignable() {
			if err := s.authorize(ctx, c, authz.RAGroupsDelete, iam.KindGroup, id); err != nil {
				return err
			}
		}
		return s.softDelete(w, c, o, audit.GroupManagement, "Delete group")
	})
}

// parseBinds reads "x@odata.bind" arrays of object URLs into ids.
func parseBinds(binds map[string]json.RawMessage, allowed ...string) (members, owners []string, err error) {
	for name, raw := range binds {
		var urls []string
		if json.Unmarshal(raw, &urls) != nil {
			return nil, nil, badRequest("The value of '%s@odata.bind' must be an array of object URLs.", name)
		}
		if len(urls) > maxBinds {
			return nil, nil, badRequest("A maximum of %d references can be bound in one request.", maxBinds)
		}
		ids := make([]string, 0, len(urls))
		for _, u := range urls {
			id, ok := RefID(u)
			if !ok {
				return nil, nil, badRequest("Invalid object identifier '%s'.", u)
			}
			ids = append(ids, id)
		}
		switch {
		case name == "members" && contains(allowed, name):
			members = ids
		case name == "owners" && contains(allowed, name):
			owners = ids
		default:
			return nil, nil, badRequest("Property '%s' does not exist as a navigation property.", name)
		}
	}
	return members, owners, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// notFoundErr reports whether err is a NotFound from the store.
func notFoundErr(err error) bool { return errs.Is(err, errs.NotFound) }
