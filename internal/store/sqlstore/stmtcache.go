package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements for read transactions, so a hot read
// such as "the user with this id" is compiled once per connection rather
// than on every request (SQLite compiles each statement text anew, which
// cost as much as running it). database/sql re-uses a statement prepared
// on the pool inside any transaction of that pool and remembers it per
// connection (Tx.StmtContext).
//
// A statement is never prepared while a transaction is open: preparing on
// the pool takes a connection, and a pool whose connections are all held
// by transactions waiting to prepare would deadlock. Instead a transaction
// that meets an unknown text notes it as wanted, and the next Read prepares
// the wanted texts before it begins its own transaction. The cache holds at
// most stmtCacheSize texts; listings with many different filters simply run
// unprepared once it is full.
//
// Write transactions have a cache of their own over the write pool, filled
// the same way by the next Write before it begins (on SQLite the pool is
// one connection, so that waits for the current writer to finish, holding
// nothing). A token request's writes (a sign-in record, a refresh token's
// rotation) spent a tenth of the request's CPU compiling them.
type stmtCache struct {
	pool   *sql.DB
	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
}

const stmtCacheSize = 256

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns the prepared statement for text, or nil after noting it.
func (c *stmtCache) get(text string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[text]
	wanted := c.wanted[text]
	c.mu.RUnlock()
	if ok || wanted {
		return st
	}
	c.mu.Lock()
	if len(c.stmts)+len(c.wanted) < stmtCacheSize {
		c.wanted[text] = true
	}
	c.mu.Unlock()
	return nil
}

// prepareWanted prepares the texts noted since the last call. It runs with
// no transaction open; a text that fails to prepare is dropped (the query
// itself will report the problem when it runs unprepared).
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.RLock()
	n := len(c.wanted)
	c.mu.RUnlock()
	if n == 0 {
		return
	}
	c.mu.Lock()
	texts := make([]string, 0, len(c.wanted))
	for t := range c.wanted {
		texts = append(texts, t)
	}
	c.wanted = map[string]bool{}
	c.mu.Unlock()
	for _, t := range texts {
		st, err := c.pool.PrepareContext(ctx, t)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, dup := c.stmts[t]; dup {
			st.Close()
		} else {
			c.stmts[t] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}

// queryRow runs a single-row query, prepared when the transaction's kind
// caches statements and the text is cached.
func (t *tx) queryRow(text string, args ...any) *sql.Row {
	if t.stmts != nil {
		if st := t.stmts.get(text); st != nil {
			return t.tx.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
		}
	}
	return t.tx.QueryRowContext(t.ctx, text, args...)
}

// execText runs a statement that returns no rows, prepared when the
// transaction's kind caches statements and the text is cached.
func (t *tx) execText(text string, args ...any) (sql.Result, error) {
	if t.stmts != nil {
		if st := t.stmts.get(text); st != nil {
			return t.tx.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
		}
	}
	return t.tx.ExecContext(t.ctx, text, args...)
}

// queryRows is queryRow for many rows.
func (t *tx) queryRows(text string, args ...any) (*sql.Rows, error) {
	if t.stmts != nil {
		if st := t.stmts.get(text); st != nil {
			return t.tx.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
		}
	}
	return t.tx.QueryContext(t.ctx, text, args...)
}
