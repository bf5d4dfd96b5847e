package authn

import (
	"context"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// LogSignIn writes a sign-in log record in a transaction of its own, so a
// failed request, whose own work rolled back, still leaves its record.
func (s *Service) LogSignIn(ctx context.Context, tenantID string, rec iam.SignIn) error {
	return s.st.Write(ctx, func(w store.Writer) error {
		return audit.RecordSignIn(w, tenantID, rec)
	})
}
