package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
)

// TestGroupsAndMembershipRestore: nested groups and every membership
// view, cycle and duplicate refusals, a deleted member coming back with
// its memberships, and purge being final.
func TestGroupsAndMembershipRestore(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		dom := srv.Creds.Domain
		alice := createUser(t, srv, tok, "alice@"+dom)
		bob := createUser(t, srv, tok, "bob@"+dom)
		carol := createUser(t, srv, tok, "carol@"+dom)
		outer := createGroup(t, srv, tok, "Outer", nil)
		inner := createGroup(t, srv, tok, "Inner", nil)
		other := createGroup(t, srv, tok, "Other", nil)
		call(t, srv, "POST", "/v1.0/groups/"+outer+"/members/$ref", tok, ref(inner), 204)
		call(t, srv, "POST", "/v1.0/groups/"+inner+"/members/$ref", tok, ref(alice), 204)
		call(t, srv, "POST", "/v1.0/groups/"+outer+"/members/$ref", tok, ref(bob), 204)
		call(t, srv, "PATCH", "/v1.0/groups/"+other, tok, map[string]any{
			"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + carol}}, 204)

		list := func(path string) []string {
			t.Helper()
			r := call(t, srv, "GET", path, tok, nil, 200)
			for _, v := range r.JSON(t)["value"].([]any) {
				if typ, _ := v.(map[string]any)["@odata.type"].(string); !strings.HasPrefix(typ, "#microsoft.graph.") {
					t.Errorf("GET %s: item without @odata.type: %v", path, v)
				}
			}
			return valueIDs(t, r)
		}
		post := func(path string, body any) []string {
			t.Helper()
			return valueIDs(t, call(t, srv, "POST", path, tok, body, 200))
		}
		eq := func(what string, got, want []string) {
			t.Helper()
			if strings.Join(got, ",") != strings.Join(sorted(want...), ",") {
				t.Errorf("%s = %v, want %v", what, got, sorted(want...))
			}
		}
		eq("outer members", list("/v1.0/groups/"+outer+"/members"), []string{inner, bob})
		eq("outer transitiveMembers", list("/v1.0/groups/"+outer+"/transitiveMembers"), []string{inner, alice, bob})
		eq("outer transitiveMembers/group", list("/v1.0/groups/"+outer+"/transitiveMembers/microsoft.graph.group"), []string{inner})
		eq("outer transitiveMembers/user", list("/v1.0/groups/"+outer+"/transitiveMembers/microsoft.graph.user"), []string{alice, bob})
		eq("alice memberOf", list("/v1.0/users/"+alice+"/memberOf"), []string{inner})
		eq("alice memberOf/group", list("/v1.0/users/alice@"+dom+"/memberOf/microsoft.graph.group"), []string{inner})
		eq("alice transitiveMemberOf", list("/v1.0/users/"+alice+"/transitiveMemberOf"), []string{inner, outer})
		eq("alice transitiveMemberOf/group", list("/v1.0/users/"+alice+"/transitiveMemberOf/microsoft.graph.group"), []string{inner, outer})
		eq("inner memberOf", list("/v1.0/groups/"+inner+"/memberOf"), []string{outer})
		eq("inner transitiveMemberOf/group", list("/v1.0/groups/"+inner+"/transitiveMemberOf/microsoft.graph.group"), []string{outer})
		eq("bob memberOf/user cast", list("/v1.0/users/"+bob+"/memberOf/microsoft.graph.user"), nil)
		eq("alice checkMemberGroups", post("/v1.0/users/"+alice+"/checkMemberGroups", map[string]any{"groupIds": []string{outer, other, strings.ToUpper(inner)}}), []string{outer, inner})
		eq("bob checkMemberGroups", post("/v1.0/users/"+bob+"/checkMemberGroups", map[string]any{"groupIds": []string{inner, other}}), nil)
		eq("inner checkMemberGroups", post("/v1.0/groups/"+inner+"/checkMemberGroups", map[string]any{"groupIds": []string{outer}}), []string{outer})
		eq("alice getMemberObjects", post("/v1.0/users/"+alice+"/getMemberObjects", map[string]any{"securityEnabledOnly": false}), []string{inner, outer})
		eq("alice getMemberGroups", post("/v1.0/users/"+alice+"/getMemberGroups", map[string]any{"securityEnabledOnly": true}), []string{inner, outer})
		eq("carol getMemberGroups", post("/v1.0/users/"+carol+"/getMemberGroups", map[string]any{"securityEnabledOnly": true}), []string{other})

		// Cycles, self-membership and duplicates are refused.
		badReq(t, srv.Do(t, "POST", "/v1.0/groups/"+inner+"/members/$ref", tok, ref(outer)), "cycle")
		badReq(t, srv.Do(t, "POST", "/v1.0/groups/"+outer+"/members/$ref", tok, ref(outer)), "self")
		r := srv.Do(t, "POST", "/v1.0/groups/"+inner+"/members/$ref", tok, ref(alice))
		badReq(t, r, "duplicate member")
		if !strings.Contains(string(r.Body), "added object references already exist") {
			t.Errorf("duplicate member message: %s", r.Body)
		}
		badReq(t, srv.Do(t, "PATCH", "/v1.0/groups/"+inner, tok, map[string]any{
			"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + alice}}), "duplicate member by bind")
		notFound(t, srv.Do(t, "POST", "/v1.0/groups/"+inner+"/members/$ref", tok, ref("00000000-0000-0000-0000-0000000000ab")), "unknown member")
		eq("inner members unchanged", list("/v1.0/groups/"+inner+"/members"), []string{alice})

		// Delete alice: she leaves every view; restore brings her memberships back.
		call(t, srv, "DELETE", "/v1.0/users/"+alice, tok, nil, 204)
		eq("inner members after delete", list("/v1.0/groups/"+inner+"/members"), nil)
		eq("outer transitiveMembers after delete", list("/v1.0/groups/"+outer+"/transitiveMembers"), []string{inner, bob})
		notFound(t, srv.Do(t, "GET", "/v1.0/users/"+alice+"/memberOf", tok, nil), "memberOf of a deleted user")
		r = call(t, srv, "POST", "/v1.0/directory/deletedItems/"+alice+"/restore", tok, nil, 200)
		if m := r.JSON(t); m["id"] != alice || m["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("restore response: %s", r.Body)
		}
		eq("alice memberOf after restore", list("/v1.0/users/"+alice+"/memberOf"), []string{inner})
		eq("alice transitiveMemberOf after restore", list("/v1.0/users/"+alice+"/transitiveMemberOf"), []string{inner, outer})
		eq("inner members after restore", list("/v1.0/groups/"+inner+"/members"), []string{alice})
		eq("alice checkMemberGroups after restore", post("/v1.0/users/"+alice+"/checkMemberGroups", map[string]any{"groupIds": []string{outer}}), []string{outer})

		// A deleted group drops out of transitive views and comes back too.
		call(t, srv, "DELETE", "/v1.0/groups/"+inner, tok, nil, 204)
		eq("alice transitiveMemberOf without inner", list("/v1.0/users/"+alice+"/transitiveMemberOf"), nil)
		eq("outer members without inner", list("/v1.0/groups/"+outer+"/members"), []string{bob})
		call(t, srv, "POST", "/v1.0/directory/deletedItems/"+inner+"/restore", tok, nil, 200)
		eq("alice transitiveMemberOf with inner back", list("/v1.0/users/"+alice+"/transitiveMemberOf"), []string{inner, outer})

		// Purge: gone for good, memberships included.
		call(t, srv, "DELETE", "/v1.0/users/"+bob, tok, nil, 204)
		call(t, srv, "GET", "/v1.0/directory/deletedItems/"+bob, tok, nil, 200)
		call(t, srv, "DELETE", "/v1.0/directory/deletedItems/"+bob, tok, nil, 204)
		notFound(t, srv.Do(t, "GET", "/v1.0/directory/deletedItems/"+bob, tok, nil), "purged item")
		notFound(t, srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+bob+"/restore", tok, nil), "restore purged item")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/directory/deletedItems/"+bob, tok, nil), "purge twice")
		notFound(t, srv.Do(t, "GET", "/v1.0/users/"+bob, tok, nil), "purged user")
		if ids := list("/v1.0/directory/deletedItems/microsoft.graph.user"); strings.Contains(strings.Join(ids, ","), bob) {
			t.Errorf("purged user still listed: %v", ids)
		}
		eq("outer members after purge", list("/v1.0/groups/"+outer+"/members"), []string{inner})
		// The UPN is free again, for a new object with a new id.
		if id := createUser(t, srv, tok, "bob@"+dom); id == bob {
			t.Errorf("new bob reused the purged id")
		}
		// A restore that would duplicate a live UPN is refused.
		call(t, srv, "DELETE", "/v1.0/users/"+carol, tok, nil, 204)
		newCarol := createUser(t, srv, tok, "carol@"+dom)
		badReq(t, srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+carol+"/restore", tok, nil), "restore onto a taken UPN")
		call(t, srv, "GET", "/v1.0/directory/deletedItems/"+carol, tok, nil, 200)
		if m := call(t, srv, "GET", "/v1.0/users/carol@"+dom, tok, nil, 200).JSON(t); m["id"] != newCarol {
			t.Errorf("carol@ is %v, want the new user", m["id"])
		}
		call(t, srv, "DELETE", "/v1.0/users/"+newCarol, tok, nil, 204)
		call(t, srv, "POST", "/v1.0/directory/deletedItems/"+carol+"/restore", tok, nil, 200)
		eq("carol memberOf after restore", list("/v1.0/users/"+carol+"/memberOf"), []string{other})

		// A live object is not a deleted item.
		notFound(t, srv.Do(t, "DELETE", "/v1.0/directory/deletedItems/"+carol, tok, nil), "purge a live user")
		notFound(t, srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+carol+"/restore", tok, nil), "restore a live user")
		call(t, srv, "GET", "/v1.0/users/"+carol, tok, nil, 200)
	})
}

// TestApplicationSecretsAndLifecycle: a secret is shown once, never
// stored or returned in clear, works at the token endpoint until removed;
// the appId key works; deleting an app takes its service principal along
// and restoring brings both back.
func TestApplicationSecretsAndLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		tenant := srv.Creds.TenantID
		r := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": "Payroll"}, 201)
		appObj := idOf(t, r)
		appID, _ := r.JSON(t)["appId"].(string)
		spID := idOf(t, call(t, srv, "POST", "/v1.0/servicePrincipals", tok, map[string]any{"appId": appID}, 201))

		r = call(t, srv, "POST", "/v1.0/applications/"+appObj+"/addPassword", tok,
			map[string]any{"passwordCredential": map[string]any{"displayName": "ci"}}, 200)
		pw := r.JSON(t)
		secret, _ := pw["secretText"].(string)
		keyID, _ := pw["keyId"].(string)
		if len(secret) < 16 || keyID == "" || pw["hint"] != secret[:3] || pw["displayName"] != "ci" || pw["endDateTime"] == nil {
			t.Fatalf("addPassword response: %s", r.Body)
		}
		second := call(t, srv, "POST", "/v1.0/applications(appId='"+appID+"')/addPassword", tok, map[string]any{}, 200).JSON(t)
		secret2, _ := second["secretText"].(string)
		if secret2 == "" || secret2 == secret {
			t.Fatalf("second secret: %v", second)
		}

		// The store holds only hashes, apart from the Graph document.
		var stored store.Object
		if err := srv.App.Store().Read(context.Background(), func(rd store.Reader) (err error) {
			stored, err = rd.Get(tenant, iam.KindApplication, appObj)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		hash := passwords.HashClientSecret(secret)
		if !strings.Contains(string(stored.Secret), hash) || strings.Contains(string(stored.Secret), secret) ||
			strings.Contains(string(stored.Data), secret) || strings.Contains(string(stored.Data), hash) {
			t.Fatalf("stored application: data %s secret %s", stored.Data, stored.Secret)
		}
		// No read ever shows the secret or its hash.
		leaks := func(what string, body []byte) {
			t.Helper()
			for _, s := range []string{secret, secret2, hash, passwords.HashClientSecret(secret2), "sha256$"} {
				if strings.Contains(string(body), s) {
					t.Errorf("%s shows a secret or hash: %s", what, body)
				}
			}
		}
		for _, p := range []string{
			"/v1.0/applications/" + appObj, "/v1.0/applications(appId='" + appID + "')", "/v1.0/applications",
			"/v1.0/applications?$select=id,passwordCredentials", "/v1.0/applications/" + appObj + "?$select=passwordCredentials",
			"/v1.0/servicePrincipals/" + spID, "/v1.0/servicePrincipals(appId='" + appID + "')", "/v1.0/directoryObjects/" + appObj,
		} {
			r := call(t, srv, "GET", p, tok, nil, 200)
			leaks("GET "+p, r.Body)
		}
		leaks("getByIds", call(t, srv, "POST", "/v1.0/directoryObjects/getByIds", tok, map[string]any{"ids": []string{appObj}}, 200).Body)
		m := call(t, srv, "GET", "/v1.0/applications/"+appObj, tok, nil, 200).JSON(t)
		creds := m["passwordCredentials"].([]any)
		if len(creds) != 2 {
			t.Fatalf("passwordCredentials: %v", creds)
		}
		for _, c := range creds {
			if c := c.(map[string]any); c["secretText"] != nil || c["keyId"] == nil || c["hint"] == nil {
				t.Errorf("credential as read: %v", c)
			}
		}
		// passwordCredentials cannot be written by PATCH.
		badReq(t, srv.Do(t, "PATCH", "/v1.0/applications/"+appObj, tok, map[string]any{"passwordCredentials": []any{}}), "PATCH passwordCredentials")

		// Both secrets work; removing one stops only that one.
		for _, s := range []string{secret, secret2} {
			if status, body := tokenRequest(t, srv, tenant, appID, s); status != 200 || body["access_token"] == nil {
				t.Fatalf("token with new secret: %d %v", status, body)
			}
		}
		if status, _ := tokenRequest(t, srv, tenant, appID, secret+"x"); status != 401 {
			t.Errorf("wrong secret: %d", status)
		}
		call(t, srv, "POST", "/v1.0/applications/"+appObj+"/removePassword", tok, map[string]any{"keyId": keyID}, 204)
		notFound(t, srv.Do(t, "POST", "/v1.0/applications/"+appObj+"/removePassword", tok, map[string]any{"keyId": keyID}), "remove twice")
		if status, body := tokenRequest(t, srv, tenant, appID, secret); status != 401 || body["error"] != "invalid_client" {
			t.Errorf("removed secret: %d %v", status, body)
		}
		if status, _ := tokenRequest(t, srv, tenant, appID, secret2); status != 200 {
			t.Errorf("remaining secret stopped working: %d", status)
		}
		if creds := call(t, srv, "GET", "/v1.0/applications/"+appObj, tok, nil, 200).JSON(t)["passwordCredentials"].([]any); len(creds) != 1 {
			t.Errorf("after removePassword: %v", creds)
		}

		// The appId key for GET and PATCH; the change reaches the service principal.
		call(t, srv, "PATCH", "/v1.0/applications(appId='"+appID+"')", tok, map[string]any{"displayName": "Payroll v2"}, 204)
		if m := call(t, srv, "GET", "/v1.0/applications/"+appObj, tok, nil, 200).JSON(t); m["displayName"] != "Payroll v2" {
			t.Errorf("after PATCH by appId: %v", m["displayName"])
		}
		if m := call(t, srv, "GET", "/v1.0/servicePrincipals(appId='"+appID+"')", tok, nil, 200).JSON(t); m["displayName"] != "Payroll v2" || m["id"] != spID {
			t.Errorf("service principal after PATCH: %v %v", m["id"], m["displayName"])
		}
		notFound(t, srv.Do(t, "GET", "/v1.0/applications(appId='00000000-0000-0000-0000-00000000abcd')", tok, nil), "unknown appId")
		notFound(t, srv.Do(t, "PATCH", "/v1.0/applications(appId='00000000-0000-0000-0000-00000000abcd')", tok, map[string]any{"displayName": "x"}), "PATCH unknown appId")

		// Delete: the service principal goes too and the app can no longer sign in.
		call(t, srv, "DELETE", "/v1.0/applications/"+appObj, tok, nil, 204)
		notFound(t, srv.Do(t, "GET", "/v1.0/applications/"+appObj, tok, nil), "deleted app")
		notFound(t, srv.Do(t, "GET", "/v1.0/servicePrincipals/"+spID, tok, nil), "SP of deleted app")
		notFound(t, srv.Do(t, "GET", "/v1.0/servicePrincipals(appId='"+appID+"')", tok, nil), "SP of deleted app by appId")
		if status, _ := tokenRequest(t, srv, tenant, appID, secret2); status < 400 {
			t.Errorf("deleted app got a token: %d", status)
		}
		if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal", tok, nil, 200)); strings.Join(ids, ",") != spID {
			t.Errorf("deleted service principals: %v", ids)
		}
		leaks("deletedItems", call(t, srv, "GET", "/v1.0/directory/deletedItems/microsoft.graph.application", tok, nil, 200).Body)
		leaks("deletedItem", call(t, srv, "GET", "/v1.0/directory/deletedItems/"+appObj, tok, nil, 200).Body)

		// Restore brings both back, and the remaining secret works again.
		r = call(t, srv, "POST", "/v1.0/directory/deletedItems/"+appObj+"/restore", tok, nil, 200)
		leaks("restore response", r.Body)
		call(t, srv, "GET", "/v1.0/applications/"+appObj, tok, nil, 200)
		if m := call(t, srv, "GET", "/v1.0/servicePrincipals/"+spID, tok, nil, 200).JSON(t); m["appId"] != appID {
			t.Errorf("restored SP: %v", m)
		}
		if status, _ := tokenRequest(t, srv, tenant, appID, secret2); status != 200 {
			t.Errorf("restored app's secret: %d", status)
		}
		if status, _ := tokenRequest(t, srv, tenant, appID, secret); status != 401 {
			t.Errorf("removed secret came back with the restore: %d", status)
		}
	})
}
