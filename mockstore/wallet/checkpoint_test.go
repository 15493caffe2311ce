package wallet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// TestCheckpointOffTheWriter: no commit of the writer checkpoints the WAL,
// so no money operation waits for a checkpoint's copy and fsyncs; the
// checkpoint worker copies the WAL into the database file while the wallet
// runs.
func TestCheckpointOffTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wallet.db")
	s, err := New(ctx, Config{DBPath: path, Dataset: mockstore.Dataset{Seed: 1, Users: []mockstore.User{{ID: "alice", Balance: 1}}}})
	if s != nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var pages int
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		return tx.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages)
	})
	if err != nil || pages != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0", pages, err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 2 * sqlitestore.CheckpointEvery {
		if _, err := s.topup(ctx, "alice", 1, fmt.Sprintf("ref-%03d", i)); err != nil {
			t.Fatalf("topup %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for n := size(); n <= before; n = size() {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes after %d top-ups (%d before)", n, 2*sqlitestore.CheckpointEvery, before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
