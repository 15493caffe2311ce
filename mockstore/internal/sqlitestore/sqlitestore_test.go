package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var schema = []string{
	`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
	 CREATE TABLE log (k TEXT NOT NULL REFERENCES kv (k));`,
	`ALTER TABLE kv ADD COLUMN note TEXT NOT NULL DEFAULT ''`,
}

// openTest opens a store at path, closed at the end of the test.
func openTest(tb testing.TB, path string, migrations []string, opts ...Option) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, migrations, opts...)
	if db != nil {
		tb.Cleanup(func() { _ = db.Close() })
	}
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return db
}

func version(tb testing.TB, db *DB) int {
	tb.Helper()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		tb.Fatalf("read user_version: %v", err)
	}
	return v
}

func put(ctx context.Context, db *DB, k string, v int) error {
	return db.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, k, v)
		return err
	})
}

// TestMigrations: a new file gets every migration and their count as its
// version; a file at an older version gets only the missing ones, keeping
// its rows; a file newer than the migrations is refused.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db := openTest(t, path, schema[:1])
	if v := version(t, db); v != 1 {
		t.Fatalf("version %d after one migration, want 1", v)
	}
	if err := put(ctx, db, "a", 1); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openTest(t, path, schema)
	var note string
	if err := db.QueryRow(`SELECT note FROM kv WHERE k = 'a'`).Scan(&note); err != nil || version(t, db) != 2 {
		t.Fatalf("after the second migration: note %q, %v, version %d; want the row kept, version 2", note, err, version(t, db))
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err := Open(ctx, path, schema[:1])
	if err == nil || !strings.Contains(err.Error(), "schema version 2, want at most 1") {
		t.Fatalf("Open of a newer file = %v, want a schema version error", err)
	}
}

// TestFailedMigrationChangesNothing: a migration that fails leaves the file
// at its version, without the migrations before it in the same run.
func TestFailedMigrationChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	if _, err := Open(context.Background(), path, []string{schema[0], `CREATE TABLE kv (k TEXT)`}); err == nil {
		t.Fatal("Open with a failing migration succeeded")
	}
	db := openTest(t, path, nil)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'kv'`).Scan(&n); err != nil || n != 0 || version(t, db) != 0 {
		t.Fatalf("kv tables %d, %v, version %d; want none, 0", n, err, version(t, db))
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{"", filepath.Join(dir, "x.db?mode=ro"), filepath.Join(dir, "no", "such", "x.db")} {
		if db, err := Open(context.Background(), path, schema); err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

// TestWrite: fn's error comes back as it is and rolls back what fn wrote;
// readers see a commit at once and cannot write themselves; foreign keys
// are enforced.
func TestWrite(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"), schema)
	refused := errors.New("refused")
	err := db.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ('a', 1)`); err != nil {
			return err
		}
		return refused
	})
	if err != refused {
		t.Fatalf("Write = %v, want fn's error as it is", err)
	}
	if err := put(ctx, db, "b", 2); err != nil {
		t.Fatalf("put: %v", err)
	}
	if n := db.Commits(); n != 1 {
		t.Errorf("Commits() = %d after one write committed and one rolled back, want 1", n)
	}
	var keys []string
	rows, err := db.QueryContext(ctx, `SELECT k FROM kv ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil || !slices.Equal(keys, []string{"b"}) {
		t.Fatalf("keys %q, %v; want only b", keys, err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM kv`); err == nil {
		t.Error("a reader wrote")
	}
	err = db.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO log (k) VALUES ('nobody')`)
		return err
	})
	if err == nil {
		t.Error("a row referring to no key was written: foreign keys are off")
	}
}

// TestDetachedWrites: with WithDetachedWrites a write finishes although its
// caller's context is gone; without, it ends with that context.
func TestDetachedWrites(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		opts []Option
		want bool
	}{
		{"detached", []Option{WithDetachedWrites(time.Second)}, true},
		{"bound", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "s.db"), schema, tc.opts...)
			if err := put(gone, db, "a", 1); (err == nil) != tc.want {
				t.Fatalf("write with its caller gone = %v; want it to succeed %v", err, tc.want)
			}
		})
	}
}

// TestWritesRunPrepared: a statement that a write ran unprepared is
// prepared once the write is over, and runs prepared from then on.
func TestWritesRunPrepared(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"), schema)
	q := `UPDATE kv SET v = v + 1 WHERE k = ?`
	for i, want := range [][]string{{q}, nil} {
		var misses []string
		err := db.Write(ctx, func(ctx context.Context, tx *Tx) error {
			_, err := tx.ExecContext(ctx, q, "a")
			misses = tx.Misses()
			return err
		})
		if err != nil || !slices.Equal(misses, want) {
			t.Fatalf("write %d: unprepared %q, %v; want %q", i+1, misses, err, want)
		}
	}
	if n := db.Prepared(); n != 1 {
		t.Errorf("Prepared() = %d, want 1", n)
	}
}

// TestCheckpointsOffTheWriter: with WithCheckpoints no commit of the writer
// checkpoints the WAL, and the worker copies it into the database file;
// without, the writer keeps SQLite's own threshold.
func TestCheckpointsOffTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db := openTest(t, path, schema, WithCheckpoints(time.Hour))
	if pages := autocheckpoint(t, db); pages != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, want 0", pages)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 2 * CheckpointEvery {
		if err := put(ctx, db, fmt.Sprintf("k%03d", i), i); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for n := size(); n <= before; n = size() {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes after %d writes (%d before)", n, 2*CheckpointEvery, before)
		}
		time.Sleep(5 * time.Millisecond)
	}

	plain := openTest(t, filepath.Join(t.TempDir(), "p.db"), schema)
	if pages := autocheckpoint(t, plain); pages == 0 {
		t.Error("writer without a checkpoint worker never checkpoints")
	}
}

func autocheckpoint(tb testing.TB, db *DB) int {
	tb.Helper()
	var pages int
	err := db.Write(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages)
	})
	if err != nil {
		tb.Fatalf("read wal_autocheckpoint: %v", err)
	}
	return pages
}

func TestCloseIsIdempotent(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), schema, WithCheckpoints(time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := put(context.Background(), db, "a", 1); err == nil {
		t.Error("a write after Close succeeded")
	}
}
