package wallet_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/wallet"
	_ "modernc.org/sqlite"
)

// openRaw opens the ledger file directly, as a second writer would.
func openRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if db != nil {
		tb.Cleanup(func() { _ = db.Close() })
	}
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// model is what the wallet should hold after a sequence of operations.
type model struct {
	balance map[string]int64
	topups  map[string]int64 // user + "/" + reference -> amount
	charges map[string]wallet.ChargeRequest
	orders  map[string][]wallet.ChargeRequest // charges per open order
	closed  map[string]int64                  // refunded order -> refund amount
}

// TestRandomMix runs a seeded random mix of operations, good and bad,
// checks every answer against a model, and then the ledger against the
// model and itself.
func TestRandomMix(t *testing.T) {
	users := []mockstore.User{{ID: "u1", Balance: 2_000}, {ID: "u2", Balance: 500}, {ID: "u3", Balance: 0}, {ID: "u4", Balance: 10_000}}
	e := newEnv(t, users...)
	ctx := context.Background()
	m := model{balance: map[string]int64{}, topups: map[string]int64{}, charges: map[string]wallet.ChargeRequest{},
		orders: map[string][]wallet.ChargeRequest{}, closed: map[string]int64{}}
	for _, u := range users {
		m.balance[u.ID] = u.Balance
	}
	r := rand.New(rand.NewPCG(42, 7))
	user := func() string {
		if r.IntN(20) == 0 {
			return "ghost"
		}
		return users[r.IntN(len(users))].ID
	}
	order := func() string { return fmt.Sprintf("o%d", r.IntN(60)) }
	amount := func() int64 {
		if r.IntN(25) == 0 {
			return []int64{0, -3, wallet.MaxAmount + 1}[r.IntN(3)]
		}
		return 1 + r.Int64N(400)
	}
	var keys []string

	for i := range 600 {
		switch op := r.IntN(10); {
		case op < 2: // top-up, sometimes a replay or a conflicting reuse of a reference
			u, a, ref := user(), amount(), fmt.Sprintf("r%d", r.IntN(40))
			got, err := e.c.Topup(ctx, u, a, ref)
			prev, seen := m.topups[u+"/"+ref]
			switch {
			case a <= 0 || a > wallet.MaxAmount:
				wantCode(t, err, mockstore.CodeInvalidRequest)
			case u == "ghost":
				wantCode(t, err, mockstore.CodeNotFound)
			case seen && prev != a:
				wantCode(t, err, mockstore.CodeIdempotencyConflict)
			case seen:
				if err != nil || !got.Replayed {
					t.Fatalf("op %d: top-up replay = %+v, %v", i, got, err)
				}
			default:
				if err != nil || got.Replayed || got.Balance != m.balance[u]+a {
					t.Fatalf("op %d: top-up = %+v, %v; want balance %d", i, got, err, m.balance[u]+a)
				}
				m.topups[u+"/"+ref] = a
				m.balance[u] += a
			}
		case op < 7: // charge: new key, replay, or conflicting reuse
			key := fmt.Sprintf("k%d", i)
			req := wallet.ChargeRequest{UserID: user(), OrderID: order(), Amount: amount()}
			if len(keys) > 0 && r.IntN(4) == 0 {
				key = keys[r.IntN(len(keys))]
				if r.IntN(2) == 0 {
					req = m.charges[key]
				}
			}
			got, err := e.c.Charge(ctx, key, req)
			prev, seen := m.charges[key]
			switch {
			case req.Amount <= 0 || req.Amount > wallet.MaxAmount:
				wantCode(t, err, mockstore.CodeInvalidRequest)
			case seen && prev != req:
				wantCode(t, err, mockstore.CodeIdempotencyConflict)
			case seen:
				if err != nil || !got.Replayed {
					t.Fatalf("op %d: charge replay = %+v, %v", i, got, err)
				}
			case req.UserID == "ghost":
				wantCode(t, err, mockstore.CodeNotFound)
			case isClosed(m, req.OrderID):
				wantCode(t, err, mockstore.CodeConflict)
			case m.balance[req.UserID] < req.Amount:
				wantCode(t, err, mockstore.CodeInsufficientFunds)
			default:
				if err != nil || got.Replayed || got.Balance != m.balance[req.UserID]-req.Amount {
					t.Fatalf("op %d: charge %+v = %+v, %v; want balance %d", i, req, got, err, m.balance[req.UserID]-req.Amount)
				}
				m.balance[req.UserID] -= req.Amount
				m.charges[key] = req
				m.orders[req.OrderID] = append(m.orders[req.OrderID], req)
				keys = append(keys, key)
			}
		default: // refund
			o := order()
			got, err := e.c.Refund(ctx, o)
			if err != nil {
				t.Fatalf("op %d: refund %s: %v", i, o, err)
			}
			if isClosed(m, o) {
				if !got.Replayed || got.Amount != m.closed[o] {
					t.Fatalf("op %d: refund replay %+v, want amount %d", i, got, m.closed[o])
				}
				continue
			}
			var sum int64
			for _, c := range m.orders[o] {
				sum += c.Amount
				m.balance[c.UserID] += c.Amount
			}
			if got.Replayed || got.Amount != sum {
				t.Fatalf("op %d: refund %+v, want amount %d", i, got, sum)
			}
			m.closed[o] = sum
			delete(m.orders, o)
		}
	}

	tot := e.totals(t)
	checkLedger(t, tot)
	for u, want := range m.balance {
		if got := e.balance(t, u); got != want {
			t.Errorf("%s: balance %d, model %d", u, got, want)
		}
	}
	var charged, refunded, toppedUp int64
	for _, c := range m.charges {
		charged += c.Amount
	}
	for _, a := range m.closed {
		refunded += a
	}
	for _, a := range m.topups {
		toppedUp += a
	}
	if tot.Charges != charged || tot.Refunds != refunded || tot.Topups != toppedUp || tot.Opening != 12_500 {
		t.Fatalf("totals %+v; model charges %d refunds %d topups %d", tot, charged, refunded, toppedUp)
	}
	for _, c := range e.chargeRecords(t) {
		want := 0
		if isClosed(m, c.OrderID) {
			want = 1
		}
		if c.Refunds != want {
			t.Errorf("charge %s of %s: %d refunds, want %d", c.Key, c.OrderID, c.Refunds, want)
		}
	}
}

func isClosed(m model, order string) bool {
	_, ok := m.closed[order]
	return ok
}

// TestConcurrentMix runs random operations from several goroutines at once
// and checks that the ledger stays sound and no refund is doubled.
func TestConcurrentMix(t *testing.T) {
	users := []mockstore.User{{ID: "u1", Balance: 1_000}, {ID: "u2", Balance: 1_000}, {ID: "u3", Balance: 1_000}}
	e := newEnv(t, users...)
	var refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 99))
			for i := range 60 {
				u := users[r.IntN(len(users))].ID
				o := fmt.Sprintf("o%d", r.IntN(20))
				var err error
				switch r.IntN(4) {
				case 0:
					_, err = e.c.Topup(context.Background(), u, 1+r.Int64N(50), fmt.Sprintf("r%d", r.IntN(10)))
				case 1, 2:
					// Keys shared across goroutines, so replays and conflicts race too.
					_, err = e.c.Charge(context.Background(), fmt.Sprintf("k%d", r.IntN(100)),
						wallet.ChargeRequest{UserID: u, OrderID: o, Amount: 1 + r.Int64N(300)})
				default:
					_, err = e.c.Refund(context.Background(), o)
				}
				if err != nil {
					if mockstore.ErrorCode(err).Status() >= 500 {
						t.Errorf("goroutine %d op %d: %v", g, i, err)
					}
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	checkLedger(t, e.totals(t))
	for _, c := range e.chargeRecords(t) {
		if c.Refunds > 1 {
			t.Errorf("charge %s refunded %d times", c.Key, c.Refunds)
		}
	}
	t.Logf("%d operations refused", refused.Load())
}

// BenchmarkCharge measures charges per second through the HTTP handler
// (httptest server, keep-alive client), each with its own key.
func BenchmarkCharge(b *testing.B) {
	var users []mockstore.User
	for i := range 64 {
		users = append(users, mockstore.User{ID: fmt.Sprintf("u%d", i), Balance: 1 << 50})
	}
	e := openEnv(b, filepath.Join(b.TempDir(), "wallet.db"), dataset(users))
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			_, err := e.c.Charge(ctx, fmt.Sprintf("bench-%d", i),
				wallet.ChargeRequest{UserID: users[i%int64(len(users))].ID, OrderID: fmt.Sprintf("o%d", i), Amount: 100})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
}
