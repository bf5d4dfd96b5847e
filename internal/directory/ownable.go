package directory

import (
	"context"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Applications and service principals are read the same way: by object id
// or the alternate key "appId=<guid>", allowed by the read action or, for
// ".OwnedBy" callers, only on what they own, and returned through public
// (which strips credential material).

// readOwnable returns one live application or service principal.
func readOwnable[T any](s *Service, ctx context.Context, c *iam.Caller, action string, kind iam.Kind, key string, public func(T) T) (T, error) {
	var out T
	if err := s.preauthorize(ctx, c, action, kind, key); err != nil {
		return out, err
	}
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := keyedObject(r, c.TenantID, kind, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, r, c, action, o); err != nil {
			return err
		}
		out, err = decode[T](o)
		return err
	})
	return public(out), err
}

// listOwnable lists live applications or service principals; a caller that
// may read only what it owns sees only those.
func listOwnable[T any](s *Service, ctx context.Context, c *iam.Caller, action string, kind iam.Kind, q query.List, public func(T) T) (Page[T], error) {
	ownedOnly, err := s.listScope(ctx, c, action, kind)
	if err != nil {
		return Page[T]{}, err
	}
	var out Page[T]
	err = s.store.Read(ctx, func(r store.Reader) error {
		var p store.Page
		if ownedOnly {
			p, err = r.ListLinked(c.TenantID, iam.RelOwner, store.Sources, callerObjectID(c), []iam.Kind{kind}, q)
		} else {
			p, err = r.List(c.TenantID, kind, store.Live, q)
		}
		if err != nil {
			return err
		}
		out, err = decodePage[T](p)
		return err
	})
	for i := range out.Items {
		out.Items[i] = public(out.Items[i])
	}
	return out, err
}
