package checkout

import (
	"context"
	"slices"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// TestWritesRunPrepared: a statement that a write transaction ran unprepared
// is prepared once the transaction is over, and runs prepared from then on;
// after one checkout, another prepares nothing new.
func TestWritesRunPrepared(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	q := `UPDATE orders SET fail_message = fail_message WHERE id = ?`
	for i, want := range [][]string{{q}, nil} {
		var misses []string
		err := e.svc.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
			_, err := tx.ExecContext(ctx, q, "o_none")
			misses = tx.Misses()
			return err
		})
		if err != nil || !slices.Equal(misses, want) {
			t.Fatalf("write %d: unprepared %q, %v; want %q", i+1, misses, err, want)
		}
	}

	prepared := e.svc.db.Prepared
	var after []int
	for _, key := range []string{"k1", "k2"} {
		if o, err := e.client.Checkout(ctx, key, e.buy(t, "u00001")); err != nil || o.Status != mockstore.OrderPaid {
			t.Fatalf("checkout %s = %+v, %v; want paid", key, o, err)
		}
		after = append(after, prepared())
	}
	if after[1] != after[0] {
		t.Errorf("statements prepared after one checkout %d, after two %d; want no new ones", after[0], after[1])
	}
}
