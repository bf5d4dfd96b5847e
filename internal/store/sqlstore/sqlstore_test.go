package sqlstore

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

func TestSplitPath(t *testing.T) {
	good := map[string][]string{
		"":                    nil,
		"jobTitle":            {"jobTitle"},
		"initiatedBy/user/id": {"initiatedBy", "user", "id"},
		"extension_abc_attr1": {"extension_abc_attr1"},
	}
	for in, want := range good {
		got, err := splitPath(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("splitPath(%q) = %v, %v", in, got, err)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("splitPath(%q) = %v, want %v", in, got, want)
			}
		}
	}
	// Anything that could leave an identifier is refused: dialects spell
	// path segments inside SQL text.
	for _, in := range []string{"a//b", "/a", "a/", "a'b", `a"b`, "a,b", "a}b", "a.b", "a b", "1a", "a;--", "é"} {
		if _, err := splitPath(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("splitPath(%q) = %v, want Invalid", in, err)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "100%": `100\%`, "a_b": `a\_b`, `a\b`: `a\\b`, `%_\`: `\%\_\\`,
	} {
		if got := escapeLike(in); got != want {
			t.Errorf("escapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(fstest.MapFS{
		"0002_more.sql": {Data: []byte("B")},
		"0001_init.sql": {Data: []byte("A")},
		"README.md":     {Data: []byte("not a migration")},
	})
	if err != nil || len(ms) != 2 || ms[0].version != 1 || ms[1].sql != "B" {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no version": {"init.sql": {}},
		"zero":       {"0000_x.sql": {}},
		"duplicate":  {"0001_a.sql": {}, "01_b.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 30; attempt++ {
		for range 100 {
			d := backoff(attempt)
			if d < time.Millisecond || d > 251*time.Millisecond {
				t.Fatalf("backoff(%d) = %v", attempt, d)
			}
		}
	}
}
