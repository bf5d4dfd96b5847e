package app_test

import (
	"net/url"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
)

const securityDefaultsPath = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"

// TestSecurityDefaultsPolicy: the policy reads as Graph shapes it, is on
// for a tenant bootstrapped with it and off where the bootstrap said so,
// changes only with Policy.ReadWrite.SecurityDefaults (audited), and while
// on blocks the password grant (legacy authentication) with AADSTS530035.
func TestSecurityDefaultsPolicy(t *testing.T) {
	t.Parallel()
	on := apptest.New(t, apptest.SecurityDefaults())
	sp := call(t, on, "GET", "/v1.0/servicePrincipals(appId='"+on.Creds.ClientID+"')", on.Token(t), nil, 200).JSON(t)
	grant(t, on, on.Token(t), sp["id"].(string), "Policy.Read.All")
	p := call(t, on, "GET", securityDefaultsPath, on.Token(t), nil, 200).JSON(t)
	if p["id"] != "00000000-0000-0000-0000-000000000005" || p["isEnabled"] != true || p["displayName"] != "Security Defaults" {
		t.Fatalf("policy of a new tenant: %v", p)
	}

	w := newUserWorld(t, app.Options{})
	tok := w.tok
	spID := call(t, w.srv, "GET", "/v1.0/servicePrincipals(appId='"+w.srv.Creds.ClientID+"')", tok, nil, 200).JSON(t)["id"].(string)
	denied(t, call(t, w.srv, "GET", securityDefaultsPath, tok, nil, 403), "read without Policy.Read.All")
	grant(t, w.srv, tok, spID, "Policy.Read.All")
	rtok := w.srv.Token(t)
	if p := call(t, w.srv, "GET", securityDefaultsPath, rtok, nil, 200).JSON(t); p["isEnabled"] != false {
		t.Fatalf("bootstrapped off: %v", p)
	}
	denied(t, call(t, w.srv, "PATCH", securityDefaultsPath, rtok, map[string]any{"isEnabled": true}, 403), "write with Policy.Read.All")
	grant(t, w.srv, tok, spID, "Policy.ReadWrite.SecurityDefaults")
	wtok := w.srv.Token(t)
	badReq(t, call(t, w.srv, "PATCH", securityDefaultsPath, wtok, map[string]any{"id": "x"}, 400), "id is read-only")
	if st, m := w.ropc(t, userPassword, "User.Read"); st != 200 {
		t.Fatalf("ROPC with security defaults off: %d %v", st, m)
	}
	call(t, w.srv, "PATCH", securityDefaultsPath, wtok, map[string]any{"isEnabled": true}, 204)
	if p := call(t, w.srv, "GET", securityDefaultsPath, wtok, nil, 200).JSON(t); p["isEnabled"] != true {
		t.Fatalf("after PATCH: %v", p)
	}
	st, m := w.ropc(t, userPassword, "User.Read")
	wantAADSTS(t, st, m, 530035, "ROPC under security defaults")
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Update policy'"), tok, nil, 200).JSON(t)
	if len(audits["value"].([]any)) != 1 {
		t.Errorf("policy audit records: %v", audits)
	}
	call(t, w.srv, "PATCH", securityDefaultsPath, wtok, map[string]any{"isEnabled": false}, 204)
	if st, m := w.ropc(t, userPassword, "User.Read"); st != 200 {
		t.Fatalf("ROPC after turning security defaults off: %d %v", st, m)
	}
}
