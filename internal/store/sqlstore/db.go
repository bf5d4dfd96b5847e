// Package sqlstore is Ostiary's one SQL implementation of store.Store.
//
// The statements are written by hand, once, in the SQL that SQLite and
// PostgreSQL share; the few places where the engines differ (parameter
// markers, JSON access, case folding, error codes, locking) go through a
// Dialect supplied by the backend packages store/sqlite and store/postgres,
// which also own the pools, the transaction modes and the embedded schema
// migrations. There is no ORM and no generated SQL beyond the filter
// compiler, which only ever emits placeholders for values.
//
// Storage conventions shared by both engines:
//   - timestamps are BIGINT Unix microseconds (UTC), so no session time zone
//     or driver time conversion can shift them; they read back in UTC and
//     finer precision than a microsecond is truncated;
//   - keys and display names are stored twice, as written and folded to
//     lower case (Go's strings.ToLower), and indexed folded;
//   - text that is compared or sorted compares byte by byte (PostgreSQL's
//     columns use COLLATE "C"), so both engines order pages identically.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"math/rand/v2"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/store"
)

// Config is what a backend package hands to New.
type Config struct {
	Dialect Dialect
	// Write is the pool write transactions and migrations run on.
	Write *sql.DB
	// Read is the pool read transactions run on; it may be Write.
	Read *sql.DB
	// WriteTx and ReadTx are the options every transaction of each kind
	// begins with (isolation level, read-only).
	WriteTx, ReadTx sql.TxOptions
	// Migrations holds the schema as files named "NNNN_description.sql" at
	// its root, applied in version order.
	Migrations fs.FS
	// MaxAttempts bounds how many times Write runs a closure whose
	// transaction failed with a retryable error; 0 or 1 means no retry.
	MaxAttempts int
	// CacheReadStatements prepares read statements once per connection
	// (see stmtCache); worth it where compiling a statement is costly.
	CacheReadStatements bool
	// CacheWriteStatements does the same for write transactions.
	CacheWriteStatements bool
}

// DB is a store.Store over database/sql.
type DB struct {
	d           Dialect
	write, read *sql.DB
	writeTx     sql.TxOptions
	readTx      sql.TxOptions
	migrations  fs.FS
	maxAttempts int
	// stmts caches prepared read statements, wstmts write transactions'
	// statements (nil: none are cached).
	stmts, wstmts *stmtCache
}

var _ store.Store = (*DB)(nil)

// New returns a store over the pools in c. It neither connects nor
// migrates; call Migrate before first use.
func New(c Config) *DB {
	if c.Read == nil {
		c.Read = c.Write
	}
	if c.MaxAttempts < 1 {
		c.MaxAttempts = 1
	}
	db := &DB{
		d: c.Dialect, write: c.Write, read: c.Read,
		writeTx: c.WriteTx, readTx: c.ReadTx,
		migrations: c.Migrations, maxAttempts: c.MaxAttempts,
	}
	if c.CacheReadStatements {
		db.stmts = newStmtCache(c.Read)
	}
	if c.CacheWriteStatements {
		db.wstmts = newStmtCache(c.Write)
	}
	return db
}

// Read runs fn in a read-only transaction. An error from fn is returned
// unchanged; a panic rolls back and continues.
func (db *DB) Read(ctx context.Context, fn func(store.Reader) error) error {
	if db.stmts != nil {
		db.stmts.prepareWanted(ctx)
	}
	return db.run(ctx, db.read, db.readTx, func(t *tx) error {
		t.stmts = db.stmts
		return fn(t)
	})
}

// Write runs fn in a write transaction and commits if fn returns nil. An
// error from fn rolls everything back and is returned unchanged; a panic
// rolls back and continues. When the transaction fails with a serialization
// failure or deadlock (PostgreSQL), the whole closure runs again, up to the
// configured number of attempts, after a randomised exponential pause so
// that colliding writers spread out instead of colliding again.
//
// Do not call Write (or TryLock) from inside a closure: on SQLite the
// single write connection is taken, and the inner call would wait for it
// until its context ends.
func (db *DB) Write(ctx context.Context, fn func(store.Writer) error) error {
	for attempt := 1; ; attempt++ {
		if db.wstmts != nil {
			db.wstmts.prepareWanted(ctx)
		}
		err := db.run(ctx, db.write, db.writeTx, func(t *tx) error {
			t.stmts = db.wstmts
			return fn(t)
		})
		if err == nil || attempt >= db.maxAttempts || !db.d.IsRetryable(err) {
			return err
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return errs.Wrap(errs.Unavailable, werr, "The request was cancelled while the directory was busy.")
		}
	}
}

// backoff is "full jitter": a random pause up to an exponentially growing
// ceiling (2 ms, 4 ms, ... capped at 250 ms).
func backoff(attempt int) time.Duration {
	ceiling := 2 * time.Millisecond << min(attempt-1, 7)
	ceiling = min(ceiling, 250*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// run is one transaction. The deferred Rollback is what undoes the work
// when fn fails or panics; after a successful Commit it is a no-op.
func (db *DB) run(ctx context.Context, pool *sql.DB, opts sql.TxOptions, fn func(*tx) error) error {
	stx, err := pool.BeginTx(ctx, &opts)
	if err != nil {
		return db.wrap(err, "Starting a transaction failed.")
	}
	defer func() { _ = stx.Rollback() }()
	if err := fn(&tx{db: db, d: db.d, ctx: ctx, tx: stx}); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return db.wrap(err, "Committing the transaction failed.")
	}
	return nil
}

// TryLock takes the named lock for owner if it is free, expired or already
// owner's (which renews it), in one upsert so two replicas can never both
// win. It reads the clock of this process: replicas are expected to keep
// their clocks in sync to well within a lock's ttl.
func (db *DB) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if name == "" || owner == "" {
		return false, errs.E(errs.Invalid, "A lock needs a name and an owner.")
	}
	var held bool
	err := db.Write(ctx, func(w store.Writer) error {
		t := w.(*tx)
		now := time.Now()
		b := newBuilder(db.d)
		b.sql("INSERT INTO locks (name, owner, expires_at) VALUES (").arg(name).sql(", ").arg(owner).
			sql(", ").arg(now.Add(ttl).UnixMicro()).
			sql(") ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at").
			sql(" WHERE locks.owner = excluded.owner OR locks.expires_at <= ").arg(now.UnixMicro()).
			sql(" RETURNING owner")
		var got string
		err := t.tx.QueryRowContext(ctx, b.String(), b.args...).Scan(&got)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			held = false
			return nil
		case err != nil:
			return t.wrap(err, "Taking the lock failed.")
		}
		held = got == owner
		return nil
	})
	return held, err
}

// Unlock releases the lock if owner holds it, and does nothing otherwise.
func (db *DB) Unlock(ctx context.Context, name, owner string) error {
	return db.Write(ctx, func(w store.Writer) error {
		t := w.(*tx)
		b := newBuilder(db.d)
		b.sql("DELETE FROM locks WHERE name = ").arg(name).sql(" AND owner = ").arg(owner)
		_, err := t.exec(b, "Releasing the lock failed.")
		return err
	})
}

// Ping checks that both pools can reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return db.wrap(err, "The database is unreachable.")
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return db.wrap(err, "The database is unreachable.")
		}
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.stmts != nil {
		db.stmts.close()
	}
	if db.wstmts != nil {
		db.wstmts.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// wrap turns a database error into an errs error with a public message:
// Conflict for unique violations, Unavailable for retryable failures,
// cancelled requests and unreachable databases, Internal otherwise.
func (db *DB) wrap(err error, msg string) error {
	switch {
	case db.d.IsUniqueViolation(err):
		return errs.Wrap(errs.Conflict, err, "An object with the same identity already exists.")
	case db.d.IsRetryable(err):
		return errs.Wrap(errs.Unavailable, err, "The directory is busy; retry the request.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Unavailable, err, "The request was cancelled.")
	case db.d.IsUnavailable(err), errors.Is(err, sql.ErrConnDone):
		return errs.Wrap(errs.Unavailable, err, "The database is unavailable.")
	default:
		return errs.Wrap(errs.Internal, err, "%s", msg)
	}
}
