package directory

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Object is a directory object of any kind, as its JSON document; the Graph
// layer renders it with "@odata.type" from Kind.
type Object struct {
	Kind iam.Kind
	Data json.RawMessage
}

// softDelete marks o deleted: it leaves the live directory (its key is free
// again) but keeps its links, so a restore brings memberships back.
func (s *Service) softDelete(w store.Writer, c *iam.Caller, o store.Object, category, activity string) error {
	now := s.clock()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(o.Data, &doc); err != nil {
		return errInternal(err, "decode object")
	}
	doc["deletedDateTime"], _ = json.Marshal(now)
	data, err := json.Marshal(doc)
	if err != nil {
		return errInternal(err, "encode object")
	}
	o.Data, o.DeletedAt = data, now
	if err := w.Update(o); err != nil {
		return err
	}
	return record(w, c, now, audit.Entry{Category: category, Activity: activity, OperationType: "Delete",
		Targets: []iam.TargetResource{target(o)}})
}

// deletedActions are the actions that read, restore and purge each kind.
var deletedActions = map[iam.Kind]struct{ read, restore, purge string }{
	iam.KindUser:               {authz.UsersRead, authz.UsersRestore, authz.UsersDelete},
	iam.KindGroup:              {authz.GroupsRead, authz.GroupsRestore, authz.GroupsDelete},
	iam.KindApplication:        {authz.AppsRead, authz.AppsRestore, authz.AppsDelete},
	iam.KindServicePrincipal:   {authz.SPsRead, authz.SPsCreate, authz.SPsDelete},
	iam.KindAdministrativeUnit: {authz.AUsRead, authz.AUsWrite, authz.AUsWrite},
}

// ListDeleted lists soft-deleted objects of one kind (Graph requires the cast).
func (s *Service) ListDeleted(ctx context.Context, c *iam.Caller, kind iam.Kind, q query.List) (Page[Object], error) {
	acts, ok := deletedActions[kind]
	if !ok {
		return Page[Object]{}, badRequest("Deleted items of type '%s' are not supported.", kind)
	}
	if err := s.authorize(ctx, c, acts.read, kind, ""); err != nil {
		return Page[Object]{}, err
	}
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		p, err := r.List(c.TenantID, kind, store.DeletedOnly, q)
		if err != nil {
			return err
		}
		out, err = objectsPage(p)
		return err
	})
	return out, err
}

// GetDeleted returns one soft-deleted object.
func (s *Service) GetDeleted(ctx context.Context, c *iam.Caller, id string) (Object, error) {
	var out Object
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := s.deletedObject(ctx, r, c, id, func(k iam.Kind) string { return deletedActions[k].read })
		if err != nil {
			return err
		}
		out, err = publicObject(o)
		return err
	})
	return out, err
}

// deletedObject finds a soft-deleted object and authorizes the action the
// pick function names for its kind. Unknown and live ids are both NotFound.
func (s *Service) deletedObject(ctx context.Context, r store.Reader, c *iam.Caller, id string, pick func(iam.Kind) string) (store.Object, error) {
	if err := s.mayOnSomeKind(ctx, c, iam.DirectoryKinds, pick); err != nil {
		return store.Object{}, err
	}
	o, err := r.Get(c.TenantID, "", id)
	if errs.Is(err, errs.NotFound) || (err == nil && !o.Deleted()) {
		return o, notFound(id)
	} else if err != nil {
		return o, err
	}
	if err := s.authorize(ctx, c, pick(o.Kind), o.Kind, o.ID); err != nil {
		return o, err
	}
	return o, nil
}

// Restore brings a soft-deleted object back with its id and memberships.
// It fails if a live object now holds the same unique key.
func (s *Service) Restore(ctx context.Context, c *iam.Caller, id string) (Object, error) {
	var out Object
	err := s.store.Write(ctx, func(w store.Writer) error {
		o, err := s.deletedObject(ctx, w, c, id, func(k iam.Kind) string { return deletedActions[k].restore })
		if err != nil {
			return err
		}
		if o.Kind == iam.KindGroup {
			if g, err := decode[iam.Group](o); err == nil && g.IsRoleAssignable() {
				if err := s.authorize(ctx, c, authz.RAGroupsRestore, o.Kind, o.ID); err != nil {
					return err
				}
			}
		}
		deletedAt := o.DeletedAt
		if o, err = s.restoreObject(w, c, o); err != nil {
			return err
		}
		// Restoring an application restores the service principal deleted with it.
		if o.Kind == iam.KindApplication {
			if err := s.restoreAppSP(w, c, o, deletedAt); err != nil {
				return err
			}
		}
		out, err = publicObject(o)
		return err
	})
	return out, err
}

func (s *Service) restoreObject(w store.Writer, c *iam.Caller, o store.Object) (store.Object, error) {
	now := s.clock()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(o.Data, &doc); err != nil {
		return o, errInternal(err, "decode object")
	}
	doc["deletedDateTime"] = json.RawMessage("null")
	data, err := json.Marshal(doc)
	if err != nil {
		return o, errInternal(err, "encode object")
	}
	o.Data, o.DeletedAt = data, time.Time{}
	if err := w.Update(o); errs.Is(err, errs.Conflict) {
		return o, badRequest("The object cannot be restored because another object with the same value for a unique property already exists.")
	} else if err != nil {
		return o, err
	}
	return o, record(w, c, now, audit.Entry{Category: categoryOf(o.Kind), Activity: "Restore " + activityNoun(o.Kind), OperationType: "Update",
		Targets: []iam.TargetResource{target(o)}})
}

// Purge permanently deletes a soft-deleted object and its links.
func (s *Service) Purge(ctx context.Context, c *iam.Caller, id string) error {
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := s.deletedObject(ctx, w, c, id, func(k iam.Kind) string { return deletedActions[k].purge })
		if err != nil {
			return err
		}
		// Purging a role-assignable group is deleting it for good: it needs
		// what deleting it needs (CONTRACT D.2), or a caller refused the
		// delete could still destroy the group an admin may restore.
		if o.Kind == iam.KindGroup {
			if g, err := decode[iam.Group](o); err == nil && g.IsRoleAssignable() {
				if err := s.authorize(ctx, c, authz.RAGroupsDelete, o.Kind, o.ID); err != nil {
					return err
				}
			}
		}
		return s.purge(w, c, o)
	})
}

func (s *Service) purge(w store.Writer, c *iam.Caller, o store.Object) error {
	if err := w.Delete(o.TenantID, o.Kind, o.ID); err != nil {
		return err
	}
	return record(w, c, s.clock(), audit.Entry{Category: categoryOf(o.Kind), Activity: "Hard delete " + activityNoun(o.Kind), OperationType: "Delete",
		Targets: []iam.TargetResource{target(o)}})
}

// PurgeExpired permanently deletes objects soft-deleted more than the
// retention period ago, in every tenant. The jobs runner calls it under a
// cluster lock; it returns how many objects it removed.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	cutoff := s.clock().AddDate(0, 0, -iam.DeletedRetentionDays)
	n := 0
	after := ""
	for {
		var tenants []iam.Tenant
		if err := s.store.Read(ctx, func(r store.Reader) (err error) {
			tenants, err = r.Tenants(after, 200)
			return err
		}); err != nil {
			return n, err
		}
		if len(tenants) == 0 {
			return n, nil
		}
		for _, t := range tenants {
			for _, kind := range iam.DirectoryKinds {
				m, err := s.purgeKind(ctx, t.ID, kind, cutoff)
				n += m
				if err != nil {
					return n, err
				}
			}
		}
		after = tenants[len(tenants)-1].ID
	}
}

func (s *Service) purgeKind(ctx context.Context, tenantID string, kind iam.Kind, cutoff time.Time) (int, error) {
	n := 0
	c := iam.System(tenantID)
	filter := query.Cmp{Field: query.Field{Path: "deletedDateTime", Type: query.Time}, Op: query.Lt, Value: query.Value{Type: query.Time, Time: cutoff}}
	for {
		var batch []store.Object
		err := s.store.Read(ctx, func(r store.Reader) error {
			p, err := r.List(tenantID, kind, store.DeletedOnly, query.List{Filter: filter, Top: 100})
			batch = p.Items
			return err
		})
		if err != nil || len(batch) == 0 {
			return n, err
		}
		err = s.store.Write(ctx, func(w store.Writer) error {
			for _, o := range batch {
				if err := s.purge(w, c, o); err != nil && !errs.Is(err, errs.NotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(batch)
	}
}

// objectsPage renders a page of stored objects as reads return them
// (certificate bodies stripped; see publicObject).
func objectsPage(p store.Page) (Page[Object], error) { return publicObjects(p) }

func target(o store.Object) iam.TargetResource {
	name := o.DisplayName
	upn := ""
	if o.Kind == iam.KindUser {
		upn = o.Key
	}
	return audit.Target(o.Kind, o.ID, &name, upn)
}

func categoryOf(k iam.Kind) string {
	switch k {
	case iam.KindUser:
		return audit.UserManagement
	case iam.KindGroup:
		return audit.GroupManagement
	case iam.KindApplication, iam.KindServicePrincipal:
		return audit.ApplicationManagement
	default:
		return audit.DirectoryManagement
	}
}

func activityNoun(k iam.Kind) string {
	switch k {
	case iam.KindServicePrincipal:
		return "service principal"
	case iam.KindAdministrativeUnit:
		return "administrative unit"
	default:
		return string(k)
	}
}
