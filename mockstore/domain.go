package mockstore

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// User status values.
const (
	StatusActive     = "active"
	StatusRestricted = "restricted"
)

// User is a seeded shopper.
type User struct {
	ID      string `json:"user_id"`
	Phone   string `json:"phone"`
	Status  string `json:"status"`  // StatusActive or StatusRestricted
	Balance int64  `json:"balance"` // opening wallet balance, smallest unit
}

// Product is a catalogue entry. SizeCM is the longest side.
type Product struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Price   int64  `json:"price"`
	WeightG int    `json:"weight_g"`
	SizeCM  int    `json:"size_cm"`
}

// Courier delivers to the areas it serves, up to its limits (per order:
// total weight, longest side of any item).
type Courier struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Areas      []string `json:"areas"`
	MaxWeightG int      `json:"max_weight_g"`
	MaxSizeCM  int      `json:"max_size_cm"`
}

// Address is where an order goes; Area decides which couriers serve it.
type Address struct {
	Line string `json:"line"`
	Area string `json:"area"`
}

// Payment methods. Only PaymentWallet is supported; the others are known
// methods the storefront refuses with CodePaymentUnsupported.
const (
	PaymentWallet   = "wallet"
	PaymentCard     = "card"
	PaymentCOD      = "cod"
	PaymentPaylater = "paylater"
)

// Currency of every amount.
const Currency = "IDR"

// Areas of the seeded world.
var Areas = []string{"jakarta", "bandung", "surabaya", "medan", "bali", "papua"}

// Dataset is the seeded world: shoppers, catalogue, couriers. The same
// (seed, shoppers) gives the same dataset in every process, which is how
// services in separate containers agree on it.
type Dataset struct {
	Seed     int64     `json:"seed"`
	Users    []User    `json:"users"`
	Products []Product `json:"products"`
	Couriers []Courier `json:"couriers"`
	// Restaurants and Drivers are the food-delivery side (ShopeeFood's role):
	// each restaurant is run by one seeded user, its merchant; drivers are
	// seeded users too. Partners are never restricted.
	Restaurants []Restaurant `json:"restaurants"`
	Drivers     []string     `json:"drivers"` // user IDs
}

// Restaurant is a food merchant: Owner (a user ID) accepts its orders.
type Restaurant struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Owner string     `json:"owner"`
	Menu  []MenuItem `json:"menu"`
}

// MenuItem is one dish of a restaurant.
type MenuItem struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

// Partners returns the user IDs of every merchant and driver.
func (d Dataset) Partners() map[string]bool {
	out := map[string]bool{}
	for _, r := range d.Restaurants {
		out[r.Owner] = true
	}
	for _, id := range d.Drivers {
		out[id] = true
	}
	return out
}

// Seed builds the dataset for seed with n shoppers (n < 1 means 100). About
// one shopper in twenty is restricted; phone numbers are unique and look like
// +62 8xx numbers; balances are generous enough for many checkouts.
func Seed(seed int64, n int) Dataset {
	if n < 1 {
		n = 100
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	d := Dataset{Seed: seed}
	for i := 0; i < n; i++ {
		status := StatusActive
		if i%20 == 19 {
			status = StatusRestricted
		}
		d.Users = append(d.Users, User{
			ID:      fmt.Sprintf("u%05d", i+1),
			Phone:   fmt.Sprintf("+6281%03d%05d", r.IntN(1000), i+1),
			Status:  status,
			Balance: int64(500_000 + r.IntN(50)*100_000),
		})
	}
	names := []string{"Batik shirt", "Rice cooker", "Phone case", "Sambal jar", "Sneakers",
		"Backpack", "Kettle", "Headphones", "Coffee beans", "Desk fan", "Bookshelf", "Mattress"}
	for i, name := range names {
		d.Products = append(d.Products, Product{
			ID:      fmt.Sprintf("p%03d", i+1),
			Name:    name,
			Price:   int64(10_000 + r.IntN(40)*5_000),
			WeightG: 100 + r.IntN(3000),
			SizeCM:  5 + r.IntN(60),
		})
	}
	// The last two products are bulky on purpose: they exceed the small
	// couriers' limits, so the refusal reasons can be exercised.
	d.Products[len(d.Products)-2].WeightG = 25_000
	d.Products[len(d.Products)-1].SizeCM = 200
	d.Couriers = []Courier{
		{ID: "jne", Name: "JNE Regular", Areas: []string{"jakarta", "bandung", "surabaya", "medan", "bali"}, MaxWeightG: 20_000, MaxSizeCM: 100},
		{ID: "sicepat", Name: "SiCepat", Areas: []string{"jakarta", "bandung", "surabaya"}, MaxWeightG: 10_000, MaxSizeCM: 80},
		{ID: "cargo", Name: "Cargo Freight", Areas: []string{"jakarta", "surabaya", "papua"}, MaxWeightG: 200_000, MaxSizeCM: 300},
	}
	seedPartners(&d)
	return d
}

// Partner counts of the seeded world (fewer when there are too few users:
// partners are taken from the active users, last first, and at least one
// user is left to shop).
const (
	seedRestaurants = 3
	seedDrivers     = 3
)

// seedPartners makes the last active users merchants and drivers. It draws
// nothing from the seed's random stream, so users, products and couriers are
// what they were before the food side existed.
func seedPartners(d *Dataset) {
	var active []string
	for i := len(d.Users) - 1; i >= 0; i-- {
		if d.Users[i].Status == StatusActive {
			active = append(active, d.Users[i].ID)
		}
	}
	avail := len(active) - 1 // leave a shopper
	menus := [][]MenuItem{
		{{ID: "m1", Name: "Nasi goreng", Price: 25_000}, {ID: "m2", Name: "Es teh manis", Price: 5_000}, {ID: "m3", Name: "Sate ayam", Price: 30_000}},
		{{ID: "m1", Name: "Bakso", Price: 20_000}, {ID: "m2", Name: "Mie ayam", Price: 18_000}, {ID: "m3", Name: "Es jeruk", Price: 7_000}},
		{{ID: "m1", Name: "Martabak manis", Price: 35_000}, {ID: "m2", Name: "Kopi susu", Price: 15_000}},
	}
	names := []string{"Warung Sederhana", "Bakso Pak Kumis", "Martabak Bangka"}
	next := 0
	for i := 0; i < seedRestaurants && next < avail; i++ {
		d.Restaurants = append(d.Restaurants, Restaurant{
			ID: fmt.Sprintf("r%02d", i+1), Name: names[i%len(names)], Owner: active[next], Menu: menus[i%len(menus)],
		})
		next++
	}
	for i := 0; i < seedDrivers && next < avail; i++ {
		d.Drivers = append(d.Drivers, active[next])
		next++
	}
}

// Link is one arrow of the storefront's topology; every link is a Toxiproxy
// proxy whose name is Proxy.
type Link struct {
	Name  string `json:"name"`  // "from->to", as scenario files write it
	Proxy string `json:"proxy"` // Toxiproxy proxy name
	From  string `json:"from"`
	To    string `json:"to"`
}

// Service names.
const (
	ServiceGateway  = "gateway"
	ServiceAuth     = "auth"
	ServiceSessions = "sessions"
	ServiceOTP      = "otp"
	ServiceWallet   = "wallet"
	ServiceCheckout = "checkout"
	ServiceFood     = "food"
)

// Services lists the services in start order (upstreams first).
var Services = []string{ServiceSessions, ServiceOTP, ServiceWallet, ServiceAuth, ServiceCheckout, ServiceFood, ServiceGateway}

// Links returns the storefront's links in a fixed order.
func Links() []Link {
	pairs := [][2]string{
		{"client", ServiceGateway},
		{ServiceGateway, ServiceAuth},
		{ServiceAuth, ServiceSessions},
		{ServiceAuth, ServiceOTP},
		{ServiceGateway, ServiceCheckout},
		{ServiceCheckout, ServiceWallet},
		{ServiceGateway, ServiceWallet},
		{ServiceGateway, ServiceFood},
	}
	out := make([]Link, len(pairs))
	for i, p := range pairs {
		out[i] = Link{Name: p[0] + "->" + p[1], Proxy: p[0] + "_" + p[1], From: p[0], To: p[1]}
	}
	return out
}

// LinkByName returns the link called name ("gateway->auth").
func LinkByName(name string) (Link, bool) {
	for _, l := range Links() {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}

// Order states.
const (
	OrderCreated        = "created"
	OrderPaymentPending = "payment_pending"
	OrderPaid           = "paid"
	OrderFailed         = "failed"
	OrderRefunded       = "refunded"
)

// Audit records. Services serve these on their audit endpoints (loopback
// only); the judge reads them after the load as ground truth.

// AccountCheck is one account's stored balance against its ledger replayed.
type AccountCheck struct {
	UserID  string `json:"user_id"`
	Balance int64  `json:"balance"`
	Ledger  int64  `json:"ledger"`
}

// WalletTotals is GET /audit/totals on the wallet.
type WalletTotals struct {
	Accounts       int            `json:"accounts"`
	Opening        int64          `json:"opening"` // sum of seeded opening balances
	Topups         int64          `json:"topups"`
	Charges        int64          `json:"charges"`
	Refunds        int64          `json:"refunds"`
	Balances       int64          `json:"balances"`        // sum of stored balances
	LedgerSum      int64          `json:"ledger_sum"`      // sum of all ledger entries (must be 0: double entry)
	Conserved      bool           `json:"conserved"`       // Balances == Opening+Topups-Charges+Refunds and LedgerSum == 0
	Negative       []AccountCheck `json:"negative"`        // accounts below zero
	LedgerMismatch []AccountCheck `json:"ledger_mismatch"` // stored balance != ledger replayed
}

// ChargeRecord is one charge and its refunds, from GET /audit/charges.
type ChargeRecord struct {
	ChargeID string     `json:"charge_id"`
	Key      string     `json:"key"`
	OrderID  string     `json:"order_id"`
	UserID   string     `json:"user_id"`
	Amount   int64      `json:"amount"`
	At       time.Time  `json:"at"`
	Refunds  int        `json:"refunds"` // how many refunds were recorded (must be ≤ 1)
	Refunded *time.Time `json:"refunded_at,omitempty"`
}

// LedgerEntry is one movement of a shopper's account, from GET
// /audit/ledger on the wallet: the ledger's own rows, in the order they
// were written, so that the balance at any moment is the sum of the
// entries up to it.
type LedgerEntry struct {
	UserID string    `json:"user_id"`
	Kind   string    `json:"kind"`   // opening, topup, charge or refund
	Ref    string    `json:"ref"`    // the top-up's reference, the charge's key, the refund's order
	Amount int64     `json:"amount"` // signed: a charge is negative
	At     time.Time `json:"at"`
}

// AccountRecord is one user as auth stores it, from GET /audit/accounts:
// whether the phone is registered, and the account's status. Statuses do
// not change while the storefront runs, so the status read after the load
// is the status at every moment of it.
type AccountRecord struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone"`
	Status string `json:"status"` // StatusActive or StatusRestricted
}

// CatalogueAudit is GET /audit/catalogue on checkout: what checkout decides
// refusals by — the products with their weight and size, the couriers with
// their areas and limits, and the payment methods it supports. None of it
// changes while the storefront runs.
type CatalogueAudit struct {
	Products       []Product `json:"products"`
	Couriers       []Courier `json:"couriers"`
	PaymentMethods []string  `json:"payment_methods"` // supported; others are refused
}

// StateChange is one transition of an order.
type StateChange struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Why   string    `json:"why,omitempty"`
}

// OrderRecord is one order with its history, from GET /audit/orders on checkout.
type OrderRecord struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	// Cart is the cart the order was placed from (its owner, u:<user_id> or
	// g:<guest_id>) and CartRev that cart's revision then: the number of
	// changes its shopper had made to it. Two orders placed from one cart
	// at one revision are one cart ordered twice.
	Cart        string        `json:"cart"`
	CartRev     int64         `json:"cart_rev"`
	Status      string        `json:"status"`
	Amount      int64         `json:"amount"`
	PaymentKeys []string      `json:"payment_keys"` // every Idempotency-Key used towards the wallet
	CreatedAt   time.Time     `json:"created_at"`
	History     []StateChange `json:"history"`
}

// AuthAudit is GET /audit/auth: counters of what auth did and why.
type AuthAudit struct {
	LoginsStarted    int            `json:"logins_started"`
	CodesIssued      int            `json:"codes_issued"`
	CodesDelivered   int            `json:"codes_delivered"` // codes the provider acknowledged on some channel, each once
	Verified         int            `json:"verified"`
	WrongCodes       int            `json:"wrong_codes"`
	Lockouts         int            `json:"lockouts"`
	FaultCounted     int            `json:"fault_counted"`  // failed verifies counted towards lockout though the cause was ours
	NotRegistered    int            `json:"not_registered"` // "not registered" answers for a registered phone
	SessionsIssued   int            `json:"sessions_issued"`
	SessionsRejected map[string]int `json:"sessions_rejected"` // by reason: unknown, expired, revoked, store_error
	Logouts          int            `json:"logouts"`
	SendsByChannel   map[string]int `json:"sends_by_channel"`
	// Verifies is every verify of a code of a known login, oldest first:
	// when the code it was checked against was issued, when the verify
	// came, and how it ended. The judge holds them to the OTP rules (a code
	// accepted only before issue + lifetime, and at most once); auth
	// records the times, not its own judgement of them.
	Verifies []VerifyRecord `json:"verifies"`
}

// VerifyRecord is one verify of a login's code in AuthAudit.Verifies.
type VerifyRecord struct {
	LoginID string `json:"login_id"`
	// IssuedAt is when the login's current code was issued (its start, or
	// its last resend) as the verify came: for an accepted verify, the
	// issue of the code accepted.
	IssuedAt time.Time `json:"issued_at"`
	At       time.Time `json:"at"` // when auth decided the verify
	// Outcome is VerifyAccepted, or the error code the verify was answered
	// with (code_expired, invalid_code, login_locked, …).
	Outcome string `json:"outcome"`
}

// VerifyAccepted is VerifyRecord.Outcome of a verify that opened a session.
const VerifyAccepted = "accepted"

// GatewayAudit is GET /audit/gateway: what shoppers were told.
type GatewayAudit struct {
	Responses       map[string]int `json:"responses"`        // by status class and code, "503:temporarily_unavailable"
	Bare5xx         int            `json:"bare_5xx"`         // 5xx without a code or without Retry-After
	ForcedLogouts   int            `json:"forced_logouts"`   // 401s for a token that was valid before
	CrossUserData   int            `json:"cross_user_data"`  // responses whose owner differs from the session's user
	FalseRefusals   int            `json:"false_refusals"`   // checkouts refused with a reason that was not true (an outage shown as a refusal)
	BreakerOpenings map[string]int `json:"breaker_openings"` // by upstream
	UpstreamCalls   map[string]int `json:"upstream_calls"`   // attempts sent, by upstream (retries included)
	Retries         map[string]int `json:"retries"`          // of which retries, by upstream
	// UpstreamSeconds is the same per second, by upstream, oldest first:
	// what a retry storm looks like while it happens.
	UpstreamSeconds map[string][]UpstreamSecond `json:"upstream_seconds,omitempty"`
}

// UpstreamSecond is one second of the gateway's calls to an upstream.
type UpstreamSecond struct {
	T       int64 `json:"t"`       // unix seconds
	Asked   int   `json:"asked"`   // calls the gateway was asked to make (those its breaker refused included)
	Calls   int   `json:"calls"`   // attempts sent, retries included
	Retries int   `json:"retries"` // of which retries
}

// Food order states: placed by a shopper, accepted by the restaurant's
// merchant, assigned when a driver takes the delivery.
const (
	FoodPlaced   = "placed"
	FoodAccepted = "accepted"
	FoodAssigned = "assigned"
)

// FoodOrderRecord is one food order with its history, from GET /audit/food.
type FoodOrderRecord struct {
	OrderID      string        `json:"order_id"`
	UserID       string        `json:"user_id"`
	RestaurantID string        `json:"restaurant_id"`
	Key          string        `json:"key"` // the shopper's Idempotency-Key
	Status       string        `json:"status"`
	Amount       int64         `json:"amount"`
	DriverID     string        `json:"driver_id,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	History      []StateChange `json:"history"`
}

// ChatRecord is one stored chat message of a food order (without its text).
type ChatRecord struct {
	MessageID string    `json:"message_id"`
	OrderID   string    `json:"order_id"`
	From      string    `json:"from"` // user ID
	Key       string    `json:"key"`  // the sender's Idempotency-Key
	At        time.Time `json:"at"`
}

// FoodAudit is GET /audit/food: every food order and chat message.
type FoodAudit struct {
	Orders   []FoodOrderRecord `json:"orders"`
	Messages []ChatRecord      `json:"messages"`
}
