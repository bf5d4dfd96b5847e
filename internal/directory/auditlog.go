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
	if q.Sort == nil {
		q.Sort = &query.Sort{Field: query.Field{Path: "activityDateTime", Type: query.Time}, Desc: true}
	}
	return readPage[iam.DirectoryAudit](s, ctx, c, authz.AuditLogsRead, iam.KindDirectoryAudit, q)
}

// GetDirectoryAudit returns one audit record.
func (s *Service) GetDirectoryAudit(ctx context.Context, c *iam.Caller, id string) (iam.DirectoryAudit, error) {
	return readOne[iam.DirectoryAudit](s, ctx, c, authz.AuditLogsRead, iam.KindDirectoryAudit, id, func(r store.Reader) (store.Object, error) {
		return get(r, c.TenantID, iam.KindDirectoryAudit, id)
	})
}

// ListSignIns lists the tenant's sign-in log, newest first unless the
// query sorts otherwise.
func (s *Service) ListSignIns(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.SignIn], error) {
	if q.Sort == nil {
		q.Sort = &query.Sort{Field: query.Field{Path: "createdDateTime", Type: query.Time}, Desc: true}
	}
	return readPage[iam.SignIn](s, ctx, c, authz.SignInsRead, iam.KindSignIn, q)
}

// GetSignIn returns one sign-in record.
func (s *Service) GetSignIn(ctx context.Context, c *iam.Caller, id string) (iam.SignIn, error) {
	return readOne[iam.SignIn](s, ctx, c, authz.SignInsRead, iam.KindSignIn, id, func(r store.Reader) (store.Object, error) {
		return get(r, c.TenantID, iam.KindSignIn, id)
	})
}
