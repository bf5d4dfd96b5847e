package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads "NNNN_description.sql" files from the root of fsys.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int64]string{}
	for _, n := range names {
		digits, _, ok := strings.Cut(n, "_")
		v, err := strconv.ParseInt(digits, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive version and '_'", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, n, v)
		}
		seen[v] = n
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: n, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate brings the schema up to date. All pending migrations run in one
// transaction, so a failure leaves the schema as it was. The transaction
// runs at the engine's default isolation (READ COMMITTED on PostgreSQL)
// behind the dialect's migration lock: a serializable snapshot taken before
// the lock was granted would not see a concurrent migrator's work.
// A database already migrated by a newer binary is refused.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.migrations)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "The embedded migrations are invalid.")
	}
	stx, err := db.write.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		return db.wrap(err, "Starting the migration failed.")
	}
	defer func() { _ = stx.Rollback() }()
	exec := func(q string, args ...any) error {
		if _, err := stx.ExecContext(ctx, q, args...); err != nil {
			return db.wrap(err, "Migrating the database failed.")
		}
		return nil
	}
	if lock := db.d.MigrationLock(); lock != "" {
		if err := exec(lock); err != nil {
			return err
		}
	}
	if err := exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	applied := map[int64]bool{}
	rows, err := stx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return db.wrap(err, "Reading the schema version failed.")
	}
	var latest int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return db.wrap(err, "Reading the schema version failed.")
		}
		applied[v] = true
		latest = max(latest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return db.wrap(err, "Reading the schema version failed.")
	}
	if n := len(ms); n > 0 && latest > ms[n-1].version {
		return errs.E(errs.Precondition, "The database schema (version %d) is newer than this server (version %d).", latest, ms[n-1].version)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := exec(m.sql); err != nil {
			return errs.Wrap(errs.Internal, err, "Migration %s failed.", m.name)
		}
		b := newBuilder(db.d)
		b.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (").
			arg(m.version).sql(", ").arg(m.name).sql(", ").arg(time.Now().UnixMicro()).sql(")")
		if err := exec(b.String(), b.args...); err != nil {
			return err
		}
	}
	if err := stx.Commit(); err != nil {
		return db.wrap(err, "Committing the migration failed.")
	}
	return nil
}
