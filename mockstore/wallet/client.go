package wallet

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Account is a shopper's balance as read at AsOf.
type Account struct {
	UserID   string    `json:"user_id"`
	Balance  int64     `json:"balance"`
	Currency string    `json:"currency"`
	AsOf     time.Time `json:"as_of"`
}

// Topup is the answer to a top-up. Replayed is true when the (user,
// reference) pair had been seen before and no new money was added.
type Topup struct {
	Balance  int64  `json:"balance"`
	TopupID  string `json:"topup_id"`
	Replayed bool   `json:"replayed"`
}

// ChargeRequest is the body of POST /charges.
type ChargeRequest struct {
	UserID  string `json:"user_id"`
	OrderID string `json:"order_id"`
	Amount  int64  `json:"amount"`
}

// Charge is one debit of a shopper's wallet. Balance is the shopper's balance
// right after this charge (for a replay: after the first call). Replayed is
// true when the answer is the stored result of an earlier call with the same
// Idempotency-Key.
type Charge struct {
	ChargeID string    `json:"charge_id"`
	Key      string    `json:"key"`
	OrderID  string    `json:"order_id"`
	UserID   string    `json:"user_id"`
	Amount   int64     `json:"amount"`
	Balance  int64     `json:"balance"`
	At       time.Time `json:"at"`
	Replayed bool      `json:"replayed"`
}

// RefundRequest is the body of POST /refunds.
type RefundRequest struct {
	OrderID string `json:"order_id"`
}

// Refund is the refund of every charge of an order. Amount is 0 for an order
// that had no charge (the order is closed all the same). Replayed is true when
// the order had been refunded before.
type Refund struct {
	RefundID string `json:"refund_id"`
	OrderID  string `json:"order_id"`
	Amount   int64  `json:"amount"`
	Replayed bool   `json:"replayed"`
}

// topupRequest is the body of POST /accounts/{user_id}/topup.
type topupRequest struct {
	Amount    int64  `json:"amount"`
	Reference string `json:"reference"`
}

// IdempotencyHeader is the header that carries a charge's idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// Client calls the wallet's API. Every method returns a *mockstore.Error when
// the wallet answered with an error and a *mockstore.UpstreamError when no
// answer came (for Topup, Charge and Refund: the outcome is unknown).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the wallet at baseURL (normally a Toxiproxy
// proxy's address, "http://127.0.0.1:1234"). A nil hc gets
// mockstore.NewClient(5 * time.Second).
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(5 * time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Account returns userID's balance; 404 not_found for an unknown user.
func (c *Client) Account(ctx context.Context, userID string) (Account, error) {
	var a Account
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/accounts/"+url.PathEscape(userID), nil, &a, nil)
	return a, err
}

// Topup adds amount to userID's balance, idempotently by reference: the same
// (userID, reference) again returns the first result with Replayed set, and
// with another amount fails with idempotency_conflict.
func (c *Client) Topup(ctx context.Context, userID string, amount int64, reference string) (Topup, error) {
	var t Topup
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/accounts/"+url.PathEscape(userID)+"/topup",
		topupRequest{Amount: amount, Reference: reference}, &t, nil)
	return t, err
}

// Charge debits req.Amount from req.UserID for req.OrderID under the
// idempotency key. A retry with the same key and body returns the first
// result with Replayed set and never debits twice; the same key with another
// body fails with idempotency_conflict. Over the balance it fails with
// insufficient_funds; for an order already refunded or closed, with conflict.
func (c *Client) Charge(ctx context.Context, key string, req ChargeRequest) (Charge, error) {
	var ch Charge
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/charges", req, &ch,
		map[string]string{IdempotencyHeader: key})
	return ch, err
}

// LookupCharge returns the charge made under key; a *mockstore.Error with
// not_found when there is none (the charge never happened).
func (c *Client) LookupCharge(ctx context.Context, key string) (Charge, error) {
	var ch Charge
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/charges/"+url.PathEscape(key), nil, &ch, nil)
	return ch, err
}

// Refund refunds every charge of orderID exactly once and closes the order
// against later charges. Calling it again returns the same refund with
// Replayed set.
func (c *Client) Refund(ctx context.Context, orderID string) (Refund, error) {
	var rf Refund
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/refunds", RefundRequest{OrderID: orderID}, &rf, nil)
	return rf, err
}

// ReadTotals reads GET /audit/totals from the wallet's audit handler at
// auditBaseURL. Errors are as for Client's methods.
func ReadTotals(ctx context.Context, hc *http.Client, auditBaseURL string) (mockstore.WalletTotals, error) {
	var t mockstore.WalletTotals
	err := mockstore.Call(ctx, auditClient(hc), http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/totals", nil, &t, nil)
	return t, err
}

// ReadCharges reads GET /audit/charges from the wallet's audit handler at
// auditBaseURL: every charge with its refunds, oldest first.
func ReadCharges(ctx context.Context, hc *http.Client, auditBaseURL string) ([]mockstore.ChargeRecord, error) {
	var cs []mockstore.ChargeRecord
	err := mockstore.Call(ctx, auditClient(hc), http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/charges", nil, &cs, nil)
	return cs, err
}

func auditClient(hc *http.Client) *http.Client {
	if hc == nil {
		return mockstore.NewClient(30 * time.Second)
	}
	return hc
}
