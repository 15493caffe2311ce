// Package shopper is a Go client of the storefront's public API v1 that does
// what a person with a phone does: log in with the OTP from their inbox, fill
// a cart, top up, check out and watch the order settle. The demo, the
// end-to-end tests and the checkout benchmark use it; the load engine's storefront journeys do the same
// in JavaScript.
package shopper

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Client is one shopper. It is not safe for concurrent use: a shopper does
// one thing at a time.
type Client struct {
	gateway string // public API base URL
	inbox   string // OTP provider base URL (the shopper's phone)
	hc      *http.Client
	Phone   string
	Token   string
	UserID  string
}

// New returns a shopper with phone, talking to the gateway at gatewayURL and
// reading codes from the OTP provider at inboxURL.
func New(gatewayURL, inboxURL, phone string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(10 * time.Second)
	}
	return &Client{gateway: gatewayURL, inbox: inboxURL, hc: hc, Phone: phone}
}

func (c *Client) call(ctx context.Context, method, path string, in, out any, headers map[string]string) error {
	h := map[string]string{}
	for k, v := range headers {
		h[k] = v
	}
	if c.Token != "" {
		h["Authorization"] = "Bearer " + c.Token
	}
	return mockstore.Call(ctx, c.hc, method, c.gateway+path, in, out, h)
}

// LoginStarted is the answer to POST /api/v1/login.
type LoginStarted struct {
	LoginID      string `json:"login_id"`
	ExpiresInS   int    `json:"expires_in_s"`
	ResendAfterS int    `json:"resend_after_s"`
}

// Message is what the phone received from the OTP provider.
type Message struct {
	MessageID  string    `json:"message_id"`
	Channel    string    `json:"channel"`
	Code       string    `json:"code"`
	LoginID    string    `json:"login_id"`
	Link       string    `json:"link,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// StartLogin asks for a code on channel ("" for the default, SMS).
func (c *Client) StartLogin(ctx context.Context, channel string) (LoginStarted, error) {
	var out LoginStarted
	in := map[string]string{"phone": c.Phone}
	if channel != "" {
		in["channel"] = channel
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/login", in, &out, nil)
	return out, err
}

// WaitCode polls the inbox until a message for loginID arrives or ctx ends.
// poll is the pause between reads of the inbox (a phone is read by a person,
// not in a busy loop).
func (c *Client) WaitCode(ctx context.Context, loginID string, poll time.Duration) (Message, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var msgs []Message
		err := mockstore.Call(ctx, c.hc, http.MethodGet, c.inbox+"/inbox/"+url.PathEscape(c.Phone), nil, &msgs, nil)
		if err != nil && ctx.Err() == nil && !mockstore.IsUnreachable(err) {
			return Message{}, fmt.Errorf("read inbox: %w", err)
		}
		for _, m := range msgs {
			if m.LoginID == loginID {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("wait for code: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Verified is the answer to POST /api/v1/login/verify.
type Verified struct {
	Token  string `json:"token"`
	UserID string `json:"user_id"`
}

// Verify sends the code and keeps the session token on success.
func (c *Client) Verify(ctx context.Context, loginID, code string) (Verified, error) {
	var out Verified
	err := c.call(ctx, http.MethodPost, "/api/v1/login/verify", map[string]string{"login_id": loginID, "code": code}, &out, nil)
	if err == nil {
		c.Token, c.UserID = out.Token, out.UserID
	}
	return out, err
}

// Login does the whole OTP login: start, read the code from the inbox, verify.
func (c *Client) Login(ctx context.Context) error {
	ls, err := c.StartLogin(ctx, "")
	if err != nil {
		return fmt.Errorf("start login: %w", err)
	}
	m, err := c.WaitCode(ctx, ls.LoginID, 20*time.Millisecond)
	if err != nil {
		return err
	}
	if _, err := c.Verify(ctx, ls.LoginID, m.Code); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	err := c.call(ctx, http.MethodPost, "/api/v1/logout", nil, nil, nil)
	if err == nil {
		c.Token = ""
	}
	return err
}

// Me is GET /api/v1/me.
type Me struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone"`
}

// Me returns who the session belongs to.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var out Me
	err := c.call(ctx, http.MethodGet, "/api/v1/me", nil, &out, nil)
	return out, err
}

// Wallet is GET /api/v1/wallet.
type Wallet struct {
	Balance  int64     `json:"balance"`
	Currency string    `json:"currency"`
	AsOf     time.Time `json:"as_of"`
	Stale    bool      `json:"stale,omitempty"`
}

// Wallet returns the shopper's balance.
func (c *Client) Wallet(ctx context.Context) (Wallet, error) {
	var out Wallet
	err := c.call(ctx, http.MethodGet, "/api/v1/wallet", nil, &out, nil)
	return out, err
}

// Topup adds amount to the wallet; reference makes it idempotent.
func (c *Client) Topup(ctx context.Context, amount int64, reference string) (int64, error) {
	var out struct {
		Balance int64 `json:"balance"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/wallet/topup", map[string]any{"amount": amount, "reference": reference}, &out, nil)
	return out.Balance, err
}

// Products lists the catalogue.
func (c *Client) Products(ctx context.Context) ([]mockstore.Product, error) {
	var out []mockstore.Product
	err := c.call(ctx, http.MethodGet, "/api/v1/products", nil, &out, nil)
	return out, err
}

// Cart is GET /api/v1/cart.
type Cart struct {
	Items []struct {
		ProductID string `json:"product_id"`
		Qty       int    `json:"qty"`
		Price     int64  `json:"price"`
	} `json:"items"`
	Total int64 `json:"total"`
}

// Cart returns the shopper's cart.
func (c *Client) Cart(ctx context.Context) (Cart, error) {
	var out Cart
	err := c.call(ctx, http.MethodGet, "/api/v1/cart", nil, &out, nil)
	return out, err
}

// AddItem puts qty of a product in the cart.
func (c *Client) AddItem(ctx context.Context, productID string, qty int) error {
	return c.call(ctx, http.MethodPost, "/api/v1/cart/items", map[string]any{"product_id": productID, "qty": qty}, nil, nil)
}

// RemoveItem takes a product out of the cart.
func (c *Client) RemoveItem(ctx context.Context, productID string) error {
	return c.call(ctx, http.MethodDelete, "/api/v1/cart/items/"+url.PathEscape(productID), nil, nil, nil)
}

// Order is the answer to checkout and to GET /api/v1/orders/{id}.
type Order struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Amount  int64  `json:"amount"`
	Refund  *struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
	} `json:"refund,omitempty"`
}

// CheckoutRequest is the body of POST /api/v1/checkout.
type CheckoutRequest struct {
	Address       mockstore.Address `json:"address"`
	Courier       string            `json:"courier"`
	PaymentMethod string            `json:"payment_method"`
}

// Checkout places the order for the cart; key is the Idempotency-Key, the
// same for every retry of one attempt.
func (c *Client) Checkout(ctx context.Context, key string, req CheckoutRequest) (Order, error) {
	var out Order
	err := c.call(ctx, http.MethodPost, "/api/v1/checkout", req, &out, map[string]string{"Idempotency-Key": key})
	return out, err
}

// Order reads one order.
func (c *Client) Order(ctx context.Context, orderID string) (Order, error) {
	var out Order
	err := c.call(ctx, http.MethodGet, "/api/v1/orders/"+url.PathEscape(orderID), nil, &out, nil)
	return out, err
}

// Settled reports whether an order is in a final state for the shopper.
func Settled(status string) bool {
	return status == mockstore.OrderPaid || status == mockstore.OrderFailed || status == mockstore.OrderRefunded
}

// WaitOrder polls the order until it settles or ctx ends.
func (c *Client) WaitOrder(ctx context.Context, orderID string, poll time.Duration) (Order, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		o, err := c.Order(ctx, orderID)
		if err == nil && Settled(o.Status) {
			return o, nil
		}
		select {
		case <-ctx.Done():
			return o, fmt.Errorf("wait for order %s (last status %q): %w", orderID, o.Status, ctx.Err())
		case <-t.C:
		}
	}
}
