package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/directory"
)

// TestTenantIsolation runs two tenants on one server and checks that
// tenant B's administrator, holding Directory.ReadWrite.All and
// RoleManagement.ReadWrite.Directory in its own tenant, can neither see nor
// touch anything of tenant A, by any addressing Graph offers, and that
// credentials of one tenant are worthless at the other's token endpoint.
func TestTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		a := srv.Creds
		tokA := srv.Token(t)
		b, err := srv.App.Directory().CreateTenant(context.Background(), directory.TenantSpec{Name: "fabrikam", AdminPassword: "Adm1n-Passw0rd!"})
		if err != nil {
			t.Fatal(err)
		}
		if b.TenantID == a.TenantID || b.ClientID == a.ClientID {
			t.Fatalf("tenants share identifiers: %+v %+v", a, b)
		}
		tokB := srv.TokenFor(t, b.TenantID, b.ClientID, b.ClientSecret, "https://graph.microsoft.com/.default")

		// Tenant A's objects: a user, a group holding it, an application with
		// its service principal, a deleted user and a deleted group.
		upnA := "secret.agent@" + a.Domain
		userA := createUser(t, srv, tokA, upnA)
		groupA := createGroup(t, srv, tokA, "Tenant A Only", nil)
		call(t, srv, "POST", "/v1.0/groups/"+groupA+"/members/$ref", tokA, ref(userA), 204)
		appA := registerApp(t, srv, tokA, "Tenant A App", "User.Read.All")
		goneA := createUser(t, srv, tokA, "gone@"+a.Domain)
		call(t, srv, "DELETE", "/v1.0/users/"+goneA, tokA, nil, 204)
		goneGroupA := createGroup(t, srv, tokA, "Gone Group A", nil)
		call(t, srv, "DELETE", "/v1.0/groups/"+goneGroupA, tokA, nil, 204)
		graphA, _ := graphSP(t, srv, tokA)
		assignA := valueIDs(t, call(t, srv, "GET", "/v1.0/servicePrincipals/"+graphA+"/appRoleAssignedTo", tokA, nil, 200))

		// Tenant B's own objects to aim with.
		userB := createUser(t, srv, tokB, "someone@"+b.Domain)
		groupB := createGroup(t, srv, tokB, "Tenant B Group", nil)
		appB := registerApp(t, srv, tokB, "Tenant B App")
		graphB, rolesB := graphSP(t, srv, tokB)
		if graphB == graphA {
			t.Fatal("the tenants share a Microsoft Graph service principal object")
		}

		// Direct addressing of A's objects from B: 404, as for unknown ids.
		for _, p := range []string{
			"/v1.0/users/" + userA, "/v1.0/users/" + upnA, "/v1.0/users('" + upnA + "')",
			"/v1.0/groups/" + groupA, "/v1.0/applications/" + appA.ID, "/v1.0/applications(appId='" + appA.AppID + "')",
			"/v1.0/servicePrincipals/" + appA.SPID, "/v1.0/servicePrincipals(appId='" + appA.AppID + "')",
			"/v1.0/servicePrincipals/" + graphA, "/v1.0/directoryObjects/" + userA, "/v1.0/directoryObjects/" + groupA,
			"/v1.0/groups/" + groupA + "/members", "/v1.0/groups/" + groupA + "/transitiveMembers",
			"/v1.0/users/" + userA + "/memberOf", "/v1.0/users/" + upnA + "/transitiveMemberOf",
			"/v1.0/users/" + userA + "/manager", "/v1.0/applications/" + appA.ID + "/owners",
			"/v1.0/servicePrincipals/" + appA.SPID + "/appRoleAssignments", "/v1.0/servicePrincipals/" + graphA + "/appRoleAssignedTo",
			"/v1.0/directory/deletedItems/" + goneA, "/v1.0/directory/deletedItems/" + goneGroupA,
			"/v1.0/domains/" + a.Domain, "/v1.0/domains/" + a.Domain + "/verificationDnsRecords",
			"/v1.0/organization/" + a.TenantID,
		} {
			notFound(t, srv.Do(t, "GET", p, tokB, nil), "GET "+p)
		}
		for _, p := range []string{"/v1.0/users/" + userA, "/v1.0/users/" + upnA, "/v1.0/groups/" + groupA, "/v1.0/applications/" + appA.ID,
			"/v1.0/applications(appId='" + appA.AppID + "')", "/v1.0/servicePrincipals/" + appA.SPID} {
			notFound(t, srv.Do(t, "PATCH", p, tokB, map[string]any{"displayName": "pwned"}), "PATCH "+p)
		}
		notFound(t, srv.Do(t, "PATCH", "/v1.0/users/"+userA, tokB, map[string]any{"passwordProfile": map[string]any{"password": "Pwn3d-Passw0rd!"}}), "password reset")
		notFound(t, srv.Do(t, "POST", "/v1.0/users/"+userA+"/revokeSignInSessions", tokB, nil), "revokeSignInSessions")
		notFound(t, srv.Do(t, "POST", "/v1.0/applications/"+appA.ID+"/addPassword", tokB, map[string]any{}), "addPassword on A's app")
		notFound(t, srv.Do(t, "POST", "/v1.0/applications/"+appA.ID+"/removePassword", tokB, map[string]any{"keyId": appA.KeyID}), "removePassword on A's app")
		notFound(t, srv.Do(t, "PATCH", "/v1.0/domains/"+a.Domain, tokB, map[string]any{"passwordValidityPeriodInDays": 90}), "PATCH A's domain")
		notFound(t, srv.Do(t, "POST", "/v1.0/domains/"+a.Domain+"/promote", tokB, nil), "promote A's domain")

		// References that point into A: as members, owners, manager, app
		// role principals and resources, and A's objects as the container.
		notFound(t, srv.Do(t, "POST", "/v1.0/groups/"+groupB+"/members/$ref", tokB, ref(userA)), "A's user as member")
		notFound(t, srv.Do(t, "POST", "/v1.0/groups/"+groupB+"/members/$ref", tokB, ref(groupA)), "A's group as member")
		notFound(t, srv.Do(t, "POST", "/v1.0/groups/"+groupA+"/members/$ref", tokB, ref(userB)), "B's user into A's group")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/groups/"+groupA+"/members/"+userA+"/$ref", tokB, nil), "remove A's member")
		notFound(t, srv.Do(t, "POST", "/v1.0/groups/"+groupB+"/owners/$ref", tokB, ref(userA)), "A's user as group owner")
		notFound(t, srv.Do(t, "POST", "/v1.0/applications/"+appB.ID+"/owners/$ref", tokB, ref(userA)), "A's user as app owner")
		notFound(t, srv.Do(t, "POST", "/v1.0/applications/"+appA.ID+"/owners/$ref", tokB, ref(userB)), "B's user as owner of A's app")
		notFound(t, srv.Do(t, "PUT", "/v1.0/users/"+userB+"/manager/$ref", tokB, ref(userA)), "A's user as manager")
		r := srv.Do(t, "POST", "/v1.0/groups", tokB, groupBody("Bind Group", map[string]any{
			"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + userA}}))
		notFound(t, r, "members@odata.bind of A's user at create")
		notFound(t, srv.Do(t, "PATCH", "/v1.0/groups/"+groupB, tokB, map[string]any{
			"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + userA}}), "members@odata.bind of A's user at update")
		// Granting B's app a permission on A's Graph, or A's app one on B's.
		notFound(t, srv.Do(t, "POST", "/v1.0/servicePrincipals/"+graphA+"/appRoleAssignedTo", tokB,
			map[string]any{"principalId": appB.SPID, "resourceId": graphA, "appRoleId": rolesB["Directory.ReadWrite.All"]}), "grant on A's Graph")
		notFound(t, srv.Do(t, "POST", "/v1.0/servicePrincipals/"+graphB+"/appRoleAssignedTo", tokB,
			map[string]any{"principalId": appA.SPID, "resourceId": graphB, "appRoleId": rolesB["Directory.ReadWrite.All"]}), "grant to A's app")
		for _, id := range assignA {
			notFound(t, srv.Do(t, "DELETE", "/v1.0/servicePrincipals/"+graphB+"/appRoleAssignedTo/"+id, tokB, nil), "revoke A's assignment via B's Graph")
			notFound(t, srv.Do(t, "DELETE", "/v1.0/servicePrincipals/"+graphA+"/appRoleAssignedTo/"+id, tokB, nil), "revoke A's assignment")
		}
		if r := srv.Do(t, "POST", "/v1.0/servicePrincipals", tokB, map[string]any{"appId": appA.AppID}); r.Status != 400 {
			t.Errorf("service principal for A's app in B: %d %s", r.Status, r.Body)
		}

		// Bulk and computed reads return nothing of A.
		r = call(t, srv, "POST", "/v1.0/directoryObjects/getByIds", tokB, map[string]any{"ids": []string{userA, groupA, appA.ID, appA.SPID, graphA}}, 200)
		if ids := valueIDs(t, r); len(ids) != 0 {
			t.Errorf("getByIds returned A's objects: %s", r.Body)
		}
		r = call(t, srv, "POST", "/v1.0/users/"+userB+"/checkMemberGroups", tokB, map[string]any{"groupIds": []string{groupA}}, 200)
		if ids := valueIDs(t, r); len(ids) != 0 {
			t.Errorf("checkMemberGroups with A's group: %s", r.Body)
		}
		for _, action := range []string{"checkMemberGroups", "getMemberGroups", "getMemberObjects"} {
			notFound(t, srv.Do(t, "POST", "/v1.0/users/"+userA+"/"+action, tokB,
				map[string]any{"groupIds": []string{groupA}, "securityEnabledOnly": false}), action+" on A's user")
		}

		// Deleted items of A: invisible, not restorable, not purgeable.
		for _, id := range []string{goneA, goneGroupA} {
			notFound(t, srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", tokB, nil), "restore A's deleted object")
			notFound(t, srv.Do(t, "DELETE", "/v1.0/directory/deletedItems/"+id, tokB, nil), "purge A's deleted object")
		}

		// Writes aimed at A's objects left them intact.
		notFound(t, srv.Do(t, "DELETE", "/v1.0/users/"+userA, tokB, nil), "DELETE A's user")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/users/"+upnA, tokB, nil), "DELETE A's user by UPN")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/groups/"+groupA, tokB, nil), "DELETE A's group")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/applications/"+appA.ID, tokB, nil), "DELETE A's app")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/servicePrincipals/"+appA.SPID, tokB, nil), "DELETE A's service principal")
		notFound(t, srv.Do(t, "DELETE", "/v1.0/domains/"+a.Domain, tokB, nil), "DELETE A's domain")
		if m := call(t, srv, "GET", "/v1.0/users/"+userA, tokA, nil, 200).JSON(t); m["displayName"] == "pwned" {
			t.Errorf("B renamed A's user: %v", m)
		}
		call(t, srv, "GET", "/v1.0/groups/"+groupA, tokA, nil, 200)
		if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/groups/"+groupA+"/members", tokA, nil, 200)); len(ids) != 1 || ids[0] != userA {
			t.Errorf("A's group members changed: %v", ids)
		}
		for _, id := range []string{goneA, goneGroupA} {
			call(t, srv, "GET", "/v1.0/directory/deletedItems/"+id, tokA, nil, 200)
		}
		if m := call(t, srv, "GET", "/v1.0/applications/"+appA.ID, tokA, nil, 200).JSON(t); len(m["passwordCredentials"].([]any)) != 1 {
			t.Errorf("A's app credentials changed: %v", m["passwordCredentials"])
		}
		call(t, srv, "GET", "/v1.0/servicePrincipals/"+appA.SPID, tokA, nil, 200)
		if got := valueIDs(t, call(t, srv, "GET", "/v1.0/servicePrincipals/"+graphA+"/appRoleAssignedTo", tokA, nil, 200)); strings.Join(got, ",") != strings.Join(assignA, ",") {
			t.Errorf("A's Graph grants changed: %v, was %v", got, assignA)
		}
		appTok := appToken(t, srv, appA)
		if roles := rolesOf(t, appTok); strings.Join(roles, ",") != "User.Read.All" {
			t.Errorf("A's app roles = %v", roles)
		}

		// Lists, filters and searches in B never include A.
		secretsOfA := []string{userA, upnA, groupA, appA.ID, appA.AppID, appA.SPID, goneA, goneGroupA, graphA, a.Domain, a.TenantID, "Tenant A"}
		for _, p := range []string{
			"/v1.0/users", "/v1.0/groups", "/v1.0/applications", "/v1.0/servicePrincipals", "/v1.0/domains", "/v1.0/organization",
			"/v1.0/users?$top=999&$select=id,userPrincipalName,displayName",
			"/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq '"+upnA+"'"),
			"/v1.0/users?$filter=" + url.QueryEscape("id in ('"+userA+"','"+goneA+"')"),
			"/v1.0/groups?$filter=" + url.QueryEscape("startsWith(displayName,'Tenant A')"),
			"/v1.0/applications?$filter=" + url.QueryEscape("appId eq '"+appA.AppID+"'"),
			"/v1.0/servicePrincipals?$filter=" + url.QueryEscape("appId eq '"+appA.AppID+"'"),
			"/v1.0/directory/deletedItems/microsoft.graph.user", "/v1.0/directory/deletedItems/microsoft.graph.group",
			"/v1.0/directory/deletedItems/microsoft.graph.application",
			"/v1.0/groups/" + groupB + "/members", "/v1.0/users/" + userB + "/memberOf",
			"/v1.0/servicePrincipals/" + graphB + "/appRoleAssignedTo",
		} {
			r := call(t, srv, "GET", p, tokB, nil, 200)
			for _, s := range secretsOfA {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("GET %s in tenant B shows %q of tenant A: %s", p, s, r.Body)
				}
			}
		}
		for _, p := range []string{
			"/v1.0/users?$count=true&$search=" + url.QueryEscape(`"displayName:User secret"`),
			"/v1.0/users?$count=true&$filter=" + url.QueryEscape("endsWith(userPrincipalName,'@"+a.Domain+"')"),
			"/v1.0/groups?$count=true&$search=" + url.QueryEscape(`"displayName:Tenant"`),
			"/v1.0/users/$count", "/v1.0/groups/$count",
		} {
			r := call(t, srv, "GET", p, tokB, nil, 200, "ConsistencyLevel", "eventual")
			for _, s := range secretsOfA {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("GET %s in tenant B shows %q of tenant A: %s", p, s, r.Body)
				}
			}
			if strings.HasSuffix(p, "/$count") {
				// B holds its admin and the one user (or group) created above.
				if want := map[bool]string{true: "2", false: "1"}[strings.Contains(p, "users")]; strings.TrimSpace(string(r.Body)) != want {
					t.Errorf("GET %s = %s, want %s", p, r.Body, want)
				}
			}
		}

		// B cannot take A's names: a user on A's domain, A's domain as its own.
		badReq(t, srv.Do(t, "POST", "/v1.0/users", tokB, newUser("intruder@"+a.Domain, "Intruder")), "user on A's domain")
		badReq(t, srv.Do(t, "PATCH", "/v1.0/users/"+userB, tokB, map[string]any{"userPrincipalName": "intruder@" + a.Domain}), "UPN moved to A's domain")
		if r := srv.Do(t, "POST", "/v1.0/domains", tokB, map[string]any{"id": a.Domain}); r.Status == 201 {
			badReq(t, srv.Do(t, "POST", "/v1.0/domains/"+a.Domain+"/verify", tokB, nil), "verify A's domain in B")
		} else {
			badReq(t, r, "add A's domain in B")
		}

		// A's domain still names A at the token endpoint, whatever B added.
		if status, body := tokenRequest(t, srv, a.Domain, a.ClientID, a.ClientSecret); status != 200 {
			t.Errorf("A's client at A's domain: %d %v", status, body)
		}
		if status, body := tokenRequest(t, srv, a.Domain, b.ClientID, b.ClientSecret); status < 400 || body["access_token"] != nil {
			t.Errorf("B's client at A's domain: %d %v", status, body)
		}

		// The token endpoint: each tenant's clients and secrets are its own.
		for _, c := range []struct {
			name, tenant, client, secret string
		}{
			{"A's client at B", b.TenantID, a.ClientID, a.ClientSecret},
			{"A's client at B's domain", b.Domain, a.ClientID, a.ClientSecret},
			{"B's client with A's secret", b.TenantID, b.ClientID, a.ClientSecret},
			{"A's client with B's secret", a.TenantID, a.ClientID, b.ClientSecret},
			{"A's registered app at B", b.TenantID, appA.AppID, appA.Secret},
			{"A's registered app at B's domain", b.Domain, appA.AppID, appA.Secret},
		} {
			status, body := tokenRequest(t, srv, c.tenant, c.client, c.secret)
			if status < 400 || status >= 500 || body["access_token"] != nil || body["error"] == nil {
				t.Errorf("%s: %d %v, want an OAuth error", c.name, status, body)
			}
		}
		// A's access token is not a credential at B's token endpoint.
		for _, extra := range [][]string{
			{"client_id", a.ClientID, "client_secret", "", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", tokA},
			{"client_id", b.ClientID, "client_secret", "", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", tokA},
			{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id", b.ClientID, "client_secret", b.ClientSecret, "assertion", tokA, "requested_token_use", "on_behalf_of"},
			{"grant_type", "refresh_token", "client_id", b.ClientID, "client_secret", b.ClientSecret, "refresh_token", tokA},
		} {
			status, body := tokenRequest(t, srv, b.TenantID, "", "", extra...)
			if status < 400 || status >= 500 || body["access_token"] != nil {
				t.Errorf("A's token at B's endpoint (%v): %d %v", extra[1], status, body)
			}
		}
		// And A's access token only ever acts in A.
		if r := call(t, srv, "GET", "/v1.0/organization", tokA, nil, 200); strings.Contains(string(r.Body), b.TenantID) {
			t.Errorf("A's token sees B's organization: %s", r.Body)
		}
		notFound(t, srv.Do(t, "GET", "/v1.0/users/"+userB, tokA, nil), "B's user with A's token")
		notFound(t, srv.Do(t, "GET", "/v1.0/groups/"+groupB, tokA, nil), "B's group with A's token")
	})
}
