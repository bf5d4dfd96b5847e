package directory_test

import (
	"encoding/json"
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
)

// FuzzRefID: "@odata.id" references come from request bodies.
func FuzzRefID(f *testing.F) {
	for _, s := range []string{
		"https://graph.microsoft.com/v1.0/directoryObjects/8a7c5f3e-1b2d-4c6e-9f0a-123456789abc",
		"https://h/v1.0/users('8a7c5f3e-1b2d-4c6e-9f0a-123456789abc')", "8A7C5F3E-1B2D-4C6E-9F0A-123456789ABC", "", "/", "http://[::1", "x(')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id, ok := directory.RefID(ref)
		if ok && !iam.IsGUID(id) {
			t.Fatalf("RefID(%q) = %q, not a GUID", ref, id)
		}
	})
}

// FuzzPatch: PATCH and create bodies come from the network. A body either
// fails with a Graph error or yields a user whose read-only id is intact.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{`{"displayName":"x"}`, `{"id":"y"}`, `{"identities":[{"issuer":1}]}`, `[]`, `null`, `{"passwordProfile":{}}`, `{"a@odata.bind":["x"]}`, `{}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		u := iam.User{ObjectMeta: iam.ObjectMeta{ID: "fixed-id"}}
		err := directory.ApplyPatchForTest(&u, directory.Patch(body))
		if err != nil {
			return
		}
		if u.ID != "fixed-id" {
			t.Fatalf("read-only id changed by %s", body)
		}
		if _, err := json.Marshal(u); err != nil {
			t.Fatal(err)
		}
	})
}
