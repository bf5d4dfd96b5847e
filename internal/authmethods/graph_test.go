package authmethods_test

import (
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Built-in roles the cases use.
const (
	roleGlobalAdmin = "62e90394-69f5-4237-9190-012177145e10"
	roleAuthAdmin   = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	roleHelpdesk    = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleReports     = "4a5d8f65-41da-4de4-8968-e035b65339cf"
)

func types(ms []authmethods.Method) []authmethods.Type {
	out := make([]authmethods.Type, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}

func TestListGetDelete(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	e.enrollTOTP(alice)
	admin := e.app(rw)
	_, _, err := e.svc.IssueTAP(e.ctx, admin, alice, time.Hour, false, time.Time{})
	must(t, err)

	ms, err := e.svc.List(e.ctx, e.app("UserAuthenticationMethod.Read.All"), alice, "")
	must(t, err)
	if got := types(ms); len(got) != 3 || got[0] != authmethods.TypePassword || got[1] != authmethods.TypeSoftwareOath || got[2] != authmethods.TypeTAP {
		t.Fatalf("methods: %v", got)
	}
	if d := jsonOf(t, ms[0]); d["id"] != authmethods.PasswordMethodID || d["password"] != nil ||
		d["@odata.type"] != "#microsoft.graph.passwordAuthenticationMethod" {
		t.Errorf("password method: %v", d)
	}
	typed, err := e.svc.List(e.ctx, admin, alice, authmethods.TypeSoftwareOath)
	must(t, err)
	if len(typed) != 1 || typed[0].ID != ms[1].ID {
		t.Errorf("softwareOathMethods: %v", types(typed))
	}
	if _, err := e.svc.Get(e.ctx, admin, alice, authmethods.TypeFido2, ms[1].ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("a TOTP method through fido2Methods: %v", err)
	}
	if _, err := e.svc.Get(e.ctx, admin, alice, "", authmethods.PasswordMethodID); err != nil {
		t.Errorf("password method by id: %v", err)
	}
	// Directory permissions do not reach methods; reading does not delete.
	if _, err := e.svc.List(e.ctx, e.app("Directory.ReadWrite.All"), alice, ""); errs.KindOf(err) != errs.Denied {
		t.Errorf("Directory.ReadWrite.All lists methods: %v", err)
	}
	if err := e.svc.Delete(e.ctx, e.app("UserAuthenticationMethod.Read.All"), alice, "", ms[1].ID); errs.KindOf(err) != errs.Denied {
		t.Errorf("a read permission deletes: %v", err)
	}
	if err := e.svc.Delete(e.ctx, admin, alice, authmethods.TypePassword, authmethods.PasswordMethodID); errs.KindOf(err) != errs.Invalid {
		t.Errorf("the password deleted: %v", err)
	}
	must(t, e.svc.Delete(e.ctx, admin, alice, authmethods.TypeSoftwareOath, ms[1].ID))
	if err := e.svc.Delete(e.ctx, admin, alice, authmethods.TypeSoftwareOath, ms[1].ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("deleted twice: %v", err)
	}
	if _, err := e.svc.List(e.ctx, admin, iam.NewID(), ""); errs.KindOf(err) != errs.NotFound {
		t.Errorf("an unknown user: %v", err)
	}
	// Deletion is audited.
	audits, err := e.dir.ListDirectoryAudits(e.ctx, iam.System(e.tenant), query.List{})
	must(t, err)
	found := false
	for _, a := range audits.Items {
		found = found || a.ActivityDisplayName == "Admin deleted security info"
	}
	if !found {
		t.Error("no audit record of the deletion")
	}
}

// Users manage their own methods through the default user role, with the
// self scopes; nobody else's.
func TestSelfService(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	e.enrollTOTP(alice)
	e.enrollTOTP(bob)
	me := e.delegated(alice, "UserAuthenticationMethod.ReadWrite")
	ms, err := e.svc.List(e.ctx, me, alice, "")
	must(t, err)
	if len(ms) != 2 {
		t.Fatalf("own methods: %v", types(ms))
	}
	if _, err := e.svc.List(e.ctx, me, bob, ""); errs.KindOf(err) != errs.Denied {
		t.Errorf("alice lists bob's methods: %v", err)
	}
	if _, err := e.svc.List(e.ctx, e.delegated(alice, "User.Read"), alice, ""); errs.KindOf(err) != errs.Denied {
		t.Errorf("User.Read lists methods: %v", err)
	}
	if err := e.svc.Delete(e.ctx, e.delegated(alice, "UserAuthenticationMethod.Read"), alice, "", ms[1].ID); errs.KindOf(err) != errs.Denied {
		t.Errorf("a read scope deletes: %v", err)
	}
	must(t, e.svc.Delete(e.ctx, me, alice, "", ms[1].ID))
	// A Global Administrator manages their own methods too (self is
	// outside the matrix).
	e.enrollTOTP(e.admin)
	own, err := e.svc.List(e.ctx, e.delegated(e.admin, "UserAuthenticationMethod.ReadWrite"), e.admin, authmethods.TypeSoftwareOath)
	must(t, err)
	must(t, e.svc.Delete(e.ctx, e.delegated(e.admin, "UserAuthenticationMethod.ReadWrite"), e.admin, "", own[0].ID))
}

// The sensitive-actions matrix: an Authentication Administrator manages
// ordinary users' methods, not a Global Administrator's; Helpdesk
// Administrator has no right to methods at all.
func TestAdministratorsMatrix(t *testing.T) {
	e := newEnv(t)
	plain := e.user("plain")
	e.enrollTOTP(plain)
	ga := e.user("ga2")
	e.assign(ga, roleGlobalAdmin)
	e.enrollTOTP(ga)
	authAdmin, helpdesk := e.user("authadmin"), e.user("helpdesk")
	e.assign(authAdmin, roleAuthAdmin)
	e.assign(helpdesk, roleHelpdesk)
	scope := "UserAuthenticationMethod.ReadWrite.All"

	aa := e.delegated(authAdmin, scope)
	ms, err := e.svc.List(e.ctx, aa, plain, "")
	must(t, err) // restrictedRead suffices
	must(t, e.svc.Delete(e.ctx, aa, plain, "", ms[1].ID))
	gaMs, err := e.svc.List(e.ctx, e.delegated(e.admin, scope), ga, "")
	must(t, err)
	if _, err := e.svc.List(e.ctx, aa, ga, ""); errs.KindOf(err) != errs.Denied {
		t.Errorf("Authentication Administrator reads a Global Administrator's methods: %v", err)
	}
	if err := e.svc.Delete(e.ctx, aa, ga, "", gaMs[1].ID); errs.KindOf(err) != errs.Denied {
		t.Errorf("Authentication Administrator deletes a Global Administrator's method: %v", err)
	}
	hd := e.delegated(helpdesk, scope)
	for _, target := range []string{plain, ga} {
		if _, err := e.svc.List(e.ctx, hd, target, ""); errs.KindOf(err) != errs.Denied {
			t.Errorf("Helpdesk Administrator reads methods: %v", err)
		}
	}
	if err := e.svc.Delete(e.ctx, hd, ga, "", gaMs[1].ID); errs.KindOf(err) != errs.Denied {
		t.Errorf("Helpdesk Administrator deletes a Global Administrator's method: %v", err)
	}
	// The Global Administrator can.
	must(t, e.svc.Delete(e.ctx, e.delegated(e.admin, scope), ga, "", gaMs[1].ID))
}

func TestRegistrationDetails(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	e.enrollTOTP(alice)
	e.register(newAuthenticator(t), bob, "")
	_, _, err := e.svc.IssueTAP(e.ctx, e.app(rw), carol, time.Hour, true, time.Time{})
	must(t, err)
	reports := e.app("AuditLog.Read.All")
	rows := func(f query.Expr) map[string]authmethods.RegistrationDetails {
		t.Helper()
		p, err := e.svc.ListRegistrationDetails(e.ctx, reports, query.List{Filter: f})
		must(t, err)
		out := map[string]authmethods.RegistrationDetails{}
		for _, d := range p.Items {
			out[d.ID] = d
		}
		return out
	}
	boolEq := func(path string, v bool) query.Expr {
		return query.Cmp{Field: query.Field{Path: path, Type: query.Bool}, Op: query.Eq, Value: query.Value{Type: query.Bool, Bool: v}}
	}
	all := rows(nil)
	if len(all) != 4 {
		t.Fatalf("rows: %v", all)
	}
	if a := all[alice]; !a.IsMfaRegistered || a.IsPasswordlessCapable || a.UserPreferredMethodForSecondaryAuthentication != "oath" ||
		len(a.MethodsRegistered) != 1 || a.MethodsRegistered[0] != "softwareOneTimePasscode" || a.IsAdmin || a.UserType != "member" {
		t.Errorf("alice: %+v", a)
	}
	if b := all[bob]; !b.IsMfaCapable || !b.IsPasswordlessCapable || b.MethodsRegistered[0] != "fido2SecurityKey" {
		t.Errorf("bob: %+v", b)
	}
	if c := all[carol]; c.IsMfaRegistered || len(c.MethodsRegistered) != 1 || c.MethodsRegistered[0] != "temporaryAccessPass" {
		t.Errorf("carol: %+v", c)
	}
	if a := all[e.admin]; !a.IsAdmin || a.IsMfaRegistered {
		t.Errorf("admin: %+v", a)
	}
	if got := rows(boolEq("isMfaRegistered", false)); len(got) != 2 || got[carol].ID == "" || got[e.admin].ID == "" {
		t.Errorf("isMfaRegistered eq false: %v", got)
	}
	if got := rows(boolEq("isAdmin", true)); len(got) != 1 || got[e.admin].ID == "" {
		t.Errorf("isAdmin eq true: %v", got)
	}
	anyPasskey := query.Any{Field: query.Field{Path: "methodsRegistered", Type: query.String, Collection: true},
		Pred: query.Cmp{Field: query.Field{Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: "fido2SecurityKey"}}}
	if got := rows(anyPasskey); len(got) != 1 || got[bob].ID == "" {
		t.Errorf("methodsRegistered/any: %v", got)
	}
	if got := rows(query.And{boolEq("isMfaCapable", false), query.Not{X: boolEq("isAdmin", true)}}); len(got) != 1 || got[carol].ID == "" {
		t.Errorf("and/not: %v", got)
	}
	if got := rows(query.StartsWith{Field: query.Field{Path: "userPrincipalName", Type: query.String}, Prefix: "BO"}); len(got) != 1 || got[bob].ID == "" {
		t.Errorf("startsWith: %v", got)
	}
	// Paging: one row a page, every row once.
	seen := map[string]bool{}
	q := query.List{Top: 1}
	for i := 0; ; i++ {
		p, err := e.svc.ListRegistrationDetails(e.ctx, reports, q)
		must(t, err)
		for _, d := range p.Items {
			seen[d.ID] = true
		}
		if p.Next == nil {
			break
		}
		if i > 10 {
			t.Fatal("paging does not end")
		}
		q.After = p.Next
	}
	if len(seen) != 4 {
		t.Errorf("paged rows: %v", seen)
	}
	// Who may read it: AuditLog.Read.All, Reports Reader; not a
	// methods permission, not a plain user.
	if _, err := e.svc.ListRegistrationDetails(e.ctx, e.app(rw), query.List{}); errs.KindOf(err) != errs.Denied {
		t.Errorf("UserAuthenticationMethod.ReadWrite.All reads the report: %v", err)
	}
	if _, err := e.svc.ListRegistrationDetails(e.ctx, e.delegated(alice, "AuditLog.Read.All"), query.List{}); errs.KindOf(err) != errs.Denied {
		t.Errorf("a plain user reads the report: %v", err)
	}
	e.assign(alice, roleReports)
	if _, err := e.svc.GetRegistrationDetails(e.ctx, e.delegated(alice, "AuditLog.Read.All"), bob); err != nil {
		t.Errorf("Reports Reader: %v", err)
	}
	un, err := e.svc.MFAUnregistered(e.ctx, e.tenant)
	must(t, err)
	if len(un) != 2 {
		t.Errorf("unregistered: %v", un)
	}
}
