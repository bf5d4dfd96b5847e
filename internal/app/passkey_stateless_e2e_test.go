package app_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/authmethods/webauthntest"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// ceremonyCount counts a tenant's authentication method ceremonies, live
// or deleted, through the server's store.
func ceremonyCount(t testing.TB, srv *apptest.Server, tenantID string) int {
	t.Helper()
	n := 0
	err := srv.App.Store().Read(context.Background(), func(r store.Reader) error {
		for _, scope := range []store.Scope{store.Live, store.DeletedOnly} {
			p, err := r.List(tenantID, iam.KindAuthMethodCeremony, scope, query.List{Top: 999})
			if err != nil {
				return err
			}
			n += len(p.Items)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// storeDigest is a hash of everything the server's SQLite database holds
// but its cluster locks (which the periodic jobs renew): equal digests
// mean nothing was written in between.
func storeDigest(t testing.TB, srv *apptest.Server) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(srv.Config.DataDir, "ostiary.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.New()
	for _, q := range []string{
		"SELECT * FROM tenants ORDER BY id",
		"SELECT * FROM objects ORDER BY tenant_id, kind, id",
		"SELECT * FROM links ORDER BY tenant_id, rel, source_id, target_id, qualifier",
		"SELECT * FROM changes ORDER BY seq",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%q\n", vals)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		fmt.Fprintf(h, "%s: %d rows\n", q, n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestPasskeySignInPageWritesNothing: on a server that offers passkeys,
// the sign-in page of a known tenant offers one on every view, and
// viewing it, however often and by whoever, writes nothing to the store.
func TestPasskeySignInPageWritesNothing(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{}, apptest.SecurityDefaults(), apptest.PublicHost("localhost"))
	_, challenge := pkcePair(t)
	authURL := w.authorizeURL(challenge)
	// A first view, so that whatever a first request may set up is done.
	passkeyForm(t, newBrowser(w.srv).do(t, "GET", authURL, nil), "get")

	tenant := w.srv.Creds.TenantID
	ceremonies, digest := ceremonyCount(t, w.srv, tenant), storeDigest(t, w.srv)
	handles := map[string]bool{}
	crawler := newBrowser(w.srv) // one client fetching in a loop
	for i := range 60 {
		b := crawler
		if i%3 == 0 {
			b = newBrowser(w.srv) // and fresh ones, without cookies
		}
		p := b.do(t, "GET", authURL, nil)
		f, _ := passkeyForm(t, p, "get")
		h := f.fields.Get("ostiary_passkey_handle")
		if handles[h] {
			t.Fatalf("view %d repeats a handle", i)
		}
		handles[h] = true
	}
	// The /common page offers no passkey, and writes nothing either.
	if p := newBrowser(w.srv).do(t, "GET", onAlias(authURL, tenant, "common"), nil); strings.Contains(p.body, "data-passkey") {
		t.Errorf("a passkey offered on /common: %s", p.body)
	}
	if n := ceremonyCount(t, w.srv, tenant); n != ceremonies {
		t.Errorf("61 views of the sign-in page: %d ceremonies, before %d", n, ceremonies)
	}
	if d := storeDigest(t, w.srv); d != digest {
		t.Error("viewing the sign-in page wrote to the store")
	}
}

// TestPasskeySignInHandleOnce: a sign-in page's passkey handle is
// answered once, even by an authenticator that keeps no signature counter
// (so the counter check cannot tell a replay): the same post again, a new
// assertion over the same challenge, the handle moved to another browser
// are refused. A handle altered, expired or taken to another tenant's
// page is refused too, and none of those refusals spends it.
func TestPasskeySignInHandleOnce(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	w := newUserWorld(t, app.Options{Now: clock.Now}, apptest.SecurityDefaults(), apptest.PublicHost("localhost"))
	w.allowSelfEdit(t) // redeemCode asks for User.ReadWrite
	authorizeURL := func(challenge string) string {
		return strings.Replace(w.authorizeURL(challenge), "scope=User.Read+", "scope=User.ReadWrite+", 1)
	}
	auth := webauthntest.New(t, w.srv.URL, "localhost")
	key, _ := skipAndAddPasskey(t, newBrowser(w.srv), auth, w.upn, userPassword)
	key.FixedZero = true // counter 0 at registration, and ever after
	tenant := w.srv.Creds.TenantID
	refused := func(p page) bool {
		return p.status == 200 && strings.Contains(p.body, "sign you in with that passkey")
	}

	// A sign-in: it records its one challenge.
	b := newBrowser(w.srv)
	verifier, challenge := pkcePair(t)
	authURL := authorizeURL(challenge)
	pf, opts := passkeyForm(t, b.do(t, "GET", authURL, nil), "get")
	assertion := auth.Get(opts, key)
	before := ceremonyCount(t, w.srv, tenant)
	w.redeemCode(t, postPasskey(t, b, pf, assertion).location(t).Query().Get("code"), verifier)
	if n := ceremonyCount(t, w.srv, tenant); n != before+1 {
		t.Errorf("after a passkey sign-in: %d ceremonies, want %d", n, before+1)
	}

	// The same post, a new assertion over its challenge, and the handle
	// and assertion posted from another browser's page: refused.
	if p := postPasskey(t, b, pf, assertion); !refused(p) {
		t.Fatalf("the same post again: %d %s", p.status, p.body)
	}
	if p := postPasskey(t, b, pf, auth.Get(opts, key)); !refused(p) {
		t.Fatalf("a new assertion over a spent challenge: %d %s", p.status, p.body)
	}
	b2 := newBrowser(w.srv)
	moved, _ := passkeyForm(t, b2.do(t, "GET", authURL, nil), "get")
	moved.fields.Set("ostiary_passkey_handle", pf.fields.Get("ostiary_passkey_handle"))
	if p := postPasskey(t, b2, moved, assertion); !refused(p) {
		t.Fatalf("the spent handle from another browser: %d %s", p.status, p.body)
	}

	// A fresh page's handle, altered: refused, and the handle itself
	// still works afterwards.
	b3 := newBrowser(w.srv)
	verifier3, challenge3 := pkcePair(t)
	pf, opts = passkeyForm(t, b3.do(t, "GET", authorizeURL(challenge3), nil), "get")
	assertion = auth.Get(opts, key)
	h := pf.fields.Get("ostiary_passkey_handle")
	for _, bad := range []string{h[:len(h)-2], h + "AA", tamper(h, len(h)/2), tamper(h, 0), ""} {
		f := pf
		f.fields = cloneValues(pf.fields)
		f.fields.Set("ostiary_passkey_handle", bad)
		if p := postPasskey(t, b3, f, assertion); !refused(p) {
			t.Fatalf("an altered handle %q: %d %s", bad, p.status, p.body)
		}
	}
	w.redeemCode(t, postPasskey(t, b3, pf, assertion).location(t).Query().Get("code"), verifier3)

	// Another tenant's sign-in page does not take this tenant's handle,
	// though its answer is good here (and stays good: nothing was spent).
	fab := tenantWorld(t, w.srv, "fabrikam", "bob")
	b4 := newBrowser(w.srv)
	verifier4, challenge4 := pkcePair(t)
	pf, opts = passkeyForm(t, b4.do(t, "GET", authorizeURL(challenge4), nil), "get")
	assertion = auth.Get(opts, key)
	_, fabChallenge := pkcePair(t)
	there, _ := passkeyForm(t, b4.do(t, "GET", fab.authorizeURL(fabChallenge), nil), "get")
	if !strings.Contains(there.action, fab.srv.Creds.TenantID) {
		t.Fatalf("fabrikam's form posts to %s", there.action)
	}
	there.fields.Set("ostiary_passkey_handle", pf.fields.Get("ostiary_passkey_handle"))
	if p := postPasskey(t, b4, there, assertion); !refused(p) {
		t.Fatalf("contoso's handle on fabrikam's page: %d %s", p.status, p.body)
	}
	w.redeemCode(t, postPasskey(t, b4, pf, assertion).location(t).Query().Get("code"), verifier4)

	// Expired: a page left open for five minutes.
	b5 := newBrowser(w.srv)
	pf, opts = passkeyForm(t, b5.do(t, "GET", authURL, nil), "get")
	clock.Add(5 * time.Minute)
	if p := postPasskey(t, b5, pf, auth.Get(opts, key)); !refused(p) {
		t.Fatalf("an expired handle: %d %s", p.status, p.body)
	}

	// Each refusal is in the sign-in log of the tenant whose page it was.
	if n := len(listSignIns(t, w.srv, w.tok, "status/errorCode eq 500121 and appId eq '"+w.client.AppID+"'")); n != 3+5+1 {
		t.Errorf("%d refused passkey sign-ins logged in contoso, want 9 (3 replays, 5 altered handles, 1 expired)", n)
	}
	if n := len(listSignIns(t, fab.srv, fab.tok, "status/errorCode eq 500121 and appId eq '"+fab.client.AppID+"'")); n != 1 {
		t.Errorf("%d refused passkey sign-ins logged in fabrikam, want 1", n)
	}
}

// tamper changes the character at i of a handle.
func tamper(h string, i int) string {
	b := []byte(h)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
