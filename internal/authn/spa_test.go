package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
)

// TestSPARefreshTokenFixedLifetime: a family begun by a single-page app
// ends 24 hours after it began, however often it rotates (AADSTS700084);
// another family slides with each rotation.
func TestSPARefreshTokenFixedLifetime(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	const user = "a1b2c3d4-0000-4000-8000-000000000001"
	issue := func(spa bool) string {
		raw, err := w.svc.IssueRefreshToken(ctx, authn.RefreshToken{TenantID: tenantID, UserID: user, ClientAppID: w.client.AppID,
			Scopes: []string{"User.Read"}, SPA: spa}, now)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	rotate := func(raw string, at time.Time) string {
		t.Helper()
		rt, err := w.svc.CheckRefreshToken(ctx, tenantID, w.client.AppID, raw, at)
		if err != nil {
			t.Fatalf("check at %s: %v", at.Sub(now), err)
		}
		next, err := w.svc.RotateRefreshToken(ctx, rt, nil, at)
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	spa, web := issue(true), issue(false)
	for _, at := range []time.Duration{6 * time.Hour, 12 * time.Hour, 23 * time.Hour} {
		spa = rotate(spa, now.Add(at))
		web = rotate(web, now.Add(at))
	}
	rt, err := w.svc.CheckRefreshToken(ctx, tenantID, w.client.AppID, spa, now.Add(23*time.Hour+59*time.Minute))
	if err != nil || !rt.SPA {
		t.Fatalf("SPA token just before 24 hours: %+v %v", rt, err)
	}
	_, err = w.svc.CheckRefreshToken(ctx, tenantID, w.client.AppID, spa, now.Add(authn.SPARefreshTokenLifetime))
	wantCode(t, err, "AADSTS700084")
	if rt, err := w.svc.CheckRefreshToken(ctx, tenantID, w.client.AppID, web, now.Add(30*24*time.Hour)); err != nil || rt.SPA {
		t.Fatalf("a sliding token a month later: %+v %v", rt, err)
	}
}
