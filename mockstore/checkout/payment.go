package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
	"github.com/gameday/gameday/mockstore/wallet"
)

// attemptRecord is a charge attempt as written down before its call: its
// number among the order's attempts, its key and who made it.
type attemptRecord struct {
	seq int
	key string
	by  string
}

// attemptResult is what one charge call to the wallet came to.
type attemptResult struct {
	attemptRecord
	outcome string // attemptCharged, attemptRefused or attemptUnknown
	charge  wallet.Charge
	err     error // the wallet's refusal, or why the outcome is unknown
}

// recordAttempt writes down in tx an attempt by who to charge the wallet for
// o. It must commit before the call, so that a crash during the call still
// counts the attempt as possibly charged. The key is the order's payment key
// when idempotent_payments is on (and for the first attempt); otherwise each
// attempt gets a fresh one.
func (s *Service) recordAttempt(ctx context.Context, tx *sqlitestore.Tx, o order, who string) (attemptRecord, error) {
	a := attemptRecord{key: o.PaymentKey, by: who}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) + 1 FROM payment_attempts WHERE order_id = ?`, o.ID).Scan(&a.seq); err != nil {
		return attemptRecord{}, fmt.Errorf("count payment attempts: %w", err)
	}
	if a.seq > 1 && !s.cfg.Features.On(mockstore.IdempotentPayments) {
		a.key = fmt.Sprintf("%s-a%d", o.PaymentKey, a.seq)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_attempts (order_id, seq, key, by, at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, a.seq, a.key, who, nanos(s.now())); err != nil {
		return attemptRecord{}, fmt.Errorf("record payment attempt: %w", err)
	}
	return a, nil
}

// charge makes the recorded attempt a: one charge call to the wallet for o.
// It writes nothing: its outcome is recorded by the transaction that acts on
// it (recordOutcome), and until then the attempt counts as possibly charged.
func (s *Service) charge(ctx context.Context, o order, a attemptRecord) attemptResult {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.PaymentTimeout)
	ch, err := s.wallet.Charge(cctx, a.key, wallet.ChargeRequest{UserID: o.UserID, OrderID: o.ID, Amount: o.Amount})
	cancel()
	res := attemptResult{attemptRecord: a, charge: ch, err: err}
	var e *mockstore.Error
	switch {
	case err == nil:
		res.outcome = attemptCharged
	case errors.As(err, &e) && answeredStatus(e) < 500:
		// The wallet answered and did not charge: insufficient funds, the
		// order closed by a refund, or a request it would not take.
		res.outcome = attemptRefused
	default:
		// No answer, or a 5xx: the wallet may or may not have charged.
		res.outcome = attemptUnknown
	}
	s.log.Debug("payment attempt", "order", o.ID, "key", a.key, "by", a.by, "outcome", res.outcome, "err", err)
	return res
}

// recordOutcome writes in tx what the attempt of res came to.
func recordOutcome(ctx context.Context, tx *sqlitestore.Tx, orderID string, res attemptResult) error {
	if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET outcome = ? WHERE order_id = ? AND seq = ?`,
		res.outcome, orderID, res.seq); err != nil {
		return fmt.Errorf("record payment outcome: %w", err)
	}
	return nil
}

// noteOutcome records the outcome of res on its own, for an attempt after
// which the order stays as it is. A failure is only logged: the attempt
// then stays "out", which counts as possibly charged, which is safe.
func (s *Service) noteOutcome(ctx context.Context, o order, res attemptResult) {
	if err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		return recordOutcome(ctx, tx, o.ID, res)
	}); err != nil {
		s.log.Error("record payment outcome", "order", o.ID, "key", res.key, "err", err)
	}
}

func answeredStatus(e *mockstore.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.Status()
}

// payInRequest drives the payment of a new order while its shopper waits:
// the attempt first that placeOrder recorded, and one retry when the outcome
// is unknown. It releases the claim placeOrder took and returns the order as
// it then stands: paid, failed (see order.failure), or payment_pending when
// the outcome is still unknown and payment_reconciliation is on. Each
// attempt's outcome is recorded in the transaction that acts on it.
func (s *Service) payInRequest(ctx context.Context, o order, first attemptRecord) (order, error) {
	defer s.release(o.ID)
	res := s.charge(ctx, o, first)
	if res.outcome == attemptUnknown {
		var retry attemptRecord
		err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
			if err := recordOutcome(ctx, tx, o.ID, res); err != nil {
				return err
			}
			var err error
			retry, err = s.recordAttempt(ctx, tx, o, byCheckoutRetry)
			return err
		})
		if err != nil {
			return o, fmt.Errorf("pay order %s: %w", o.ID, err)
		}
		res = s.charge(ctx, o, retry)
	}
	switch res.outcome {
	case attemptCharged:
		return s.markPaid(ctx, o, res, fmt.Sprintf("wallet charged %d under key %s (%s)", res.charge.Amount, res.key, res.charge.ChargeID))
	case attemptRefused:
		return s.markRefused(ctx, o, res)
	}
	if s.cfg.Features.On(mockstore.PaymentReconciliation) {
		s.noteOutcome(ctx, o, res)
		s.log.Info("payment outcome unknown; left pending", "order", o.ID, "key", res.key, "err", res.err)
		return o, nil
	}
	return s.markFailed(ctx, o, &res, mockstore.CodeUnavailable,
		fmt.Sprintf("the wallet did not confirm the payment of order %s; the order failed, check out again", o.ID),
		fmt.Sprintf("payment outcome unknown (%v); not reconciled", res.err))
}

// markRefused fails o after the wallet refused the charge of res.
func (s *Service) markRefused(ctx context.Context, o order, res attemptResult) (order, error) {
	if mockstore.ErrorCode(res.err) == mockstore.CodeInsufficientFunds {
		return s.markFailed(ctx, o, &res, mockstore.CodeInsufficientFunds,
			fmt.Sprintf("the wallet balance does not cover order %s (%d)", o.ID, o.Amount),
			fmt.Sprintf("wallet refused key %s: insufficient funds", res.key))
	}
	return s.markFailed(ctx, o, &res, mockstore.CodeConflict,
		fmt.Sprintf("the wallet refused the payment of order %s: %v", o.ID, res.err),
		fmt.Sprintf("wallet refused key %s: %v", res.key, res.err))
}

// markPaid records the outcome of res, moves o from payment_pending to paid
// and takes what it bought out of the cart, in one transaction.
func (s *Service) markPaid(ctx context.Context, o order, res attemptResult, why string) (order, error) {
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if err := recordOutcome(ctx, tx, o.ID, res); err != nil {
			return err
		}
		if err := transition(ctx, tx, o.ID, mockstore.OrderPaymentPending, mockstore.OrderPaid, why, s.now()); err != nil {
			return err
		}
		return takeFromCart(ctx, tx, o.Owner, o.Items)
	})
	if err != nil {
		return o, fmt.Errorf("mark order %s paid: %w", o.ID, err)
	}
	o.Status = mockstore.OrderPaid
	return o, nil
}

// markFailed moves o from payment_pending to failed, remembering code and
// message as the answer for the shopper; res, when not nil, is the attempt
// whose outcome led here, recorded in the same transaction. When
// refund_outbox is on and any attempt may have charged, the outbox row is
// written in that transaction too, so the failure and the promise to refund
// are one fact.
func (s *Service) markFailed(ctx context.Context, o order, res *attemptResult, code mockstore.Code, message, why string) (order, error) {
	queued := false
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		now := s.now()
		if res != nil {
			if err := recordOutcome(ctx, tx, o.ID, *res); err != nil {
				return err
			}
		}
		if err := transition(ctx, tx, o.ID, mockstore.OrderPaymentPending, mockstore.OrderFailed, why, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET fail_code = ?, fail_message = ? WHERE id = ?`, string(code), message, o.ID); err != nil {
			return fmt.Errorf("update order: %w", err)
		}
		o.Status, o.FailCode, o.FailMessage = mockstore.OrderFailed, code, message
		if !s.cfg.Features.On(mockstore.RefundOutbox) {
			return nil
		}
		var maybe int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_attempts WHERE order_id = ? AND outcome != ?`,
			o.ID, attemptRefused).Scan(&maybe); err != nil {
			return fmt.Errorf("read payment attempts: %w", err)
		}
		if maybe == 0 {
			return nil // every attempt was refused: no money moved
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refund_outbox (order_id, queued_at, next_at) VALUES (?, ?, ?)`,
			o.ID, nanos(now), nanos(now)); err != nil {
			return fmt.Errorf("queue refund: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET refund_status = ?, refund_at = ? WHERE id = ?`,
			RefundPending, nanos(now), o.ID); err != nil {
			return fmt.Errorf("update order: %w", err)
		}
		o.RefundStatus, o.RefundAt = RefundPending, now.UTC()
		queued = true
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("mark order %s failed: %w", o.ID, err)
	}
	if queued {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return o, nil
}

// reconcileOnce re-drives the payment of every payment_pending order nobody
// else is driving, up to workerConcurrency at a time.
func (s *Service) reconcileOnce(ctx context.Context) error {
	ids, err := ordersIn(ctx, s.db, mockstore.OrderPaymentPending)
	if err != nil {
		return err
	}
	return s.fanOut(ctx, ids, s.claim, s.release, s.reconcile)
}

// fanOut runs do for each id it can claim, at most workerConcurrency at a
// time, and waits for them.
func (s *Service) fanOut(ctx context.Context, ids []string, claim func(string) bool, release func(string), do func(context.Context, string)) error {
	sem := make(chan struct{}, workerConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, id := range ids {
		if !claim(id) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			release(id)
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer release(id)
			do(ctx, id)
		}()
	}
	return nil
}

// reconcile settles one pending order: past PendingBound it fails it;
// otherwise it charges again (under the same key when idempotent_payments is
// on, so the wallet answers with the first charge if there was one) and
// settles on a clear answer.
func (s *Service) reconcile(ctx context.Context, id string) {
	o, err := loadOrder(ctx, s.db, id)
	if err != nil || o.Status != mockstore.OrderPaymentPending {
		return
	}
	if age := s.now().Sub(o.PendingSince); age >= s.cfg.PendingBound {
		s.failUnresolved(ctx, o, nil, age)
		return
	}
	var a attemptRecord
	if err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var err error
		a, err = s.recordAttempt(ctx, tx, o, byReconciler)
		return err
	}); err != nil {
		s.log.Warn("reconcile", "order", id, "err", err)
		return
	}
	res := s.charge(ctx, o, a)
	switch res.outcome {
	case attemptCharged:
		_, err = s.markPaid(ctx, o, res, fmt.Sprintf("reconciler: wallet confirmed %d under key %s (%s)", res.charge.Amount, res.key, res.charge.ChargeID))
	case attemptRefused:
		_, err = s.markRefused(ctx, o, res)
	default:
		if ctx.Err() != nil {
			s.noteOutcome(ctx, o, res)
			return // our own shutdown, not the wallet's answer
		}
		if age := s.now().Sub(o.PendingSince); age >= s.cfg.PendingBound {
			s.failUnresolved(ctx, o, &res, age)
		} else {
			s.noteOutcome(ctx, o, res)
		}
	}
	if err != nil {
		s.log.Error("reconcile", "order", id, "err", err)
	}
}

// failUnresolved fails o, pending for age, past PendingBound; res, when not
// nil, is the attempt whose unknown outcome it records with the failure.
func (s *Service) failUnresolved(ctx context.Context, o order, res *attemptResult, age time.Duration) {
	_, err := s.markFailed(ctx, o, res, mockstore.CodeUnavailable,
		fmt.Sprintf("the payment of order %s could not be confirmed; the order failed", o.ID),
		fmt.Sprintf("reconciler: payment unresolved after %v (bound %v)", age.Round(time.Millisecond), s.cfg.PendingBound))
	if err != nil {
		s.log.Error("fail unresolved order", "order", o.ID, "err", err)
		return
	}
	s.log.Warn("payment unresolved; order failed", "order", o.ID, "age", age)
}

// outboxOnce calls the wallet's refund for every due outbox row nobody is
// working on, up to workerConcurrency at a time.
func (s *Service) outboxOnce(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT order_id FROM refund_outbox WHERE done_at = 0 AND next_at <= ? ORDER BY next_at`, nanos(s.now()))
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return fmt.Errorf("read outbox: %w", err)
		}
		ids = append(ids, id)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	claim := func(id string) bool {
		s.busyMu.Lock()
		defer s.busyMu.Unlock()
		if s.refunding[id] {
			return false
		}
		s.refunding[id] = true
		return true
	}
	release := func(id string) {
		s.busyMu.Lock()
		defer s.busyMu.Unlock()
		delete(s.refunding, id)
	}
	return s.fanOut(ctx, ids, claim, release, s.refundFromOutbox)
}

// refundFromOutbox asks the wallet to refund one order; on success it settles
// the order and the outbox row, otherwise it schedules the next try with a
// doubling backoff from ReconcileEvery/2 up to RefundSLA/4.
func (s *Service) refundFromOutbox(ctx context.Context, id string) {
	var attempts int
	var queuedAt int64
	err := s.db.QueryRowContext(ctx, `SELECT attempts, queued_at FROM refund_outbox WHERE order_id = ? AND done_at = 0`, id).Scan(&attempts, &queuedAt)
	if err != nil {
		return // done meanwhile (a manual refund), or the store is closing
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.PaymentTimeout)
	rf, err := s.wallet.Refund(cctx, id)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		attempts++
		next := s.now().Add(s.backoff(attempts))
		s.log.Warn("outbox refund failed; will retry", "order", id, "attempt", attempts, "err", err)
		msg := err.Error()
		if werr := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
			_, xerr := tx.ExecContext(ctx, `UPDATE refund_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE order_id = ? AND done_at = 0`,
				attempts, nanos(next), msg, id)
			return xerr
		}); werr != nil {
			s.log.Error("schedule outbox retry", "order", id, "err", werr)
		}
		return
	}
	if _, err := s.finishRefund(ctx, id, rf, "outbox"); err != nil {
		s.log.Error("settle outbox refund", "order", id, "err", err)
		return
	}
	if late := s.now().Sub(fromNanos(queuedAt)); late > s.cfg.RefundSLA {
		s.log.Warn("refund later than the SLA", "order", id, "after", late, "sla", s.cfg.RefundSLA)
	}
}

func (s *Service) backoff(attempt int) time.Duration {
	d := max(s.cfg.ReconcileEvery/2, 10*time.Millisecond)
	limit := max(s.cfg.RefundSLA/4, d)
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// finishRefund records a refund the wallet confirmed for order id: a paid
// order, or a failed one the wallet had charged, becomes refunded; a failed
// order the wallet had not charged stays failed with refund status
// none_charged (the wallet has closed it, so no late charge can land). Any
// outbox row of the order is marked done. A second confirmation of the same
// refund changes nothing.
func (s *Service) finishRefund(ctx context.Context, id string, rf wallet.Refund, by string) (order, error) {
	var o order
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var err error
		if o, err = loadOrder(ctx, tx, id); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE refund_outbox SET done_at = ? WHERE order_id = ? AND done_at = 0`, nanos(now), id); err != nil {
			return fmt.Errorf("update outbox: %w", err)
		}
		if o.RefundStatus == RefundDone || o.RefundStatus == RefundNoneCharged {
			return nil
		}
		status := RefundDone
		switch {
		case o.Status == mockstore.OrderFailed && rf.Amount == 0:
			status = RefundNoneCharged
		case o.Status == mockstore.OrderFailed || o.Status == mockstore.OrderPaid:
			if err := transition(ctx, tx, id, o.Status, mockstore.OrderRefunded,
				fmt.Sprintf("%s: wallet refunded %d (%s)", by, rf.Amount, rf.RefundID), now); err != nil {
				return err
			}
			o.Status = mockstore.OrderRefunded
		case o.Status == mockstore.OrderRefunded:
		default:
			return mockstore.Errorf(mockstore.CodeConflict, "order %s is %s: not refundable", id, o.Status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET refund_status = ?, refund_at = ? WHERE id = ?`, status, nanos(now), id); err != nil {
			return fmt.Errorf("update order: %w", err)
		}
		o.RefundStatus, o.RefundAt = status, now.UTC()
		return nil
	})
	return o, err
}

// manualRefund is POST /orders/{id}/refund: the refund of a paid or failed
// order on request. It returns not_found for an unknown order, conflict while
// its payment is pending, and temporarily_unavailable when the wallet did not
// answer (retrying is safe: the wallet refunds an order once).
func (s *Service) manualRefund(ctx context.Context, id string) (order, error) {
	o, err := loadOrder(ctx, s.db, id)
	if err != nil {
		return order{}, err
	}
	switch {
	case o.Status == mockstore.OrderRefunded, o.RefundStatus == RefundNoneCharged:
		return o, nil
	case o.Status != mockstore.OrderPaid && o.Status != mockstore.OrderFailed:
		return order{}, mockstore.Errorf(mockstore.CodeConflict, "order %s is %s; refund it once its payment is settled", id, o.Status)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PaymentTimeout)
	rf, err := s.wallet.Refund(cctx, id)
	cancel()
	if err != nil {
		var e *mockstore.Error
		if errors.As(err, &e) && answeredStatus(e) < http.StatusInternalServerError {
			// A valid order ID refused by the wallet is a bug, not the
			// caller's input: answered as internal, not with the wallet's code.
			return order{}, fmt.Errorf("wallet refused the refund of order %s: %v", id, err)
		}
		return order{}, mockstore.Retry(mockstore.CodeUnavailable, 1, "the wallet did not answer the refund of order %s; retry", id)
	}
	return s.finishRefund(ctx, id, rf, "manual refund")
}
