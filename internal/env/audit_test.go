package env_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
	"github.com/gameday/gameday/mockstore/wallet"
)

// canned serves fixed JSON answers by path.
func canned(tb testing.TB, answers map[string]string) string {
	tb.Helper()
	mux := http.NewServeMux()
	for path, body := range answers {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.URL
}

func allServices(url string) map[string]string {
	m := map[string]string{}
	for _, s := range mockstore.Services {
		m[s] = url
	}
	return m
}

func invariant(name string) scenario.Check {
	return scenario.Check{Kind: scenario.CheckInvariant, Subject: name, Name: name}
}

func experience(name string, maxAllowed int) scenario.Check {
	return scenario.Check{Kind: scenario.CheckExperience, Subject: name, Name: name, Max: maxAllowed}
}

func TestReadAuditReadsEveryAudit(t *testing.T) {
	url := canned(t, map[string]string{
		"/audit/totals": `{"accounts":3,"opening":300,"topups":0,"charges":50,"refunds":0,"balances":250,"ledger_sum":0,"conserved":true,
			"negative":[],"ledger_mismatch":[{"user_id":"u00002","balance":100,"ledger":90}]}`,
		"/audit/charges": `[{"charge_id":"c1","key":"k1","order_id":"o1","user_id":"u00001","amount":50,"at":"2023-11-14T22:13:36.5Z","refunds":1,"refunded_at":"2023-11-14T22:13:40Z"}]`,
		"/audit/orders": `[{"order_id":"o1","user_id":"u00001","cart":"u:u00001","cart_rev":1,"status":"refunded","amount":50,"payment_keys":["k1"],"created_at":"2023-11-14T22:13:36Z",
			"history":[{"state":"created","at":"2023-11-14T22:13:36Z"},{"state":"failed","at":"2023-11-14T22:13:37Z","why":"wallet reset"}]}]`,
		"/audit/auth": `{"logins_started":10,"codes_issued":10,"codes_delivered":10,"verified":8,"wrong_codes":0,"lockouts":0,"fault_counted":0,
			"not_registered":2,"sessions_issued":8,"sessions_rejected":{"store_error":1},"logouts":0,"sends_by_channel":{"sms":10},"verifies":[]}`,
		"/audit/gateway": `{"responses":{"200":40,"503:temporarily_unavailable":3},"bare_5xx":1,"forced_logouts":2,"cross_user_data":0,"false_refusals":0,
			"breaker_openings":{"wallet":1},"upstream_calls":{"wallet":4},"retries":{}}`,
		"/audit/sessions": `{"live":5,"created":8,"deleted":2,"expired":1}`,
		"/audit/otp":      `{"sent":{"sms":10,"whatsapp":0},"codes":{}}`,
		"/audit/food": `{"orders":[{"order_id":"f1","user_id":"u00001","restaurant_id":"r01","key":"k1","status":"assigned","amount":25000,
			"created_at":"2023-11-14T22:13:36Z","history":[{"state":"placed","at":"2023-11-14T22:13:36Z"}]}],
			"messages":[{"message_id":"c1","order_id":"f1","from":"u00001","key":"k2","at":"2023-11-14T22:13:37Z"}]}`,
		"/audit/ledger": `[{"user_id":"u00001","kind":"opening","ref":"seed","amount":100,"at":"2023-11-14T22:13:30Z"},
			{"user_id":"u00001","kind":"charge","ref":"k1","amount":-50,"at":"2023-11-14T22:13:36.5Z"}]`,
		"/audit/accounts":  `[{"user_id":"u00001","phone":"+6281000000001","status":"active"},{"user_id":"u00002","phone":"+6281000000002","status":"restricted"}]`,
		"/audit/catalogue": `{"products":[{"id":"p001","weight_g":300,"size_cm":20}],"couriers":[{"id":"jne","areas":["jakarta"],"max_weight_g":20000,"max_size_cm":100}],"payment_methods":["wallet"]}`,
	})
	before := time.Now()
	a, err := env.ReadAudit(context.Background(), allServices(url+"/"), nil)
	if err != nil {
		t.Fatalf("ReadAudit: %v", err)
	}
	if a.At.Before(before) || a.At.After(time.Now()) {
		t.Errorf("At %v is not the time of the read", a.At)
	}
	if len(a.Unread) != 0 {
		t.Errorf("unread %v", a.Unread)
	}
	switch {
	case a.Wallet == nil || a.Wallet.Accounts != 3 || len(a.Wallet.LedgerMismatch) != 1 || a.Wallet.LedgerMismatch[0].Ledger != 90:
		t.Errorf("wallet %+v", a.Wallet)
	case len(a.Charges) != 1 || a.Charges[0].Refunds != 1 || a.Charges[0].Refunded == nil || a.Charges[0].At.Nanosecond() != 500_000_000:
		t.Errorf("charges %+v", a.Charges)
	case len(a.Orders) != 1 || len(a.Orders[0].History) != 2 || a.Orders[0].History[1].Why != "wallet reset":
		t.Errorf("orders %+v", a.Orders)
	case a.Auth == nil || a.Auth.NotRegistered != 2 || a.Auth.SessionsRejected["store_error"] != 1:
		t.Errorf("auth %+v", a.Auth)
	case a.Gateway == nil || a.Gateway.Bare5xx != 1 || a.Gateway.Responses["503:temporarily_unavailable"] != 3:
		t.Errorf("gateway %+v", a.Gateway)
	case a.Sessions == nil || *a.Sessions != (sessions.Audit{Live: 5, Created: 8, Deleted: 2, Expired: 1}):
		t.Errorf("sessions %+v", a.Sessions)
	case a.OTP == nil || a.OTP.Sent["sms"] != 10:
		t.Errorf("otp %+v", a.OTP)
	case a.Food == nil || len(a.Food.Orders) != 1 || a.Food.Orders[0].Key != "k1" || len(a.Food.Messages) != 1 || a.Food.Messages[0].Key != "k2":
		t.Errorf("food %+v", a.Food)
	case len(a.Ledger) != 2 || a.Ledger[1].Amount != -50 || a.Ledger[1].Kind != "charge":
		t.Errorf("ledger %+v", a.Ledger)
	case len(a.Accounts) != 2 || a.Accounts[1].Status != mockstore.StatusRestricted:
		t.Errorf("accounts %+v", a.Accounts)
	case a.Catalogue == nil || len(a.Catalogue.Couriers) != 1 || a.Catalogue.Couriers[0].Areas[0] != "jakarta" || a.Catalogue.PaymentMethods[0] != "wallet":
		t.Errorf("catalogue %+v", a.Catalogue)
	}
}

func TestReadAuditReadsWhatItCan(t *testing.T) {
	url := canned(t, map[string]string{
		"/audit/totals": `{"accounts":3,"opening":300,"topups":0,"charges":0,"refunds":0,"balances":300,"ledger_sum":0,"conserved":true,
			"negative":null,"ledger_mismatch":null}`,
		"/audit/charges": `[]`,
		"/audit/orders":  `{"not":"a list"}`,
		"/audit/auth": `{"logins_started":1,"codes_issued":1,"codes_delivered":1,"verified":1,"wrong_codes":0,"lockouts":0,"fault_counted":0,
			"not_registered":0,"sessions_issued":1,"sessions_rejected":null,"logouts":0,"sends_by_channel":null,"verifies":[]}`,
		"/audit/food":      `{"orders":[],"messages":[]}`,
		"/audit/ledger":    `[]`,
		"/audit/accounts":  `[]`,
		"/audit/catalogue": `{"products":[],"couriers":[],"payment_methods":[]}`,
		// no /audit/gateway: 404
	})
	urls := allServices(url)
	delete(urls, mockstore.ServiceOTP)
	urls[mockstore.ServiceSessions] = "http://127.0.0.1:1" // nothing listens
	a, err := env.ReadAudit(context.Background(), urls, &http.Client{Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("ReadAudit: no error, want one for each unread source")
	}
	for src, why := range map[string]string{
		env.SourceOrders:   "decode answer",
		env.SourceGateway:  "status 404",
		env.SourceSessions: "127.0.0.1:1",
		env.SourceOTP:      "no audit URL for service otp",
	} {
		if !strings.Contains(a.Unread[src], why) {
			t.Errorf("unread[%q] = %q, want it to say %q", src, a.Unread[src], why)
		}
		if !strings.Contains(err.Error(), "read "+src) {
			t.Errorf("error %q does not name %s", err, src)
		}
	}
	if len(a.Unread) != 4 {
		t.Errorf("unread %v, want 4 sources", a.Unread)
	}
	if a.Wallet == nil || a.Auth == nil || a.Charges == nil || a.Gateway != nil || a.Sessions != nil || a.OTP != nil || a.Orders != nil {
		t.Errorf("audit %+v: want wallet, charges and auth read, the rest not", a)
	}

	// The checks that need an unread source are unknown, the others judged.
	r := &judge.Run{Timeline: judge.Timeline{Start: time.Unix(1_700_000_000, 0), Duration: 60 * time.Second, Faults: []scenario.Interval{{From: 15 * time.Second, To: 35 * time.Second}}}, Audit: a}
	if v := judge.Decide(r, invariant(scenario.InvMoneyConserved)); v.Status != judge.Pass {
		t.Errorf("money_conserved: %s", v)
	}
	if v := judge.Decide(r, invariant(scenario.InvNoStuckPending)); v.Status != judge.Unknown || !strings.Contains(v.Reason, "decode answer") {
		t.Errorf("no_stuck_pending: %s", v)
	}
	if v := judge.Decide(r, experience(scenario.ExpForcedLogouts, 0)); v.Status != judge.Unknown || !strings.Contains(v.Reason, "status 404") {
		t.Errorf("forced_logouts: %s", v)
	}
}

func TestReadAuditHonoursContext(t *testing.T) {
	url := canned(t, map[string]string{"/audit/totals": `{}`})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, err := env.ReadAudit(ctx, allServices(url), nil)
	if err == nil || len(a.Unread) != len(mockstore.Services)+4 { // the wallet has three sources, auth and checkout two
		t.Fatalf("ReadAudit with a cancelled context: err %v, unread %v", err, a.Unread)
	}
}

// TestReadAuditFromServices reads the audits of real services, so that the
// reading of their JSON, and the judge's verdicts on it, cannot drift from
// what they write.
func TestReadAuditFromServices(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds := mockstore.Seed(1, 5)

	ws, err := wallet.New(ctx, wallet.Config{DBPath: filepath.Join(dir, "wallet.db"), Dataset: ds})
	if err != nil {
		t.Fatalf("wallet: %v", err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	ss, err := sessions.New(ctx, sessions.Config{DBPath: filepath.Join(dir, "sessions.db")})
	if err != nil {
		t.Fatalf("sessions: %v", err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	ps, err := otp.New(ctx, otp.Config{DBPath: filepath.Join(dir, "otp.db")})
	if err != nil {
		t.Fatalf("otp: %v", err)
	}
	t.Cleanup(func() { _ = ps.Close() })

	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	walletAPI := serve(ws.Handler())
	sessionsAPI := serve(ss.Handler())
	otpAPI := serve(ps.Handler())
	urls := map[string]string{
		mockstore.ServiceWallet:   serve(ws.AuditHandler()),
		mockstore.ServiceSessions: serve(ss.AuditHandler()),
		mockstore.ServiceOTP:      serve(ps.AuditHandler()),
	}

	user := ds.Users[0]
	wc := wallet.NewClient(walletAPI, nil)
	for _, key := range []string{"k1", "k2"} { // the same order charged under two keys
		if _, err := wc.Charge(ctx, key, wallet.ChargeRequest{UserID: user.ID, OrderID: "o1", Amount: 10_000}); err != nil {
			t.Fatalf("charge %s: %v", key, err)
		}
	}
	if err := sessions.NewClient(sessionsAPI, nil).Put(ctx, "tok", user.ID, time.Minute); err != nil {
		t.Fatalf("put session: %v", err)
	}
	if _, err := otp.NewClient(otpAPI, nil).Send(ctx, otp.Message{Phone: user.Phone, Channel: "sms", Code: "123456", LoginID: "l1"}); err != nil {
		t.Fatalf("send otp: %v", err)
	}

	a, err := env.ReadAudit(ctx, urls, nil)
	for _, src := range []string{env.SourceOrders, env.SourceAuth, env.SourceGateway} {
		if a.Unread[src] == "" {
			t.Errorf("%s read, though the service is not there", src)
		}
	}
	if err == nil {
		t.Error("ReadAudit: no error for the missing services")
	}
	if a.Wallet == nil || a.Wallet.Accounts != 5 || a.Wallet.Charges != 20_000 || !a.Wallet.Conserved {
		t.Fatalf("wallet totals %+v", a.Wallet)
	}
	if len(a.Charges) != 2 || a.Charges[0].OrderID != "o1" || a.Charges[0].At.IsZero() {
		t.Fatalf("charges %+v", a.Charges)
	}
	var mine int64
	var charges int
	for _, e := range a.Ledger {
		if e.UserID == user.ID {
			mine += e.Amount
		}
		if e.Kind == "charge" {
			charges++
			if e.Amount != -10_000 || e.At.IsZero() {
				t.Errorf("ledger charge %+v, want -10000 with its time", e)
			}
		}
	}
	if len(a.Ledger) != 5+2 || charges != 2 || mine != user.Balance-20_000 {
		t.Errorf("ledger %+v: want 5 openings and 2 charges, %s's summing to %d", a.Ledger, user.ID, user.Balance-20_000)
	}
	if a.Sessions == nil || a.Sessions.Live != 1 || a.Sessions.Created != 1 {
		t.Errorf("sessions %+v", a.Sessions)
	}
	if a.OTP == nil || a.OTP.Sent["sms"] != 1 {
		t.Errorf("otp %+v", a.OTP)
	}

	r := &judge.Run{Timeline: judge.Timeline{Start: time.Now().Add(-time.Minute), Duration: time.Minute}, Audit: a}
	for _, tc := range []struct {
		check  scenario.Check
		status judge.Status
	}{
		{invariant(scenario.InvMoneyConserved), judge.Pass},
		{invariant(scenario.InvNoNegativeBalance), judge.Pass},
		{invariant(scenario.InvLedgerMatches), judge.Pass},
		{invariant(scenario.InvNoDoubleCharge), judge.Fail},
		{invariant(scenario.InvNoStuckPending), judge.Unknown},
	} {
		if v := judge.Decide(r, tc.check); v.Status != tc.status {
			t.Errorf("%s: %s, want %s", tc.check.Name, v, tc.status)
		}
	}
}

// TestReadAuditHoldsTheContract: an audit answer that is not the contract's
// JSON — not JSON, another shape, or a field of the contract left out —
// is not read, and the checks that need it say which service did not serve
// its audit and what happened; never the zero values of what was missing.
func TestReadAuditHoldsTheContract(t *testing.T) {
	full := `{"accounts":3,"opening":300,"topups":0,"charges":0,"refunds":0,"balances":300,"ledger_sum":0,"conserved":true,"negative":[],"ledger_mismatch":[]}`
	tests := []struct {
		name, totals, charges string
		src, reason           string
	}{
		{"the contract's answers", full, `[]`, "", ""},
		{"a field added", strings.Replace(full, `{`, `{"extra":1,`, 1), `[]`, "", ""},
		{"not JSON", `<html>oops</html>`, `[]`, env.SourceTotals, `the wallet's audit was not served: GET /audit/totals: decode answer: want a JSON object: "<html>oops</html>"`},
		{"null", `null`, `[]`, env.SourceTotals, `the wallet's audit was not served: GET /audit/totals: decode answer: want a JSON object`},
		{"a list for an object", `[]`, `[]`, env.SourceTotals, `the wallet's audit was not served: GET /audit/totals: decode answer: want a JSON object`},
		{"a field left out", strings.Replace(full, `"ledger_sum":0,`, ``, 1), `[]`, env.SourceTotals,
			`the wallet's audit was not served: GET /audit/totals: decode answer: the answer lacks ledger_sum (fields of mockstore.WalletTotals)`},
		{"an item without its fields", full, `[{"charge_id":"c1","amount":5}]`, env.SourceCharges,
			`the wallet's audit was not served: GET /audit/charges: decode answer: item 0 of the answer lacks key, order_id, user_id, at, refunds (fields of mockstore.ChargeRecord)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := canned(t, map[string]string{"/audit/totals": tt.totals, "/audit/charges": tt.charges})
			a, _ := env.ReadAudit(context.Background(), map[string]string{mockstore.ServiceWallet: url}, nil)
			err := a.Missing(env.SourceTotals, env.SourceCharges)
			if tt.src == "" {
				if err != nil {
					t.Fatalf("Missing = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.reason) {
				t.Fatalf("Missing = %v\nwant %s", err, tt.reason)
			}
			other := env.SourceCharges
			if tt.src == env.SourceCharges {
				other = env.SourceTotals
			}
			if a.Unread[tt.src] == "" || a.Unread[other] != "" {
				t.Errorf("unread %v; want %s and not %s", a.Unread, tt.src, other)
			}
		})
	}
}
