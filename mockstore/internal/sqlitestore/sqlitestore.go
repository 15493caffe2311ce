// Package sqlitestore opens a storefront service's SQLite file
// (modernc.org/sqlite, pure Go), the one way every service does: WAL, a
// single writer connection through which every write goes, a pool of
// query-only readers, and a schema brought up to date by numbered
// migrations.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// CheckpointEvery is how many commits of the writer pass between two
// checkpoints it asks for, when the store has a checkpoint worker (see
// WithCheckpoints).
const CheckpointEvery = 64

// readers is the size of the pool of query-only connections.
const readers = 4

// pragmas are those of every connection, writer and readers alike.
//
// journal_mode=WAL lets readers read the last committed snapshot while a
// write runs. synchronous=NORMAL in WAL mode: a commit is in the WAL file
// (in the OS's page cache) when COMMIT returns, so it survives the process
// being killed (kill -9), which is the durability this harness needs; only
// an OS crash or power loss can lose the last commits, which FULL (an fsync
// per commit) would prevent at several times the cost per write. The busy
// timeout covers the moments a checkpoint and a write want the same lock.
const pragmas = "_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)"

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	log         *slog.Logger
	checkpoint  time.Duration
	writeDetach time.Duration
}

// WithLogger sends the store's own logs (a failed checkpoint) to log; the
// default discards them.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// WithCheckpoints takes checkpoints off the writer: no commit copies the
// WAL into the database file, which SQLite would otherwise do, with two
// fsyncs, in the commit that takes the WAL past its threshold while every
// other write waits for the writer. Instead a worker does it on a reader's
// connection, every period and every CheckpointEvery commits, as far as
// readers allow, until Close. Commits are as durable either way: a commit
// is in the WAL when it returns, and the last connection to close
// checkpoints what is left.
func WithCheckpoints(period time.Duration) Option {
	return func(o *options) { o.checkpoint = period }
}

// WithDetachedWrites makes Write independent of its caller's context: once
// a write has begun it runs to its end (or fails) within timeout, even if
// the caller goes away, so that a hung-up caller leaves an outcome a later
// call can find rather than a coin toss. Without it a write ends with its
// caller's context.
func WithDetachedWrites(timeout time.Duration) Option {
	return func(o *options) { o.writeDetach = timeout }
}

// DB is a service's SQLite store. Reads go through the embedded *sql.DB, a
// pool of query-only connections that see the last committed snapshot;
// every write goes through Write, on the one writer connection, one at a
// time, so that no write of the process ever waits on another with
// SQLITE_BUSY. Its methods are safe for concurrent use.
type DB struct {
	*sql.DB // the readers

	w      *sql.DB // exactly one connection
	stmts  *stmtCache
	log    *slog.Logger
	detach time.Duration

	checkpoints chan struct{} // nudges the checkpoint worker; nil without one
	commits     atomic.Int64
	stop        context.CancelFunc
	worker      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the SQLite file at path and brings its schema up
// to date: migrations[i] takes the schema from version i to i+1 (the
// version is kept in PRAGMA user_version), and those the file has not had
// yet run in one transaction. Each migration may hold several statements.
// Open returns an error when path is empty or holds a '?' (which would
// start the driver's parameters), when the file cannot be opened, or when
// its schema is newer than the migrations know; it then leaves nothing
// open.
func Open(ctx context.Context, path string, migrations []string, opts ...Option) (*DB, error) {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("open store: no path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store: path %q: '?' is not allowed", path)
	}
	writer := "&_txlock=immediate" // take the write lock up front: a transaction that reads then writes is never refused half-way
	if o.checkpoint > 0 {
		writer += "&_pragma=wal_autocheckpoint(0)"
	}
	// The writer opens first, so that the file exists in WAL mode before
	// any reader connects.
	w, err := open(path+"?"+pragmas+writer, 1)
	if err != nil {
		return nil, fmt.Errorf("open store writer: %w", err)
	}
	if err := migrate(ctx, w, migrations); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("migrate store: %w", err)
	}
	r, err := open(path+"?"+pragmas+"&_pragma=query_only(1)", readers)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store readers: %w", err)
	}
	db := &DB{DB: r, w: w, stmts: newStmtCache(w), log: o.log, detach: o.writeDetach}
	if o.checkpoint > 0 {
		db.checkpoints = make(chan struct{}, 1)
		wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		db.stop = stop
		db.worker.Go(func() { db.checkpointer(wctx, o.checkpoint) })
	}
	return db, nil
}

// open opens a pool of n connections that live as long as the pool, and
// connects once, so that a file that cannot be opened fails here.
func open(dsn string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// migrate runs the migrations the file has not had, and records its new
// version, in one transaction.
func migrate(ctx context.Context, w *sql.DB, migrations []string) error {
	var v int
	if err := w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v < 0 || v > len(migrations) {
		return fmt.Errorf("schema version %d, want at most %d", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Write runs fn in one transaction on the writer and commits it; an error
// from fn, returned as it is, rolls everything back. fn gets the context
// the write runs under (see WithDetachedWrites). Write returns fn's error,
// or an error beginning or committing the transaction.
func (db *DB) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if db.detach > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), db.detach)
		defer cancel()
	}
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, stmts: db.stmts}
	// Once the writer's connection is free again, prepare what tx ran
	// unprepared.
	defer func() { db.stmts.prepare(ctx, tx.misses) }()
	defer func() { _ = tx.Rollback() }()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if n := db.commits.Add(1); db.checkpoints != nil && n%CheckpointEvery == 0 {
		select {
		case db.checkpoints <- struct{}{}:
		default:
		}
	}
	return nil
}

// Prepared returns how many statements of writes run prepared.
func (db *DB) Prepared() int { return db.stmts.len() }

// Commits returns how many writes have committed since Open.
func (db *DB) Commits() int64 { return db.commits.Load() }

// checkpointer checkpoints whenever Write asks and every period, until ctx
// ends.
func (db *DB) checkpointer(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-db.checkpoints:
		}
		var busy, walFrames, copied int
		err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walFrames, &copied)
		if err != nil && ctx.Err() == nil {
			db.log.Warn("checkpoint", "err", err)
		}
	}
}

// Close stops the checkpoint worker and closes the store. It is idempotent;
// later calls return the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.stop != nil {
			db.stop()
			db.worker.Wait()
		}
		db.stmts.close()
		if err := errors.Join(db.DB.Close(), db.w.Close()); err != nil {
			db.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return db.closeErr
}
