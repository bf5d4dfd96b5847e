package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// testFeed checks the change feed: committed writes of fed kinds and
// relationships appear in order, rolled-back ones and unfed kinds never do,
// and pruning forgets old entries.
func testFeed(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tn = "tenant-feed"
	u := user(tn, "feed-user", "Feed User", "feed@contoso.com", nil)
	g := group(tn, "feed-group", "Feed Group")
	insert(t, s, u, g)
	addLinks(t, s, link(tn, iam.RelMember, g.ID, u.ID), link(tn, iam.RelOwner, g.ID, u.ID))
	write(t, s, func(w store.Writer) error {
		// Unfed: a sign-in record is not something a cache depends on.
		return w.Insert(store.Object{TenantID: tn, Kind: iam.KindSignIn, ID: "log-1", CreatedAt: epoch, Data: []byte(`{}`)})
	})
	boom := errors.New("rolled back")
	if err := s.Write(ctx, func(w store.Writer) error {
		if err := w.RemoveLink(tn, iam.RelMember, g.ID, u.ID, ""); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write: %v", err)
	}
	write(t, s, func(w store.Writer) error { return w.RemoveLink(tn, iam.RelMember, g.ID, u.ID, "") })
	write(t, s, func(w store.Writer) error { return w.Delete(tn, iam.KindUser, u.ID) })

	got, err := s.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Change{
		{TenantID: tn, Kind: iam.KindUser, ID: u.ID},
		{TenantID: tn, Kind: iam.KindGroup, ID: g.ID},
		{TenantID: tn, Rel: iam.RelMember, ID: g.ID, TargetID: u.ID},
		{TenantID: tn, Rel: iam.RelMember, ID: g.ID, TargetID: u.ID},
		{TenantID: tn, Kind: iam.KindUser, ID: u.ID},
	}
	if len(got) != len(want) {
		t.Fatalf("feed has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		w := want[i]
		if c.TenantID != w.TenantID || c.Kind != w.Kind || c.ID != w.ID || c.Rel != w.Rel || c.TargetID != w.TargetID {
			t.Errorf("entry %d = %+v, want %+v", i, c, w)
		}
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("entry %d: seq %d not after %d", i, c.Seq, got[i-1].Seq)
		}
		if c.At.IsZero() {
			t.Errorf("entry %d has no time", i)
		}
	}
	after, err := s.Changes(ctx, got[1].Seq, 2)
	if err != nil || len(after) != 2 || after[0].Seq != got[2].Seq {
		t.Fatalf("Changes(after %d, 2) = %+v, %v", got[1].Seq, after, err)
	}
	if err := s.PruneChanges(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rest, err := s.Changes(ctx, 0, 100); err != nil || len(rest) != 0 {
		t.Fatalf("after pruning: %+v, %v", rest, err)
	}
	// Numbers are never reused after pruning.
	insert(t, s, user(tn, "feed-user-2", "Feed User 2", "feed2@contoso.com", nil))
	if next, err := s.Changes(ctx, 0, 100); err != nil || len(next) != 1 || next[0].Seq <= got[len(got)-1].Seq {
		t.Fatalf("after pruning and a write: %+v, %v", next, err)
	}
}
