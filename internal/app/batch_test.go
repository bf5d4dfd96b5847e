package app_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

type batchResp struct {
	ID     string          `json:"id"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// runBatch posts a $batch and returns its responses by id.
func runBatch(t *testing.T, srv *apptest.Server, tok string, reqs []map[string]any) map[string]batchResp {
	t.Helper()
	r := call(t, srv, "POST", "/v1.0/$batch", tok, map[string]any{"requests": reqs}, 200)
	var out struct {
		Responses []batchResp `json:"responses"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("batch response: %v: %s", err, r.Body)
	}
	if len(out.Responses) != len(reqs) {
		t.Fatalf("batch: %d responses for %d requests: %s", len(out.Responses), len(reqs), r.Body)
	}
	m := map[string]batchResp{}
	for _, x := range out.Responses {
		m[x.ID] = x
	}
	return m
}

func errCode(b json.RawMessage) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

func TestBatch(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain
	groupID := createGroup(t, srv, tok, "Batch Group", nil)

	// Three requests, the last two depending on the first.
	res := runBatch(t, srv, tok, []map[string]any{
		{"id": "1", "method": "POST", "url": "/users", "body": newUser("batched@"+dom, "Batched"), "headers": map[string]string{"Content-Type": "application/json"}},
		{"id": "2", "method": "GET", "url": "/users/batched@" + dom + "?$select=id,userPrincipalName", "dependsOn": []string{"1"}},
		{"id": "3", "method": "GET", "url": "/v1.0/groups/" + groupID, "dependsOn": []string{"1"}},
	})
	if res["1"].Status != 201 || res["2"].Status != 200 || res["3"].Status != 200 {
		t.Fatalf("batch statuses: %+v", res)
	}
	var created, got map[string]any
	_ = json.Unmarshal(res["1"].Body, &created)
	_ = json.Unmarshal(res["2"].Body, &got)
	if created["id"] == nil || got["id"] != created["id"] {
		t.Errorf("batch bodies: created %v, got %v", created, got)
	}
	call(t, srv, "GET", "/v1.0/users/batched@"+dom, tok, nil, 200)

	// A failed dependency: 424 for the dependents, transitively; an
	// independent request still runs.
	res = runBatch(t, srv, tok, []map[string]any{
		{"id": "a", "method": "POST", "url": "/users", "body": newUser("bad@nowhere.example", "Bad")},
		{"id": "b", "method": "POST", "url": "/users", "body": newUser("never@"+dom, "Never"), "dependsOn": []string{"a"}},
		{"id": "c", "method": "GET", "url": "/users/never@" + dom, "dependsOn": []string{"b"}},
		{"id": "d", "method": "GET", "url": "/groups/" + groupID},
	})
	if res["a"].Status != 400 || res["b"].Status != 424 || res["c"].Status != 424 || res["d"].Status != 200 {
		t.Fatalf("failed dependency statuses: %+v", res)
	}
	notFound(t, srv.Do(t, "GET", "/v1.0/users/never@"+dom, tok, nil), "request after a failed dependency ran")

	// At most 20 requests; empty, duplicate ids and forward dependencies are refused.
	var many []map[string]any
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users"})
	}
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, map[string]any{"requests": many}), "21 requests")
	call(t, srv, "POST", "/v1.0/$batch", tok, map[string]any{"requests": many[:20]}, 200)
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, map[string]any{"requests": []any{}}), "no requests")
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/groups"}}}), "duplicate ids")
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}}, {"id": "2", "method": "GET", "url": "/groups"}}}), "forward dependency")
	badReq(t, srv.Do(t, "POST", "/v1.0/$batch", tok, []byte(`{"requests":`)), "truncated batch")

	// Every sub-request is authorized on its own: a forbidden one is a 403
	// inside a 200 batch, and cannot borrow rights from the others.
	reader := registerApp(t, srv, tok, "Batch Reader", "User.Read.All")
	rtok := appToken(t, srv, reader)
	res = runBatch(t, srv, rtok, []map[string]any{
		{"id": "1", "method": "GET", "url": "/users"},
		{"id": "2", "method": "POST", "url": "/groups", "body": groupBody("Forbidden Group", nil)},
		{"id": "3", "method": "GET", "url": "/groups/" + groupID},
		{"id": "4", "method": "POST", "url": "/users", "body": newUser("sneak@"+dom, "Sneak"), "dependsOn": []string{"1"}},
		{"id": "5", "method": "DELETE", "url": "/users/batched@" + dom},
	})
	if res["1"].Status != 200 {
		t.Errorf("allowed sub-request: %+v", res["1"])
	}
	for _, id := range []string{"2", "3", "4", "5"} {
		if res[id].Status != 403 || errCode(res[id].Body) != "Authorization_RequestDenied" {
			t.Errorf("forbidden sub-request %s: %d %s", id, res[id].Status, res[id].Body)
		}
	}
	notFound(t, srv.Do(t, "GET", "/v1.0/users/sneak@"+dom, tok, nil), "user created by a forbidden sub-request")
	call(t, srv, "GET", "/v1.0/users/batched@"+dom, tok, nil, 200)

	// Without a token, no sub-request runs; nested batches and absolute
	// URLs are refused.
	res = runBatch(t, srv, "", []map[string]any{
		{"id": "1", "method": "GET", "url": "/users"},
		{"id": "2", "method": "POST", "url": "/users", "body": newUser("anon@"+dom, "Anon")},
	})
	for id, x := range res {
		if x.Status != 401 {
			t.Errorf("unauthenticated sub-request %s: %d %s", id, x.Status, x.Body)
		}
	}
	notFound(t, srv.Do(t, "GET", "/v1.0/users/anon@"+dom, tok, nil), "user created by an unauthenticated batch")
	res = runBatch(t, srv, tok, []map[string]any{
		{"id": "1", "method": "POST", "url": "/$batch", "body": map[string]any{"requests": []map[string]any{{"id": "x", "method": "GET", "url": "/users"}}}},
		{"id": "2", "method": "GET", "url": "https://evil.example/v1.0/users"},
		{"id": "3", "method": "GET", "url": srv.URL + "/v1.0/users"},
	})
	for id, x := range res {
		if x.Status != 400 {
			t.Errorf("refused sub-request %s: %d %s", id, x.Status, x.Body)
		}
	}
}
