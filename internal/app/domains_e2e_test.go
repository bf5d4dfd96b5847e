package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/directory/dnstest"
)

// TestDomainsOverHTTP adds a custom domain, proves it through a real DNS
// server on loopback, moves a user onto it, makes it the default, and
// checks that it cannot be deleted while anything uses it, nor verified by
// a second tenant.
func TestDomainsOverHTTP(t *testing.T) {
	t.Parallel()
	dns := dnstest.Start(t)
	srv := apptest.NewWith(t, app.Options{Resolver: dns.Resolver()})
	tok := srv.Token(t)
	initial := srv.Creds.Domain
	const name = "contoso-custom.example"

	r := call(t, srv, "POST", "/v1.0/domains", tok, map[string]any{"id": "Contoso-Custom.Example"}, 201)
	if m := r.JSON(t); m["id"] != name || m["isVerified"] != false || m["isDefault"] != false || m["isInitial"] != false {
		t.Fatalf("added domain: %s", r.Body)
	}
	badReq(t, srv.Do(t, "POST", "/v1.0/domains", tok, map[string]any{"id": name}), "add twice")
	badReq(t, srv.Do(t, "POST", "/v1.0/domains", tok, map[string]any{"id": "not a domain"}), "invalid name")
	badReq(t, srv.Do(t, "POST", "/v1.0/domains", tok, map[string]any{"id": "x.example", "isVerified": true}), "self-verified domain")

	r = call(t, srv, "GET", "/v1.0/domains/"+name+"/verificationDnsRecords", tok, nil, 200)
	recs := r.JSON(t)["value"].([]any)
	if len(recs) != 1 {
		t.Fatalf("verificationDnsRecords: %s", r.Body)
	}
	rec := recs[0].(map[string]any)
	code, _ := rec["text"].(string)
	if rec["@odata.type"] != "#microsoft.graph.domainDnsTxtRecord" || rec["recordType"] != "Txt" || rec["label"] != name || !strings.HasPrefix(code, "MS=ms") {
		t.Fatalf("verification record: %v", rec)
	}

	// Unverified: no user may use it.
	userID := createUser(t, srv, tok, "mover@"+initial)
	badReq(t, srv.Do(t, "POST", "/v1.0/users", tok, newUser("new@"+name, "New")), "create user on unverified domain")
	r = srv.Do(t, "PATCH", "/v1.0/users/"+userID, tok, map[string]any{"userPrincipalName": "mover@" + name})
	badReq(t, r, "move user to unverified domain")
	if !strings.Contains(string(r.Body), "verified domain") {
		t.Errorf("unverified domain message: %s", r.Body)
	}
	badReq(t, srv.Do(t, "POST", "/v1.0/domains/"+name+"/promote", tok, nil), "promote unverified domain")

	// Verification fails until the TXT record is published.
	badReq(t, srv.Do(t, "POST", "/v1.0/domains/"+name+"/verify", tok, nil), "verify without a record")
	dns.SetTXT(name, "v=spf1 -all", "MS=ms00000000")
	badReq(t, srv.Do(t, "POST", "/v1.0/domains/"+name+"/verify", tok, nil), "verify with a wrong record")
	dns.Fail(name)
	if r := srv.Do(t, "POST", "/v1.0/domains/"+name+"/verify", tok, nil); r.Status != 503 && r.Status != 400 {
		t.Errorf("verify while DNS fails: %d %s", r.Status, r.Body)
	}
	dns.Remove(name)
	dns.SetTXT(name, "v=spf1 -all", code)
	r = call(t, srv, "POST", "/v1.0/domains/"+name+"/verify", tok, nil, 200)
	if r.JSON(t)["isVerified"] != true {
		t.Fatalf("verify: %s", r.Body)
	}
	dns.Remove(name) // verification is permanent; DNS is not asked again
	if m := call(t, srv, "GET", "/v1.0/domains/"+name, tok, nil, 200).JSON(t); m["isVerified"] != true {
		t.Errorf("domain after verify: %v", m)
	}
	// A subdomain of a verified domain is verified at once.
	if m := call(t, srv, "POST", "/v1.0/domains", tok, map[string]any{"id": "eu." + name}, 201).JSON(t); m["isVerified"] != true || m["isRoot"] != false {
		t.Errorf("subdomain: %v", m)
	}

	// Now the user can move there, and new users can be created on it.
	call(t, srv, "PATCH", "/v1.0/users/"+userID, tok, map[string]any{"userPrincipalName": "mover@" + name}, 204)
	if m := call(t, srv, "GET", "/v1.0/users/mover@"+name, tok, nil, 200).JSON(t); m["id"] != userID {
		t.Errorf("user by new UPN: %v", m)
	}
	notFound(t, srv.Do(t, "GET", "/v1.0/users/mover@"+initial, tok, nil), "old UPN")
	subUser := createUser(t, srv, tok, "sub@eu."+name)

	// Promote: exactly one default; the initial domain stays.
	call(t, srv, "POST", "/v1.0/domains/"+name+"/promote", tok, nil, 200)
	defaults := 0
	for _, d := range call(t, srv, "GET", "/v1.0/domains", tok, nil, 200).JSON(t)["value"].([]any) {
		d := d.(map[string]any)
		if d["isDefault"] == true {
			defaults++
			if d["id"] != name {
				t.Errorf("default domain is %v", d["id"])
			}
		}
		if d["id"] == initial && d["isInitial"] != true {
			t.Errorf("initial domain: %v", d)
		}
	}
	if defaults != 1 {
		t.Errorf("%d default domains", defaults)
	}
	// A new application's publisher domain follows the default.
	if m := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": "Pub"}, 201).JSON(t); m["publisherDomain"] != name {
		t.Errorf("publisherDomain = %v", m["publisherDomain"])
	}

	// Deletion is refused while the domain is default, has a subdomain, or
	// is in a UPN, live or soft-deleted; the initial domain never goes.
	badReq(t, srv.Do(t, "DELETE", "/v1.0/domains/"+name, tok, nil), "delete the default domain")
	badReq(t, srv.Do(t, "DELETE", "/v1.0/domains/"+initial, tok, nil), "delete the initial domain")
	call(t, srv, "POST", "/v1.0/domains/"+initial+"/promote", tok, nil, 200)
	badReq(t, srv.Do(t, "DELETE", "/v1.0/domains/eu."+name, tok, nil), "delete a subdomain in use")
	call(t, srv, "DELETE", "/v1.0/users/"+subUser, tok, nil, 204)
	badReq(t, srv.Do(t, "DELETE", "/v1.0/domains/eu."+name, tok, nil), "delete a subdomain used by a deleted user")
	call(t, srv, "DELETE", "/v1.0/directory/deletedItems/"+subUser, tok, nil, 204)
	call(t, srv, "DELETE", "/v1.0/domains/eu."+name, tok, nil, 204)
	r = srv.Do(t, "DELETE", "/v1.0/domains/"+name, tok, nil)
	badReq(t, r, "delete a domain in use")
	call(t, srv, "GET", "/v1.0/domains/"+name, tok, nil, 200)

	// Another tenant on this server cannot verify the same name, even with
	// its own code published.
	other, err := srv.App.Directory().CreateTenant(context.Background(), directory.TenantSpec{Name: "northwind"})
	if err != nil {
		t.Fatal(err)
	}
	otok := srv.TokenFor(t, other.TenantID, other.ClientID, other.ClientSecret, "https://graph.microsoft.com/.default")
	if r := srv.Do(t, "POST", "/v1.0/domains", otok, map[string]any{"id": name}); r.Status == 201 {
		recs := call(t, srv, "GET", "/v1.0/domains/"+name+"/verificationDnsRecords", otok, nil, 200).JSON(t)["value"].([]any)
		dns.SetTXT(name, recs[0].(map[string]any)["text"].(string))
		badReq(t, srv.Do(t, "POST", "/v1.0/domains/"+name+"/verify", otok, nil), "second tenant verifies a taken name")
		badReq(t, srv.Do(t, "POST", "/v1.0/users", otok, newUser("x@"+name, "X")), "second tenant's user on a taken name")
	} else {
		badReq(t, r, "second tenant adds a taken name")
	}

	// Move the user back; now the domain can go.
	call(t, srv, "PATCH", "/v1.0/users/"+userID, tok, map[string]any{"userPrincipalName": "mover@" + initial}, 204)
	call(t, srv, "DELETE", "/v1.0/domains/"+name, tok, nil, 204)
	notFound(t, srv.Do(t, "GET", "/v1.0/domains/"+name, tok, nil), "deleted domain")
	badReq(t, srv.Do(t, "PATCH", "/v1.0/users/"+userID, tok, map[string]any{"userPrincipalName": "mover@" + name}), "UPN on a deleted domain")
}
