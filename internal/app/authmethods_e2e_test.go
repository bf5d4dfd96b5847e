package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// Authentication methods over HTTP (CONTRACT.md D.14, D.15): Temporary
// Access Passes issued through Graph, lists and deletes, the
// sensitive-actions matrix on administrators' methods, self-service
// through /me, and the registration report.

const escAuthAdmin = "c4e39bd9-1100-46d3-8c65-fb160da0071f"

// amMethods lists a user's methods (path under /v1.0) and returns them by
// "@odata.type" without the namespace prefix.
func amMethods(t testing.TB, srv *apptest.Server, tok, path string) map[string][]map[string]any {
	t.Helper()
	r := call(t, srv, "GET", "/v1.0/"+path, tok, nil, 200)
	out := map[string][]map[string]any{}
	for _, v := range r.JSON(t)["value"].([]any) {
		m := v.(map[string]any)
		typ := strings.TrimPrefix(m["@odata.type"].(string), "#microsoft.graph.")
		out[typ] = append(out[typ], m)
	}
	return out
}

// amEnrollTOTP registers an authenticator app for a user in-process (the
// registration pages belong to the sign-in flow).
func amEnrollTOTP(t testing.TB, srv *apptest.Server, userID string) {
	t.Helper()
	ctx := context.Background()
	svc := srv.App.AuthMethods()
	en, err := svc.BeginTOTP(ctx, srv.Creds.TenantID, userID, userID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCodeCustom(en.Secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, srv.Creds.TenantID, userID, en.ID, code); err != nil {
		t.Fatal(err)
	}
}

func TestAuthMethodsTemporaryAccessPass(t *testing.T) {
	t.Parallel()
	w := escNewWorld(t)
	srv := w.srv
	plain, plainUPN := w.person(t, "plain")
	admin := appToken(t, srv, registerApp(t, srv, w.tok, "Methods Admin", "UserAuthenticationMethod.ReadWrite.All"))

	// Issued through Graph: 201 with the pass this once.
	r := call(t, srv, "POST", "/v1.0/users/"+plainUPN+"/authentication/temporaryAccessPassMethods", admin,
		map[string]any{"lifetimeInMinutes": 60, "isUsableOnce": true}, 201)
	tap := r.JSON(t)
	pass, _ := tap["temporaryAccessPass"].(string)
	if len(pass) < 16 || tap["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethod" || tap["isUsable"] != true ||
		tap["isUsableOnce"] != true || tap["lifetimeInMinutes"] != float64(60) ||
		!strings.HasSuffix(tap["@odata.context"].(string), "/v1.0/$metadata#users('"+plainUPN+"')/authentication/temporaryAccessPassMethods/$entity") {
		t.Fatalf("issued: %s", r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on a response carrying a pass", cc)
	}
	tapID := tap["id"].(string)
	// Then never again: not on GET of the item, of its collection or of methods.
	for _, path := range []string{"/authentication/temporaryAccessPassMethods/" + tapID, "/authentication/methods/" + tapID} {
		got := call(t, srv, "GET", "/v1.0/users/"+plain+path, admin, nil, 200)
		if strings.Contains(string(got.Body), pass) || got.JSON(t)["temporaryAccessPass"] != nil {
			t.Errorf("GET %s shows the pass: %s", path, got.Body)
		}
	}
	all := amMethods(t, srv, admin, "users/"+plain+"/authentication/methods")
	if len(all["passwordAuthenticationMethod"]) != 1 || all["passwordAuthenticationMethod"][0]["id"] != "28c10230-6103-485e-b985-444c60001490" ||
		len(all["temporaryAccessPassAuthenticationMethod"]) != 1 || all["temporaryAccessPassAuthenticationMethod"][0]["temporaryAccessPass"] != nil {
		t.Errorf("methods: %v", all)
	}
	// The pass works once, in-process as the sign-in flow will use it.
	svc := srv.App.AuthMethods()
	if err := svc.VerifyTAP(context.Background(), srv.Creds.TenantID, plain, pass, time.Now()); err != nil {
		t.Fatalf("the pass: %v", err)
	}
	if svc.VerifyTAP(context.Background(), srv.Creds.TenantID, plain, pass, time.Now()) == nil {
		t.Error("a one-time pass worked twice")
	}
	if got := call(t, srv, "GET", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods/"+tapID, admin, nil, 200).JSON(t); got["methodUsabilityReason"] != "OneTimeUsed" {
		t.Errorf("used pass: %v", got)
	}

	// Refusals: a bad lifetime, an unknown property, a read permission, a
	// user for themself.
	badReq(t, srv.Do(t, "POST", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods", admin, map[string]any{"lifetimeInMinutes": 1}), "lifetime of one minute")
	badReq(t, srv.Do(t, "POST", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods", admin, map[string]any{"temporaryAccessPass": "chosen"}), "a chosen pass")
	reader := appToken(t, srv, registerApp(t, srv, w.tok, "Methods Reader", "UserAuthenticationMethod.Read.All"))
	denied(t, srv.Do(t, "POST", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods", reader, map[string]any{}), "issue with a read permission")
	denied(t, srv.Do(t, "POST", "/v1.0/me/authentication/temporaryAccessPassMethods", w.signIn(t, plainUPN, escPassword), map[string]any{}), "issue for oneself")
	denied(t, srv.Do(t, "GET", "/v1.0/users/"+plain+"/authentication/methods", w.tok, nil), "Directory.ReadWrite.All reads methods")

	// Delete: 204, then gone.
	denied(t, srv.Do(t, "DELETE", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods/"+tapID, reader, nil), "delete with a read permission")
	call(t, srv, "DELETE", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods/"+tapID, admin, nil, 204)
	notFound(t, srv.Do(t, "GET", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods/"+tapID, admin, nil), "a deleted pass")
	notFound(t, srv.Do(t, "DELETE", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods/"+tapID, admin, nil), "a deleted pass again")
	if got := srv.Do(t, "DELETE", "/v1.0/users/"+plain+"/authentication/passwordMethods/28c10230-6103-485e-b985-444c60001490", admin, nil); got.Status != 400 {
		t.Errorf("deleting the password: %d %s", got.Status, got.Body)
	}
	// An authenticator app shows as softwareOath with a null secret.
	amEnrollTOTP(t, srv, plain)
	oath := amMethods(t, srv, reader, "users/"+plain+"/authentication/softwareOathMethods")["softwareOathAuthenticationMethod"]
	if len(oath) != 1 || oath[0]["secretKey"] != nil {
		t.Fatalf("softwareOathMethods: %v", oath)
	}
	call(t, srv, "DELETE", "/v1.0/users/"+plain+"/authentication/softwareOathMethods/"+oath[0]["id"].(string), admin, nil, 204)
	notFound(t, srv.Do(t, "GET", "/v1.0/users/5f0c8a52-7c6b-4d1e-9a3f-2b8e6d4c1a09/authentication/methods", admin, nil), "an unknown user's methods")
}

// The sensitive-actions matrix over HTTP: neither a Helpdesk
// Administrator (no right to methods) nor an Authentication Administrator
// (below a Global Administrator in the matrix) reads or deletes a Global
// Administrator's methods; the Authentication Administrator manages a
// plain user's, and a Global Administrator the other's.
func TestAuthMethodsAdministratorsMatrix(t *testing.T) {
	t.Parallel()
	w := escNewWorld(t)
	srv := w.srv
	ga, _ := w.person(t, "second.global")
	w.assign(t, ga, escGlobalAdmin, "/")
	plain, _ := w.person(t, "plain")
	_, htok := w.actor(t, "helpdesk", escHelpdeskAdmin)
	_, atok := w.actor(t, "auth.admin", escAuthAdmin)
	gtok := w.admin(t)
	for _, u := range []string{ga, plain} {
		amEnrollTOTP(t, srv, u)
	}
	gaOath := amMethods(t, srv, gtok, "users/"+ga+"/authentication/methods")["softwareOathAuthenticationMethod"][0]["id"].(string)
	gaTAP := call(t, srv, "POST", "/v1.0/users/"+ga+"/authentication/temporaryAccessPassMethods", gtok, map[string]any{}, 201).JSON(t)["id"].(string)

	for _, c := range []struct{ name, tok string }{{"Helpdesk Administrator", htok}, {"Authentication Administrator", atok}} {
		denied(t, srv.Do(t, "GET", "/v1.0/users/"+ga+"/authentication/methods", c.tok, nil), c.name+" lists a Global Administrator's methods")
		denied(t, srv.Do(t, "GET", "/v1.0/users/"+ga+"/authentication/softwareOathMethods/"+gaOath, c.tok, nil), c.name+" reads a Global Administrator's app")
		denied(t, srv.Do(t, "DELETE", "/v1.0/users/"+ga+"/authentication/softwareOathMethods/"+gaOath, c.tok, nil), c.name+" deletes a Global Administrator's app")
		denied(t, srv.Do(t, "DELETE", "/v1.0/users/"+ga+"/authentication/temporaryAccessPassMethods/"+gaTAP, c.tok, nil), c.name+" deletes a Global Administrator's pass")
		denied(t, srv.Do(t, "POST", "/v1.0/users/"+ga+"/authentication/temporaryAccessPassMethods", c.tok, map[string]any{}), c.name+" issues a pass for a Global Administrator")
	}
	if got := amMethods(t, srv, gtok, "users/"+ga+"/authentication/methods"); len(got["softwareOathAuthenticationMethod"]) != 1 || len(got["temporaryAccessPassAuthenticationMethod"]) != 1 {
		t.Errorf("the Global Administrator's methods changed: %v", got)
	}
	// Contrast.
	denied(t, srv.Do(t, "GET", "/v1.0/users/"+plain+"/authentication/methods", htok, nil), "Helpdesk Administrator lists a plain user's methods")
	oath := amMethods(t, srv, atok, "users/"+plain+"/authentication/methods")["softwareOathAuthenticationMethod"]
	if len(oath) != 1 {
		t.Fatalf("Authentication Administrator's view of a plain user: %v", oath)
	}
	escAllowed(t, srv.Do(t, "DELETE", "/v1.0/users/"+plain+"/authentication/softwareOathMethods/"+oath[0]["id"].(string), atok, nil), 204,
		"Authentication Administrator deletes a plain user's app")
	escAllowed(t, srv.Do(t, "POST", "/v1.0/users/"+plain+"/authentication/temporaryAccessPassMethods", atok, map[string]any{}), 201,
		"Authentication Administrator issues a plain user a pass")
	escAllowed(t, srv.Do(t, "DELETE", "/v1.0/users/"+ga+"/authentication/softwareOathMethods/"+gaOath, gtok, nil), 204,
		"Global Administrator deletes the other's app")
}

// Users see and remove their own methods through /me, and nobody else's.
func TestAuthMethodsSelfService(t *testing.T) {
	t.Parallel()
	w := escNewWorld(t)
	srv := w.srv
	alice, aliceUPN := w.person(t, "alice")
	bob, _ := w.person(t, "bob")
	amEnrollTOTP(t, srv, alice)
	amEnrollTOTP(t, srv, bob)
	tok := w.signIn(t, aliceUPN, escPassword)
	mine := amMethods(t, srv, tok, "me/authentication/methods")
	if len(mine["passwordAuthenticationMethod"]) != 1 || len(mine["softwareOathAuthenticationMethod"]) != 1 {
		t.Fatalf("/me methods: %v", mine)
	}
	r := call(t, srv, "GET", "/v1.0/me/authentication/methods", tok, nil, 200)
	if ctx := r.JSON(t)["@odata.context"].(string); !strings.HasSuffix(ctx, "$metadata#users('"+alice+"')/authentication/methods") {
		t.Errorf("context %s", ctx)
	}
	if got := amMethods(t, srv, tok, "me/authentication/passwordMethods"); len(got["passwordAuthenticationMethod"]) != 1 {
		t.Errorf("/me passwordMethods: %v", got)
	}
	denied(t, srv.Do(t, "GET", "/v1.0/users/"+bob+"/authentication/methods", tok, nil), "alice lists bob's methods")
	oath := mine["softwareOathAuthenticationMethod"][0]["id"].(string)
	call(t, srv, "DELETE", "/v1.0/me/authentication/softwareOathMethods/"+oath, tok, nil, 204)
	if got := amMethods(t, srv, tok, "me/authentication/methods"); len(got["softwareOathAuthenticationMethod"]) != 0 {
		t.Errorf("after delete: %v", got)
	}
	// App-only tokens have no /me.
	badReq(t, srv.Do(t, "GET", "/v1.0/me/authentication/methods", w.tok, nil), "/me with an app token")
}

func TestRegistrationDetailsReport(t *testing.T) {
	t.Parallel()
	w := escNewWorld(t)
	srv := w.srv
	withApp, _ := w.person(t, "with.app")
	withPass, _ := w.person(t, "with.pass")
	amEnrollTOTP(t, srv, withApp)
	methods := appToken(t, srv, registerApp(t, srv, w.tok, "Methods Admin", "UserAuthenticationMethod.ReadWrite.All"))
	call(t, srv, "POST", "/v1.0/users/"+withPass+"/authentication/temporaryAccessPassMethods", methods, map[string]any{}, 201)
	reports := appToken(t, srv, registerApp(t, srv, w.tok, "Reports", "AuditLog.Read.All"))
	admin := srv.Creds.AdminUserPrincipalName
	adminID := call(t, srv, "GET", "/v1.0/users/"+admin, w.tok, nil, 200).JSON(t)["id"].(string)

	const path = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	list := func(filter string) []string {
		t.Helper()
		p := path
		if filter != "" {
			p += "?$filter=" + url.QueryEscape(filter)
		}
		return valueIDs(t, call(t, srv, "GET", p, reports, nil, 200))
	}
	if got := list(""); len(got) != 3 {
		t.Fatalf("rows: %v", got)
	}
	row := call(t, srv, "GET", path+"/"+withApp, reports, nil, 200).JSON(t)
	if row["isMfaRegistered"] != true || row["isMfaCapable"] != true || row["isPasswordlessCapable"] != false || row["isAdmin"] != false ||
		row["userType"] != "member" || row["isSsprRegistered"] != false || row["isSsprEnabled"] != false || row["isSsprCapable"] != false ||
		row["userPreferredMethodForSecondaryAuthentication"] != "oath" || row["lastUpdatedDateTime"] == nil ||
		strings.Join(toStrings(row["methodsRegistered"]), ",") != "softwareOneTimePasscode" {
		t.Errorf("row: %v", row)
	}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"isMfaRegistered eq false", sorted(withPass, adminID)},
		{"isMfaRegistered eq true", []string{withApp}},
		{"isAdmin eq true", []string{adminID}},
		{"isMfaCapable eq false and isAdmin eq false", []string{withPass}},
		{"methodsRegistered/any(m:m eq 'temporaryAccessPass')", []string{withPass}},
		{"userType eq 'member'", sorted(withApp, withPass, adminID)},
		{"startsWith(userPrincipalName,'with.')", sorted(withApp, withPass)},
	} {
		if got := list(c.filter); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("$filter=%s: %v, want %v", c.filter, got, c.want)
		}
	}
	// Paged with $top and an absolute next link.
	r := call(t, srv, "GET", path+"?$top=2", reports, nil, 200).JSON(t)
	next, _ := r["@odata.nextLink"].(string)
	if len(r["value"].([]any)) != 2 || !strings.HasPrefix(next, srv.URL+path) {
		t.Fatalf("first page: %v", r)
	}
	rest := call(t, srv, "GET", strings.TrimPrefix(next, srv.URL), reports, nil, 200).JSON(t)
	if len(rest["value"].([]any)) != 1 || rest["@odata.nextLink"] != nil {
		t.Errorf("second page: %v", rest)
	}
	badReq(t, srv.Do(t, "GET", path+"?$filter="+url.QueryEscape("lastUpdatedDateTime eq 2020-01-01T00:00:00Z"), reports, nil), "an unsupported filter")
	// Who reads it: AuditLog.Read.All or a reports role.
	denied(t, srv.Do(t, "GET", path, methods, nil), "UserAuthenticationMethod.ReadWrite.All")
	denied(t, srv.Do(t, "GET", path, w.tok, nil), "Directory.ReadWrite.All")
	denied(t, srv.Do(t, "GET", path, w.signIn(t, "with.app@"+w.creds.Domain, escPassword), nil), "a plain user")
	call(t, srv, "GET", path, w.admin(t), nil, 200)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
