// Package postgres opens Ostiary's store on PostgreSQL (pgx through
// database/sql).
//
// Write transactions run at SERIALIZABLE: every invariant a service checks
// inside a Write closure (a key is free, a group is not too large) holds at
// commit time even with several replicas writing, with no explicit locking.
// The price is that PostgreSQL aborts one of two colliding transactions with
// a serialization failure (SQLSTATE 40001) or deadlock (40P01); the store then
// runs the closure again, a bounded number of times, after a random pause.
// Read transactions run at REPEATABLE READ READ ONLY: one consistent snapshot
// for a whole page and its count, and they can never fail that way.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxAttempts bounds the runs of one Write closure. Under heavy contention
// on one row (every replica bumping one counter) a transaction can lose
// several times in a row; with the backoff in sqlstore, 20 attempts span
// seconds, after which the caller gets Unavailable.
const maxAttempts = 20

// Open connects to the database at url (postgres://...; any parameter pgx
// does not know, such as search_path, is set on every connection). It does
// not migrate; call Migrate on the result.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "The PostgreSQL URL is invalid.")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "The database is unreachable.")
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.New(sqlstore.Config{
		Dialect:     dialect{},
		Write:       db,
		Read:        db,
		WriteTx:     sql.TxOptions{Isolation: sql.LevelSerializable},
		ReadTx:      sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		Migrations:  sub,
		MaxAttempts: maxAttempts,
	}), nil
}

// dialect is PostgreSQL's side of the sqlstore seam.
type dialect struct{}

func (dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

// pathLit spells segments (validated identifiers) as a text[] literal.
func pathLit(path []string) string { return "'{" + strings.Join(path, ",") + "}'" }

// JSON reads text with #>>, which gives SQL NULL for a missing or JSON-null
// property. Booleans and numbers are cast only when the JSON value has that
// type, so a document holding something unexpected yields NULL instead of
// failing the whole statement.
func (dialect) JSON(doc sqlstore.JSONDoc, path []string, t query.Type) string {
	p := pathLit(path)
	text := "(" + doc.Expr + " #>> " + p + ")"
	switch t {
	case query.Bool:
		return "(CASE WHEN jsonb_typeof(" + doc.Expr + " #> " + p + ") = 'boolean' THEN " + text + "::boolean END)"
	case query.Int:
		return "(CASE WHEN jsonb_typeof(" + doc.Expr + " #> " + p + ") = 'number' THEN " + text + "::numeric END)"
	default:
		return text
	}
}

// JSONEach guards jsonb_array_elements, which fails on a non-array, with a
// type test; on NULL it yields no rows.
func (dialect) JSONEach(doc sqlstore.JSONDoc, path []string, alias string) (string, sqlstore.JSONDoc) {
	v := doc.Expr + " #> " + pathLit(path)
	from := "jsonb_array_elements(CASE WHEN jsonb_typeof(" + v + ") = 'array' THEN " + v + " END) AS " + alias + "(v)"
	return from, sqlstore.JSONDoc{Expr: alias + ".v", Elem: true}
}

// Fold lower-cases under the database's own collation (Unicode-aware in a
// UTF-8 locale; lower() under "C" would fold ASCII only) and then compares
// bytewise.
func (dialect) Fold(expr string) string     { return "(lower(" + expr + ") COLLATE \"C\")" }
func (dialect) Bytewise(expr string) string { return "(" + expr + " COLLATE \"C\")" }

// DocArg passes the document as raw JSON bytes for the JSONB column. JSONB
// stores a parsed form: documents read back equivalent, not byte-identical
// (key order and spacing are normalized).
func (dialect) DocArg(doc []byte) any { return doc }

func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (dialect) IsUniqueViolation(err error) bool { return sqlState(err) == "23505" }

func (dialect) IsRetryable(err error) bool {
	s := sqlState(err)
	return s == "40001" || s == "40P01"
}

func (dialect) IsUnavailable(err error) bool {
	s := sqlState(err)
	if strings.HasPrefix(s, "08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300" {
		return true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || pgconn.Timeout(err)
}

// MigrationLock serializes migrators of one schema (the key is derived from
// the schema name, so tests migrating their own schemas do not wait on each
// other); the lock ends with the migration transaction.
func (dialect) MigrationLock() string {
	return "SELECT pg_advisory_xact_lock(hashtext(current_schema()))"
}
