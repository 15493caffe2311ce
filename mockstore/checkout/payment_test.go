package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
	"github.com/gameday/gameday/mockstore/wallet"
)

func historyStates(r mockstore.OrderRecord) []string {
	var out []string
	for _, h := range r.History {
		out = append(out, h.State)
	}
	return out
}

func TestPaymentSuccess(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	req := e.buy(t, "u00001")
	e.fill(t, "u:u00001", map[string]int{"p002": 2})
	cart, err := e.client.Cart(ctx, req.Owner)
	if err != nil {
		t.Fatal(err)
	}
	bal := e.wallet.balance(t, "u00001")

	o, err := e.client.Checkout(ctx, "k", req)
	if err != nil || o.Status != mockstore.OrderPaid || o.Amount != cart.Total || o.Refund != nil {
		t.Fatalf("checkout = %+v, %v; want paid %d", o, err, cart.Total)
	}
	if got := e.wallet.balance(t, "u00001"); got != bal-cart.Total {
		t.Errorf("balance %d → %d, want %d", bal, got, bal-cart.Total)
	}
	ch := e.wallet.chargesFor(t, o.OrderID)
	rec := e.record(t, o.OrderID)
	if len(ch) != 1 || ch[0].Amount != o.Amount || !reflect.DeepEqual(rec.PaymentKeys, []string{ch[0].Key}) {
		t.Errorf("charges %+v, payment keys %v; want one charge under the order's key", ch, rec.PaymentKeys)
	}
	if rec.UserID != "u00001" || rec.Amount != o.Amount || rec.Status != mockstore.OrderPaid || rec.CreatedAt.IsZero() {
		t.Errorf("audit record = %+v", rec)
	}
	if c, err := e.client.Cart(ctx, req.Owner); err != nil || len(c.Items) != 0 {
		t.Errorf("cart after paying = %+v, %v; want empty", c, err)
	}
}

func TestTakeFromCart(t *testing.T) {
	// A paid order takes only what it bought out of the cart: a line added
	// to since keeps the rest.
	e := newEnv(t, false)
	ctx := context.Background()
	e.fill(t, "g:x", map[string]int{"p001": 3, "p002": 1, "p003": 2})
	err := e.svc.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		return takeFromCart(ctx, tx, "g:x", []CartItem{{ProductID: "p001", Qty: 2}, {ProductID: "p002", Qty: 1}, {ProductID: "p003", Qty: 5}})
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.client.Cart(ctx, "g:x")
	if err != nil || len(c.Items) != 1 || c.Items[0].ProductID != "p001" || c.Items[0].Qty != 1 {
		t.Errorf("cart = %+v, %v; want 1 of p001 left", c, err)
	}
}

func TestPaymentInsufficientFunds(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	req := e.buy(t, "u00002") // balance 1000, less than any product
	_, err := e.client.Checkout(ctx, "k", req)
	if got := errCode(t, err); got != mockstore.CodeInsufficientFunds {
		t.Fatalf("checkout: %v, want insufficient_funds", err)
	}
	recs := e.orders(t)
	if len(recs) != 1 || recs[0].Status != mockstore.OrderFailed {
		t.Fatalf("orders = %+v, want one failed", recs)
	}
	if ch := e.wallet.chargesFor(t, recs[0].OrderID); len(ch) != 0 {
		t.Errorf("charges for a refused payment: %+v", ch)
	}
	o, err := e.client.Order(ctx, "u00002", recs[0].OrderID)
	if err != nil || o.Status != mockstore.OrderFailed || o.Refund != nil {
		t.Errorf("order = %+v, %v; want failed, no refund (no money moved)", o, err)
	}
	if c, _ := e.client.Cart(ctx, req.Owner); len(c.Items) != 1 {
		t.Errorf("cart after a refused payment = %+v, want kept", c)
	}
	// A replay says the same.
	status, code, _ := call(t, http.MethodPost, e.url+"/checkout", req, map[string]string{IdempotencyHeader: "k"})
	if status != http.StatusPaymentRequired || code != mockstore.CodeInsufficientFunds {
		t.Errorf("replay = %d %q, want 402 insufficient_funds", status, code)
	}
	if n := len(e.orders(t)); n != 1 {
		t.Errorf("%d orders after a replay, want 1", n)
	}
}

// The wallet commits the charge but checkout never gets the answer.
func TestAmbiguousCommit(t *testing.T) {
	ctx := context.Background()

	t.Run("all defences: pending, reconciled to paid, one charge", func(t *testing.T) {
		e := newEnv(t, true)
		e.fwd.dropNext.Store(2) // the attempt and its in-request retry
		req := e.buy(t, "u00001")
		bal := e.wallet.balance(t, "u00001")
		o, err := e.client.Checkout(ctx, "k", req)
		if err != nil || o.Status != mockstore.OrderPaymentPending {
			t.Fatalf("checkout = %+v, %v; want payment_pending", o, err)
		}
		e.waitStatus(t, "u00001", o.OrderID, mockstore.OrderPaid, "")
		if got := e.fwd.dropped.Load(); got != 2 {
			t.Errorf("%d answers dropped, want 2", got)
		}
		ch := e.wallet.chargesFor(t, o.OrderID)
		if len(ch) != 1 {
			t.Fatalf("%d charges for the order, want exactly 1: %+v", len(ch), ch)
		}
		if got := e.wallet.balance(t, "u00001"); got != bal-o.Amount {
			t.Errorf("balance %d → %d, want %d", bal, got, bal-o.Amount)
		}
		rec := e.record(t, o.OrderID)
		if len(rec.PaymentKeys) != 1 || rec.PaymentKeys[0] != ch[0].Key {
			t.Errorf("payment keys %v, want only %s", rec.PaymentKeys, ch[0].Key)
		}
		if want := []string{mockstore.OrderCreated, mockstore.OrderPaymentPending, mockstore.OrderPaid}; !reflect.DeepEqual(historyStates(rec), want) {
			t.Errorf("history %v, want %v", historyStates(rec), want)
		}
		if c, _ := e.client.Cart(ctx, req.Owner); len(c.Items) != 0 {
			t.Errorf("cart after reconciled payment = %+v, want empty", c)
		}
	})

	t.Run("idempotent_payments off: the retry charges twice", func(t *testing.T) {
		e := newEnv(t, true, without(mockstore.IdempotentPayments))
		e.fwd.dropNext.Store(1)
		o, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
		if err != nil || o.Status != mockstore.OrderPaid {
			t.Fatalf("checkout = %+v, %v; want paid", o, err)
		}
		ch := e.wallet.chargesFor(t, o.OrderID)
		if len(ch) != 2 {
			t.Fatalf("%d charges for the order, want 2 (the incident's double charge): %+v", len(ch), ch)
		}
		if rec := e.record(t, o.OrderID); len(rec.PaymentKeys) != 2 || rec.PaymentKeys[0] == rec.PaymentKeys[1] {
			t.Errorf("payment keys %v, want two different keys", rec.PaymentKeys)
		}
	})

	t.Run("idempotent_payments off: the reconciler charges again too", func(t *testing.T) {
		e := newEnv(t, true, without(mockstore.IdempotentPayments))
		e.fwd.dropNext.Store(2)
		o, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
		if err != nil || o.Status != mockstore.OrderPaymentPending {
			t.Fatalf("checkout = %+v, %v; want payment_pending", o, err)
		}
		e.waitStatus(t, "u00001", o.OrderID, mockstore.OrderPaid, "")
		if ch := e.wallet.chargesFor(t, o.OrderID); len(ch) != 3 {
			t.Fatalf("%d charges for the order, want 3: %+v", len(ch), ch)
		}
	})

	t.Run("payment_reconciliation off: failed while charged, no refund without outbox", func(t *testing.T) {
		e := newEnv(t, true, withFeatures(mockstore.IdempotentPayments))
		e.fwd.dropNext.Store(2)
		req := e.buy(t, "u00001")
		_, err := e.client.Checkout(ctx, "k", req)
		if got := errCode(t, err); got != mockstore.CodeUnavailable {
			t.Fatalf("checkout: %v, want temporarily_unavailable", err)
		}
		recs := e.orders(t)
		if len(recs) != 1 || recs[0].Status != mockstore.OrderFailed {
			t.Fatalf("orders = %+v, want one failed", recs)
		}
		id := recs[0].OrderID
		ch := e.wallet.chargesFor(t, id)
		if len(ch) != 1 || ch[0].Refunds != 0 {
			t.Fatalf("charges = %+v, want one, unrefunded: failed while charged", ch)
		}
		o, err := e.client.Order(ctx, "u00001", id)
		if err != nil || o.Status != mockstore.OrderFailed || o.Refund != nil {
			t.Fatalf("order = %+v, %v; want failed without refund", o, err)
		}
		var queued int
		if err := e.svc.db.QueryRow(`SELECT count(*) FROM refund_outbox`).Scan(&queued); err != nil || queued != 0 {
			t.Fatalf("outbox rows = %d (%v), want none with refund_outbox off", queued, err)
		}
		if c, _ := e.client.Cart(ctx, req.Owner); len(c.Items) != 1 {
			t.Errorf("cart of a failed order = %+v, want kept", c)
		}

		// What a naive shop has: the manual refund.
		o, err = e.client.RefundOrder(ctx, id)
		if err != nil || o.Status != mockstore.OrderRefunded || o.Refund == nil || o.Refund.Status != RefundDone {
			t.Fatalf("manual refund = %+v, %v; want refunded", o, err)
		}
		if o2, err := e.client.RefundOrder(ctx, id); err != nil || o2.Status != mockstore.OrderRefunded {
			t.Fatalf("second manual refund = %+v, %v", o2, err)
		}
		if ch := e.wallet.chargesFor(t, id); len(ch) != 1 || ch[0].Refunds != 1 {
			t.Errorf("charges = %+v, want one refunded once", ch)
		}
		// Retrying the same key cannot revive a failed order.
		_, err = e.client.Checkout(ctx, "k", req)
		if got := errCode(t, err); got != mockstore.CodeConflict {
			t.Errorf("replay of a failed order: %v, want conflict", err)
		}
	})

	t.Run("refund_outbox: a charged failed order is refunded exactly once", func(t *testing.T) {
		e := newEnv(t, true, without(mockstore.PaymentReconciliation))
		e.fwd.dropNext.Store(3) // the attempt, the retry, and the outbox's first refund
		bal := e.wallet.balance(t, "u00001")
		_, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
		if got := errCode(t, err); got != mockstore.CodeUnavailable {
			t.Fatalf("checkout: %v, want temporarily_unavailable", err)
		}
		id := e.orders(t)[0].OrderID
		o := e.waitStatus(t, "u00001", id, mockstore.OrderRefunded, RefundDone)
		if o.Refund.At.IsZero() {
			t.Errorf("refund without time: %+v", o.Refund)
		}
		if got := e.fwd.dropped.Load(); got != 3 {
			t.Errorf("%d answers dropped, want 3 (one outbox retry)", got)
		}
		ch := e.wallet.chargesFor(t, id)
		if len(ch) != 1 || ch[0].Refunds != 1 {
			t.Fatalf("charges = %+v, want one refunded exactly once", ch)
		}
		if got := e.wallet.balance(t, "u00001"); got != bal {
			t.Errorf("balance %d → %d, want it back", bal, got)
		}
		rec := e.record(t, id)
		want := []string{mockstore.OrderCreated, mockstore.OrderPaymentPending, mockstore.OrderFailed, mockstore.OrderRefunded}
		if !reflect.DeepEqual(historyStates(rec), want) {
			t.Fatalf("history %v, want %v", historyStates(rec), want)
		}
		if lag := rec.History[3].At.Sub(rec.History[2].At); lag > e.cfg.RefundSLA {
			t.Errorf("refunded %v after failing, over the SLA %v", lag, e.cfg.RefundSLA)
		}
		// A manual refund on top changes nothing.
		if _, err := e.client.RefundOrder(ctx, id); err != nil {
			t.Fatalf("manual refund: %v", err)
		}
		if ch := e.wallet.chargesFor(t, id); ch[0].Refunds != 1 {
			t.Errorf("refunds = %d after a manual refund on top, want 1", ch[0].Refunds)
		}
		var done int
		if err := e.svc.db.QueryRow(`SELECT count(*) FROM refund_outbox WHERE done_at != 0`).Scan(&done); err != nil || done != 1 {
			t.Errorf("outbox rows done = %d (%v), want 1", done, err)
		}
	})

	t.Run("a pending order cannot be refunded by hand", func(t *testing.T) {
		e := newEnv(t, true)
		e.fwd.dropAll.Store(true)
		o, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
		if err != nil || o.Status != mockstore.OrderPaymentPending {
			t.Fatalf("checkout = %+v, %v; want payment_pending", o, err)
		}
		_, err = e.client.RefundOrder(ctx, o.OrderID)
		if got := errCode(t, err); got != mockstore.CodeConflict {
			t.Fatalf("manual refund of a pending order: %v, want conflict", err)
		}
		e.fwd.dropAll.Store(false)
		e.waitStatus(t, "u00001", o.OrderID, mockstore.OrderPaid, "")
	})

	t.Run("pending past the bound fails and is refunded", func(t *testing.T) {
		e := newEnv(t, true, func(c *Config) { c.PendingBound = 200 * time.Millisecond })
		e.fwd.dropAll.Store(true)
		o, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
		if err != nil || o.Status != mockstore.OrderPaymentPending {
			t.Fatalf("checkout = %+v, %v; want payment_pending", o, err)
		}
		e.waitStatus(t, "u00001", o.OrderID, mockstore.OrderFailed, RefundPending)
		e.fwd.dropAll.Store(false)
		e.waitStatus(t, "u00001", o.OrderID, mockstore.OrderRefunded, RefundDone)
		ch := e.wallet.chargesFor(t, o.OrderID)
		if len(ch) != 1 || ch[0].Refunds != 1 {
			t.Fatalf("charges = %+v, want one refunded once", ch)
		}
		if rec := e.record(t, o.OrderID); len(rec.PaymentKeys) != 1 {
			t.Errorf("payment keys %v, want one (idempotent re-drives)", rec.PaymentKeys)
		}
	})
}

// An order that failed while the wallet could not be reached at all has no
// charge: its outbox refund finds nothing, and closes the order so that a
// charge still in flight cannot land later.
func TestRefundNoneCharged(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true, without(mockstore.PaymentReconciliation))
	e.fwd.refuse.Store(true)
	_, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
	if got := errCode(t, err); got != mockstore.CodeUnavailable {
		t.Fatalf("checkout: %v, want temporarily_unavailable", err)
	}
	id := e.orders(t)[0].OrderID
	if o, _ := e.client.Order(ctx, "u00001", id); o.Refund == nil || o.Refund.Status != RefundPending {
		t.Fatalf("order = %+v, want a pending refund", o)
	}
	e.fwd.refuse.Store(false)
	o := e.waitStatus(t, "u00001", id, mockstore.OrderFailed, RefundNoneCharged)
	if o.Refund.At.IsZero() {
		t.Errorf("refund without time: %+v", o.Refund)
	}
	rec := e.record(t, id)
	_, err = e.wallet.client.Charge(ctx, rec.PaymentKeys[0], wallet.ChargeRequest{UserID: "u00001", OrderID: id, Amount: rec.Amount})
	if got := errCode(t, err); got != mockstore.CodeConflict {
		t.Errorf("late charge after the refund decision: %v, want conflict", err)
	}
	if ch := e.wallet.chargesFor(t, id); len(ch) != 0 {
		t.Errorf("charges = %+v, want none", ch)
	}
}

func TestManualRefund(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, withFeatures()) // the naive shop
	o, err := e.client.Checkout(ctx, "k", e.buy(t, "u00001"))
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("checkout = %+v, %v", o, err)
	}
	tests := []struct {
		name, path string
		status     int
		code       mockstore.Code
	}{
		{"unknown order", "/orders/o_00/refund", 404, mockstore.CodeNotFound},
		{"malformed order ID", "/orders/a%20b/refund", 400, mockstore.CodeInvalidRequest},
		{"wrong method", "/orders/" + o.OrderID + "/refund", 405, mockstore.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.status == 405 {
				method = http.MethodGet
			}
			status, code, raw := call(t, method, e.url+tt.path, nil, nil)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, code, raw, tt.status, tt.code)
			}
			if r := e.record(t, o.OrderID); r.Status != mockstore.OrderPaid {
				t.Errorf("order changed: %+v", r)
			}
		})
	}
	t.Run("paid order", func(t *testing.T) {
		got, err := e.client.RefundOrder(ctx, o.OrderID)
		if err != nil || got.Status != mockstore.OrderRefunded || got.Refund == nil || got.Refund.Status != RefundDone {
			t.Fatalf("refund = %+v, %v", got, err)
		}
		if ch := e.wallet.chargesFor(t, o.OrderID); len(ch) != 1 || ch[0].Refunds != 1 {
			t.Errorf("charges = %+v, want refunded once", ch)
		}
	})
}

// attemptRow is a row of payment_attempts.
type attemptRow struct {
	Seq              int
	Key, By, Outcome string
}

func (e *env) attempts(tb testing.TB, orderID string) []attemptRow {
	tb.Helper()
	rows, err := e.svc.db.Query(`SELECT seq, key, by, outcome FROM payment_attempts WHERE order_id = ? ORDER BY seq`, orderID)
	if err != nil {
		tb.Fatalf("read attempts: %v", err)
	}
	defer rows.Close()
	var out []attemptRow
	for rows.Next() {
		var a attemptRow
		if err := rows.Scan(&a.Seq, &a.Key, &a.By, &a.Outcome); err != nil {
			tb.Fatalf("read attempts: %v", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("read attempts: %v", err)
	}
	return out
}

// Every charge is committed as an attempt before the wallet sees it — the
// first one with the order itself — and its answer is recorded in the
// transaction that acts on it: a checkout the wallet answers at once is two
// commits of the writer, each of which every other write waits for.
func TestPaymentAttemptsRecorded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		user    string
		drop    int64 // wallet answers lost
		status  string
		commits int64
		atCall  [][]attemptRow // the order's attempts as each charge reached the wallet
		after   []attemptRow
	}{
		{"paid", "u00001", 0, mockstore.OrderPaid, 2,
			[][]attemptRow{{{1, "K", byCheckout, ""}}},
			[]attemptRow{{1, "K", byCheckout, attemptCharged}}},
		{"refused", "u00002", 0, mockstore.OrderFailed, 2,
			[][]attemptRow{{{1, "K", byCheckout, ""}}},
			[]attemptRow{{1, "K", byCheckout, attemptRefused}}},
		{"answer lost, retried", "u00001", 1, mockstore.OrderPaid, 3,
			[][]attemptRow{
				{{1, "K", byCheckout, ""}},
				{{1, "K", byCheckout, attemptUnknown}, {2, "K", byCheckoutRetry, ""}},
			},
			[]attemptRow{{1, "K", byCheckout, attemptUnknown}, {2, "K", byCheckoutRetry, attemptCharged}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				e      *env
				target *url.URL
				mu     sync.Mutex
				atCall [][]attemptRow
			)
			// A proxy in front of the wallet (and of the forwarder that loses
			// its answers) reads the order's attempts as each charge arrives.
			tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
			t.Cleanup(tr.CloseIdleConnections)
			spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && r.URL.Path == "/charges" {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					var req wallet.ChargeRequest
					_ = json.Unmarshal(body, &req)
					rows := e.attempts(t, req.OrderID)
					mu.Lock()
					atCall = append(atCall, rows)
					mu.Unlock()
				}
				p := httputil.NewSingleHostReverseProxy(target)
				p.Transport = tr
				p.ServeHTTP(w, r)
			}))
			t.Cleanup(spy.Close)
			e = newEnv(t, true, func(c *Config) {
				u, err := url.Parse(c.WalletURL)
				if err != nil {
					t.Fatal(err)
				}
				target, c.WalletURL = u, spy.URL
			})
			e.fwd.dropNext.Store(tc.drop)
			req := e.buy(t, tc.user)
			before := e.svc.db.Commits()
			_, _ = e.client.Checkout(ctx, "k", req)
			commits := e.svc.db.Commits() - before

			recs := e.orders(t)
			if len(recs) != 1 || recs[0].Status != tc.status {
				t.Fatalf("orders = %+v, want one %s", recs, tc.status)
			}
			id := recs[0].OrderID
			key := func(rows []attemptRow) []attemptRow {
				out := slices.Clone(rows)
				for i := range out {
					out[i].Key = strings.ReplaceAll(out[i].Key, paymentKey(id), "K")
				}
				return out
			}
			mu.Lock()
			for i := range atCall {
				atCall[i] = key(atCall[i])
			}
			if !reflect.DeepEqual(atCall, tc.atCall) {
				t.Errorf("attempts as the charges arrived %v, want %v", atCall, tc.atCall)
			}
			mu.Unlock()
			if got := key(e.attempts(t, id)); !reflect.DeepEqual(got, tc.after) {
				t.Errorf("attempts after %v, want %v", got, tc.after)
			}
			if commits != tc.commits {
				t.Errorf("%d commits of the writer, want %d", commits, tc.commits)
			}
		})
	}
}
