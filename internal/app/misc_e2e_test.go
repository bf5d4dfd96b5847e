package app_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRequestBodiesAndProbes: gzip request bodies, the 4 MiB cap (plain
// and as a gzip bomb), health, readiness and metrics.
func TestRequestBodiesAndProbes(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain

	body, _ := json.Marshal(newUser("zipped@"+dom, "Zipped"))
	r := call(t, srv, "POST", "/v1.0/users", tok, gzipped(t, body), 201, "Content-Encoding", "gzip")
	if r.JSON(t)["userPrincipalName"] != "zipped@"+dom {
		t.Errorf("gzip create: %s", r.Body)
	}
	badReq(t, srv.Do(t, "POST", "/v1.0/users", tok, body[:20], "Content-Encoding", "gzip"), "not gzip")

	big := newUser("big@"+dom, strings.Repeat("A", 5<<20))
	raw, _ := json.Marshal(big)
	badReq(t, srv.Do(t, "POST", "/v1.0/users", tok, raw), "5 MiB body")
	badReq(t, srv.Do(t, "POST", "/v1.0/users", tok, gzipped(t, raw), "Content-Encoding", "gzip"), "gzip body expanding to 5 MiB")
	bomb := gzipped(t, append([]byte(`{"displayName":"`), bytes.Repeat([]byte("A"), 64<<20)...))
	badReq(t, srv.Do(t, "POST", "/v1.0/groups", tok, bomb, "Content-Encoding", "gzip"), "gzip bomb")
	batch, _ := json.Marshal(map[string]any{"requests": []map[string]any{{"id": "1", "method": "POST", "url": "/users", "body": big}}})
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, batch), "5 MiB batch")
	notFound(t, srv.Do(t, "GET", "/v1.0/users/big@"+dom, tok, nil), "user from an oversized body")
	// The server is still fine.
	call(t, srv, "GET", "/v1.0/users/zipped@"+dom, tok, nil, 200)

	for _, p := range []string{"/healthz", "/readyz"} {
		r := call(t, srv, "GET", p, "", nil, 200)
		if strings.TrimSpace(string(r.Body)) != "ok" {
			t.Errorf("%s: %q", p, r.Body)
		}
	}
	r = call(t, srv, "GET", "/metrics", "", nil, 200)
	for _, want := range []string{
		"ostiary_http_requests_total",
		`ostiary_http_requests_total{method="POST",route="/v1.0/users",status="201"}`,
		`ostiary_http_requests_total{method="GET",route="/v1.0/users/{id}",status="200"}`,
		"ostiary_http_request_duration_seconds",
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Route labels are patterns: no object ids or UPNs leak into metrics.
	if strings.Contains(string(r.Body), "zipped@") || strings.Contains(string(r.Body), srv.Creds.TenantID) {
		t.Errorf("metrics carry raw paths")
	}
}

// TestDirectoryAuditLog reads the audit log with an application granted
// AuditLog.Read.All: who did what to which object, newest first, filtered
// by category and time, and no secret in any record.
func TestDirectoryAuditLog(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // the fake clock runs ahead of the real one by this many seconds
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load()) * time.Second) }
	srv := apptest.NewWith(t, app.Options{Now: now})
	tok := srv.Token(t)
	dom := srv.Creds.Domain

	auditor := registerApp(t, srv, tok, "Auditor", "AuditLog.Read.All", "User.ReadWrite.All")
	atok := appToken(t, srv, auditor)
	skew.Add(2)
	first := createUser(t, srv, tok, "first@"+dom)
	skew.Add(2)
	cut := now().UTC().Truncate(time.Second)
	second := createUser(t, srv, atok, "second@"+dom)
	skew.Add(2)
	call(t, srv, "PATCH", "/v1.0/users/"+second, atok, map[string]any{"passwordProfile": map[string]any{"password": "N3w-Passw0rd-Secret!"}}, 204)

	denied(t, srv.Do(t, "GET", "/v1.0/auditLogs/directoryAudits", tok, nil), "audit logs without AuditLog.Read.All")

	type record struct {
		ID                  string    `json:"id"`
		Category            string    `json:"category"`
		ActivityDisplayName string    `json:"activityDisplayName"`
		ActivityDateTime    time.Time `json:"activityDateTime"`
		Result              string    `json:"result"`
		InitiatedBy         struct {
			App *struct {
				AppID              string `json:"appId"`
				ServicePrincipalID string `json:"servicePrincipalId"`
			} `json:"app"`
		} `json:"initiatedBy"`
		TargetResources []struct {
			ID                string `json:"id"`
			UserPrincipalName string `json:"userPrincipalName"`
		} `json:"targetResources"`
	}
	list := func(filter string) []record {
		t.Helper()
		p := "/v1.0/auditLogs/directoryAudits?$top=999"
		if filter != "" {
			p += "&$filter=" + url.QueryEscape(filter)
		}
		r := call(t, srv, "GET", p, atok, nil, 200)
		var out struct {
			Value []record `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(out.Value); i++ {
			if out.Value[i].ActivityDateTime.After(out.Value[i-1].ActivityDateTime) {
				t.Errorf("%s: not newest first at %d: %v after %v", filter, i, out.Value[i].ActivityDateTime, out.Value[i-1].ActivityDateTime)
			}
		}
		return out.Value
	}
	addUsers := func(recs []record) []record {
		var out []record
		for _, r := range recs {
			if r.ActivityDisplayName == "Add user" {
				out = append(out, r)
			}
		}
		return out
	}

	recs := list("category eq 'UserManagement'")
	for _, r := range recs {
		if r.Category != "UserManagement" {
			t.Errorf("category filter returned %+v", r)
		}
	}
	adds := addUsers(recs)
	if len(adds) != 2 {
		t.Fatalf("Add user records: %+v", adds)
	}
	// Newest first: the auditor's own creation, then the bootstrap app's.
	for i, want := range []struct{ target, appID, spID string }{
		{second, auditor.AppID, auditor.SPID}, {first, srv.Creds.ClientID, ""},
	} {
		r := adds[i]
		if len(r.TargetResources) == 0 || r.TargetResources[0].ID != want.target || r.Result != "success" {
			t.Errorf("Add user record %d: %+v, want target %s", i, r, want.target)
		}
		if r.InitiatedBy.App == nil || r.InitiatedBy.App.AppID != want.appID || (want.spID != "" && r.InitiatedBy.App.ServicePrincipalID != want.spID) {
			t.Errorf("Add user record %d initiatedBy: %+v, want app %s", i, r.InitiatedBy.App, want.appID)
		}
	}
	if recs[0].ActivityDisplayName != "Update user" || recs[0].TargetResources[0].ID != second {
		t.Errorf("newest UserManagement record: %+v", recs[0])
	}

	// Time filters.
	since := list("activityDateTime ge " + cut.Format(time.RFC3339))
	if got := addUsers(since); len(got) != 1 || got[0].TargetResources[0].ID != second {
		t.Errorf("Add user records since %v: %+v", cut, got)
	}
	for _, r := range since {
		if r.ActivityDateTime.Before(cut) {
			t.Errorf("record before %v: %+v", cut, r)
		}
	}
	before := list("activityDateTime lt " + cut.Format(time.RFC3339) + " and category eq 'UserManagement'")
	if got := addUsers(before); len(got) != 1 || got[0].TargetResources[0].ID != first {
		t.Errorf("Add user records before %v: %+v", cut, got)
	}
	if got := list("activityDisplayName eq 'Add user' and initiatedBy/app/appId eq '" + auditor.AppID + "'"); len(got) != 1 || got[0].TargetResources[0].ID != second {
		t.Errorf("records by the auditor: %+v", got)
	}
	// One record by id.
	r := call(t, srv, "GET", "/v1.0/auditLogs/directoryAudits/"+adds[0].ID, atok, nil, 200)
	if r.JSON(t)["id"] != adds[0].ID {
		t.Errorf("audit record by id: %s", r.Body)
	}

	// No password or client secret ever reaches the log.
	all := call(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?$top=999", atok, nil, 200)
	for _, s := range []string{"Str0ng-Passw0rd!", "N3w-Passw0rd-Secret!", auditor.Secret, srv.Creds.ClientSecret, srv.Creds.AdminPassword, "sha256$", "$argon2"} {
		if strings.Contains(string(all.Body), s) {
			t.Errorf("audit log contains %q", s)
		}
	}
}
