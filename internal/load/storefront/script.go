package storefront

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// The storefront's own metrics, beside the engine's (load.MetricReqs…).
const (
	MetricJourneySuccess   = "journey_success"    // rate: the journey succeeded (tag journey)
	MetricForcedLogout     = "forced_logout"      // counter: a session the shopper had not ended was refused (401)
	MetricOTPWait          = "otp_wait"           // trend, ms: login start until the code was in the inbox
	MetricShopperError     = "shopper_error"      // counter: an error shown (tags code, endpoint, journey, status)
	MetricBare5xx          = "bare_5xx"           // counter: a 5xx without an error code or without Retry-After
	MetricCrossUserData    = "cross_user_data"    // counter: an answer about another user than the one logged in
	MetricZeroBalanceShown = "zero_balance_shown" // counter: a wallet shown as 0 (not stale) that must hold money
	MetricOrdersPaid       = "orders_paid"        // counter: orders that settled paid
	// MetricCheckoutRetry counts the checkouts sent again because the
	// answer was lost (no answer, or the connection cut): tag name
	// RetrySameKey or RetryNewKey says under which Idempotency-Key.
	MetricCheckoutRetry = "checkout_retry"
)

// Values of the name tag of MetricCheckoutRetry.
const (
	RetrySameKey = "same_key"
	RetryNewKey  = "new_key"
)

const (
	// The OTP rules as shoppers saw them (Settings.OTPLate, OTPReuse): every
	// code entered after its lifetime or entered again, with the answer's
	// status and code as tags, and those of them that were accepted.
	MetricOTPLateEntered   = "otp_late_entered"   // counter: codes entered after their lifetime
	MetricOTPLateAccepted  = "otp_late_accepted"  // counter: of them, accepted (a session opened)
	MetricOTPReuseEntered  = "otp_reuse_entered"  // counter: accepted codes entered again
	MetricOTPReuseAccepted = "otp_reuse_accepted" // counter: of them, accepted again
	MetricFloodAttempts    = "flood_attempts"     // counter: login starts an attacker made (tag name: the phone flooded)
)

// Journeys, the values of the journey tag.
const (
	JourneyLogin        = "login"
	JourneyBrowse       = "browse"
	JourneyCart         = "cart"
	JourneyWallet       = "wallet"
	JourneyCheckout     = "checkout"
	JourneyLogout       = "logout"
	JourneyFood         = "food"          // the food order placed
	JourneyChat         = "chat"          // the message to the restaurant sent
	JourneyFoodDelivery = "food_delivery" // the order assigned to a driver within Settings.FoodWait
	JourneyQR           = "qr"            // the QR payment made
	JourneyMerchant     = "merchant"      // a merchant's poll round: the queue read and every accept answered
	JourneyDriver       = "driver"        // a driver's poll round: the offers read and every take answered
	JourneyFlood        = "flood"         // an attacker's login starts (tags only: no journey_success)
)

// Script is the storefront's load: shoppers who visit (load.Script) and,
// when visits order food, the restaurants' merchants and the drivers who
// work the orders for the whole load (load.Partners). It is safe for
// concurrent use; each User and Partner it makes is used by one goroutine.
type Script struct {
	cfg      Config
	shoppers []mockstore.User
	partners []partnerSpec
	qrIDs    []string // restaurants whose QR codes shoppers pay
	flood    []string // phones the attackers flood; none without attackers
	run      string   // makes keys and references unique to this load
}

var (
	_ load.Script   = (*Script)(nil)
	_ load.Partners = (*Script)(nil)
)

// partnerSpec is one merchant or driver of the data.
type partnerSpec struct {
	role       string // JourneyMerchant or JourneyDriver
	userID     string
	phone      string
	restaurant string // a merchant's restaurant
}

// New returns the script of cfg (URLs without their trailing slashes). It
// fails when cfg.Validate does.
func New(cfg Config) (*Script, error) {
	cfg.Gateway = strings.TrimRight(cfg.Gateway, "/")
	cfg.Inbox = strings.TrimRight(cfg.Inbox, "/")
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Script{
		cfg:      cfg,
		shoppers: cfg.Data.shoppers(),
		qrIDs:    []string{"r01", "r02", "r03"}, // those of every seeded storefront
		run:      strconv.FormatInt(time.Now().UnixMilli(), 36),
	}
	if cfg.Food > 0 {
		s.partners, _ = partnersOf(cfg.Data) // Validate saw no error
	}
	if cfg.Flood > 0 {
		s.flood, s.shoppers = floodPhones(s.shoppers, cfg.Data.Users)
	}
	if cfg.QR > 0 && len(cfg.Data.Restaurants) > 0 {
		s.qrIDs = s.qrIDs[:0:0]
		for _, r := range cfg.Data.Restaurants {
			s.qrIDs = append(s.qrIDs, r.ID)
		}
	}
	return s, nil
}

// partnersOf returns the data's partners, each restaurant's merchant then
// each driver, with the phone to log in with. It fails when one is not
// among the users.
func partnersOf(d Data) ([]partnerSpec, error) {
	phone := map[string]string{}
	for _, u := range d.Users {
		phone[u.ID] = u.Phone
	}
	var out []partnerSpec
	for _, r := range d.Restaurants {
		out = append(out, partnerSpec{role: JourneyMerchant, userID: r.Owner, restaurant: r.ID})
	}
	for _, id := range d.Drivers {
		out = append(out, partnerSpec{role: JourneyDriver, userID: id})
	}
	for i, p := range out {
		out[i].phone = phone[p.userID]
		if out[i].phone == "" {
			return nil, fmt.Errorf("%s %s is not among the users: no phone to log in with", p.role, p.userID)
		}
	}
	return out, nil
}

// NewUser returns the shopper of vu: the ((vu.ID-1) mod n)-th of the n
// shoppers of the data, so that with more VUs than shoppers some share an
// account (and a cart). The shopper stays logged in across visits.
//
// With attackers in the load (Settings.Flood), every 1/Flood-th VU is an
// attacker instead, flooding FloodPhones with login starts; the flooded
// shoppers' phones are then no VU's.
func (s *Script) NewUser(vu *load.VU) load.User {
	if attacker(vu.ID, s.cfg.Flood) {
		p := s.newPerson(vu, "", "")
		p.addr = clientAddr(vu.ID, true)
		return &flooder{person: p, phones: s.flood}
	}
	n := len(s.shoppers)
	u := s.shoppers[((vu.ID-1)%n+n)%n]
	sh := &shopper{person: s.newPerson(vu, u.Phone, u.ID), balance: -1}
	// Drawn only when on, so that loads without it draw what they did.
	sh.newKey = s.cfg.NewKey > 0 && vu.Rand.Float64() < s.cfg.NewKey
	return sh
}

// Partners returns how many merchants and drivers work beside the visits:
// one per restaurant and one per driver of the data when visits order food
// (Settings.Food above 0), else none.
func (s *Script) Partners() int { return len(s.partners) }

// NewPartner returns partner i (0 ≤ i < Partners(); taken modulo
// Partners()): the restaurants' merchants first, then the drivers. It
// panics when there is no partner.
func (s *Script) NewPartner(vu *load.VU, i int) load.Partner {
	n := len(s.partners)
	p := s.partners[(i%n+n)%n]
	return &partner{person: s.newPerson(vu, p.phone, p.userID), spec: p}
}

// newPerson returns the person with phone (and userID, when known) that vu
// plays.
func (s *Script) newPerson(vu *load.VU, phone, userID string) *person {
	return &person{s: s, vu: vu, phone: phone, wantUser: userID, run: s.run + "-" + strconv.Itoa(vu.ID), addr: clientAddr(vu.ID, false)}
}
