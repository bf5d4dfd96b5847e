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
