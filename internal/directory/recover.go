package directory

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// RecoverAdmin is the offline break-glass path (`ostiary admin recover`):
// it gives the tenant a usable Global Administrator credential when every
// admin is locked out. It re-enables and resets the password of the first
// live Global Administrator, or creates a new one if none is left. It runs
// on the server's own store, never over the network, and is audited.
func (s *Service) RecoverAdmin(ctx context.Context, tenantID string) (upn, password string, err error) {
	if password, err = passwords.Generate(); err != nil {
		return "", "", err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return "", "", err
	}
	now := s.clock()
	c := iam.System(tenantID)
	err = s.store.Write(ctx, func(w store.Writer) error {
		t, err := w.Tenant(tenantID)
		if err != nil {
			return err
		}
		p, err := w.List(tenantID, iam.KindRoleAssignment, store.Live, query.List{Top: query.MaxTop, Filter: query.Cmp{
			Field: query.Field{Path: "roleDefinitionId", Type: query.GUID}, Op: query.Eq,
			Value: query.Value{Type: query.GUID, Str: iam.GlobalAdministratorRoleID}}})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			ra, err := decode[iam.RoleAssignment](o)
			if err != nil {
				return err
			}
			u, err := w.Get(tenantID, iam.KindUser, ra.PrincipalID)
			if errs.Is(err, errs.NotFound) || (err == nil && u.Deleted()) {
				continue
			} else if err != nil {
				return err
			}
			user, err := decode[iam.User](u)
			if err != nil {
				return err
			}
			user.AccountEnabled = boolp(true)
			user.LastPasswordChangeDateTime, user.SignInSessionsValidFromDateTime = &now, &now
			if u.Data, err = encode(user); err != nil {
				return err
			}
			u.Secret, _ = json.Marshal(userSecret{Password: hash})
			if err := w.Update(u); err != nil {
				return err
			}
			upn = user.UserPrincipalName
			return record(w, c, now, audit.Entry{Category: audit.UserManagement, Activity: "Recover administrator", OperationType: "Update",
				Targets: []iam.TargetResource{target(u)}})
		}
		// No Global Administrator is left: create one.
		b := &bootstrap{s: s, w: w, t: t, now: now}
		upn = "recovery-" + strings.ReplaceAll(iam.NewID(), "-", "")[:8] + "@" + t.InitialDomain
		id, err := b.admin(upn, hash)
		if err != nil {
			return err
		}
		if err := b.globalAdmin(id); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.UserManagement, Activity: "Recover administrator", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindUser, id, str("Administrator"), upn)}})
	})
	return upn, password, err
}
