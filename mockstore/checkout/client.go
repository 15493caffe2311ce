package checkout

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// CartItem is one line of a cart. Price is the product's unit price.
type CartItem struct {
	ProductID string `json:"product_id"`
	Qty       int    `json:"qty"`
	Price     int64  `json:"price"`
}

// Cart is a cart and its total (sum of Qty*Price). Owner is "u:<user_id>" for
// a shopper's cart or "g:<guest_id>" for a guest's.
type Cart struct {
	Owner string     `json:"owner"`
	Items []CartItem `json:"items"`
	Total int64      `json:"total"`
}

// AddItemRequest is the body of POST /carts/{owner}/items. Qty (1..99) is
// added to what the cart already holds of the product.
type AddItemRequest struct {
	ProductID string `json:"product_id"`
	Qty       int    `json:"qty"`
}

// CheckoutRequest is the body of POST /checkout. UserID and UserStatus come
// from the caller's validated session (the gateway); Owner is the cart to buy.
type CheckoutRequest struct {
	UserID        string            `json:"user_id"`
	UserStatus    string            `json:"user_status"`
	Owner         string            `json:"owner"`
	Address       mockstore.Address `json:"address"`
	Courier       string            `json:"courier"`
	PaymentMethod string            `json:"payment_method"`
}

// Refund statuses of an order (RefundInfo.Status).
const (
	RefundPending     = "pending"      // queued in the outbox, not yet confirmed by the wallet
	RefundDone        = "done"         // the wallet refunded the order's charges
	RefundNoneCharged = "none_charged" // the wallet had no charge for the order and has closed it
)

// RefundInfo says where an order's refund stands. At is when it was queued
// (pending) or settled (done, none_charged).
type RefundInfo struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Order is an order as its shopper sees it. Status is one of the
// mockstore.Order* states.
type Order struct {
	OrderID string      `json:"order_id"`
	Status  string      `json:"status"`
	Amount  int64       `json:"amount"`
	Refund  *RefundInfo `json:"refund,omitempty"`
	// Replayed is set on a checkout's answer that is an order placed
	// before rather than a new one: ReplayKey (the same Idempotency-Key
	// again) or ReplayCart (the cart's order, found under another key by
	// checkout_once_per_cart).
	Replayed string `json:"replayed,omitempty"`
}

// Why a checkout answered with an order placed before (Order.Replayed).
const (
	ReplayKey  = "key"
	ReplayCart = "cart"
)

// IdempotencyHeader carries a checkout's idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// Client calls the checkout service's API. Every method returns a
// *mockstore.Error when checkout answered with an error and a
// *mockstore.UpstreamError when no answer came (for Checkout and RefundOrder
// the outcome is then unknown; a retry of Checkout with the same key is safe).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for checkout at baseURL (normally a Toxiproxy
// proxy's address, "http://127.0.0.1:1234"). A nil hc gets
// mockstore.NewClient(10 * time.Second): a checkout may wait for two wallet
// attempts.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(10 * time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Products returns the catalogue.
func (c *Client) Products(ctx context.Context) ([]mockstore.Product, error) {
	var ps []mockstore.Product
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/products", nil, &ps, nil)
	return ps, err
}

// Cart returns owner's cart (empty when it has none).
func (c *Client) Cart(ctx context.Context, owner string) (Cart, error) {
	var cart Cart
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/carts/"+url.PathEscape(owner), nil, &cart, nil)
	return cart, err
}

// AddItem adds qty (1..99) of productID to owner's cart and returns the cart;
// unknown_product for a product not in the catalogue.
func (c *Client) AddItem(ctx context.Context, owner, productID string, qty int) (Cart, error) {
	var cart Cart
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/carts/"+url.PathEscape(owner)+"/items",
		AddItemRequest{ProductID: productID, Qty: qty}, &cart, nil)
	return cart, err
}

// RemoveItem removes productID from owner's cart (whatever its quantity) and
// returns the cart. Removing a product the cart does not hold is not an error.
func (c *Client) RemoveItem(ctx context.Context, owner, productID string) (Cart, error) {
	var cart Cart
	err := mockstore.Call(ctx, c.hc, http.MethodDelete,
		c.base+"/carts/"+url.PathEscape(owner)+"/items/"+url.PathEscape(productID), nil, &cart, nil)
	return cart, err
}

// Checkout buys req.Owner's cart under the idempotency key. It returns the
// order: Status paid, or payment_pending when the payment's outcome is not
// yet known (poll Order). The same key with the same request returns the same
// order; with another request it fails with idempotency_conflict. Refusals
// come back as *mockstore.Error with their specific codes (see the package
// documentation); insufficient_funds when the wallet refused the charge.
func (c *Client) Checkout(ctx context.Context, key string, req CheckoutRequest) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/checkout", req, &o,
		map[string]string{IdempotencyHeader: key})
	return o, err
}

// Order returns userID's order orderID; not_found when there is no such order
// or it belongs to another user.
func (c *Client) Order(ctx context.Context, userID, orderID string) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodGet,
		c.base+"/orders/"+url.PathEscape(orderID)+"?user_id="+url.QueryEscape(userID), nil, &o, nil)
	return o, err
}

// RefundOrder is the manual refund of a paid or failed order (what a shop
// without an outbox has): it asks the wallet to refund the order and returns
// the order afterwards. conflict while the payment is still pending;
// temporarily_unavailable when the wallet did not answer (retrying is safe).
func (c *Client) RefundOrder(ctx context.Context, orderID string) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/orders/"+url.PathEscape(orderID)+"/refund", nil, &o, nil)
	return o, err
}

// ReadOrders reads GET /audit/orders from checkout's audit handler at
// auditBaseURL: every order with its full history, oldest first. A nil hc
// gets a client with a 30 s timeout. Errors are as for Client's methods.
func ReadOrders(ctx context.Context, hc *http.Client, auditBaseURL string) ([]mockstore.OrderRecord, error) {
	if hc == nil {
		hc = mockstore.NewClient(30 * time.Second)
	}
	var orders []mockstore.OrderRecord
	err := mockstore.Call(ctx, hc, http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/orders", nil, &orders, nil)
	return orders, err
}
