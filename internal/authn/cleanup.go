package authn

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Cleanup of the token service's short-lived records, which nothing else
// deletes: expired refresh tokens (with their family once its current
// token expires), authorization codes, browser sessions and client
// assertion jti records, and sign-in log records older than the
// retention. Each batch is one transaction; a record is deleted only once
// its own document says it expired, so the coarse filter (JSON times
// compare as text at whole seconds) can never remove a live one.

// CleanupReport counts what one cleanup removed.
type CleanupReport struct {
	RefreshTokens, RefreshTokenFamilies, AuthCodes, SignInSessions, Assertions, SignIns int
}

// Total is the number of records removed.
func (r CleanupReport) Total() int {
	return r.RefreshTokens + r.RefreshTokenFamilies + r.AuthCodes + r.SignInSessions + r.Assertions + r.SignIns
}

const cleanupBatch = 500

var (
	expiresField = query.Field{Path: "expiresDateTime", Type: query.Time}
	createdField = query.Field{Path: "createdDateTime", Type: query.Time}
)

// PurgeExpired removes, in every tenant, what expired before now and the
// sign-in log records older than signInRetention (none when it is not
// positive). Callers run it under a cluster lock, once an hour.
func (s *Service) PurgeExpired(ctx context.Context, now time.Time, signInRetention time.Duration) (CleanupReport, error) {
	var rep CleanupReport
	after := ""
	for {
		var ts []iam.Tenant
		err := s.st.Read(ctx, func(r store.Reader) error {
			var err error
			ts, err = r.Tenants(after, 100)
			return err
		})
		if err != nil {
			return rep, err
		}
		for _, t := range ts {
			if err := s.purgeTenant(ctx, t.ID, now, signInRetention, &rep); err != nil {
				return rep, err
			}
			after = t.ID
		}
		if len(ts) < 100 {
			return rep, nil
		}
	}
}

func (s *Service) purgeTenant(ctx context.Context, tenantID string, now time.Time, retention time.Duration, rep *CleanupReport) error {
	// A second of margin: a document time with a fraction sorts before
	// the whole second it falls in.
	cut := query.Cmp{Field: expiresField, Op: query.Lt, Value: query.Value{Type: query.Time, Time: now.Add(-time.Second)}}
	expired := func(o store.Object) bool {
		var d struct {
			ExpiresAt time.Time `json:"expiresDateTime"`
		}
		return json.Unmarshal(o.Data, &d) == nil && !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt)
	}
	var families int // of the current attempt of a batch (a write may be retried)
	n, fams, err := s.purgeKind(ctx, tenantID, iam.KindRefreshToken, cut, &families, func(w store.Writer, o store.Object) (bool, error) {
		if !expired(o) {
			return false, nil
		}
		if err := deleteIfPresent(w, tenantID, iam.KindRefreshToken, o.ID); err != nil {
			return false, err
		}
		// The family goes with its current token: that token is the
		// newest of the chain, so nothing of the family can be used.
		var d refreshDoc
		if err := json.Unmarshal(o.Data, &d); err != nil || d.FamilyID == "" {
			return true, nil
		}
		f, err := w.Get(tenantID, iam.KindRefreshTokenFamily, d.FamilyID)
		if errs.Is(err, errs.NotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		var fam familyDoc
		if json.Unmarshal(f.Data, &fam) == nil && fam.Current == o.ID {
			if err := deleteIfPresent(w, tenantID, iam.KindRefreshTokenFamily, f.ID); err != nil {
				return false, err
			}
			families++
		}
		return true, nil
	})
	rep.RefreshTokens += n
	rep.RefreshTokenFamilies += fams
	if err != nil {
		return err
	}
	simple := func(kind iam.Kind) (int, error) {
		n, _, err := s.purgeKind(ctx, tenantID, kind, cut, nil, func(w store.Writer, o store.Object) (bool, error) {
			if !expired(o) {
				return false, nil
			}
			return true, deleteIfPresent(w, tenantID, kind, o.ID)
		})
		return n, err
	}
	if n, err = simple(iam.KindAuthCode); err != nil {
		return err
	}
	rep.AuthCodes += n
	if n, err = simple(iam.KindSignInSession); err != nil {
		return err
	}
	rep.SignInSessions += n
	for {
		n, err := s.PurgeExpiredAssertions(ctx, tenantID, now)
		rep.Assertions += n
		if err != nil {
			return err
		}
		if n < jtiPurgeBatch {
			break
		}
	}
	if retention > 0 {
		old := query.Cmp{Field: createdField, Op: query.Lt, Value: query.Value{Type: query.Time, Time: now.Add(-retention)}}
		n, _, err = s.purgeKind(ctx, tenantID, iam.KindSignIn, old, nil, func(w store.Writer, o store.Object) (bool, error) {
			return true, deleteIfPresent(w, tenantID, iam.KindSignIn, o.ID)
		})
		rep.SignIns += n
		if err != nil {
			return err
		}
	}
	return nil
}

// purgeKind deletes, batch by batch, the objects of kind matching filter
// that del agrees to delete, and returns how many it deleted. extra, when
// not nil, is a counter del keeps of other deletions; it is reset before
// each attempt of a batch and summed into the second result.
func (s *Service) purgeKind(ctx context.Context, tenantID string, kind iam.Kind, filter query.Expr, extra *int, del func(store.Writer, store.Object) (bool, error)) (int, int, error) {
	total, extras := 0, 0
	var scratch int
	if extra == nil {
		extra = &scratch
	}
	for {
		listed, deleted := 0, 0
		err := s.st.Write(ctx, func(w store.Writer) error {
			listed, deleted, *extra = 0, 0, 0
			p, err := w.List(tenantID, kind, store.Live, query.List{Filter: filter, Top: cleanupBatch})
			if err != nil {
				return err
			}
			listed = len(p.Items)
			for _, o := range p.Items {
				ok, err := del(w, o)
				if err != nil {
					return err
				}
				if ok {
					deleted++
				}
			}
			return nil
		})
		if err != nil {
			return total, extras, err
		}
		total += deleted
		extras += *extra
		if listed < cleanupBatch || deleted == 0 {
			return total, extras, nil
		}
	}
}

func deleteIfPresent(w store.Writer, tenantID string, kind iam.Kind, id string) error {
	if err := w.Delete(tenantID, kind, id); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	return nil
}
