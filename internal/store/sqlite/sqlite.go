// Package sqlite opens Ostiary's store on an SQLite file (modernc.org/sqlite,
// pure Go, no cgo).
//
// SQLite allows one writer at a time. Rather than let several connections
// race for the write lock and fail with SQLITE_BUSY when a transaction that
// began as a reader tries to upgrade, the store keeps two pools:
//
//   - a write pool of exactly one connection whose transactions begin with
//     BEGIN IMMEDIATE (DSN _txlock=immediate), so a write transaction holds
//     the write lock from its first statement, writers queue in Go for the
//     connection (honouring their contexts), and a read-modify-write can
//     never lose an update;
//   - a read pool of several query_only connections. In WAL mode readers
//     see the last committed state and neither block the writer nor are
//     blocked by it.
//
// Every connection sets busy_timeout (another process, such as a backup or
// the CLI, may hold the lock briefly), foreign_keys, and synchronous=NORMAL,
// which in WAL mode is durable across application crashes and loses at most
// the last transactions on power loss, for far fewer fsyncs than FULL.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMS is how long a statement waits for a lock held by another
// process before failing with SQLITE_BUSY.
const busyTimeoutMS = "10000"

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate on the result.
func Open(path string) (*sqlstore.DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		// Two pools need one shared file; a DSN would bypass the settings below.
		return nil, errs.E(errs.Invalid, "The SQLite store needs a plain file path, not %q.", path)
	}
	registerFunctions()
	common := url.Values{"_pragma": {
		"busy_timeout(" + busyTimeoutMS + ")",
		"foreign_keys(1)",
		"synchronous(NORMAL)",
	}}

	wq := url.Values{"_pragma": append([]string{"journal_mode(WAL)"}, common["_pragma"]...), "_txlock": {"immediate"}}
	write, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "Opening the database failed.")
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect now: this creates the file and switches it to WAL before any
	// reader opens it.
	if err := write.PingContext(context.Background()); err != nil {
		write.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "Opening the database failed.")
	}

	rq := url.Values{"_pragma": append([]string{"query_only(1)"}, common["_pragma"]...)}
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "Opening the database failed.")
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.New(sqlstore.Config{
		Dialect:    dialect{},
		Write:      write,
		Read:       read,
		WriteTx:    sql.TxOptions{},
		ReadTx:     sql.TxOptions{ReadOnly: true},
		Migrations: sub,
		// Only SQLITE_BUSY (another process outlasting busy_timeout) is
		// retryable; one more try is plenty.
		MaxAttempts: 2,
		// modernc.org/sqlite compiles every statement text anew; the hot
		// reads and writes are a few fixed texts.
		CacheReadStatements:  true,
		CacheWriteStatements: true,
	}), nil
}

// foldFunc is the name of the SQL function that lower-cases like Go.
// SQLite's built-in lower() folds ASCII only, so "É" would not match "é";
// registering strings.ToLower makes a document property fold exactly like
// the indexed key and display name columns, which are folded in Go.
const foldFunc = "ostiary_fold"

var registerOnce sync.Once

func registerFunctions() {
	registerOnce.Do(func() {
		err := sqlite.RegisterDeterministicScalarFunction(foldFunc, 1,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				switch v := args[0].(type) {
				case string:
					return strings.ToLower(v), nil
				case []byte:
					return strings.ToLower(string(v)), nil
				default:
					return v, nil
				}
			})
		if err != nil {
			panic("sqlite: registering " + foldFunc + ": " + err.Error())
		}
	})
}

// dialect is SQLite's side of the sqlstore seam.
type dialect struct{}

// Placeholder numbers parameters (?NNN) so a fragment may use one twice.
func (dialect) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// jsonPath spells segments (validated identifiers) as an SQLite JSON path.
func jsonPath(path []string) string {
	return "'$" + strings.Join(append([]string{""}, path...), ".") + "'"
}

// JSON uses json_extract, which yields text for strings, 1 or 0 for
// booleans and numbers for numbers, so one form serves every type. An array
// element (a json_each row, whose Expr is the row alias) holds its scalar
// unquoted in value; a property of an element that is an object is read
// from the element's JSON text.
func (dialect) JSON(doc sqlstore.JSONDoc, path []string, _ query.Type) string {
	if doc.Elem {
		if len(path) == 0 {
			return doc.Expr + ".value"
		}
		return "CASE WHEN " + doc.Expr + ".type = 'object' THEN json_extract(" + doc.Expr + ".value, " + jsonPath(path) + ") END"
	}
	return "json_extract(" + doc.Expr + ", " + jsonPath(path) + ")"
}

func (dialect) JSONEach(doc sqlstore.JSONDoc, path []string, alias string) (string, sqlstore.JSONDoc) {
	src := doc.Expr
	if doc.Elem {
		src = "CASE WHEN " + doc.Expr + ".type = 'object' THEN " + doc.Expr + ".value END"
	}
	return "json_each(" + src + ", " + jsonPath(path) + ") AS " + alias, sqlstore.JSONDoc{Expr: alias, Elem: true}
}

func (dialect) Fold(expr string) string     { return foldFunc + "(" + expr + ")" }
func (dialect) Bytewise(expr string) string { return expr }

// DocArg binds documents as TEXT: SQLite's json functions read a BLOB as
// their binary JSONB format and would reject JSON text stored as one.
func (dialect) DocArg(doc []byte) any { return string(doc) }

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

func (dialect) IsUniqueViolation(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (dialect) IsRetryable(err error) bool {
	return code(err)&0xff == sqlite3.SQLITE_BUSY
}

func (dialect) IsUnavailable(err error) bool {
	c := code(err) & 0xff
	return c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_IOERR || c == sqlite3.SQLITE_FULL ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)
}

// MigrationLock is empty: the migration runs on the write connection,
// whose BEGIN IMMEDIATE already excludes every other writer.
func (dialect) MigrationLock() string { return "" }
