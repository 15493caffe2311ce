package food

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Client calls the food service's API (or, for Audit, its audit handler).
// Every method returns a *mockstore.Error when the service answered with an
// error and a *mockstore.UpstreamError when no answer came; for Place, Accept,
// Take and Post the outcome is then unknown (a retry of Place or Post with
// the same key is safe only with IdempotentRequests on; Accept and Take are
// idempotent for the same caller).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the service at baseURL (normally a
// Toxiproxy proxy's address). A nil hc gets mockstore.NewClient(time.Second).
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Restaurants returns the restaurants with their menus, in dataset order.
func (c *Client) Restaurants(ctx context.Context) ([]mockstore.Restaurant, error) {
	var out []mockstore.Restaurant
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/restaurants", nil, &out, nil)
	return out, err
}

// Place orders req under the idempotency key and returns the order, status
// placed. With IdempotentRequests on, the same key from the same user
// returns the first order (Replayed set), and idempotency_conflict when req
// differs from the first. Refusals: idempotency_key_required,
// invalid_request (a malformed field, a qty or item count out of range, a
// dish not on the menu), not_found (unknown restaurant).
func (c *Client) Place(ctx context.Context, key string, req PlaceRequest) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/orders", req, &o,
		map[string]string{IdempotencyHeader: key})
	return o, err
}

// Order returns order orderID as user as sees it; not_found when there is
// no such order or as is not its shopper, merchant or driver.
func (c *Client) Order(ctx context.Context, as, orderID string) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.orderURL(orderID, "")+"?as="+url.QueryEscape(as), nil, &o, nil)
	return o, err
}

// Queue returns restaurantID's placed orders awaiting acceptance, oldest
// first, at most 50; not_found for an unknown restaurant, forbidden when as
// is not its merchant.
func (c *Client) Queue(ctx context.Context, as, restaurantID string) ([]Order, error) {
	var out []Order
	err := mockstore.Call(ctx, c.hc, http.MethodGet,
		c.base+"/restaurants/"+url.PathEscape(restaurantID)+"/orders?as="+url.QueryEscape(as), nil, &out, nil)
	return out, err
}

// Accept accepts order orderID as its restaurant's merchant and returns it,
// status accepted (an order accepted or assigned before comes back
// unchanged). not_found for an unknown order, forbidden when as is not the
// merchant.
func (c *Client) Accept(ctx context.Context, as, orderID string) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.orderURL(orderID, "/accept"), actRequest{As: as}, &o, nil)
	return o, err
}

// Offers returns the accepted orders no driver has taken, oldest first, at
// most 50; forbidden when as is not a driver.
func (c *Client) Offers(ctx context.Context, as string) ([]Order, error) {
	var out []Order
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/offers?as="+url.QueryEscape(as), nil, &out, nil)
	return out, err
}

// Take assigns order orderID to driver as and returns it, status assigned
// (the same driver again gets it unchanged). forbidden when as is not a
// driver, not_found for an unknown order, conflict when the restaurant has
// not accepted it yet or another driver took it.
func (c *Client) Take(ctx context.Context, as, orderID string) (Order, error) {
	var o Order
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.orderURL(orderID, "/take"), actRequest{As: as}, &o, nil)
	return o, err
}

// Post sends text (1..MaxText characters, no control characters) from as on
// order orderID under the idempotency key and returns the message. With
// IdempotentRequests on, the same key from the same sender on the same order
// returns the first message (Replayed set), and idempotency_conflict when
// text differs. not_found when there is no such order or as is not a party.
func (c *Client) Post(ctx context.Context, key, as, orderID, text string) (Message, error) {
	var m Message
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.orderURL(orderID, "/messages"),
		postRequest{As: as, Text: text}, &m, map[string]string{IdempotencyHeader: key})
	return m, err
}

// Messages returns order orderID's chat, oldest first; not_found when there
// is no such order or as is not a party.
func (c *Client) Messages(ctx context.Context, as, orderID string) ([]Message, error) {
	var out []Message
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.orderURL(orderID, "/messages")+"?as="+url.QueryEscape(as), nil, &out, nil)
	return out, err
}

// Audit reads GET /audit/food: every order with its history and every chat
// message (without its text), oldest first. The client's base URL must be
// the audit handler's, not the API's.
func (c *Client) Audit(ctx context.Context) (mockstore.FoodAudit, error) {
	var a mockstore.FoodAudit
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/audit/food", nil, &a, nil)
	return a, err
}

func (c *Client) orderURL(id, suffix string) string {
	return c.base + "/orders/" + url.PathEscape(id) + suffix
}
