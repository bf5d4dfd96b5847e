package app_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// signInRecord is the part of a signIn the tests read.
type signInRecord struct {
	ID                        string    `json:"id"`
	CreatedDateTime           time.Time `json:"createdDateTime"`
	UserID                    string    `json:"userId"`
	UserPrincipalName         *string   `json:"userPrincipalName"`
	AppID                     string    `json:"appId"`
	IPAddress                 string    `json:"ipAddress"`
	ResourceDisplayName       *string   `json:"resourceDisplayName"`
	IsInteractive             bool      `json:"isInteractive"`
	AuthenticationRequirement string    `json:"authenticationRequirement"`
	Status                    struct {
		ErrorCode         int     `json:"errorCode"`
		FailureReason     *string `json:"failureReason"`
		AdditionalDetails *string `json:"additionalDetails"`
	} `json:"status"`
}

// listSignIns reads GET /auditLogs/signIns with filter (may be "") and
// checks the records come newest first.
func listSignIns(t testing.TB, srv *apptest.Server, tok, filter string) []signInRecord {
	t.Helper()
	p := "/v1.0/auditLogs/signIns?$top=999"
	if filter != "" {
		p += "&$filter=" + url.QueryEscape(filter)
	}
	r := call(t, srv, "GET", p, tok, nil, 200)
	var out struct {
		Value []signInRecord `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(out.Value); i++ {
		if out.Value[i].CreatedDateTime.After(out.Value[i-1].CreatedDateTime) {
			t.Errorf("%s: not newest first at %d", filter, i)
		}
	}
	return out.Value
}

// TestSignInLogClientCredentials: every client-credentials request whose
// tenant is known leaves a sign-in record, failures with their AADSTS
// code; the log filters by app, error code and time, and needs
// AuditLog.Read.All.
func TestSignInLogClientCredentials(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	auditor := registerApp(t, srv, tok, "Auditor", "AuditLog.Read.All")
	atok := appToken(t, srv, auditor)
	before := time.Now().UTC().Add(-time.Second).Truncate(time.Second)

	if st, body := tokenRequest(t, srv, srv.Creds.TenantID, auditor.AppID, "wrong-secret"); st != 401 {
		t.Fatalf("wrong secret: %d %v", st, body)
	}
	denied(t, srv.Do(t, "GET", "/v1.0/auditLogs/signIns", tok, nil), "sign-in logs without AuditLog.Read.All")

	all := listSignIns(t, srv, atok, "appId eq '"+auditor.AppID+"'")
	if len(all) < 2 {
		t.Fatalf("want the successful and the failed request, got %+v", all)
	}
	if all[0].Status.ErrorCode != 7000215 || all[0].Status.FailureReason == nil {
		t.Errorf("newest record should be the wrong secret (7000215): %+v", all[0])
	}
	if all[1].Status.ErrorCode != 0 || all[1].ResourceDisplayName == nil || *all[1].ResourceDisplayName != "Microsoft Graph" {
		t.Errorf("older record should be the success for Graph: %+v", all[1])
	}
	for _, rec := range all {
		if rec.AppID != auditor.AppID || rec.IPAddress != "127.0.0.1" || rec.AuthenticationRequirement != "singleFactorAuthentication" {
			t.Errorf("record fields: %+v", rec)
		}
	}
	failed := listSignIns(t, srv, atok, "status/errorCode eq 7000215")
	if len(failed) != 1 || failed[0].ID != all[0].ID {
		t.Errorf("filter on errorCode: %+v", failed)
	}
	since := listSignIns(t, srv, atok, "createdDateTime ge "+before.Format(time.RFC3339)+" and appId eq '"+auditor.AppID+"'")
	if len(since) != len(all) {
		t.Errorf("createdDateTime ge: %d records, want %d", len(since), len(all))
	}
	future := listSignIns(t, srv, atok, "createdDateTime le "+before.Add(-time.Hour).Format(time.RFC3339))
	if len(future) != 0 {
		t.Errorf("createdDateTime le an hour ago: %+v", future)
	}
	one := call(t, srv, "GET", "/v1.0/auditLogs/signIns/"+all[0].ID, atok, nil, 200).JSON(t)
	if one["id"] != all[0].ID {
		t.Errorf("get by id: %v", one)
	}
}
