// Package prepared keeps the statements of a SQLite service's write
// transactions prepared on its one writer connection (wallet and checkout).
package prepared

import (
	"context"
	"database/sql"
	"sync"
)

// Cache keeps the statements that write transactions run prepared on the
// writer's connection, by their text. SQLite takes about as long to parse a
// small statement as to run it, and every write of the service waits for
// the one writer, so parsing each statement once rather than at every call
// shortens the wait of everyone queued behind it. A statement is prepared
// after the transaction that first ran it, because during it the writer's
// only connection is taken.
type Cache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// New returns an empty cache of statements prepared on db.
func New(db *sql.DB) *Cache { return &Cache{db: db, m: map[string]*sql.Stmt{}} }

// Len returns how many statements are prepared.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *Cache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// Prepare prepares the queries not prepared yet, unless c is closed. A
// query that does not prepare keeps running unprepared.
func (c *Cache) Prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		skip := c.closed || c.m[q] != nil
		c.mu.Unlock()
		if skip {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if !c.closed && c.m[q] == nil {
			c.m[q], st = st, nil
		}
		c.mu.Unlock()
		if st != nil {
			_ = st.Close()
		}
	}
}

// Close closes every prepared statement and prepares no more; call it
// before closing db.
func (c *Cache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// Tx is a write transaction whose statements run prepared when the cache
// has them; it notes the others, for Prepare once it is over.
type Tx struct {
	*sql.Tx
	stmts  *Cache
	misses []string
}

// Wrap returns tx running its statements prepared where c has them.
func (c *Cache) Wrap(tx *sql.Tx) *Tx { return &Tx{Tx: tx, stmts: c} }

// Misses returns the statements tx ran unprepared, for Prepare.
func (t *Tx) Misses() []string { return t.misses }

func (t *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.stmts.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	t.misses = append(t.misses, query)
	return nil
}

// ExecContext is sql.Tx's, with the statement prepared when it can be.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext is sql.Tx's, with the statement prepared when it can be.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx's, with the statement prepared when it can be.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
