package authmethods

import (
	"context"
	"strings"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// List returns the user's methods of type t ("" for every type), as
// /users/{id}/authentication/methods and the typed collections show
// them: the password first, then the others oldest first.
func (s *Service) List(ctx context.Context, c *iam.Caller, userID string, t Type) ([]Method, error) {
	if err := s.authorizeRead(ctx, c, userID); err != nil {
		return nil, err
	}
	now := s.now()
	out := []Method{}
	err := s.st.Read(ctx, func(r store.Reader) error {
		out = out[:0]
		u, err := liveUser(r, c.TenantID, userID)
		if err != nil {
			return err
		}
		if (t == "" || t == TypePassword) && hasPassword(u) {
			out = append(out, passwordMethod(u.ID))
		}
		if t == TypePassword {
			return nil
		}
		ms, err := userMethods(r, c.TenantID, u.ID, t)
		if err != nil {
			return err
		}
		for _, m := range ms {
			mm, err := m.rec.method(now)
			if err != nil {
				return err
			}
			out = append(out, mm)
		}
		return nil
	})
	return out, err
}

// Get returns one method of the user; t "" accepts any type.
func (s *Service) Get(ctx context.Context, c *iam.Caller, userID string, t Type, id string) (Method, error) {
	ms, err := s.List(ctx, c, userID, t)
	if err != nil {
		return Method{}, err
	}
	for _, m := range ms {
		if strings.EqualFold(m.ID, id) {
			return m, nil
		}
	}
	return Method{}, methodNotFound(id)
}

// Delete removes one method of the user (t "" accepts any type but the
// password, which Graph cannot delete).
func (s *Service) Delete(ctx context.Context, c *iam.Caller, userID string, t Type, id string) error {
	if t == TypePassword || strings.EqualFold(id, PasswordMethodID) {
		return errs.E(errs.Invalid, "The password authentication method cannot be deleted.").WithCode("badRequest")
	}
	if err := s.authorize(ctx, c, authz.AuthMethodsDelete, userID); err != nil {
		return err
	}
	return s.st.Write(ctx, func(w store.Writer) error {
		u, err := liveUser(w, c.TenantID, userID)
		if err != nil {
			return err
		}
		ms, err := userMethods(w, c.TenantID, u.ID, t)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if !strings.EqualFold(m.rec.ID, id) {
				continue
			}
			if err := w.Delete(c.TenantID, iam.KindAuthenticationMethod, m.obj.ID); err != nil {
				return err
			}
			f, err := factsOf(u)
			if err != nil {
				return err
			}
			return recordChange(w, c, s.now(), f, "Delete", m.rec.typ(), m.rec.ID)
		}
		return methodNotFound(id)
	})
}
