package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/postgres"
	"github.com/ostiary/ostiary/internal/store/postgres/pgtest"
	"github.com/ostiary/ostiary/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t))
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

// TestConcurrentMigrate starts several migrators on one empty schema, as
// replicas starting together do; the migration lock must let exactly one
// apply the schema and the others find it done.
func TestConcurrentMigrate(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}
