package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the statements that write transactions run prepared on the
// writer's connection, by their text. SQLite takes about as long to parse a
// small statement as to run it, and every write of a service waits for the
// one writer, so parsing each statement once rather than at every call
// shortens the wait of everyone queued behind it. A statement is prepared
// after the transaction that first ran it, because during it the writer's
// only connection is taken.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares the queries not prepared yet, unless c is closed. A
// query that does not prepare keeps running unprepared.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
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

// close closes every prepared statement and prepares no more; call it
// before closing db.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// Tx is a write transaction (see DB.Write). Its statements run prepared when
// the writer has them prepared; the others it notes, to be prepared once it
// is over. Each statement must be one SQL statement: a prepared statement
// runs only the first of several.
type Tx struct {
	*sql.Tx
	stmts  *stmtCache
	misses []string
}

// Misses returns the statements tx ran unprepared so far.
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
