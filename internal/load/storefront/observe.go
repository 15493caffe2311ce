package storefront

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// ObservationsFile is the name of the file, in a run's load directory,
// that holds what the shoppers were told (one Observation per line),
// beside the series.
const ObservationsFile = "observations.jsonl"

// Kinds of Observation.
const (
	// ObserveCheckout is a checkout's answer after the app's retries, with
	// what was asked: the cart as the shopper last read it, the address's
	// area, the courier and the payment method.
	ObserveCheckout = "checkout"
	// ObserveLogin is a login start's answer, with the phone.
	ObserveLogin = "login"
	// ObserveCode is the wait for a login's code in the phone's inbox:
	// Status 200 when the code came, 0 when the shopper gave up waiting.
	ObserveCode = "code"
	// ObserveZeroBalance is a wallet shown with a balance of 0, not marked
	// stale (Amount is the balance shown: 0).
	ObserveZeroBalance = "zero_balance"
)

// Observation is one answer a shopper was given, as the shopper saw it.
// The judge checks it against the truth the stores kept at that moment
// (the wallet's ledger, the account's status, the courier's areas and
// limits): it is what the storefront cannot fake about itself.
type Observation struct {
	Kind   string    `json:"kind"`
	Sent   time.Time `json:"sent"` // the first attempt was sent
	At     time.Time `json:"at"`   // the last answer came (or none did)
	Phone  string    `json:"phone,omitempty"`
	UserID string    `json:"user_id,omitempty"` // the session's user; "" before a login
	Status int       `json:"status"`            // HTTP status of the last answer; 0: none came
	Code   string    `json:"code,omitempty"`    // the error code shown; "" for a 2xx
	// What a checkout asked for.
	Cart          []CartLine `json:"cart,omitempty"`
	Amount        int64      `json:"amount,omitempty"` // the cart's total as read
	Area          string     `json:"area,omitempty"`
	Courier       string     `json:"courier,omitempty"`
	PaymentMethod string     `json:"payment_method,omitempty"`
}

// CartLine is one line of a cart as the shopper read it.
type CartLine struct {
	ProductID string `json:"product_id"`
	Qty       int    `json:"qty"`
	Price     int64  `json:"price"`
}

// ObservationLog writes observations to a writer as JSON lines, each line
// as it comes (a load that is killed loses none it had written). It is
// safe for concurrent use. The zero value is not usable: use
// NewObservationLog.
type ObservationLog struct {
	mu  sync.Mutex
	w   io.Writer
	n   int
	err error
}

// NewObservationLog returns a log writing to w.
func NewObservationLog(w io.Writer) *ObservationLog { return &ObservationLog{w: w} }

// Observe writes o. After a write error it writes nothing more (Err says
// why).
func (l *ObservationLog) Observe(o Observation) {
	b, err := json.Marshal(o)
	if err != nil {
		return // a struct of strings, numbers and times always encodes
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		l.err = fmt.Errorf("write observations: %w", err)
		return
	}
	l.n++
}

// Err returns the first write error, if any.
func (l *ObservationLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// maxObservationLine bounds one line of an observations file.
const maxObservationLine = 1 << 20

// ReadObservations reads an observations file as ObservationLog writes
// it. A last line cut short (a load killed while writing) is left out; any
// other line that is not an observation is an error naming its line.
func ReadObservations(path string) ([]Observation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read observations: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxObservationLine)
	out := []Observation{}
	var bad error
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad // the bad line was not the last
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var o Observation
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			bad = fmt.Errorf("read observations: %s:%d: %w", path, line, err)
			continue
		}
		out = append(out, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read observations: %w", err)
	}
	return out, nil // a bad last line was cut short by a kill: left out
}
