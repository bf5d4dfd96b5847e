package audit

import (
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// RecordSignIn writes a sign-in log record. Unlike Record it is not meant
// to share a transaction with the work it describes: a failed sign-in
// rolls its own work back and must still leave its record, so the token
// service writes each record in a transaction of its own. A zero id or
// correlation id is filled in. The document shows whole seconds, as every
// stored document does; the indexed time keeps microseconds, so records of
// one second still sort in the order they happened.
func RecordSignIn(w store.Writer, tenantID string, s iam.SignIn) error {
	if s.ID == "" {
		s.ID = iam.NewID()
	}
	if s.CorrelationID == "" {
		s.CorrelationID = iam.NewID()
	}
	if s.AuthenticationRequirement == "" {
		s.AuthenticationRequirement = "singleFactorAuthentication"
	}
	if s.ClientAppUsed == "" {
		s.ClientAppUsed = "Mobile Apps and Desktop clients"
	}
	at := s.CreatedDateTime.UTC()
	s.CreatedDateTime = at.Truncate(time.Second)
	data, err := json.Marshal(s)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode sign-in record")
	}
	name := ""
	if s.UserPrincipalName != nil {
		name = *s.UserPrincipalName
	} else if s.AppDisplayName != nil {
		name = *s.AppDisplayName
	}
	return w.Insert(store.Object{
		TenantID:    tenantID,
		Kind:        iam.KindSignIn,
		ID:          s.ID,
		DisplayName: name,
		CreatedAt:   at,
		Data:        data,
	})
}
