package app_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// graphAppID is Microsoft Graph's appId.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// call sends a request and fails the test unless the status is want.
func call(t testing.TB, srv *apptest.Server, method, path, tok string, body any, want int, headers ...string) apptest.Response {
	t.Helper()
	r := srv.Do(t, method, path, tok, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: got %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// denied asserts Graph's 403 Authorization_RequestDenied.
func denied(t testing.TB, r apptest.Response, what string) {
	t.Helper()
	if r.Status != 403 || r.ErrorCode() != "Authorization_RequestDenied" {
		t.Errorf("%s: got %d %s, want 403 Authorization_RequestDenied", what, r.Status, r.Body)
	}
}

// notFound asserts Graph's 404 Request_ResourceNotFound.
func notFound(t testing.TB, r apptest.Response, what string) {
	t.Helper()
	if r.Status != 404 || r.ErrorCode() != "Request_ResourceNotFound" {
		t.Errorf("%s: got %d %s, want 404 Request_ResourceNotFound", what, r.Status, r.Body)
	}
}

// badReq asserts a 400 with Graph's error envelope.
func badReq(t testing.TB, r apptest.Response, what string) {
	t.Helper()
	if r.Status != 400 || r.ErrorCode() == "" {
		t.Errorf("%s: got %d %s, want 400", what, r.Status, r.Body)
	}
}

func idOf(t testing.TB, r apptest.Response) string {
	t.Helper()
	id, _ := r.JSON(t)["id"].(string)
	if id == "" {
		t.Fatalf("no id in %s", r.Body)
	}
	return id
}

// valueIDs returns the ids of a collection response ("value" of objects)
// or of a Collection(Edm.String) response.
func valueIDs(t testing.TB, r apptest.Response) []string {
	t.Helper()
	vals, ok := r.JSON(t)["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %s", r.Body)
	}
	out := []string{}
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			id, _ := x["id"].(string)
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func createUser(t testing.TB, srv *apptest.Server, tok, upn string) string {
	t.Helper()
	return idOf(t, call(t, srv, "POST", "/v1.0/users", tok, newUser(upn, "User "+strings.Split(upn, "@")[0]), 201))
}

func groupBody(name string, extra map[string]any) map[string]any {
	b := map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func createGroup(t testing.TB, srv *apptest.Server, tok, name string, extra map[string]any) string {
	t.Helper()
	return idOf(t, call(t, srv, "POST", "/v1.0/groups", tok, groupBody(name, extra), 201))
}

func ref(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

// clientApp is an application registered through Graph, with its service
// principal and one client secret.
type clientApp struct {
	ID, AppID, SPID, Secret, KeyID string
}

// registerApp registers an application through Graph (POST /applications,
// POST /servicePrincipals, addPassword) and grants it the Graph
// application permissions perms through appRoleAssignedTo.
func registerApp(t testing.TB, srv *apptest.Server, tok, name string, perms ...string) clientApp {
	t.Helper()
	r := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": name}, 201)
	a := clientApp{ID: idOf(t, r)}
	a.AppID, _ = r.JSON(t)["appId"].(string)
	a.SPID = idOf(t, call(t, srv, "POST", "/v1.0/servicePrincipals", tok, map[string]any{"appId": a.AppID}, 201))
	pw := call(t, srv, "POST", "/v1.0/applications/"+a.ID+"/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "test"}}, 200).JSON(t)
	a.Secret, _ = pw["secretText"].(string)
	a.KeyID, _ = pw["keyId"].(string)
	if a.Secret == "" || a.KeyID == "" {
		t.Fatalf("addPassword: %v", pw)
	}
	grant(t, srv, tok, a.SPID, perms...)
	return a
}

// graphSP returns the object id of the tenant's Microsoft Graph service
// principal and its app role ids by value.
func graphSP(t testing.TB, srv *apptest.Server, tok string) (string, map[string]string) {
	t.Helper()
	m := call(t, srv, "GET", "/v1.0/servicePrincipals(appId='"+graphAppID+"')", tok, nil, 200).JSON(t)
	roles := map[string]string{}
	for _, r := range m["appRoles"].([]any) {
		role := r.(map[string]any)
		if v, ok := role["value"].(string); ok {
			roles[v] = role["id"].(string)
		}
	}
	return m["id"].(string), roles
}

// grant assigns Graph application permissions to a service principal and
// returns the assignment ids.
func grant(t testing.TB, srv *apptest.Server, tok, spID string, perms ...string) []string {
	t.Helper()
	if len(perms) == 0 {
		return nil
	}
	gid, roles := graphSP(t, srv, tok)
	var out []string
	for _, p := range perms {
		rid, ok := roles[p]
		if !ok {
			t.Fatalf("Graph has no app role %s", p)
		}
		r := call(t, srv, "POST", "/v1.0/servicePrincipals/"+gid+"/appRoleAssignedTo", tok,
			map[string]any{"principalId": spID, "resourceId": gid, "appRoleId": rid}, 201)
		out = append(out, idOf(t, r))
	}
	return out
}

// appToken gets a Graph token for a in the server's first tenant.
func appToken(t testing.TB, srv *apptest.Server, a clientApp) string {
	t.Helper()
	return srv.TokenFor(t, srv.Creds.TenantID, a.AppID, a.Secret, "https://graph.microsoft.com/.default")
}

// tokenRequest runs the client-credentials grant at tenant's token
// endpoint without failing, returning the status and the decoded body.
func tokenRequest(t testing.TB, srv *apptest.Server, tenant, clientID, secret string, extra ...string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			form.Del(extra[i])
		} else {
			form.Set(extra[i], extra[i+1])
		}
	}
	resp, err := srv.Client.PostForm(srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func rolesOf(t testing.TB, tok string) []string {
	t.Helper()
	var out []string
	if rs, ok := claimsOf(t, tok)["roles"].([]any); ok {
		for _, r := range rs {
			out = append(out, r.(string))
		}
	}
	slices.Sort(out)
	return out
}
