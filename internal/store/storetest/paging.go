package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// row is what the expected order of the paging fixture is computed from.
type row struct {
	id, name string
	created  time.Time
	city     *string
	rank     *int64
	hired    *string
	enabled  *bool
}

// pagingFixture builds n users with many duplicate and null sort values.
func pagingFixture(tn string, n int) ([]store.Object, []row) {
	cities := []string{"Paris", "paris", "Berlin", "ZÜRICH", "athens"}
	var objs []store.Object
	var rows []row
	for i := range n {
		r := row{id: iam.NewID(), name: fmt.Sprintf("User %02d", i%10), created: epoch.Add(time.Duration(i%7) * time.Minute)}
		if i%3 == 0 {
			r.name = strings.ToUpper(r.name)
		}
		props := map[string]any{}
		switch i % 4 {
		case 0: // missing
		case 1:
			props["city"] = nil
		default:
			c := cities[i%5]
			r.city = &c
			props["city"] = c
		}
		if i%6 != 0 {
			k := int64(i % 5)
			r.rank = &k
			props["rank"] = k
		}
		if i%5 != 0 {
			h := time.Date(2020, 1, 1+i%4, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
			r.hired = &h
			props["employeeHireDate"] = h
		}
		if i%3 != 0 {
			b := i%2 == 0
			r.enabled = &b
			props["accountEnabled"] = b
		}
		o := user(tn, r.id, r.name, fmt.Sprintf("user%d@contoso.com", i), props)
		o.CreatedAt = r.created
		objs = append(objs, o)
		rows = append(rows, r)
	}
	return objs, rows
}

// nullable compares optional sort values with null lowest.
func nullable[T any](a, b *T, c func(T, T) int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return c(*a, *b)
}

func foldPtr(s *string) *string {
	if s == nil {
		return nil
	}
	f := strings.ToLower(*s)
	return &f
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

type sortCase struct {
	field query.Field
	cmp   func(a, b row) int
}

var sortCases = []sortCase{
	{query.Field{Path: "id", Type: query.String}, func(a, b row) int { return 0 }},
	{fs("displayName"), func(a, b row) int { return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) }},
	{ft("createdDateTime"), func(a, b row) int { return a.created.Compare(b.created) }},
	{fs("city"), func(a, b row) int { return nullable(foldPtr(a.city), foldPtr(b.city), strings.Compare) }},
	{fi("rank"), func(a, b row) int { return nullable(a.rank, b.rank, cmp.Compare[int64]) }},
	{ft("employeeHireDate"), func(a, b row) int { return nullable(a.hired, b.hired, strings.Compare) }},
	{fb("accountEnabled"), func(a, b row) int { return nullable(a.enabled, b.enabled, cmpBool) }},
}

func expectedOrder(rows []row, c func(a, b row) int, desc bool) []string {
	rs := slices.Clone(rows)
	slices.SortFunc(rs, func(a, b row) int {
		if d := c(a, b); d != 0 {
			return d
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	if desc {
		slices.Reverse(ids)
	}
	return ids
}

// walk pages through a listing and returns the ids in order, checking
// that Next is nil exactly on the last page and Count on every page.
func walk(t *testing.T, s store.Store, q query.List, fetch func(r store.Reader, q query.List) (store.Page, error), total int) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > total+1 {
			t.Fatalf("paging does not end")
		}
		var p store.Page
		read(t, s, func(r store.Reader) error {
			var err error
			p, err = fetch(r, q)
			return err
		})
		if q.Count && p.Count != int64(total) {
			t.Fatalf("page %d: Count = %d, want %d", pages, p.Count, total)
		}
		if !q.Count && p.Count != -1 {
			t.Fatalf("page %d: Count = %d without asking, want -1", pages, p.Count)
		}
		if len(p.Items) > q.PageSize() {
			t.Fatalf("page %d has %d items, Top %d", pages, len(p.Items), q.PageSize())
		}
		ids = append(ids, idsOf(p.Items)...)
		if p.Next == nil {
			if len(ids) < total && len(p.Items) > 0 {
				t.Fatalf("Next is nil after %d of %d items", len(ids), total)
			}
			return ids
		}
		if len(p.Items) != q.PageSize() {
			t.Fatalf("page %d is short (%d) but has a Next", pages, len(p.Items))
		}
		q.After = p.Next
	}
}

func testPaging(t *testing.T, s store.Store) {
	const tn = "tenant-paging"
	objs, rows := pagingFixture(tn, 57)
	gone := user(tn, iam.NewID(), "User 00", "gone@contoso.com", nil)
	gone.DeletedAt = epoch
	insert(t, s, append(objs, gone)...)
	listUsers := func(r store.Reader, q query.List) (store.Page, error) {
		return r.List(tn, iam.KindUser, store.Live, q)
	}

	for _, sc := range sortCases {
		for _, desc := range []bool{false, true} {
			want := expectedOrder(rows, sc.cmp, desc)
			for _, top := range []int{1, 7, 19, 100} {
				name := fmt.Sprintf("%s/desc=%v/top=%d", sc.field.Path, desc, top)
				t.Run(name, func(t *testing.T) {
					q := query.List{Sort: &query.Sort{Field: sc.field, Desc: desc}, Top: top, Count: top == 7}
					got := walk(t, s, q, listUsers, len(rows))
					if !slices.Equal(got, want) {
						t.Fatalf("order:\n got %v\nwant %v", got, want)
					}
				})
			}
		}
	}

	t.Run("default order is id", func(t *testing.T) {
		got := walk(t, s, query.List{Top: 10}, listUsers, len(rows))
		if want := expectedOrder(rows, sortCases[0].cmp, false); !slices.Equal(got, want) {
			t.Fatalf("order:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("filtered", func(t *testing.T) {
		f := query.Or{
			query.StartsWith{Field: fs("displayName"), Prefix: "user 03"},
			query.StartsWith{Field: fs("displayName"), Prefix: "USER 07"},
		}
		var sub []row
		for _, r := range rows {
			if n := strings.ToLower(r.name); strings.HasPrefix(n, "user 03") || strings.HasPrefix(n, "user 07") {
				sub = append(sub, r)
			}
		}
		q := query.List{Filter: f, Sort: &query.Sort{Field: fs("city"), Desc: true}, Top: 4, Count: true}
		got := walk(t, s, q, listUsers, len(sub))
		if want := expectedOrder(sub, sortCases[3].cmp, true); !slices.Equal(got, want) {
			t.Fatalf("order:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("rows added between pages", func(t *testing.T) {
		q := query.List{Sort: &query.Sort{Field: fs("displayName")}, Top: 10}
		p := list(t, s, tn, iam.KindUser, store.Live, q)
		// Sorts before the cursor: never seen. Sorts after: seen once.
		early := user(tn, iam.NewID(), "AAA early", "early@contoso.com", nil)
		late := user(tn, iam.NewID(), "zzz late", "late@contoso.com", nil)
		insert(t, s, early, late)
		q.After = p.Next
		rest := walk(t, s, q, listUsers, len(rows)-len(p.Items)+1)
		seen := append(idsOf(p.Items), rest...)
		if slices.Contains(seen, early.ID) || !slices.Contains(seen, late.ID) || len(seen) != len(rows)+1 {
			t.Fatalf("walk saw %d items (early %v, late %v)", len(seen), slices.Contains(seen, early.ID), slices.Contains(seen, late.ID))
		}
		slices.Sort(seen)
		if len(slices.Compact(seen)) != len(rows)+1 {
			t.Fatalf("an item was repeated")
		}
	})

	t.Run("cursor must match sort", func(t *testing.T) {
		err := s.Read(context.Background(), func(r store.Reader) error {
			_, err := r.List(tn, iam.KindUser, store.Live, query.List{
				Sort:  &query.Sort{Field: fs("displayName")},
				After: &query.Cursor{ID: rows[0].id},
			})
			return err
		})
		wantKind(t, err, errs.Invalid, "cursor without a sort value")
	})
}

func testCount(t *testing.T, s store.Store) {
	const tn = "tenant-count"
	objs, _ := pagingFixture(tn, 23)
	insert(t, s, objs...)
	p := list(t, s, tn, iam.KindUser, store.Live, query.List{Top: 5, Count: true})
	if p.Count != 23 || len(p.Items) != 5 || p.Next == nil {
		t.Fatalf("first page: %d items, Count %d, Next %v", len(p.Items), p.Count, p.Next)
	}
	p = list(t, s, tn, iam.KindUser, store.Live, query.List{Top: 5, Count: true, After: p.Next})
	if p.Count != 23 {
		t.Fatalf("Count after a cursor = %d, want 23 (the cursor is ignored)", p.Count)
	}
	f := query.StartsWith{Field: fs("displayName"), Prefix: "user 01"}
	p = list(t, s, tn, iam.KindUser, store.Live, query.List{Filter: f, Count: true})
	if p.Count != int64(len(p.Items)) || p.Count != 3 {
		t.Fatalf("filtered Count = %d with %d items, want 3", p.Count, len(p.Items))
	}
	p = list(t, s, tn, iam.KindGroup, store.Live, query.List{Count: true})
	if p.Count != 0 || len(p.Items) != 0 || p.Next != nil {
		t.Fatalf("empty listing = %+v", p)
	}
	p = list(t, s, tn, iam.KindUser, store.Live, query.List{Top: 23})
	if p.Count != -1 || len(p.Items) != 23 || p.Next != nil {
		t.Fatalf("exact page: Count %d, %d items, Next %v", p.Count, len(p.Items), p.Next)
	}
}

func testDeletedScope(t *testing.T, s store.Store) {
	const tn = "tenant-deleted"
	objs, _ := pagingFixture(tn, 10)
	var deleted []string
	for i := range objs {
		if i%3 == 0 {
			objs[i].DeletedAt = epoch.Add(time.Duration(10-i) * time.Hour)
			deleted = append(deleted, objs[i].ID)
		}
	}
	insert(t, s, objs...)
	p := list(t, s, tn, iam.KindUser, store.DeletedOnly, query.List{Count: true})
	sameSet(t, idsOf(p.Items), deleted, "DeletedOnly")
	if p.Count != int64(len(deleted)) {
		t.Fatalf("DeletedOnly Count = %d", p.Count)
	}
	live := list(t, s, tn, iam.KindUser, store.Live, query.List{Count: true})
	if live.Count != int64(len(objs)-len(deleted)) {
		t.Fatalf("Live Count = %d", live.Count)
	}
	for _, o := range live.Items {
		if slices.Contains(deleted, o.ID) {
			t.Fatalf("Live listed soft-deleted %s", o.ID)
		}
	}
	// Most recently deleted first, as the recycle bin shows them.
	q := query.List{Sort: &query.Sort{Field: ft("deletedDateTime"), Desc: true}, Top: 2}
	got := walk(t, s, q, func(r store.Reader, q query.List) (store.Page, error) {
		return r.List(tn, iam.KindUser, store.DeletedOnly, q)
	}, len(deleted))
	if !slices.Equal(got, deleted) { // deleted[i] was deleted later for smaller i
		t.Fatalf("deleted order = %v, want %v", got, deleted)
	}
	f := cmpOp(ft("deletedDateTime"), query.Gt, tm(epoch.Add(5*time.Hour)))
	p = list(t, s, tn, iam.KindUser, store.DeletedOnly, query.List{Filter: f})
	sameSet(t, idsOf(p.Items), deleted[:2], "deletedDateTime gt")
}
