package checkout

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps the statements that write transactions run prepared on the
// writer's connection, by their text. SQLite takes about as long to parse a
// small statement as to run it, and every write of the service waits for
// the one writer, so parsing each statement once rather than at every call
// shortens the wait of everyone queued behind it. A statement is prepared
// after the transaction that first ran it, because during it the writer's
// only connection is taken.
type stmts struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmts) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares the queries not prepared yet, unless c is closed. A
// query that does not prepare keeps running unprepared.
func (c *stmts) prepare(ctx context.Context, queries []string) {
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
func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// wtx is a write transaction whose statements run prepared when stmts has
// them; it notes the others, for write to prepare once it is over.
type wtx struct {
	*sql.Tx
	stmts  *stmts
	misses []string
}

func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.stmts.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	t.misses = append(t.misses, query)
	return nil
}

// ExecContext is sql.Tx's, with the statement prepared when it can be.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext is sql.Tx's, with the statement prepared when it can be.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx's, with the statement prepared when it can be.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
