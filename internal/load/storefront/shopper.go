package storefront

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/checkout"
	shopperapi "github.com/gameday/gameday/mockstore/shopper"
)

// Amounts and bounds of a visit, as shopper.js had them.
const (
	lowBalance       = 1_000_000              // a wallet below this is topped up
	topupAmount      = 2_000_000              // what a top-up adds
	orderGiveUp      = 30 * time.Second       // for an order to settle
	orderFirstPoll   = 100 * time.Millisecond // first pause between two reads of the order
	orderLongestPoll = time.Second            // the pause grows by half each time up to this
	secondThought    = 0.3                    // share of carts that get a second product, taken out again
)

// shopper is a person who visits: the load.User of a VU.
type shopper struct {
	*person
	iter     int64               // number of the visit under way, for its keys and references
	balance  int64               // the least the wallet holds: the last balance seen less what was spent since; -1 unknown
	products []mockstore.Product // the catalogue as last browsed
	cartRead []CartLine          // the cart as last read, less what was taken out since
	newKey   bool                // the app retries a checkout whose answer was lost under a new key
}

// Iterate runs one visit: log in unless the session is still open, then,
// each for its share of visits, order food and pay by QR code (their
// failure does not end the visit), then browse, fill the cart, look at the
// wallet (and top up), check out, and for a share of visits log out. A
// journey that fails ends the visit, as does the end of ctx.
func (u *shopper) Iterate(ctx context.Context, iter load.Iteration) {
	u.iter = iter.N
	_ = u.visit(ctx)
}

func (u *shopper) visit(ctx context.Context) error {
	if u.token == "" {
		if err := u.login(ctx); err != nil {
			return err
		}
	}
	cfg := u.s.cfg
	// Drawn only when on, so that visits without them are what they were.
	if cfg.Food > 0 && u.vu.Rand.Float64() < cfg.Food {
		if err := u.aside(ctx, u.food); err != nil {
			return err
		}
	}
	if cfg.QR > 0 && u.vu.Rand.Float64() < cfg.QR {
		if err := u.aside(ctx, u.qr); err != nil {
			return err
		}
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	if err := u.browse(ctx); err != nil {
		return err
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	c := pick(u.person, cfg.Data.Couriers)
	if err := u.cart(ctx, c); err != nil {
		return err
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	if err := u.wallet(ctx); err != nil {
		return err
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	if err := u.checkout(ctx, c); err != nil {
		return err
	}
	if u.vu.Rand.Float64() < cfg.Logout {
		if err := u.think(ctx); err != nil {
			return err
		}
		u.logout(ctx)
	}
	return nil
}

// aside runs a journey beside the shopping: its failure does not end the
// visit (the rest of the app keeps working), unless it left the shopper
// logged out (errStop) or ctx ended.
func (u *shopper) aside(ctx context.Context, journey func(context.Context) error) error {
	if err := u.think(ctx); err != nil {
		return err
	}
	if err := journey(ctx); err != nil && !errors.Is(err, errStop) {
		return err
	}
	if u.token == "" {
		return errStop
	}
	return nil
}

// key returns the Idempotency-Key or reference of what for this visit:
// unique to the load, the same on every retry.
func (u *shopper) key(what string) string {
	return what + "-" + u.run + "-" + strconv.FormatInt(u.iter, 10)
}

// browse reads the catalogue and who is logged in.
func (u *shopper) browse(ctx context.Context) error {
	p, err := u.call(ctx, http.MethodGet, "/api/v1/products", nil, callOpts{endpoint: "products", journey: JourneyBrowse, safe: true})
	if err != nil {
		return err
	}
	var products []mockstore.Product
	if p.ok && p.decode(&products) && len(products) > 0 {
		u.products = products
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	who, err := u.authed(ctx, http.MethodGet, "/api/v1/me", nil, callOpts{endpoint: "me", journey: JourneyBrowse, safe: true})
	if err != nil {
		return err
	}
	var me shopperapi.Me
	if who.ok && who.decode(&me) && me.UserID != u.userID {
		u.vu.Count(MetricCrossUserData, load.Tags{Endpoint: "me", Journey: JourneyBrowse}, 1)
	}
	return u.journey(ctx, JourneyBrowse, p.ok && len(u.products) > 0 && who.ok)
}

// fits tells whether the courier can carry the product.
func fits(p mockstore.Product, c mockstore.Courier) bool {
	return p.WeightG <= c.MaxWeightG && p.SizeCM <= c.MaxSizeCM
}

// cart puts a product the courier can carry in the cart, for a share of
// visits adds another and takes it out again (a change of mind), and takes
// out what the courier cannot carry (left over from an earlier visit, or
// put in by another VU sharing the account): the lightest lines are kept,
// up to the courier's weight limit. The journey succeeds when something
// the courier takes is left.
func (u *shopper) cart(ctx context.Context, c mockstore.Courier) error {
	ok, err := u.fillCart(ctx, c)
	if err != nil {
		return err
	}
	return u.journey(ctx, JourneyCart, ok)
}

func (u *shopper) fillCart(ctx context.Context, c mockstore.Courier) (bool, error) {
	u.cartRead = nil
	byID := map[string]mockstore.Product{}
	var candidates []mockstore.Product
	for _, p := range u.products {
		byID[p.ID] = p
		if fits(p, c) && p.WeightG*2 <= c.MaxWeightG {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		return false, nil
	}
	add := func(p mockstore.Product) (bool, error) {
		a, err := u.authed(ctx, http.MethodPost, "/api/v1/cart/items", map[string]any{"product_id": p.ID, "qty": 1},
			callOpts{endpoint: "cart_add", journey: JourneyCart})
		return a.ok, err
	}
	remove := func(productID string) (bool, error) {
		a, err := u.authed(ctx, http.MethodDelete, "/api/v1/cart/items/"+url.PathEscape(productID), nil,
			callOpts{endpoint: "cart_remove", journey: JourneyCart, safe: true})
		return a.ok, err
	}
	first := pick(u.person, candidates)
	if ok, err := add(first); !ok || err != nil {
		return false, err
	}
	if err := u.think(ctx); err != nil {
		return false, err
	}
	if u.vu.Rand.Float64() < secondThought {
		if other := pick(u.person, candidates); other.ID != first.ID {
			if ok, err := add(other); !ok || err != nil {
				return false, err
			}
			if err := u.think(ctx); err != nil {
				return false, err
			}
			if ok, err := remove(other.ID); !ok || err != nil {
				return false, err
			}
		}
	}
	got, err := u.authed(ctx, http.MethodGet, "/api/v1/cart", nil, callOpts{endpoint: "cart", journey: JourneyCart, safe: true})
	if err != nil {
		return false, err
	}
	var cart checkout.Cart
	if !got.ok || !got.decode(&cart) {
		return false, nil
	}
	// Keep what the courier takes: lighter lines first, up to its weight limit.
	lines := slices.Clone(cart.Items)
	slices.SortStableFunc(lines, func(a, b checkout.CartItem) int {
		return byID[a.ProductID].WeightG - byID[b.ProductID].WeightG // unknown products weigh 0 here
	})
	weight := 0.0
	for _, it := range lines {
		p, known := byID[it.ProductID]
		w := math.Inf(1)
		if known {
			w = float64(p.WeightG) * float64(it.Qty)
		}
		if known && fits(p, c) && weight+w <= float64(c.MaxWeightG) {
			weight += w
			u.cartRead = append(u.cartRead, CartLine{ProductID: it.ProductID, Qty: it.Qty, Price: it.Price})
			continue
		}
		if ok, err := remove(it.ProductID); !ok || err != nil {
			return false, err
		}
	}
	return weight > 0, nil
}

// walletAnswer is GET /api/v1/wallet; Balance is nil when the answer has
// no number for it.
type walletAnswer struct {
	Balance *int64 `json:"balance"`
	Stale   bool   `json:"stale"`
}

// wallet looks at the balance and tops up when it is low, with one
// reference kept across retries (the top-up is applied at most once). A
// balance shown as 0, not marked stale, while what the shopper knows the
// wallet must hold is above 0, is counted (zero_balance_shown).
func (u *shopper) wallet(ctx context.Context) error {
	sent := time.Now()
	w, err := u.authed(ctx, http.MethodGet, "/api/v1/wallet", nil, callOpts{endpoint: "wallet", journey: JourneyWallet, safe: true})
	if err != nil {
		return err
	}
	var shown walletAnswer
	ok := w.ok && w.decode(&shown) && shown.Balance != nil
	if ok {
		balance := *shown.Balance
		if balance == 0 && !shown.Stale {
			// The judge holds it against the ledger, which knows better
			// than the shopper's own tally.
			u.observe(Observation{Kind: ObserveZeroBalance, Sent: sent, At: time.Now(), Phone: u.phone, UserID: u.userID, Status: w.status})
			if u.balance > 0 {
				u.vu.Count(MetricZeroBalanceShown, load.Tags{Endpoint: "wallet", Journey: JourneyWallet}, 1)
			}
		}
		// A stale balance (the last known, shown while the wallet cannot
		// be read) is no lower bound: checkouts since may have spent from it.
		u.balance = balance
		if shown.Stale {
			u.balance = -1
		}
		if balance < lowBalance {
			if err := u.think(ctx); err != nil {
				return err
			}
			t, err := u.authed(ctx, http.MethodPost, "/api/v1/wallet/topup", map[string]any{"amount": topupAmount, "reference": u.key("topup")},
				callOpts{endpoint: "topup", journey: JourneyWallet, safe: true})
			if err != nil {
				return err
			}
			ok = t.ok
			var after walletAnswer
			if t.ok && t.decode(&after) {
				u.balance = -1 // an answer without a balance tells nothing
				if after.Balance != nil {
					u.balance = *after.Balance
				}
			}
		}
	}
	return u.journey(ctx, JourneyWallet, ok)
}

// orderAnswer is an order as checkout and GET /api/v1/orders/{id} answer
// it; Amount is nil when the answer has no number for it.
type orderAnswer struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Amount  *int64 `json:"amount"`
}

// checkout pays the cart from the wallet and polls the order for up to
// orderGiveUp until it is paid, failed or refunded. The journey succeeds
// when it is paid. A checkout whose answer was lost is sent again (up to
// maxAttempts in all, each counted as checkout_retry): under the same
// Idempotency-Key, or under a new one by an app that makes a key per
// attempt (Settings.NewKey).
func (u *shopper) checkout(ctx context.Context, c mockstore.Courier) error {
	addr := pick(u.person, addressesFor(u.s.cfg.Data.Addresses, c))
	sent := time.Now()
	body := map[string]any{"address": mockstore.Address{Line: addr.Line, Area: addr.Area}, "courier": c.ID, "payment_method": mockstore.PaymentWallet}
	key := u.key("checkout")
	var r answer
	for attempt := 1; ; attempt++ {
		var err error
		r, err = u.authed(ctx, http.MethodPost, "/api/v1/checkout", body,
			callOpts{endpoint: "checkout", journey: JourneyCheckout, key: key})
		if err != nil {
			return err
		}
		if r.status != 0 || attempt >= maxAttempts {
			break
		}
		kind := RetrySameKey
		if u.newKey {
			kind = RetryNewKey
			key = u.key("checkout") + "-" + strconv.Itoa(attempt)
		}
		u.vu.Count(MetricCheckoutRetry, load.Tags{Endpoint: "checkout", Journey: JourneyCheckout, Name: kind}, 1)
		if err := sleep(ctx, u.retryWait(r)); err != nil {
			return err
		}
	}
	var total int64
	for _, l := range u.cartRead {
		total += l.Price * int64(l.Qty)
	}
	u.observe(Observation{Kind: ObserveCheckout, Sent: sent, At: time.Now(), Phone: u.phone, UserID: u.userID,
		Status: r.status, Code: r.code, Cart: u.cartRead, Amount: total, Area: addr.Area, Courier: c.ID, PaymentMethod: mockstore.PaymentWallet})
	var order orderAnswer
	if !r.ok || !r.decode(&order) || order.OrderID == "" {
		// No answer, or a 5xx: the order may exist and be charged all the same.
		if !(r.status >= 400 && r.status < 500) {
			u.spent(-1)
		}
		return u.journey(ctx, JourneyCheckout, false)
	}
	// Whatever way the polling ends, the wallet may hold the order's amount
	// less (paid, pending, or failed and not refunded yet).
	defer func() {
		if order.Amount != nil {
			u.spent(*order.Amount)
		} else {
			u.spent(-1)
		}
	}()
	giveUp := time.Now().Add(orderGiveUp)
	poll := orderFirstPoll
	for !shopperapi.Settled(order.Status) && time.Now().Before(giveUp) {
		if err := sleep(ctx, poll); err != nil {
			return err
		}
		poll = min(poll*3/2, orderLongestPoll)
		o, err := u.authed(ctx, http.MethodGet, "/api/v1/orders/"+url.PathEscape(order.OrderID), nil,
			callOpts{endpoint: "order", journey: JourneyCheckout, safe: true})
		if err != nil {
			return err
		}
		var now orderAnswer
		if o.ok && o.decode(&now) {
			if now.OrderID != order.OrderID {
				u.vu.Count(MetricCrossUserData, load.Tags{Endpoint: "order", Journey: JourneyCheckout}, 1)
			} else {
				order = now
			}
		}
	}
	if order.Status == mockstore.OrderPaid {
		u.vu.Count(MetricOrdersPaid, load.Tags{Journey: JourneyCheckout}, 1)
	}
	return u.journey(ctx, JourneyCheckout, order.Status == mockstore.OrderPaid)
}

// addressesFor returns the addresses in the areas the courier serves.
func addressesFor(all []mockstore.Address, c mockstore.Courier) []mockstore.Address {
	var out []mockstore.Address
	for _, a := range all {
		if slices.Contains(c.Areas, a.Area) {
			out = append(out, a)
		}
	}
	return out
}

// spent lowers what the shopper knows the wallet holds by amount; -1 is an
// unknown amount, which makes the balance unknown.
func (u *shopper) spent(amount int64) {
	if u.balance < 0 {
		return
	}
	if amount < 0 {
		u.balance = -1
		return
	}
	u.balance -= amount
}

// logout signs the shopper out. The app forgets the token whatever the
// answer, as a phone does when its user taps "log out": a logout whose
// answer was lost may have ended the session, and a 401 for it later is
// no forced logout.
func (u *shopper) logout(ctx context.Context) {
	r, err := u.call(ctx, http.MethodPost, "/api/v1/logout", nil, callOpts{endpoint: "logout", journey: JourneyLogout, safe: true})
	u.token = ""
	if err == nil {
		_ = u.journey(ctx, JourneyLogout, r.ok)
	}
}
