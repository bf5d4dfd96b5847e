package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/sqlite"
	"github.com/ostiary/ostiary/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ostiary.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestMigrateTwice checks that migrating an up-to-date database is a no-op.
func TestMigrateTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ostiary.db")
	for range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func TestOpenRejectsDSN(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?_txlock=deferred"} {
		if _, err := sqlite.Open(p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}
