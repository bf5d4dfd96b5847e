package directory

import (
	"context"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// ListDirectoryAudits lists the tenant's audit records, newest first unless
// the query sorts otherwise.
func (s *Service) ListDirectoryAudits(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.DirectoryAudit], error) {
	if err := s.authorize(ctx, c, authz.AuditLogsRead, iam.KindDirectoryAudit, ""); err != nil {
		return Page[iam.DirectoryAudit]{}, err
	}
	if q.Sort == nil {
		q.Sort = &query.Sort{Field: query.Field{Path: "activityDateTime", Type: query.Time}, Desc: true}
	}
	var out Page[iam.DirectoryAudit]
	err := s.store.Read(ctx, func(r store.Reader) error {
		p, err := r.List(c.TenantID, iam.KindDirectoryAudit, store.Live, q)
		if err != nil {
			return err
		}
		out, err = decodePage[iam.DirectoryAudit](p)
		return err
	})
	return out, err
}

// GetDirectoryAudit returns one audit record.
func (s *Service) GetDirectoryAudit(ctx context.Context, c *iam.Caller, id string) (iam.DirectoryAudit, error) {
	if err := s.authorize(ctx, c, authz.AuditLogsRead, iam.KindDirectoryAudit, id); err != nil {
		return iam.DirectoryAudit{}, err
	}
	var out iam.DirectoryAudit
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := get(r, c.TenantID, iam.KindDirectoryAudit, id)
		if err != nil {
			return err
		}
		out, err = decode[iam.DirectoryAudit](o)
		return err
	})
	return out, err
}
