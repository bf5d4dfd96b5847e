package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// TestGroupClaims: an app's groupMembershipClaims decides the groups its
// ID tokens carry: security groups the user belongs to directly or through
// nesting ("SecurityGroup"), every group ("All"), none by default; past
// the limit the claim becomes Entra's overage indicator.
func TestGroupClaims(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	sec := createGroup(t, w.srv, w.tok, "Engineers", nil)
	outer := createGroup(t, w.srv, w.tok, "Everyone technical", nil)
	m365 := createGroup(t, w.srv, w.tok, "Project X", map[string]any{"groupTypes": []string{"Unified"}, "mailEnabled": true, "securityEnabled": false})
	call(t, w.srv, "POST", "/v1.0/groups/"+sec+"/members/$ref", w.tok, ref(w.userID), 204)
	call(t, w.srv, "POST", "/v1.0/groups/"+outer+"/members/$ref", w.tok, ref(sec), 204)
	call(t, w.srv, "POST", "/v1.0/groups/"+m365+"/members/$ref", w.tok, ref(w.userID), 204)

	idGroups := func() ([]string, map[string]any) {
		t.Helper()
		st, m := w.ropc(t, userPassword, "openid User.Read")
		if st != 200 {
			t.Fatalf("ROPC: %d %v", st, m)
		}
		c := claimsOf(t, m["id_token"].(string))
		return claimStrings(c, "groups"), c
	}
	if g, _ := idGroups(); len(g) != 0 {
		t.Fatalf("groups without groupMembershipClaims: %v", g)
	}
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.client.ID, w.tok, map[string]any{"groupMembershipClaims": "SecurityGroup"}, 204)
	if g, _ := idGroups(); !slices.Equal(g, sorted(sec, outer)) {
		t.Fatalf("SecurityGroup: %v, want %v", g, sorted(sec, outer))
	}
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.client.ID, w.tok, map[string]any{"groupMembershipClaims": "All"}, 204)
	if g, _ := idGroups(); !slices.Equal(g, sorted(sec, outer, m365)) {
		t.Fatalf("All: %v", g)
	}

	// Overage: more groups than a JWT carries.
	err := w.srv.App.Store().Write(context.Background(), func(wr store.Writer) error {
		for i := range authn.GroupClaimsLimit {
			id := iam.NewID()
			doc := fmt.Sprintf(`{"id":%q,"displayName":"bulk %d","securityEnabled":true,"mailEnabled":false,"groupTypes":[]}`, id, i)
			if err := wr.Insert(store.Object{TenantID: w.srv.Creds.TenantID, Kind: iam.KindGroup, ID: id, DisplayName: fmt.Sprintf("bulk %d", i),
				CreatedAt: time.Now(), Data: []byte(doc)}); err != nil {
				return err
			}
			if err := wr.AddLink(store.Link{TenantID: w.srv.Creds.TenantID, Rel: iam.RelMember, SourceID: id, TargetID: w.userID, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g, c := idGroups()
	names, _ := c["_claim_names"].(map[string]any)
	sources, _ := c["_claim_sources"].(map[string]any)
	if len(g) != 0 || names["groups"] != "src1" || sources["src1"] == nil {
		t.Fatalf("overage: groups %d, claims %v", len(g), c)
	}
}

// TestWidsForResources: Graph tokens carry wids; a custom API's only when
// its app asks for directory roles (groupMembershipClaims), as Entra
// defines the claim.
func TestWidsForResources(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	const reportsReader = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	call(t, w.srv, "POST", assignPath, w.tok, map[string]any{"principalId": w.userID, "roleDefinitionId": reportsReader, "directoryScopeId": "/"}, 201)
	api := func(name, claims string) string {
		body := map[string]any{"displayName": name, "identifierUris": []string{"api://" + name},
			"api": map[string]any{"oauth2PermissionScopes": []map[string]any{{"id": iam.NewID(), "value": "read", "type": "User", "isEnabled": true,
				"adminConsentDisplayName": "Read", "adminConsentDescription": "Read"}}}}
		if claims != "" {
			body["groupMembershipClaims"] = claims
		}
		r := call(t, w.srv, "POST", "/v1.0/applications", w.tok, body, 201)
		sp := idOf(t, call(t, w.srv, "POST", "/v1.0/servicePrincipals", w.tok, map[string]any{"appId": r.JSON(t)["appId"]}, 201))
		call(t, w.srv, "POST", "/v1.0/oauth2PermissionGrants", w.tok, map[string]any{
			"clientId": w.client.SPID, "consentType": "AllPrincipals", "resourceId": sp, "scope": "read"}, 201)
		return "api://" + name + "/read"
	}
	wids := func(scope string) []string {
		t.Helper()
		st, m := w.ropc(t, userPassword, scope)
		if st != 200 {
			t.Fatalf("ROPC for %s: %d %v", scope, st, m)
		}
		return claimStrings(claimsOf(t, m["access_token"].(string)), "wids")
	}
	if got := wids("User.Read"); !slices.Contains(got, reportsReader) {
		t.Errorf("Graph token wids: %v", got)
	}
	if got := wids(api("plain-api", "")); len(got) != 0 {
		t.Errorf("custom API without group claims has wids: %v", got)
	}
	if got := wids(api("roles-api", "DirectoryRole")); !slices.Contains(got, reportsReader) {
		t.Errorf("custom API asking for directory roles: wids %v", got)
	}
}
