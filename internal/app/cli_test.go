package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/config"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
)

// TestBootstrapFixedCredentials starts a server whose first tenant has
// fixed credentials (the CI and emulator setup), then checks the
// credentials file, that only a hash of the admin password is stored, and
// the offline admin recovery.
func TestBootstrapFixedCredentials(t *testing.T) {
	const (
		tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		clientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
		secret   = "fixed-client-secret-for-ci-0123"
		adminPW  = "Fix3d-Admin-Passw0rd!"
		adminUPN = "root@fixedco.ostiary.test"
	)
	fixed := func(c *config.Config) {
		c.Bootstrap = config.Bootstrap{TenantID: strings.ToUpper(tenantID), TenantName: "fixedco", AdminUserPrincipalName: adminUPN,
			AdminPassword: adminPW, ClientID: clientID, ClientSecret: secret}
	}
	run := func(t *testing.T, srv *apptest.Server) {
		ctx := context.Background()
		want := directory.TenantCredentials{TenantID: tenantID, Domain: "fixedco.ostiary.test", AdminUserPrincipalName: adminUPN,
			AdminPassword: adminPW, ClientID: clientID, ClientSecret: secret}
		if srv.Creds != want {
			t.Fatalf("creds = %+v, want %+v", srv.Creds, want)
		}
		tok := srv.Token(t)
		c := claimsOf(t, tok)
		if c["tid"] != tenantID || (c["appid"] != clientID && c["azp"] != clientID) {
			t.Errorf("token claims: %v", c)
		}
		if roles := rolesOf(t, tok); strings.Join(roles, ",") != "Directory.ReadWrite.All,RoleManagement.ReadWrite.Directory" {
			t.Errorf("bootstrap roles = %v", roles)
		}
		org := call(t, srv, "GET", "/v1.0/organization", tok, nil, 200).JSON(t)["value"].([]any)[0].(map[string]any)
		if org["id"] != tenantID {
			t.Errorf("organization: %v", org)
		}
		call(t, srv, "GET", "/v1.0/users/"+adminUPN, tok, nil, 200)

		// <data-dir>/bootstrap.json: 0600, exactly the credential keys.
		path := filepath.Join(srv.Config.DataDir, app.BootstrapFile)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", path, fi.Mode().Perm())
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file map[string]string
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatalf("bootstrap.json: %v: %s", err, raw)
		}
		var keys []string
		for k := range file {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if strings.Join(keys, ",") != "adminPassword,adminUserPrincipalName,clientId,clientSecret,domain,tenantId" {
			t.Errorf("bootstrap.json keys: %v", keys)
		}
		if file["tenantId"] != tenantID || file["clientId"] != clientID || file["clientSecret"] != secret ||
			file["adminPassword"] != adminPW || file["adminUserPrincipalName"] != adminUPN || file["domain"] != want.Domain {
			t.Errorf("bootstrap.json: %v", file)
		}
		// A restart finds the tenant and neither recreates it nor rewrites the file.
		if again, err := srv.App.Bootstrap(ctx); err != nil || again != nil {
			t.Errorf("second bootstrap: %v %v", again, err)
		}
		if raw2, _ := os.ReadFile(path); string(raw2) != string(raw) {
			t.Errorf("bootstrap.json rewritten")
		}

		// The store holds an argon2id hash of the admin password, apart from
		// the document, and the client secret only as a hash.
		hasher := passwords.NewHasher(passwords.Params{Memory: 8 * 1024, Time: 1, Threads: 1}, 0, 4)
		adminHash := func() (string, store.Object) {
			t.Helper()
			var u store.Object
			if err := srv.App.Store().Read(ctx, func(r store.Reader) (err error) {
				u, err = r.GetByKey(tenantID, iam.KindUser, adminUPN)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var sec struct {
				Password string `json:"password"`
			}
			if err := json.Unmarshal(u.Secret, &sec); err != nil {
				t.Fatalf("admin secret: %v", err)
			}
			return sec.Password, u
		}
		hash, u := adminHash()
		if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(string(u.Secret), adminPW) || strings.Contains(string(u.Data), adminPW) ||
			strings.Contains(string(u.Data), "argon2") {
			t.Fatalf("stored admin: data %s secret %s", u.Data, u.Secret)
		}
		if ok, err := hasher.Verify(ctx, hash, adminPW); err != nil || !ok {
			t.Fatalf("stored hash does not verify the admin password: %v %v", ok, err)
		}
		var appObj store.Object
		if err := srv.App.Store().Read(ctx, func(r store.Reader) (err error) {
			appObj, err = r.GetByKey(tenantID, iam.KindApplication, clientID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(appObj.Secret), secret) || strings.Contains(string(appObj.Data), secret) ||
			!strings.Contains(string(appObj.Secret), passwords.HashClientSecret(secret)) {
			t.Errorf("stored bootstrap app: data %s secret %s", appObj.Data, appObj.Secret)
		}
		if db := filepath.Join(srv.Config.DataDir, "ostiary.db"); srv.Config.DatabaseURL == "" {
			if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("database file %s: %v %v", db, fi.Mode(), err)
			}
		}

		// Offline recovery: a new password for the same admin, which alone works.
		upn, pw, err := srv.App.Directory().RecoverAdmin(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if upn != adminUPN || pw == "" || pw == adminPW {
			t.Fatalf("RecoverAdmin = %q, %q", upn, pw)
		}
		_, pw2, err := srv.App.Directory().RecoverAdmin(ctx, tenantID)
		if err != nil || pw2 == pw || pw2 == adminPW {
			t.Fatalf("second RecoverAdmin = %q, %v", pw2, err)
		}
		newHash, u := adminHash()
		if newHash == hash || strings.Contains(string(u.Secret), pw2) || strings.Contains(string(u.Data), pw2) {
			t.Fatalf("after recovery: data %s secret %s", u.Data, u.Secret)
		}
		if ok, _ := hasher.Verify(ctx, newHash, pw2); !ok {
			t.Error("recovered password does not verify")
		}
		if ok, _ := hasher.Verify(ctx, newHash, adminPW); ok {
			t.Error("old admin password still verifies")
		}
		if ok, _ := hasher.Verify(ctx, newHash, pw); ok {
			t.Error("first recovered password still verifies")
		}
		if _, _, err := srv.App.Directory().RecoverAdmin(ctx, "00000000-0000-0000-0000-00000000dead"); err == nil {
			t.Error("RecoverAdmin of an unknown tenant succeeded")
		}

		// Weak fixed credentials are refused.
		for name, spec := range map[string]directory.TenantSpec{
			"short secret":   {Name: "weak1", ClientSecret: "short"},
			"weak password":  {Name: "weak2", AdminPassword: "password"},
			"bad tenant id":  {Name: "weak3", TenantID: "not-a-guid"},
			"taken id":       {Name: "weak4", TenantID: tenantID},
			"foreign admin":  {Name: "weak5", AdminUPN: "admin@fixedco.ostiary.test"},
			"taken name":     {Name: "fixedco"},
			"bad name label": {Name: "no.dots"},
		} {
			if _, err := srv.App.Directory().CreateTenant(ctx, spec); err == nil {
				t.Errorf("CreateTenant with %s succeeded", name)
			}
		}
		if id, err := srv.App.SoleTenant(ctx); err != nil || id != tenantID {
			t.Errorf("SoleTenant = %q, %v", id, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		run(t, apptest.New(t, fixed))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		run(t, apptest.New(t, apptest.Postgres(t), fixed))
	})
}

// TestBootstrapFileIsPrivate: the credentials file is 0600 even when the
// data directory already holds a stale temporary file, and a symlink
// planted there does not carry the secrets elsewhere.
func TestBootstrapFileIsPrivate(t *testing.T) {
	t.Parallel()
	for name, plant := range map[string]func(t *testing.T, dir, outside string){
		"stale world-readable temp file": func(t *testing.T, dir, _ string) {
			if err := os.WriteFile(filepath.Join(dir, app.BootstrapFile+".tmp"), []byte("stale"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"symlinked temp file": func(t *testing.T, dir, outside string) {
			if err := os.Symlink(outside, filepath.Join(dir, app.BootstrapFile+".tmp")); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			outside := filepath.Join(t.TempDir(), "loot")
			if err := os.WriteFile(outside, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			plant(t, dir, outside)
			srv := apptest.New(t, func(c *config.Config) { c.DataDir = dir })
			fi, err := os.Lstat(filepath.Join(dir, app.BootstrapFile))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("bootstrap.json mode = %v, want a regular file with 0600", fi.Mode())
			}
			if loot, _ := os.ReadFile(outside); strings.Contains(string(loot), srv.Creds.ClientSecret) {
				t.Errorf("the credentials were written through the planted symlink")
			}
		})
	}
}
