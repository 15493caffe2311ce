package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// Sources of an Audit: each audit endpoint, as Audit.Unread names it.
const (
	SourceTotals   = "wallet /audit/totals"
	SourceCharges  = "wallet /audit/charges"
	SourceOrders   = "checkout /audit/orders"
	SourceAuth     = "auth /audit/auth"
	SourceGateway  = "gateway /audit/gateway"
	SourceSessions = "sessions /audit/sessions"
	SourceOTP      = "otp /audit/otp"
	SourceFood     = "food /audit/food"
	SourceLedger   = "wallet /audit/ledger"
	SourceAccounts = "auth /audit/accounts"
	SourceCatalog  = "checkout /audit/catalogue"
)

// Audit is the ground truth the services keep of themselves, read after the
// load from their audit endpoints (mockstore/API.md) by ReadAudit; the judge
// reads it. Each record is mockstore's type, declared beside the service
// that serves it.
type Audit struct {
	// At is when the audit was read (before the first read). Orders that
	// failed less than the refund SLA before it may still be refunded; a
	// zero At means "long after everything".
	At time.Time `json:"at"`

	Wallet   *mockstore.WalletTotals  `json:"wallet,omitempty"`   // totals, negative accounts, ledger replay
	Charges  []mockstore.ChargeRecord `json:"charges,omitempty"`  // every charge with its refunds
	Orders   []mockstore.OrderRecord  `json:"orders,omitempty"`   // every order with its history
	Auth     *mockstore.AuthAudit     `json:"auth,omitempty"`     // logins, codes, sessions rejected by reason
	Gateway  *mockstore.GatewayAudit  `json:"gateway,omitempty"`  // what shoppers were told
	Sessions *sessions.Audit          `json:"sessions,omitempty"` // the session store's counts
	OTP      *otp.Audit               `json:"otp,omitempty"`      // sends the provider accepted
	Food     *mockstore.FoodAudit     `json:"food,omitempty"`     // food orders and chat messages
	// Ledger, Accounts and Catalogue are the truth a refusal is judged
	// against: every movement of the shoppers' wallets with its time, every
	// user with its phone and status, and what checkout refuses by. The
	// journal leaves them out (they are as big as the run, and the stores
	// hold them).
	Ledger    []mockstore.LedgerEntry   `json:"-"`
	Accounts  []mockstore.AccountRecord `json:"-"`
	Catalogue *mockstore.CatalogueAudit `json:"-"`

	// Unread names the sources that could not be read, with the error. The
	// checks that need one of them are unknown.
	Unread map[string]string `json:"unread,omitempty"`
}

// Missing returns an error saying why the audit cannot give srcs (Source
// constants): for the first of them that could not be read, or was not,
// "the wallet's audit was not served: GET /audit/charges: status 404: ...";
// nil when it gives them all. A check that needs a missing source is
// unknown, with that error as its reason.
func (a *Audit) Missing(srcs ...string) error {
	for _, s := range srcs {
		service, path, _ := strings.Cut(s, " ")
		if why, ok := a.Unread[s]; ok {
			return fmt.Errorf("the %s's audit was not served: GET %s: %s", service, path, why)
		}
		var missing bool
		switch s {
		case SourceTotals:
			missing = a.Wallet == nil
		case SourceAuth:
			missing = a.Auth == nil
		case SourceGateway:
			missing = a.Gateway == nil
		case SourceSessions:
			missing = a.Sessions == nil
		case SourceOTP:
			missing = a.OTP == nil
		case SourceFood:
			missing = a.Food == nil
		case SourceLedger:
			missing = a.Ledger == nil
		case SourceAccounts:
			missing = a.Accounts == nil
		case SourceCatalog:
			missing = a.Catalogue == nil
		}
		if missing {
			return fmt.Errorf("the %s's audit was not served: GET %s was not read", service, path)
		}
	}
	return nil
}

// auditTimeout bounds each audit read when ReadAudit is given no client.
const auditTimeout = 30 * time.Second

// maxAuditBody bounds one audit answer; charges and orders of a long run
// are the big ones, a few hundred bytes per order.
const maxAuditBody = 1 << 30

// ReadAudit reads every audit endpoint of mockstore/API.md (Info.Audit
// names them). auditURLs maps a
// service name (mockstore.ServiceWallet, …) to the base URL of its audit
// handler; hc nil gets a client with a 30 s timeout. It reads everything it
// can: the Audit holds what was read, Unread names each source that could
// not be read (a service missing from auditURLs, no answer, a status other
// than 200, a body that is not the expected JSON), and the error joins those
// failures; the checks that need a missing source are then unknown.
func ReadAudit(ctx context.Context, auditURLs map[string]string, hc *http.Client) (Audit, error) {
	if hc == nil {
		hc = &http.Client{Timeout: auditTimeout}
	}
	a := Audit{At: time.Now()}
	var errs []error
	read := func(src, service, path string, into any) bool {
		base, ok := auditURLs[service]
		var err error
		if !ok || base == "" {
			err = fmt.Errorf("no audit URL for service %s", service)
		} else {
			err = getJSON(ctx, hc, strings.TrimRight(base, "/")+path, into)
		}
		if err != nil {
			if a.Unread == nil {
				a.Unread = map[string]string{}
			}
			a.Unread[src] = err.Error()
			errs = append(errs, fmt.Errorf("read %s: %w", src, err))
			return false
		}
		return true
	}
	// Orders before charges: a charge that lands between the two reads then
	// shows with an order that may still be pending, never the reverse (a
	// failed order whose charge seems to be missing).
	var orders []mockstore.OrderRecord
	if read(SourceOrders, mockstore.ServiceCheckout, "/audit/orders", &orders) {
		a.Orders = orders
	}
	var charges []mockstore.ChargeRecord
	if read(SourceCharges, mockstore.ServiceWallet, "/audit/charges", &charges) {
		a.Charges = charges
	}
	var totals mockstore.WalletTotals
	if read(SourceTotals, mockstore.ServiceWallet, "/audit/totals", &totals) {
		a.Wallet = &totals
	}
	var au mockstore.AuthAudit
	if read(SourceAuth, mockstore.ServiceAuth, "/audit/auth", &au) {
		a.Auth = &au
	}
	var gw mockstore.GatewayAudit
	if read(SourceGateway, mockstore.ServiceGateway, "/audit/gateway", &gw) {
		a.Gateway = &gw
	}
	var ss sessions.Audit
	if read(SourceSessions, mockstore.ServiceSessions, "/audit/sessions", &ss) {
		a.Sessions = &ss
	}
	var sent otp.Audit
	if read(SourceOTP, mockstore.ServiceOTP, "/audit/otp", &sent) {
		a.OTP = &sent
	}
	var fd mockstore.FoodAudit
	if read(SourceFood, mockstore.ServiceFood, "/audit/food", &fd) {
		a.Food = &fd
	}
	var ledger []mockstore.LedgerEntry
	if read(SourceLedger, mockstore.ServiceWallet, "/audit/ledger", &ledger) {
		a.Ledger = ledger
	}
	var accounts []mockstore.AccountRecord
	if read(SourceAccounts, mockstore.ServiceAuth, "/audit/accounts", &accounts) {
		a.Accounts = accounts
	}
	var cat mockstore.CatalogueAudit
	if read(SourceCatalog, mockstore.ServiceCheckout, "/audit/catalogue", &cat) {
		a.Catalogue = &cat
	}
	return a, errors.Join(errs...)
}

// getJSON GETs url and decodes its 200 answer into into.
func getJSON(ctx context.Context, hc *http.Client, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAuditBody))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return decodeAudit(body, into)
}

// decodeAudit decodes an audit answer into into (a pointer to a struct, or
// to a slice of structs), holding it to the contract of mockstore/API.md:
// JSON of that shape with every field the type does not mark omitempty
// present (a field may be added, none left out). An answer that is not that
// is an error, so that a check never passes on the zero values of fields
// that a replacement of the service did not serve.
func decodeAudit(body []byte, into any) error {
	t := reflect.TypeOf(into).Elem()
	list := t.Kind() == reflect.Slice
	var objects []map[string]json.RawMessage
	switch {
	case list:
		if err := json.Unmarshal(body, &objects); err != nil {
			return fmt.Errorf("decode answer: want a JSON list of objects: %w", err)
		}
		t = t.Elem()
	default:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return fmt.Errorf("decode answer: want a JSON object: %s", firstBytes(body))
		}
		objects = append(objects, m)
	}
	required := requiredFields(t)
	for i, m := range objects {
		var lacks []string
		for _, f := range required {
			if _, ok := m[f]; !ok {
				lacks = append(lacks, f)
			}
		}
		if len(lacks) > 0 {
			where := "the answer"
			if list {
				where = fmt.Sprintf("item %d of the answer", i)
			}
			return fmt.Errorf("decode answer: %s lacks %s (fields of %s)", where, strings.Join(lacks, ", "), t)
		}
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// requiredFields returns the JSON names of the fields of struct type t that
// are not omitempty.
func requiredFields(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// firstBytes renders the start of an answer for a message.
func firstBytes(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	if s == "" {
		return "an empty body"
	}
	return fmt.Sprintf("%q", s)
}
