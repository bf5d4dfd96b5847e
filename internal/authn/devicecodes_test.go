package authn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const otherTenantID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

// TestDeviceCodeLifecycle: a device code is pending until the user
// answers, slow_down when polled within the interval, redeemed once,
// refused to another client and another tenant, expired after 15
// minutes; its user code is found however the user types it, and only
// while pending.
func TestDeviceCodeLifecycle(t *testing.T) {
	t.Parallel()
	db := backendtest.Open(t)
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	authntest.Tenant(t, db, otherTenantID, "Fabrikam", "fabrikam.ostiary.test")
	svc := authn.New(db)
	ctx := context.Background()
	const client = "0f6c2a8e-5b1d-4e3f-8a7c-9d2e1b4f6a50"
	issue := func() *authn.IssuedDeviceCode {
		dc, err := svc.IssueDeviceCode(ctx, authn.DeviceCodeRequest{TenantID: tenantID, ClientAppID: client, Scope: "User.Read openid"}, now)
		if err != nil {
			t.Fatal(err)
		}
		return dc
	}
	dc := issue()
	if len(dc.UserCode) != 9 || dc.UserCode[4] != '-' || !dc.ExpiresAt.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("issued: %+v", dc)
	}
	if tid, ok := authn.DeviceCodeTenant(dc.DeviceCode); !ok || tid != tenantID || len(dc.DeviceCode) < 4+64 {
		t.Fatalf("device code tenant: %q %v", tid, ok)
	}
	// The user code, typed any way.
	for _, typed := range []string{dc.UserCode, strings.ToLower(dc.UserCode), strings.ReplaceAll(dc.UserCode, "-", ""), " " + dc.UserCode[:4] + " " + dc.UserCode[5:] + " "} {
		got, err := svc.LookupUserCode(ctx, typed, now)
		if err != nil || got.TenantID != tenantID || got.ClientAppID != client || got.Scope != "User.Read openid" {
			t.Fatalf("lookup %q: %+v %v", typed, got, err)
		}
	}
	_, err := svc.LookupUserCode(ctx, "BCDF-GHJK", now)
	wantCode(t, err, "AADSTS70018")
	_, err = svc.LookupUserCode(ctx, "not a code", now)
	wantCode(t, err, "AADSTS70018")

	poll := func(tenant, raw, clientID string, at time.Time) (*authn.DeviceCode, authn.DevicePoll, error) {
		return svc.PollDeviceCode(ctx, tenant, raw, clientID, at)
	}
	if _, p, err := poll(tenantID, dc.DeviceCode, client, now); err != nil || p != authn.PollPending {
		t.Fatalf("first poll: %v %v", p, err)
	}
	if _, p, err := poll(tenantID, dc.DeviceCode, client, now.Add(2*time.Second)); err != nil || p != authn.PollSlowDown {
		t.Fatalf("fast poll: %v %v", p, err)
	}
	if _, p, err := poll("", dc.DeviceCode, client, now.Add(8*time.Second)); err != nil || p != authn.PollPending {
		t.Fatalf("poll after the interval: %v %v", p, err)
	}
	_, _, err = poll(tenantID, dc.DeviceCode, "11111111-2222-3333-4444-555555555555", now.Add(20*time.Second))
	wantCode(t, err, "AADSTS70000")
	_, _, err = poll(otherTenantID, dc.DeviceCode, client, now.Add(20*time.Second))
	wantCode(t, err, "AADSTS700005")
	_, _, err = poll(tenantID, dc.DeviceCode[:len(dc.DeviceCode)-2]+"AA", client, now)
	wantCode(t, err, "AADSTS70018")

	// Approval is bound to the code's tenant; the next poll redeems it.
	appr := authn.DeviceApproval{UserCode: dc.UserCode, TenantID: otherTenantID, UserID: "u1", AuthTime: now, AMR: []string{"pwd"}}
	wantCode(t, svc.ApproveDeviceCode(ctx, appr, now), "AADSTS70018")
	appr.TenantID = tenantID
	if err := svc.ApproveDeviceCode(ctx, appr, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.DeclineDeviceCode(ctx, dc.UserCode, tenantID, 0, now), "AADSTS90120")
	_, err = svc.LookupUserCode(ctx, dc.UserCode, now)
	wantCode(t, err, "AADSTS90120")
	got, p, err := poll(tenantID, dc.DeviceCode, client, now.Add(31*time.Second))
	if err != nil || p != authn.PollApproved || got.UserID != "u1" || got.FamilyID == "" {
		t.Fatalf("approved poll: %+v %v %v", got, p, err)
	}
	_, _, err = poll(tenantID, dc.DeviceCode, client, now.Add(40*time.Second))
	wantCode(t, err, "AADSTS90120")

	// Declined, with and without a reason.
	d2 := issue()
	if err := svc.DeclineDeviceCode(ctx, d2.UserCode, tenantID, 65001, now); err != nil {
		t.Fatal(err)
	}
	if got, p, err := poll(tenantID, d2.DeviceCode, client, now); err != nil || p != authn.PollDeclined || got.DeclineCode != 65001 {
		t.Fatalf("declined poll: %+v %v %v", got, p, err)
	}

	// Expired: polls say so, the page refuses the code.
	d3 := issue()
	late := now.Add(15 * time.Minute)
	if _, p, err := poll(tenantID, d3.DeviceCode, client, late); err != nil || p != authn.PollExpired {
		t.Fatalf("expired poll: %v %v", p, err)
	}
	_, err = svc.LookupUserCode(ctx, d3.UserCode, late)
	wantCode(t, err, "AADSTS70019")
	appr.UserCode = d3.UserCode
	wantCode(t, svc.ApproveDeviceCode(ctx, appr, late), "AADSTS70019")

	// Long-expired codes are purged by a later issuance.
	if _, err := svc.IssueDeviceCode(ctx, authn.DeviceCodeRequest{TenantID: tenantID, ClientAppID: client, Scope: "User.Read"}, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, _, err = poll(tenantID, d3.DeviceCode, client, now.Add(3*time.Hour))
	wantCode(t, err, "AADSTS70018")
	_, err = svc.LookupUserCode(ctx, d3.UserCode, now.Add(3*time.Hour))
	wantCode(t, err, "AADSTS70018")
}

// TestDeferredDeviceCode: a code asked for on /common is stored outside
// any tenant until its user answers; the answer binds it to the user's
// tenant, and only a poll authenticated there redeems it.
func TestDeferredDeviceCode(t *testing.T) {
	t.Parallel()
	db := backendtest.Open(t)
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	authntest.Tenant(t, db, otherTenantID, "Fabrikam", "fabrikam.ostiary.test")
	svc := authn.New(db)
	ctx := context.Background()
	const client = "0f6c2a8e-5b1d-4e3f-8a7c-9d2e1b4f6a50"
	issue := func() *authn.IssuedDeviceCode {
		t.Helper()
		dc, err := svc.IssueDeviceCode(ctx, authn.DeviceCodeRequest{ClientAppID: client, Scope: "User.Read", Confidential: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		return dc
	}
	dc := issue()
	if tid, ok := authn.DeviceCodeTenant(dc.DeviceCode); !ok || tid != "" {
		t.Fatalf("deferred code's tenant: %q %v", tid, ok)
	}
	got, err := svc.LookupUserCode(ctx, dc.UserCode, now)
	if err != nil || !got.Deferred || got.TenantID != "" || !got.Confidential {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	if owner, err := svc.DeviceCodeOwner(ctx, dc.DeviceCode); err != nil || owner != "" {
		t.Fatalf("owner before the answer: %q %v", owner, err)
	}
	if _, p, err := svc.PollDeviceCode(ctx, "", dc.DeviceCode, client, now); err != nil || p != authn.PollPending {
		t.Fatalf("unauthenticated poll: %v %v", p, err)
	}
	appr := authn.DeviceApproval{UserCode: dc.UserCode, TenantID: tenantID, UserID: "u1", AuthTime: now, AMR: []string{"pwd"}}
	if err := svc.ApproveDeviceCode(ctx, appr, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if owner, err := svc.DeviceCodeOwner(ctx, dc.DeviceCode); err != nil || owner != tenantID {
		t.Fatalf("owner after the answer: %q %v", owner, err)
	}
	// A poll that authenticated no client in the chosen tenant does not
	// redeem it; one in another tenant is refused.
	if _, p, err := svc.PollDeviceCode(ctx, "", dc.DeviceCode, client, now.Add(2*time.Minute)); err != nil || p != authn.PollPending {
		t.Fatalf("unauthenticated poll after approval: %v %v", p, err)
	}
	_, _, err = svc.PollDeviceCode(ctx, otherTenantID, dc.DeviceCode, client, now.Add(2*time.Minute))
	wantCode(t, err, "AADSTS700005")
	got, p, err := svc.PollDeviceCode(ctx, tenantID, dc.DeviceCode, client, now.Add(2*time.Minute))
	if err != nil || p != authn.PollApproved || got.TenantID != tenantID || got.UserID != "u1" || !got.Deferred {
		t.Fatalf("approved poll: %+v %v %v", got, p, err)
	}
	_, _, err = svc.PollDeviceCode(ctx, tenantID, dc.DeviceCode, client, now.Add(3*time.Minute))
	wantCode(t, err, "AADSTS90120")

	// Once a tenant's user answered, another tenant's cannot.
	d2 := issue()
	if err := svc.DeclineDeviceCode(ctx, d2.UserCode, otherTenantID, 0, now); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.ApproveDeviceCode(ctx, authn.DeviceApproval{UserCode: d2.UserCode, TenantID: tenantID, UserID: "u1"}, now), "AADSTS70018")
	if got, p, err := svc.PollDeviceCode(ctx, otherTenantID, d2.DeviceCode, client, now); err != nil || p != authn.PollDeclined || got.TenantID != otherTenantID {
		t.Fatalf("declined poll: %+v %v %v", got, p, err)
	}
	// An answer needs a tenant.
	d3 := issue()
	wantCode(t, svc.ApproveDeviceCode(ctx, authn.DeviceApproval{UserCode: d3.UserCode, UserID: "u1"}, now), "AADSTS70018")
}
