package checkout

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// TestCheckpointOffTheWriter: no commit of the writer checkpoints the WAL,
// so no write waits for a checkpoint's copy and fsyncs; the checkpoint
// worker copies the WAL into the database file while the service runs.
func TestCheckpointOffTheWriter(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	var pages int
	err := e.svc.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		return tx.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages)
	})
	if err != nil || pages != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0", pages, err)
	}
	size := func() int64 {
		fi, err := os.Stat(e.cfg.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 2 * sqlitestore.CheckpointEvery {
		e.fill(t, fmt.Sprintf("g:checkpoint-%03d", i), map[string]int{"p001": 1})
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		n := size()
		return n > before, fmt.Sprintf("database file still %d bytes (%d before %d writes)", n, before, 2*sqlitestore.CheckpointEvery)
	})
}
