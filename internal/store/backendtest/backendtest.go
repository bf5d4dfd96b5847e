// Package backendtest opens a real, migrated store for service-level tests.
//
// Services are tested on both backends: by default on a SQLite file in the
// test's temporary directory, and on a fresh PostgreSQL schema when
// OSTIARY_TEST_BACKEND=postgres (CI runs the service packages both ways).
package backendtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/postgres"
	"github.com/ostiary/ostiary/internal/store/postgres/pgtest"
	"github.com/ostiary/ostiary/internal/store/sqlite"
	"github.com/ostiary/ostiary/internal/store/sqlstore"
)

// Name is the backend the tests of this process use.
func Name() string {
	if os.Getenv("OSTIARY_TEST_BACKEND") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Open returns a migrated store that is closed when the test ends.
func Open(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	var (
		db  *sqlstore.DB
		err error
	)
	if Name() == "postgres" {
		db, err = postgres.Open(ctx, pgtest.URL(t))
	} else {
		db, err = sqlite.Open(filepath.Join(t.TempDir(), "ostiary.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
