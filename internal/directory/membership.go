package directory

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// RefID extracts the object id from an "@odata.id" reference URL such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id} (any host, any
// entity set), or a bare id.
func RefID(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if id, ok := iam.NormalizeGUID(ref); ok {
		return id, true
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	p := strings.TrimSuffix(u.Path, "/")
	p = strings.TrimSuffix(p, "/$ref")
	last := p[strings.LastIndexByte(p, '/')+1:]
	// Also accept the key-in-parentheses form: directoryObjects('{id}').
	if i := strings.IndexByte(last, '('); i >= 0 && strings.HasSuffix(last, ")") {
		last = strings.Trim(last[i+1:len(last)-1], "'")
	}
	return iam.NormalizeGUID(last)
}

// AddGroupMember adds a member (user, group, service principal).
func (s *Service) AddGroupMember(ctx context.Context, c *iam.Caller, groupID, memberID string) error {
	return s.changeGroupLink(ctx, c, groupID, iam.RelMember, memberID, true)
}

// RemoveGroupMember removes a direct member.
func (s *Service) RemoveGroupMember(ctx context.Context, c *iam.Caller, groupID, memberID string) error {
	return s.changeGroupLink(ctx, c, groupID, iam.RelMember, memberID, false)
}

// AddGroupOwner adds an owner (user or service principal).
func (s *Service) AddGroupOwner(ctx context.Context, c *iam.Caller, groupID, ownerID string) error {
	return s.changeGroupLink(ctx, c, groupID, iam.RelOwner, ownerID, true)
}

// RemoveGroupOwner removes an owner.
func (s *Service) RemoveGroupOwner(ctx context.Context, c *iam.Caller, groupID, ownerID string) error {
	return s.changeGroupLink(ctx, c, groupID, iam.RelOwner, ownerID, false)
}

func (s *Service) changeGroupLink(ctx context.Context, c *iam.Caller, groupID string, rel iam.Rel, otherID string, add bool) error {
	action := authz.GroupsMembers
	if rel == iam.RelOwner {
		action = authz.GroupsOwners
	}
	if err := s.authorize(ctx, c, action, iam.KindGroup, groupID); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, iam.KindGroup, groupID)
		if err != nil {
			return err
		}
		g, err := decode[iam.Group](o)
		if err != nil {
			return err
		}
		if g.IsRoleAssignable() {
			// Membership of a role-assignable group confers roles: only
			// privileged role administrators may change it (CONTRACT D.2 rule 6).
			if err := s.authorize(ctx, c, authz.RAGroupsUpdate, iam.KindGroup, groupID); err != nil {
				return err
			}
		}
		if add {
			return s.addGroupLink(w, c, g, rel, otherID)
		}
		return s.removeGroupLink(w, c, g, rel, otherID)
	})
}

// addGroupLink checks Entra's membership rules and adds the link.
func (s *Service) addGroupLink(w store.Writer, c *iam.Caller, g iam.Group, rel iam.Rel, otherID string) error {
	other, err := get(w, c.TenantID, "", otherID)
	if err != nil {
		return err
	}
	prop := "members"
	if rel == iam.RelOwner {
		prop = "owners"
		if other.Kind != iam.KindUser && other.Kind != iam.KindServicePrincipal {
			return badRequest("Only users and service principals can be owners of a group.")
		}
	} else {
		switch {
		case g.IsDynamic():
			return badRequest("Members of a group with dynamic membership cannot be changed manually.")
		case other.ID == g.ID:
			return badRequest("A group cannot be a member of itself.")
		case other.Kind != iam.KindUser && other.Kind != iam.KindGroup && other.Kind != iam.KindServicePrincipal:
			return badRequest("An object of type '%s' cannot be a member of a group.", other.Kind)
		case g.IsUnified() && other.Kind != iam.KindUser:
			return badRequest("Microsoft 365 groups can only have users as members.")
		case g.IsRoleAssignable() && other.Kind == iam.KindGroup:
			return badRequest("A group cannot be added as a member of a role-assignable group.")
		}
		if other.Kind == iam.KindGroup {
			// Ostiary's choice: refuse nesting that would make a cycle, so
			// transitive membership stays a tree-like, explainable relation.
			below, err := w.Transitive(c.TenantID, iam.RelMember, store.Targets, other.ID)
			if err != nil {
				return err
			}
			for _, id := range below {
				if id == g.ID {
					return badRequest("Adding this group would create a circular membership.")
				}
			}
		}
	}
	err = w.AddLink(store.Link{TenantID: c.TenantID, Rel: rel, SourceID: g.ID, TargetID: other.ID, CreatedAt: s.clock()})
	if errs.Is(err, errs.Conflict) {
		return badRequest("One or more added object references already exist for the following modified properties: '%s'.", prop)
	} else if err != nil {
		return err
	}
	activity := "Add member to group"
	if rel == iam.RelOwner {
		activity = "Add owner to group"
	}
	return record(w, c, s.clock(), audit.Entry{Category: audit.GroupManagement, Activity: activity, OperationType: "Assign",
		Targets: []iam.TargetResource{target(other), audit.Target(iam.KindGroup, g.ID, g.DisplayName, "")}})
}

func (s *Service) removeGroupLink(w store.Writer, c *iam.Caller, g iam.Group, rel iam.Rel, otherID string) error {
	otherID = strings.ToLower(otherID)
	err := w.RemoveLink(c.TenantID, rel, g.ID, otherID, "")
	if errs.Is(err, errs.NotFound) {
		return notFound(otherID)
	} else if err != nil {
		return err
	}
	activity := "Remove member from group"
	if rel == iam.RelOwner {
		activity = "Remove owner from group"
	}
	name := ""
	return record(w, c, s.clock(), audit.Entry{Category: audit.GroupManagement, Activity: activity, OperationType: "Unassign",
		Targets: []iam.TargetResource{audit.Target(iam.KindUser, otherID, &name, ""), audit.Target(iam.KindGroup, g.ID, g.DisplayName, "")}})
}

// ListLinked pages through the objects related to id: a group's or
// administrative unit's members (rel member, Targets), any object's owners
// (rel owner, Targets), an object's direct parents (rel member, Sources),
// a user's manager and direct reports (rel manager). kinds narrows the
// result (a Graph type cast). The caller must be allowed readAction on the
// object of kind.
func (s *Service) ListLinked(ctx context.Context, c *iam.Caller, kind iam.Kind, id string, rel iam.Rel, dir Direction, kinds []iam.Kind, q query.List) (Page[Object], error) {
	if err := s.authorize(ctx, c, readAction(kind, rel), kind, id); err != nil {
		return Page[Object]{}, err
	}
	kinds, ok := s.queryableKinds(ctx, c, kinds, q)
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		if _, err := get(r, c.TenantID, kind, id); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p, err := r.ListLinked(c.TenantID, rel, dir, strings.ToLower(id), kinds, q)
		if err != nil {
			return err
		}
		if out, err = objectsPage(p); err != nil {
			return err
		}
		return s.limitUnreadable(ctx, c, out.Items)
	})
	return out, err
}

// linkableKinds are the kinds a relationship list can hold.
var linkableKinds = []iam.Kind{iam.KindUser, iam.KindGroup, iam.KindServicePrincipal, iam.KindApplication, iam.KindAdministrativeUnit}

// queryableKinds narrows a relationship list's kinds (nil: any) to those
// the caller may read when the query filters or sorts: objects of other
// kinds are shown as their id alone (limitUnreadable), and whether one
// matched a filter, or where a sort put it, would tell the properties the
// caller may not read. Entra returns such objects with limited
// information; which of them a $filter would match is not documented, and
// Ostiary's choice is that they match none. ok is false when no kind is
// left: the list is empty.
func (s *Service) queryableKinds(ctx context.Context, c *iam.Caller, kinds []iam.Kind, q query.List) (narrowed []iam.Kind, ok bool) {
	if q.Filter == nil && q.Sort == nil {
		return kinds, true
	}
	if kinds == nil {
		kinds = linkableKinds
	}
	for _, k := range kinds {
		if s.authz.Authorize(ctx, c, authz.Request{Action: readAction(k, ""), TargetKind: k}) == nil {
			narrowed = append(narrowed, k)
		}
	}
	return narrowed, len(narrowed) > 0
}

// limitUnreadable reduces each object of a kind the caller may not read to
// its id. Graph returns such members of a directoryObject collection "with
// limited information" (their @odata.type and id), so the right to read one
// kind's relations never reveals another kind's properties: User.Read.All
// lists a user's groups but not their names, GroupMember.Read.All a group's
// members but not their user principal names.
func (s *Service) limitUnreadable(ctx context.Context, c *iam.Caller, items []Object) error {
	readable := map[iam.Kind]bool{}
	for i, o := range items {
		ok, known := readable[o.Kind]
		if !known {
			ok = s.authz.Authorize(ctx, c, authz.Request{Action: readAction(o.Kind, ""), TargetKind: o.Kind}) == nil
			readable[o.Kind] = ok
		}
		if ok {
			continue
		}
		var ref struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(o.Data, &ref); err != nil {
			return errInternal(err, "decode object")
		}
		data, err := encode(ref)
		if err != nil {
			return err
		}
		items[i].Data = data
	}
	return nil
}

// readAction is the action that lets a caller read an object's relations.
func readAction(kind iam.Kind, rel iam.Rel) string {
	switch kind {
	case iam.KindGroup:
		if rel == iam.RelMember {
			return authz.GroupsMembersRead
		}
		return authz.GroupsRead
	case iam.KindApplication:
		return authz.AppsRead
	case iam.KindServicePrincipal:
		return authz.SPsRead
	case iam.KindAdministrativeUnit:
		return authz.AUsMembersRead
	default:
		return authz.UsersRead
	}
}

// Transitive returns, as a page sorted by id, the objects related to id
// through any depth: a group's transitive members (dir Targets) or an
// object's transitive groups (dir Sources). Administrative units are not
// transitive containers: only the direct ones are included.
func (s *Service) Transitive(ctx context.Context, c *iam.Caller, kind iam.Kind, id string, dir Direction, kinds []iam.Kind, q query.List) (Page[Object], error) {
	if err := s.authorize(ctx, c, readAction(kind, iam.RelMember), kind, id); err != nil {
		return Page[Object]{}, err
	}
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		objs, err := s.transitiveObjects(r, c.TenantID, kind, id, dir)
		if err != nil {
			return err
		}
		if out, err = pageInMemory(objs, kinds, q); err != nil {
			return err
		}
		return s.limitUnreadable(ctx, c, out.Items)
	})
	return out, err
}

func (s *Service) transitiveObjects(r store.Reader, tenantID string, kind iam.Kind, id string, dir Direction) ([]store.Object, error) {
	o, err := get(r, tenantID, kind, id)
	if err != nil {
		return nil, err
	}
	ids, err := r.Transitive(tenantID, iam.RelMember, dir, o.ID)
	if err != nil {
		return nil, err
	}
	objs, err := r.GetMany(tenantID, ids, nil)
	if err != nil {
		return nil, err
	}
	direct := map[string]bool{}
	if dir == store.Sources {
		links, err := r.Links(tenantID, iam.RelMember, "", o.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			direct[l.SourceID] = true
		}
	}
	out := objs[:0]
	for _, x := range objs {
		if x.Kind == iam.KindAdministrativeUnit && !direct[x.ID] {
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// pageInMemory applies a type cast, id-ordered keyset paging and a count to
// an in-memory result (transitive sets are computed, not stored). Filters
// beyond the cast are refused by the Graph layer for these lists.
func pageInMemory(objs []store.Object, kinds []iam.Kind, q query.List) (Page[Object], error) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].ID < objs[j].ID })
	var matched []store.Object
	for _, o := range objs {
		if len(kinds) == 0 || kindIn(o.Kind, kinds) {
			matched = append(matched, o)
		}
	}
	out := Page[Object]{Count: -1, Items: []Object{}}
	if q.Count {
		out.Count = int64(len(matched))
	}
	start := 0
	if q.After != nil {
		start = sort.Search(len(matched), func(i int) bool { return matched[i].ID > q.After.ID })
	}
	end := start + q.PageSize()
	if end < len(matched) {
		out.Next = &query.Cursor{ID: matched[end-1].ID}
	} else {
		end = len(matched)
	}
	for _, o := range matched[start:end] {
		v, err := publicObject(o)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func kindIn(k iam.Kind, kinds []iam.Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// CheckMemberGroups returns which of groupIDs the object is a transitive member of.
func (s *Service) CheckMemberGroups(ctx context.Context, c *iam.Caller, kind iam.Kind, id string, groupIDs []string) ([]string, error) {
	if len(groupIDs) > 20 {
		return nil, badRequest("A maximum of 20 group ids can be checked in one request.")
	}
	groups, err := s.memberGroups(ctx, c, kind, id, false, true)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[g] = true
	}
	out := []string{}
	for _, g := range groupIDs {
		if have[strings.ToLower(g)] {
			out = append(out, strings.ToLower(g))
		}
	}
	return out, nil
}

// MemberGroups returns the ids of every group the object belongs to,
// transitively (getMemberGroups); withUnits also adds administrative units
// (getMemberObjects).
func (s *Service) MemberGroups(ctx context.Context, c *iam.Caller, kind iam.Kind, id string, securityEnabledOnly, withUnits bool) ([]string, error) {
	return s.memberGroups(ctx, c, kind, id, securityEnabledOnly, !withUnits)
}

func (s *Service) memberGroups(ctx context.Context, c *iam.Caller, kind iam.Kind, id string, securityOnly, groupsOnly bool) ([]string, error) {
	if err := s.authorize(ctx, c, readAction(kind, iam.RelMember), kind, id); err != nil {
		return nil, err
	}
	var out []string
	err := s.store.Read(ctx, func(r store.Reader) error {
		objs, err := s.transitiveObjects(r, c.TenantID, kind, id, store.Sources)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Kind != iam.KindGroup && (groupsOnly || o.Kind != iam.KindAdministrativeUnit) {
				continue
			}
			if securityOnly && o.Kind == iam.KindGroup {
				g, err := decode[iam.Group](o)
				if err != nil {
					return err
				}
				if g.SecurityEnabled == nil || !*g.SecurityEnabled {
					continue
				}
			}
			out = append(out, o.ID)
		}
		return nil
	})
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out, err
}

// GetObject returns any live directory object by id (directoryObjects/{id}).
func (s *Service) GetObject(ctx context.Context, c *iam.Caller, id string) (Object, error) {
	if err := s.mayOnSomeKind(ctx, c, iam.DirectoryKinds, func(k iam.Kind) string { return readAction(k, "") }); err != nil {
		return Object{}, err
	}
	var out Object
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := get(r, c.TenantID, "", id)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, readAction(o.Kind, ""), o.Kind, o.ID); err != nil {
			return err
		}
		out = Object{Kind: o.Kind, Data: o.Data}
		return nil
	})
	return out, err
}

// mayOnSomeKind refuses, before any lookup, a caller who could not perform
// the action pick names on any of kinds (even on objects it owns): an
// endpoint that finds the object first and authorizes by its kind would
// otherwise answer 404 or 403 by whether the id exists.
func (s *Service) mayOnSomeKind(ctx context.Context, c *iam.Caller, kinds []iam.Kind, pick func(iam.Kind) string) error {
	for _, k := range kinds {
		if s.authz.Authorize(ctx, c, authz.Request{Action: pick(k), TargetKind: k, Owned: true}) == nil {
			return nil
		}
	}
	return s.deny(c, pick(kinds[0]), "", "no permission for this action on any object kind")
}

// GetByIDs returns the live objects among ids (at most 1000), optionally of
// the given kinds, skipping kinds the caller may not read.
func (s *Service) GetByIDs(ctx context.Context, c *iam.Caller, ids []string, kinds []iam.Kind) ([]Object, error) {
	if len(ids) > 1000 {
		return nil, badRequest("A maximum of 1000 ids can be requested.")
	}
	norm := make([]string, 0, len(ids))
	for _, id := range ids {
		if g, ok := iam.NormalizeGUID(id); ok {
			norm = append(norm, g)
		} else {
			return nil, badRequest("Invalid object identifier '%s'.", id)
		}
	}
	if len(kinds) == 0 {
		kinds = iam.DirectoryKinds
	}
	var allowed []iam.Kind
	for _, k := range kinds {
		if s.authz.Authorize(ctx, c, authz.Request{Action: readAction(k, ""), TargetKind: k}) == nil {
			allowed = append(allowed, k)
		}
	}
	if len(allowed) == 0 {
		return nil, authz.Denied("no read permission for any requested type")
	}
	out := []Object{}
	err := s.store.Read(ctx, func(r store.Reader) error {
		objs, err := r.GetMany(c.TenantID, norm, allowed)
		if err != nil {
			return err
		}
		for _, o := range objs {
			v, err := publicObject(o)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// SetManager makes managerID the user's manager (PUT manager/$ref).
func (s *Service) SetManager(ctx context.Context, c *iam.Caller, userKey, managerID string) error {
	if err := s.authorize(ctx, c, authz.UsersManager, iam.KindUser, userKey); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		u, err := s.userObject(w, c.TenantID, userKey)
		if err != nil {
			return err
		}
		m, err := get(w, c.TenantID, "", managerID)
		if err != nil {
			return err
		}
		if m.Kind != iam.KindUser {
			return badRequest("A manager must be a user.")
		}
		if m.ID == u.ID {
			return badRequest("A user cannot be their own manager.")
		}
		old, err := w.Links(c.TenantID, iam.RelManager, u.ID, "")
		if err != nil {
			return err
		}
		for _, l := range old {
			if err := w.RemoveLink(c.TenantID, iam.RelManager, u.ID, l.TargetID, ""); err != nil {
				return err
			}
		}
		if err := w.AddLink(store.Link{TenantID: c.TenantID, Rel: iam.RelManager, SourceID: u.ID, TargetID: m.ID, CreatedAt: s.clock()}); err != nil {
			return err
		}
		return record(w, c, s.clock(), audit.Entry{Category: audit.UserManagement, Activity: "Set manager", OperationType: "Update",
			Targets: []iam.TargetResource{target(u), target(m)}})
	})
}

// RemoveManager clears the user's manager.
func (s *Service) RemoveManager(ctx context.Context, c *iam.Caller, userKey string) error {
	if err := s.authorize(ctx, c, authz.UsersManager, iam.KindUser, userKey); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		u, err := s.userObject(w, c.TenantID, userKey)
		if err != nil {
			return err
		}
		old, err := w.Links(c.TenantID, iam.RelManager, u.ID, "")
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return notFound("manager")
		}
		for _, l := range old {
			if err := w.RemoveLink(c.TenantID, iam.RelManager, u.ID, l.TargetID, ""); err != nil {
				return err
			}
		}
		return record(w, c, s.clock(), audit.Entry{Category: audit.UserManagement, Activity: "Remove manager", OperationType: "Update",
			Targets: []iam.TargetResource{target(u)}})
	})
}

// ResolveUserID maps a user key (id or UPN) to the object id. Resolving a
// UPN reads the user, so it needs the right to read users: otherwise any
// caller could tell which UPNs exist from 404 versus 403.
func (s *Service) ResolveUserID(ctx context.Context, c *iam.Caller, key string) (string, error) {
	if iam.IsGUID(key) {
		return strings.ToLower(key), nil
	}
	if err := s.authorize(ctx, c, authz.UsersRead, iam.KindUser, key); err != nil {
		return "", err
	}
	var id string
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := s.userObject(r, c.TenantID, key)
		id = o.ID
		return err
	})
	return id, err
}

// securityIdentifier derives the Windows SID Entra gives cloud groups
// (S-1-12-1 followed by the object id as four little-endian integers).
func securityIdentifier(id string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 {
		return ""
	}
	// The object id's first three fields are stored little-endian in a .NET GUID.
	g := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
	return fmt.Sprintf("S-1-12-1-%d-%d-%d-%d", binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint32(g[4:8]),
		binary.LittleEndian.Uint32(g[8:12]), binary.LittleEndian.Uint32(g[12:16]))
}
