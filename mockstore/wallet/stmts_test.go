package wallet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// TestWritesRunPrepared: after one charge, the statements of the next all
// run prepared: none is left to prepare.
func TestWritesRunPrepared(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, Config{DBPath: filepath.Join(t.TempDir(), "wallet.db"),
		Dataset: mockstore.Dataset{Seed: 1, Users: []mockstore.User{{ID: "alice", Balance: 100}}}})
	if s != nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	prepared := s.db.Prepared
	var after []int
	for i := range 2 {
		if _, _, err := s.charge(ctx, fmt.Sprintf("key-%d", i), ChargeRequest{UserID: "alice", OrderID: fmt.Sprintf("o%d", i), Amount: 1}); err != nil {
			t.Fatalf("charge %d: %v", i, err)
		}
		after = append(after, prepared())
	}
	if after[0] == 0 || after[1] != after[0] {
		t.Errorf("statements prepared after one charge %d, after two %d; want some, then no new ones", after[0], after[1])
	}
}
