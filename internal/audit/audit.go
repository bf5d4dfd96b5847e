// Package audit writes and reads the directory audit log.
//
// A record is written with the same store.Writer as the change it describes,
// so the change and its record commit together or not at all: nothing is
// ever changed without a trace, and no trace describes a change that did not
// happen.
package audit

import (
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Categories used by the directory.
const (
	UserManagement        = "UserManagement"
	GroupManagement       = "GroupManagement"
	ApplicationManagement = "ApplicationManagement"
	DirectoryManagement   = "DirectoryManagement"
	RoleManagement        = "RoleManagement"
	Policy                = "Policy"
)

// Entry describes one change for Record.
type Entry struct {
	Category string
	Activity string // activityDisplayName, e.g. "Add user"
	// OperationType is Add, Update, Delete, Assign or Unassign.
	OperationType string
	Targets       []iam.TargetResource
	Details       []iam.KeyValue
	Result        string // "success" unless set
	ResultReason  string
}

// Record writes an audit record for a change made by c at now.
func Record(w store.Writer, c *iam.Caller, now time.Time, e Entry) error {
	rec := iam.DirectoryAudit{
		ID:                  iam.NewID(),
		Category:            e.Category,
		CorrelationID:       c.CorrelationID,
		Result:              e.Result,
		ResultReason:        e.ResultReason,
		ActivityDisplayName: e.Activity,
		ActivityDateTime:    now.UTC(),
		LoggedByService:     "Core Directory",
		OperationType:       e.OperationType,
		InitiatedBy:         Initiator(c),
		TargetResources:     e.Targets,
		AdditionalDetails:   e.Details,
	}
	if rec.Result == "" {
		rec.Result = "success"
	}
	if rec.CorrelationID == "" {
		rec.CorrelationID = iam.NewID()
	}
	if rec.TargetResources == nil {
		rec.TargetResources = []iam.TargetResource{}
	}
	if rec.AdditionalDetails == nil {
		rec.AdditionalDetails = []iam.KeyValue{}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode audit record")
	}
	return w.Insert(store.Object{
		TenantID:    c.TenantID,
		Kind:        iam.KindDirectoryAudit,
		ID:          rec.ID,
		DisplayName: e.Activity,
		CreatedAt:   rec.ActivityDateTime,
		Data:        data,
	})
}

// Initiator describes the caller as Graph's initiatedBy.
func Initiator(c *iam.Caller) iam.AuditInitiator {
	var in iam.AuditInitiator
	switch c.Type {
	case iam.CallerUser:
		in.User = &iam.AuditUser{ID: c.ObjectID, DisplayName: opt(c.UserDisplayName), UserPrincipalName: opt(c.UserPrincipalName), IPAddress: opt(c.IPAddress)}
	case iam.CallerApp:
		in.App = &iam.AuditApp{AppID: opt(c.AppID), DisplayName: opt(c.AppDisplayName), ServicePrincipalID: opt(c.ServicePrincipalID), ServicePrincipalName: opt(c.AppDisplayName)}
	default:
		in.App = &iam.AuditApp{DisplayName: opt("Ostiary"), ServicePrincipalName: opt("Ostiary")}
	}
	return in
}

// Target builds a target resource entry.
func Target(kind iam.Kind, id string, displayName *string, upn string, changes ...iam.ModifiedProperty) iam.TargetResource {
	t := iam.TargetResource{ID: id, DisplayName: displayName, Type: typeName(kind), ModifiedProperties: changes}
	if upn != "" {
		t.UserPrincipalName = &upn
	}
	if t.ModifiedProperties == nil {
		t.ModifiedProperties = []iam.ModifiedProperty{}
	}
	return t
}

// Changed records a property change with JSON-encoded old and new values.
func Changed(name string, oldValue, newValue any) iam.ModifiedProperty {
	return iam.ModifiedProperty{DisplayName: name, OldValue: jsonText(oldValue), NewValue: jsonText(newValue)}
}

func jsonText(v any) *string {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	s := string(b)
	return &s
}

func typeName(k iam.Kind) string {
	switch k {
	case iam.KindUser:
		return "User"
	case iam.KindGroup:
		return "Group"
	case iam.KindApplication:
		return "Application"
	case iam.KindServicePrincipal:
		return "ServicePrincipal"
	case iam.KindAdministrativeUnit:
		return "AdministrativeUnit"
	case iam.KindDomain:
		return "Domain"
	default:
		return "Other"
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
