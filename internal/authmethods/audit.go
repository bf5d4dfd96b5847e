package authmethods

import (
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// methodNames are the method names audit records use.
var methodNames = map[Type]string{
	TypePassword:     "Password",
	TypeSoftwareOath: "Authenticator app (TOTP)",
	TypeFido2:        "Passkey",
	TypeTAP:          "Temporary Access Pass",
}

// recordChange writes the audit record of a registration ("Add") or a
// removal ("Delete") of a method, with Entra's activity names: "Admin
// registered security info" when someone else acted on the user, "User
// registered security info" when the user did.
func recordChange(w store.Writer, c *iam.Caller, now time.Time, u userFacts, op string, t Type, methodID string) error {
	who := "Admin"
	if c.Type == iam.CallerUser && c.ObjectID == u.ID {
		who = "User"
	}
	verb := "registered"
	if op == "Delete" {
		verb = "deleted"
	}
	return audit.Record(w, c, now, audit.Entry{
		Category:      audit.UserManagement,
		Activity:      who + " " + verb + " security info",
		OperationType: op,
		Targets:       []iam.TargetResource{audit.Target(iam.KindUser, u.ID, u.DisplayName, u.UserPrincipalName)},
		Details: []iam.KeyValue{
			{Key: "AuthenticationMethod", Value: methodNames[t]},
			{Key: "AuthenticationMethodId", Value: methodID},
		},
	})
}
