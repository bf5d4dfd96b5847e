package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// backends runs a test against a server on SQLite and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, srv *apptest.Server)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, apptest.New(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, apptest.New(t, apptest.Postgres(t)))
	})
}

func newUser(upn, name string) map[string]any {
	return map[string]any{
		"accountEnabled": true, "displayName": name, "mailNickname": strings.Split(upn, "@")[0],
		"userPrincipalName": upn,
		"passwordProfile":   map[string]any{"forceChangePasswordNextSignIn": false, "password": "Str0ng-Passw0rd!"},
	}
}

// TestReadmeFlow is the README's curl walk-through: token, create a user,
// list with a filter, page, delete, restore.
func TestReadmeFlow(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		dom := srv.Creds.Domain
		ids := map[string]string{}
		for _, n := range []string{"adele", "alex", "allan", "bianca"} {
			r := srv.Do(t, "POST", "/v1.0/users", tok, newUser(n+"@"+dom, strings.ToUpper(n[:1])+n[1:]+" Vance"))
			if r.Status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", n, r.Status, r.Body)
			}
			m := r.JSON(t)
			if m["@odata.context"] == nil || m["id"] == nil || m["passwordProfile"] != nil && strings.Contains(string(r.Body), "Str0ng") {
				t.Fatalf("create response: %s", r.Body)
			}
			ids[n] = m["id"].(string)
		}

		// Get by id and by UPN; default property set only.
		r := srv.Do(t, "GET", "/v1.0/users/"+ids["adele"], tok, nil)
		if r.Status != 200 {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		if _, ok := m["accountEnabled"]; ok {
			t.Errorf("accountEnabled outside the default set: %s", r.Body)
		}
		if m["userPrincipalName"] != "adele@"+dom {
			t.Errorf("upn = %v", m["userPrincipalName"])
		}
		if r := srv.Do(t, "GET", "/v1.0/users/ADELE@"+dom+"?$select=id,accountEnabled", tok, nil); r.Status != 200 || r.JSON(t)["accountEnabled"] != true {
			t.Errorf("get by upn with $select: %d %s", r.Status, r.Body)
		}

		// Filter and page: four users start with "A" (with the admin), two per page.
		next := "/v1.0/users?$filter=" + url.QueryEscape("startsWith(displayName,'a')") + "&$top=2"
		var seen []string
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			r := srv.Do(t, "GET", next, tok, nil)
			if r.Status != 200 {
				t.Fatalf("list: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			for _, v := range m["value"].([]any) {
				seen = append(seen, v.(map[string]any)["displayName"].(string))
			}
			next, _ = m["@odata.nextLink"].(string)
			if next != "" && !strings.HasPrefix(next, srv.URL+"/v1.0/users?") {
				t.Fatalf("nextLink not absolute on the public URL: %s", next)
			}
		}
		if len(seen) != 4 { // three users plus the bootstrap "Administrator"
			t.Fatalf("filtered pages returned %v", seen)
		}

		// Delete, find in deletedItems, restore.
		if r := srv.Do(t, "DELETE", "/v1.0/users/"+ids["alex"], tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := srv.Do(t, "GET", "/v1.0/users/"+ids["alex"], tok, nil); r.Status != 404 || r.ErrorCode() != "Request_ResourceNotFound" {
			t.Fatalf("deleted user still readable: %d %s", r.Status, r.Body)
		}
		r = srv.Do(t, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", tok, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), ids["alex"]) || !strings.Contains(string(r.Body), `"@odata.type":"#microsoft.graph.user"`) {
			t.Fatalf("deletedItems: %d %s", r.Status, r.Body)
		}
		if r := srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+ids["alex"]+"/restore", tok, nil); r.Status != 200 {
			t.Fatalf("restore: %d %s", r.Status, r.Body)
		}
		if r := srv.Do(t, "GET", "/v1.0/users/"+ids["alex"], tok, nil); r.Status != 200 {
			t.Fatalf("restored user: %d %s", r.Status, r.Body)
		}

		// The audit log has the changes, filterable by category.
		r = srv.Do(t, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("category eq 'UserManagement'"), tok, nil)
		if r.Status != 403 {
			// The bootstrap app does not hold AuditLog.Read.All; Entra refuses too.
			t.Fatalf("audit logs without AuditLog.Read.All: %d %s", r.Status, r.Body)
		}
	})
}

func TestErrorsHaveGraphShape(t *testing.T) {
	srv := apptest.New(t)
	tok := srv.Token(t)
	cases := []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		status                    int
		code                      string
	}{
		{"no token", "GET", "/v1.0/users", "", nil, nil, 401, "InvalidAuthenticationToken"},
		{"garbage token", "GET", "/v1.0/users", "abc.def.ghi", nil, nil, 401, "InvalidAuthenticationToken"},
		{"unknown user", "GET", "/v1.0/users/00000000-0000-0000-0000-000000000001", tok, nil, nil, 404, "Request_ResourceNotFound"},
		{"unverified domain", "POST", "/v1.0/users", tok, newUser("x@example.com", "X"), nil, 400, "Request_BadRequest"},
		{"unknown property", "POST", "/v1.0/users", tok, map[string]any{"nope": 1}, nil, 400, "Request_BadRequest"},
		{"advanced filter without header", "GET", "/v1.0/users?$filter=" + url.QueryEscape("endsWith(mail,'@x.com')"), tok, nil, nil, 400, "Request_UnsupportedQuery"},
		{"bad top", "GET", "/v1.0/users?$top=1000", tok, nil, nil, 400, "Request_BadRequest"},
		{"search without header", "GET", "/v1.0/users?$search=" + url.QueryEscape(`"displayName:a"`), tok, nil, nil, 400, "Request_UnsupportedQuery"},
		{"me with app token", "GET", "/v1.0/me", tok, nil, nil, 400, "BadRequest"},
		{"count segment without header", "GET", "/v1.0/users/$count", tok, nil, nil, 400, "Request_BadRequest"},
		{"deletedItems without cast", "GET", "/v1.0/directory/deletedItems", tok, nil, nil, 400, "Request_BadRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, c.method, c.path, c.token, c.body, c.headers...)
			if r.Status != c.status || r.ErrorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
			inner := r.JSON(t)["error"].(map[string]any)["innerError"].(map[string]any)
			if inner["request-id"] == "" || inner["date"] == "" {
				t.Errorf("innerError incomplete: %s", r.Body)
			}
		})
	}
}

// TestRelationCounts covers "/$count" under navigation properties and
// casts, which the Graph SDKs build (…/members/graph.user/$count).
func TestRelationCounts(t *testing.T) {
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain
	var users []string
	for _, n := range []string{"cnt1", "cnt2", "cnt3"} {
		r := srv.Do(t, "POST", "/v1.0/users", tok, newUser(n+"@"+dom, n))
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		users = append(users, r.JSON(t)["id"].(string))
	}
	r := srv.Do(t, "POST", "/v1.0/groups", tok, map[string]any{"displayName": "Counted", "mailEnabled": false, "mailNickname": "counted", "securityEnabled": true})
	if r.Status != 201 {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	gid := r.JSON(t)["id"].(string)
	for _, u := range users[:2] {
		if r := srv.Do(t, "POST", "/v1.0/groups/"+gid+"/members/$ref", tok, map[string]any{"@odata.id": srv.URL + "/v1.0/directoryObjects/" + u}); r.Status != 204 {
			t.Fatalf("add member: %d %s", r.Status, r.Body)
		}
	}
	if r := srv.Do(t, "DELETE", "/v1.0/users/"+users[2], tok, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	eventual := []string{"ConsistencyLevel", "eventual"}
	for path, want := range map[string]string{
		"/v1.0/groups/" + gid + "/members/$count":                       "2",
		"/v1.0/groups/" + gid + "/members/graph.user/$count":            "2",
		"/v1.0/groups/" + gid + "/members/microsoft.graph.group/$count": "0",
		"/v1.0/users/" + users[0] + "/memberOf/graph.group/$count":      "1",
		"/v1.0/users/" + users[0] + "/transitiveMemberOf/$count":        "1",
		"/v1.0/directory/deletedItems/graph.user/$count":                "1",
	} {
		r := srv.Do(t, "GET", path, tok, nil, eventual...)
		if r.Status != 200 || string(r.Body) != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q, want %s", path, r.Status, r.Body, want)
		}
	}
	if r := srv.Do(t, "GET", "/v1.0/groups/"+gid+"/members/$count", tok, nil); r.Status != 400 {
		t.Errorf("$count without ConsistencyLevel: %d %s", r.Status, r.Body)
	}
}
