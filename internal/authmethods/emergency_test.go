package authmethods_test

import (
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// TestEmergencyAccessPolicy: only accounts with a passkey can be listed,
// the policy needs Policy.ReadWrite.Authorization to change and
// Policy.Read.All to read, and the change is audited.
func TestEmergencyAccessPolicy(t *testing.T) {
	e := newEnv(t)
	breakGlass := e.user("breakglass")
	plain := e.user("plain")
	e.register(newAuthenticator(t), breakGlass, "YubiKey")

	writer := e.app("Policy.ReadWrite.Authorization")
	reader := e.app("Policy.Read.All")
	p, err := e.svc.GetEmergencyAccessPolicy(e.ctx, reader)
	if err != nil || len(p.AccountIDs) != 0 || p.ID != iam.EmergencyAccessPolicyID {
		t.Fatalf("default policy: %+v %v", p, err)
	}
	if err := e.svc.UpdateEmergencyAccessPolicy(e.ctx, reader, []byte(`{"accountIds":["`+breakGlass+`"]}`)); errs.KindOf(err) != errs.Denied {
		t.Fatalf("write with Policy.Read.All: %v", err)
	}
	err = e.svc.UpdateEmergencyAccessPolicy(e.ctx, writer, []byte(`{"accountIds":["`+breakGlass+`","`+plain+`"]}`))
	if errs.KindOf(err) != errs.Invalid || errs.As(err).Message == "" {
		t.Fatalf("an account without a passkey: %v", err)
	}
	if err := e.svc.UpdateEmergencyAccessPolicy(e.ctx, writer, []byte(`{"displayName":"x"}`)); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("read-only property: %v", err)
	}
	must(t, e.svc.UpdateEmergencyAccessPolicy(e.ctx, writer, []byte(`{"accountIds":["`+breakGlass+`"]}`)))
	p, err = e.svc.GetEmergencyAccessPolicy(e.ctx, reader)
	if err != nil || len(p.AccountIDs) != 1 || p.AccountIDs[0] != breakGlass {
		t.Fatalf("policy after the change: %+v %v", p, err)
	}
	if _, err := e.svc.GetEmergencyAccessPolicy(e.ctx, e.app()); errs.KindOf(err) != errs.Denied {
		t.Fatalf("read without a permission: %v", err)
	}
}
