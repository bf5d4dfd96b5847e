package app_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
)

// TestROPCLegacyAuthSwitch: the Ostiary extension singleton
// /policies/ostiaryLegacyAuthenticationPolicy allows ROPC by default;
// switched off (Policy.ReadWrite.Authorization, audited) the password
// grant is invalid_grant AADSTS530035 before any password is checked,
// with a sign-in log record carrying that code; switched on again it
// works.
func TestROPCLegacyAuthSwitch(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	const path = "/v1.0/policies/ostiaryLegacyAuthenticationPolicy"
	if st, m := w.ropc(t, userPassword, "User.Read"); st != 200 {
		t.Fatalf("ROPC by default: %d %v", st, m)
	}

	denied(t, call(t, w.srv, "GET", path, w.tok, nil, 403), "read without Policy.Read.All")
	sp := call(t, w.srv, "GET", "/v1.0/servicePrincipals(appId='"+w.srv.Creds.ClientID+"')", w.tok, nil, 200).JSON(t)
	grant(t, w.srv, w.tok, sp["id"].(string), "Policy.Read.All")
	rtok := w.srv.Token(t)
	pol := call(t, w.srv, "GET", path, rtok, nil, 200).JSON(t)
	if pol["id"] != "ostiaryLegacyAuthenticationPolicy" || pol["allowResourceOwnerPasswordCredentials"] != true ||
		!strings.HasSuffix(pol["@odata.context"].(string), "$metadata#policies/ostiaryLegacyAuthenticationPolicy/$entity") {
		t.Errorf("default policy: %v", pol)
	}
	denied(t, call(t, w.srv, "PATCH", path, rtok, map[string]any{"allowResourceOwnerPasswordCredentials": false}, 403), "write with Policy.Read.All")
	grant(t, w.srv, w.tok, sp["id"].(string), "Policy.ReadWrite.Authorization")
	ptok := w.srv.Token(t)
	badReq(t, call(t, w.srv, "PATCH", path, ptok, map[string]any{"allowLegacyEverything": false}, 400), "unknown property")
	badReq(t, call(t, w.srv, "PATCH", path, ptok, map[string]any{"id": "other"}, 400), "id is read-only")
	call(t, w.srv, "PATCH", path, ptok, map[string]any{"allowResourceOwnerPasswordCredentials": false}, 204)
	if pol := call(t, w.srv, "GET", path, ptok, nil, 200).JSON(t); pol["allowResourceOwnerPasswordCredentials"] != false {
		t.Errorf("policy after PATCH: %v", pol)
	}

	st, m := w.ropc(t, userPassword, "User.Read")
	wantAADSTS(t, st, m, 530035, "ROPC switched off")
	if !strings.HasPrefix(m["error_description"].(string), "AADSTS530035") {
		t.Errorf("error_description: %v", m["error_description"])
	}
	// A wrong password is refused the same way: a blocked grant checks no password.
	st, m = w.ropc(t, "wrong-password", "User.Read")
	wantAADSTS(t, st, m, 530035, "ROPC switched off, wrong password")
	logs := listSignIns(t, w.srv, w.tok, "status/errorCode eq 530035")
	if len(logs) != 2 || logs[0].AppID != w.client.AppID || logs[0].UserPrincipalName == nil || *logs[0].UserPrincipalName != w.upn {
		t.Errorf("sign-in records of the blocked grant: %+v", logs)
	}
	// Other user flows are not legacy authentication.
	_, challenge := pkcePair(t)
	if q := w.signIn(t, newBrowser(w.srv), w.authorizeURL(challenge)); q.Get("code") == "" {
		t.Errorf("code flow with ROPC off: %v", q)
	}
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Update legacy authentication policy'"), w.tok, nil, 200).JSON(t)
	if len(audits["value"].([]any)) != 1 {
		t.Errorf("policy audit records: %v", audits)
	}

	call(t, w.srv, "PATCH", path, ptok, map[string]any{"allowResourceOwnerPasswordCredentials": true}, 204)
	if st, m := w.ropc(t, userPassword, "User.Read"); st != 200 {
		t.Errorf("ROPC switched on again: %d %v", st, m)
	}
}
