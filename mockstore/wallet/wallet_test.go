package wallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
	"github.com/gameday/gameday/mockstore/wallet"
)

func TestMain(m *testing.M) {
	// The durability test re-executes this binary as the process it kills.
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 22, 4, 0, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a wallet served over HTTP for one test.
type env struct {
	svc   *wallet.Service
	api   *httptest.Server
	audit *httptest.Server
	c     *wallet.Client
	clock *clock
	path  string
}

var testUsers = []mockstore.User{
	{ID: "alice", Balance: 1_000},
	{ID: "bob", Balance: 500},
	{ID: "carol", Balance: 0},
	{ID: "dave", Balance: 1_000_000},
}

func dataset(users []mockstore.User) mockstore.Dataset {
	return mockstore.Dataset{Seed: 1, Users: users}
}

// newEnv starts a wallet over a fresh ledger seeded with users (testUsers
// when none are given).
func newEnv(tb testing.TB, users ...mockstore.User) *env {
	tb.Helper()
	if len(users) == 0 {
		users = testUsers
	}
	return openEnv(tb, filepath.Join(tb.TempDir(), "wallet.db"), dataset(users))
}

// openEnv starts a wallet over the ledger at path.
func openEnv(tb testing.TB, path string, d mockstore.Dataset) *env {
	tb.Helper()
	e := &env{clock: newClock(), path: path}
	svc, err := wallet.New(context.Background(), wallet.Config{DBPath: path, Dataset: d, Now: e.clock.Now})
	if svc != nil {
		tb.Cleanup(func() { _ = svc.Close() })
	}
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	e.svc = svc
	e.api = httptest.NewServer(svc.Handler())
	tb.Cleanup(e.api.Close)
	e.audit = httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(e.audit.Close)
	e.c = wallet.NewClient(e.api.URL, e.api.Client())
	return e
}

// do sends a raw request and returns the status and body.
func (e *env) do(tb testing.TB, method, path, body string, header map[string]string) (int, []byte) {
	tb.Helper()
	a := badinput.Send(tb, method, e.api.URL+path, body, header)
	return a.Status, a.Body
}

func (e *env) totals(tb testing.TB) mockstore.WalletTotals {
	tb.Helper()
	t, err := wallet.ReadTotals(context.Background(), e.audit.Client(), e.audit.URL)
	if err != nil {
		tb.Fatalf("ReadTotals: %v", err)
	}
	return t
}

func (e *env) chargeRecords(tb testing.TB) []mockstore.ChargeRecord {
	tb.Helper()
	cs, err := wallet.ReadCharges(context.Background(), e.audit.Client(), e.audit.URL)
	if err != nil {
		tb.Fatalf("ReadCharges: %v", err)
	}
	return cs
}

func (e *env) balance(tb testing.TB, user string) int64 {
	tb.Helper()
	a, err := e.c.Account(context.Background(), user)
	if err != nil {
		tb.Fatalf("Account(%s): %v", user, err)
	}
	return a.Balance
}

// checkLedger fails unless the totals are conserved, no balance is negative
// and every stored balance equals its ledger.
func checkLedger(tb testing.TB, t mockstore.WalletTotals) {
	tb.Helper()
	if !t.Conserved || t.LedgerSum != 0 || len(t.Negative) != 0 || len(t.LedgerMismatch) != 0 {
		tb.Fatalf("ledger not sound: %+v", t)
	}
	if want := t.Opening + t.Topups - t.Charges + t.Refunds; t.Balances != want {
		tb.Fatalf("balances %d, want opening+topups-charges+refunds = %d", t.Balances, want)
	}
}

// wantCode fails unless err is a *mockstore.Error with code and the status
// of that code.
func wantCode(tb testing.TB, err error, code mockstore.Code) {
	tb.Helper()
	var me *mockstore.Error
	if !errors.As(err, &me) {
		tb.Fatalf("err = %v (%T), want *mockstore.Error %s", err, err, code)
	}
	if me.Code != code || me.Status != code.Status() {
		tb.Fatalf("err = %v (status %d), want %s (%d)", err, me.Status, code, code.Status())
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, "GET", "/healthz", "", nil)
	if status != 200 || !strings.Contains(string(body), `"service":"wallet"`) {
		t.Fatalf("healthz = %d %s", status, body)
	}
}

func TestAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock.Advance(time.Hour)
	a, err := e.c.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := wallet.Account{UserID: "alice", Balance: 1_000, Currency: "IDR", AsOf: e.clock.Now()}
	if a != want {
		t.Fatalf("Account = %+v, want %+v", a, want)
	}
	_, err = e.c.Account(ctx, "mallory")
	wantCode(t, err, mockstore.CodeNotFound)
	// System ledger accounts are not shoppers' accounts.
	_, err = e.c.Account(ctx, "merchant")
	wantCode(t, err, mockstore.CodeNotFound)
}

func TestTopup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.c.Topup(ctx, "alice", 250, "ref-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.Balance != 1_250 || first.Replayed || first.TopupID == "" {
		t.Fatalf("first top-up = %+v", first)
	}
	tests := []struct {
		name     string
		user     string
		amount   int64
		ref      string
		code     mockstore.Code
		replayed bool
		balance  int64 // answered balance when no error
		after    int64 // alice's balance afterwards
	}{
		{name: "replay returns first result", user: "alice", amount: 250, ref: "ref-1", replayed: true, balance: 1_250, after: 1_250},
		{name: "same reference other amount", user: "alice", amount: 251, ref: "ref-1", code: mockstore.CodeIdempotencyConflict, after: 1_250},
		{name: "new reference adds money", user: "alice", amount: 50, ref: "ref-2", balance: 1_300, after: 1_300},
		{name: "replay after later top-up keeps first balance", user: "alice", amount: 250, ref: "ref-1", replayed: true, balance: 1_250, after: 1_300},
		{name: "reference is per user", user: "bob", amount: 7, ref: "ref-1", balance: 507, after: 1_300},
		{name: "unknown user", user: "mallory", amount: 7, ref: "ref-9", code: mockstore.CodeNotFound, after: 1_300},
		{name: "zero amount", user: "alice", amount: 0, ref: "ref-3", code: mockstore.CodeInvalidRequest, after: 1_300},
		{name: "negative amount", user: "alice", amount: -5, ref: "ref-3", code: mockstore.CodeInvalidRequest, after: 1_300},
		{name: "huge amount", user: "alice", amount: wallet.MaxAmount + 1, ref: "ref-3", code: mockstore.CodeInvalidRequest, after: 1_300},
		{name: "empty reference", user: "alice", amount: 5, ref: "", code: mockstore.CodeInvalidRequest, after: 1_300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.c.Topup(ctx, tt.user, tt.amount, tt.ref)
			if tt.code != "" {
				wantCode(t, err, tt.code)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got.Replayed != tt.replayed || got.Balance != tt.balance {
					t.Fatalf("Topup = %+v, want replayed=%v balance=%d", got, tt.replayed, tt.balance)
				}
				if tt.replayed && got.TopupID != first.TopupID {
					t.Fatalf("replay id %s, want %s", got.TopupID, first.TopupID)
				}
			}
			if b := e.balance(t, "alice"); b != tt.after {
				t.Fatalf("alice's balance %d, want %d", b, tt.after)
			}
		})
	}
	tot := e.totals(t)
	checkLedger(t, tot)
	if tot.Topups != 250+50+7 {
		t.Fatalf("topups %d, want 307", tot.Topups)
	}
}

func TestCharge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 300}
	first, err := e.c.Charge(ctx, "k1", req)
	if err != nil {
		t.Fatal(err)
	}
	want := wallet.Charge{ChargeID: first.ChargeID, Key: "k1", OrderID: "o1", UserID: "alice", Amount: 300, Balance: 700, At: e.clock.Now()}
	if first != want || first.ChargeID == "" {
		t.Fatalf("Charge = %+v, want %+v", first, want)
	}
	e.clock.Advance(time.Minute)

	tests := []struct {
		name   string
		key    string
		req    wallet.ChargeRequest
		status int
		code   mockstore.Code
		alice  int64 // alice's balance afterwards
	}{
		{name: "replay", key: "k1", req: req, status: 200, alice: 700},
		{name: "same key other amount", key: "k1", req: wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 301}, code: mockstore.CodeIdempotencyConflict, alice: 700},
		{name: "same key other order", key: "k1", req: wallet.ChargeRequest{UserID: "alice", OrderID: "o2", Amount: 300}, code: mockstore.CodeIdempotencyConflict, alice: 700},
		{name: "same key other user", key: "k1", req: wallet.ChargeRequest{UserID: "bob", OrderID: "o1", Amount: 300}, code: mockstore.CodeIdempotencyConflict, alice: 700},
		{name: "over balance", key: "k2", req: wallet.ChargeRequest{UserID: "alice", OrderID: "o2", Amount: 701}, code: mockstore.CodeInsufficientFunds, alice: 700},
		{name: "empty wallet", key: "k3", req: wallet.ChargeRequest{UserID: "carol", OrderID: "o3", Amount: 1}, code: mockstore.CodeInsufficientFunds, alice: 700},
		{name: "exact balance", key: "k4", req: wallet.ChargeRequest{UserID: "alice", OrderID: "o4", Amount: 700}, status: 201, alice: 0},
		{name: "unknown user", key: "k5", req: wallet.ChargeRequest{UserID: "mallory", OrderID: "o5", Amount: 1}, code: mockstore.CodeNotFound, alice: 0},
		{name: "zero amount", key: "k6", req: wallet.ChargeRequest{UserID: "bob", OrderID: "o6", Amount: 0}, code: mockstore.CodeInvalidRequest, alice: 0},
		{name: "negative amount", key: "k6", req: wallet.ChargeRequest{UserID: "bob", OrderID: "o6", Amount: -1}, code: mockstore.CodeInvalidRequest, alice: 0},
		{name: "huge amount", key: "k6", req: wallet.ChargeRequest{UserID: "dave", OrderID: "o6", Amount: wallet.MaxAmount + 1}, code: mockstore.CodeInvalidRequest, alice: 0},
		{name: "missing order", key: "k6", req: wallet.ChargeRequest{UserID: "bob", Amount: 1}, code: mockstore.CodeInvalidRequest, alice: 0},
		{name: "missing user", key: "k6", req: wallet.ChargeRequest{OrderID: "o6", Amount: 1}, code: mockstore.CodeInvalidRequest, alice: 0},
		{name: "missing key", key: "", req: wallet.ChargeRequest{UserID: "bob", OrderID: "o6", Amount: 1}, code: mockstore.CodeIdempotencyKey, alice: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.totals(t)
			if tt.code != "" {
				_, err := e.c.Charge(ctx, tt.key, tt.req)
				wantCode(t, err, tt.code)
				if after := e.totals(t); !equalTotals(before, after) {
					t.Fatalf("a refused charge wrote something: %+v -> %+v", before, after)
				}
			} else {
				body, _ := json.Marshal(tt.req)
				status, b := e.do(t, "POST", "/charges", string(body), map[string]string{"Idempotency-Key": tt.key})
				if status != tt.status {
					t.Fatalf("status %d (%s), want %d", status, b, tt.status)
				}
				var got wallet.Charge
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatal(err)
				}
				if got.Replayed != (tt.status == 200) || got.Key != tt.key || got.Amount != tt.req.Amount {
					t.Fatalf("answer %+v", got)
				}
				if tt.status == 200 && (got.ChargeID != first.ChargeID || !got.At.Equal(first.At) || got.Balance != first.Balance) {
					t.Fatalf("replay %+v, want the first result %+v", got, first)
				}
			}
			if b := e.balance(t, "alice"); b != tt.alice {
				t.Fatalf("alice's balance %d, want %d", b, tt.alice)
			}
		})
	}
	tot := e.totals(t)
	checkLedger(t, tot)
	if tot.Charges != 1_000 {
		t.Fatalf("charges %d, want 1000", tot.Charges)
	}
}

// equalTotals compares the money figures of two totals.
func equalTotals(a, b mockstore.WalletTotals) bool {
	return a.Accounts == b.Accounts && a.Opening == b.Opening && a.Topups == b.Topups && a.Charges == b.Charges &&
		a.Refunds == b.Refunds && a.Balances == b.Balances && a.LedgerSum == b.LedgerSum && a.Conserved == b.Conserved
}

func TestLookupCharge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ch, err := e.c.Charge(ctx, "key/with spaces?", wallet.ChargeRequest{UserID: "bob", OrderID: "o1", Amount: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.c.LookupCharge(ctx, "key/with spaces?")
	if err != nil {
		t.Fatal(err)
	}
	if got != ch {
		t.Fatalf("LookupCharge = %+v, want %+v", got, ch)
	}
	_, err = e.c.LookupCharge(ctx, "nope")
	wantCode(t, err, mockstore.CodeNotFound)
	_, err = e.c.LookupCharge(ctx, strings.Repeat("k", 300))
	wantCode(t, err, mockstore.CodeInvalidRequest)
}

func TestRefund(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCharge(t, e, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 100})
	mustCharge(t, e, "k2", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 200}) // a second charge of the same order
	mustCharge(t, e, "k3", wallet.ChargeRequest{UserID: "alice", OrderID: "o2", Amount: 50})
	e.clock.Advance(time.Minute)
	refundAt := e.clock.Now()

	rf, err := e.c.Refund(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if rf.Amount != 300 || rf.Replayed || rf.OrderID != "o1" || rf.RefundID == "" {
		t.Fatalf("Refund = %+v", rf)
	}
	if b := e.balance(t, "alice"); b != 950 {
		t.Fatalf("balance after refund %d, want 950", b)
	}
	again, err := e.c.Refund(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (wallet.Refund{RefundID: rf.RefundID, OrderID: "o1", Amount: 300, Replayed: true}); again != want {
		t.Fatalf("second Refund = %+v, want %+v", again, want)
	}
	if b := e.balance(t, "alice"); b != 950 {
		t.Fatalf("balance after second refund %d, want 950", b)
	}
	// A refunded order takes no new charge, but a replay of one it had is
	// still answered with the first result.
	_, err = e.c.Charge(ctx, "k4", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 10})
	wantCode(t, err, mockstore.CodeConflict)
	if ch, err := e.c.Charge(ctx, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 100}); err != nil || !ch.Replayed {
		t.Fatalf("replay of a refunded charge = %+v, %v", ch, err)
	}

	for _, c := range e.chargeRecords(t) {
		wantRefunds := 0
		if c.OrderID == "o1" {
			wantRefunds = 1
		}
		if c.Refunds != wantRefunds {
			t.Errorf("charge %s of %s: refunds %d, want %d", c.Key, c.OrderID, c.Refunds, wantRefunds)
		}
		if (c.Refunded != nil) != (wantRefunds == 1) || (c.Refunded != nil && !c.Refunded.Equal(refundAt)) {
			t.Errorf("charge %s: refunded_at %v, want %v", c.Key, c.Refunded, refundAt)
		}
	}
	tot := e.totals(t)
	checkLedger(t, tot)
	if tot.Refunds != 300 {
		t.Fatalf("refunds %d, want 300", tot.Refunds)
	}
}

func TestRefundClosesUnchargedOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := e.totals(t)
	rf, err := e.c.Refund(ctx, "o-never-charged")
	if err != nil {
		t.Fatal(err)
	}
	if rf.Amount != 0 || rf.Replayed {
		t.Fatalf("Refund = %+v, want amount 0", rf)
	}
	// The late charge, e.g. a retry that was still in flight when checkout
	// decided to refund, is refused and takes no money.
	_, err = e.c.Charge(ctx, "late", wallet.ChargeRequest{UserID: "alice", OrderID: "o-never-charged", Amount: 10})
	wantCode(t, err, mockstore.CodeConflict)
	_, err = e.c.LookupCharge(ctx, "late")
	wantCode(t, err, mockstore.CodeNotFound)
	if after := e.totals(t); !equalTotals(before, after) {
		t.Fatalf("closing an order moved money: %+v -> %+v", before, after)
	}
	again, err := e.c.Refund(ctx, "o-never-charged")
	if err != nil || !again.Replayed || again.RefundID != rf.RefundID || again.Amount != 0 {
		t.Fatalf("second Refund = %+v, %v", again, err)
	}
}

func mustCharge(tb testing.TB, e *env, key string, req wallet.ChargeRequest) wallet.Charge {
	tb.Helper()
	ch, err := e.c.Charge(context.Background(), key, req)
	if err != nil {
		tb.Fatalf("Charge(%s, %+v): %v", key, req, err)
	}
	return ch
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	mustCharge(t, e, "existing", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 10})
	key := map[string]string{"Idempotency-Key": "k-bad"}
	long := strings.Repeat("x", 201)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		code   mockstore.Code
	}{
		{"topup bad JSON", "POST", "/accounts/alice/topup", `{"amount":`, nil, mockstore.CodeInvalidRequest},
		{"topup empty body", "POST", "/accounts/alice/topup", ``, nil, mockstore.CodeInvalidRequest},
		{"topup unknown field", "POST", "/accounts/alice/topup", `{"amount":5,"reference":"r","currency":"USD"}`, nil, mockstore.CodeInvalidRequest},
		{"topup trailing data", "POST", "/accounts/alice/topup", `{"amount":5,"reference":"r"} {}`, nil, mockstore.CodeInvalidRequest},
		{"topup string amount", "POST", "/accounts/alice/topup", `{"amount":"5","reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup fractional amount", "POST", "/accounts/alice/topup", `{"amount":5.5,"reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup amount over int64", "POST", "/accounts/alice/topup", `{"amount":1e30,"reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup zero", "POST", "/accounts/alice/topup", `{"amount":0,"reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup negative", "POST", "/accounts/alice/topup", `{"amount":-5,"reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup huge", "POST", "/accounts/alice/topup", `{"amount":1000000000001,"reference":"r"}`, nil, mockstore.CodeInvalidRequest},
		{"topup missing reference", "POST", "/accounts/alice/topup", `{"amount":5}`, nil, mockstore.CodeInvalidRequest},
		{"topup long reference", "POST", "/accounts/alice/topup", `{"amount":5,"reference":"` + long + `"}`, nil, mockstore.CodeInvalidRequest},
		{"topup unknown user", "POST", "/accounts/mallory/topup", `{"amount":5,"reference":"r"}`, nil, mockstore.CodeNotFound},
		{"topup body too large", "POST", "/accounts/alice/topup", `{"amount":5,"reference":"` + strings.Repeat("r", mockstore.MaxBody) + `"}`, nil, mockstore.CodeBodyTooLarge},
		{"charge missing key", "POST", "/charges", `{"user_id":"alice","order_id":"o2","amount":5}`, nil, mockstore.CodeIdempotencyKey},
		{"charge missing key and bad body", "POST", "/charges", `nonsense`, nil, mockstore.CodeIdempotencyKey},
		{"charge long key", "POST", "/charges", `{"user_id":"alice","order_id":"o2","amount":5}`, map[string]string{"Idempotency-Key": long}, mockstore.CodeInvalidRequest},
		{"charge bad JSON", "POST", "/charges", `{"user_id":`, key, mockstore.CodeInvalidRequest},
		{"charge JSON array", "POST", "/charges", `[1,2]`, key, mockstore.CodeInvalidRequest},
		{"charge unknown field", "POST", "/charges", `{"user_id":"alice","order_id":"o2","amount":5,"tip":1}`, key, mockstore.CodeInvalidRequest},
		{"charge zero", "POST", "/charges", `{"user_id":"alice","order_id":"o2","amount":0}`, key, mockstore.CodeInvalidRequest},
		{"charge negative", "POST", "/charges", `{"user_id":"alice","order_id":"o2","amount":-1}`, key, mockstore.CodeInvalidRequest},
		{"charge huge", "POST", "/charges", `{"user_id":"dave","order_id":"o2","amount":9223372036854775807}`, key, mockstore.CodeInvalidRequest},
		{"charge missing amount", "POST", "/charges", `{"user_id":"alice","order_id":"o2"}`, key, mockstore.CodeInvalidRequest},
		{"charge missing order", "POST", "/charges", `{"user_id":"alice","amount":5}`, key, mockstore.CodeInvalidRequest},
		{"charge empty order", "POST", "/charges", `{"user_id":"alice","order_id":"","amount":5}`, key, mockstore.CodeInvalidRequest},
		{"charge unknown user", "POST", "/charges", `{"user_id":"mallory","order_id":"o2","amount":5}`, key, mockstore.CodeNotFound},
		{"charge over balance", "POST", "/charges", `{"user_id":"bob","order_id":"o2","amount":501}`, key, mockstore.CodeInsufficientFunds},
		{"charge key reused", "POST", "/charges", `{"user_id":"alice","order_id":"o1","amount":11}`, map[string]string{"Idempotency-Key": "existing"}, mockstore.CodeIdempotencyConflict},
		{"refund bad JSON", "POST", "/refunds", `{`, nil, mockstore.CodeInvalidRequest},
		{"refund unknown field", "POST", "/refunds", `{"order_id":"o1","amount":5}`, nil, mockstore.CodeInvalidRequest},
		{"refund missing order", "POST", "/refunds", `{}`, nil, mockstore.CodeInvalidRequest},
		{"refund long order", "POST", "/refunds", `{"order_id":"` + long + `"}`, nil, mockstore.CodeInvalidRequest},
		{"account unknown user", "GET", "/accounts/mallory", ``, nil, mockstore.CodeNotFound},
		{"account long id", "GET", "/accounts/" + long, ``, nil, mockstore.CodeInvalidRequest},
		{"lookup unknown key", "GET", "/charges/k-bad", ``, nil, mockstore.CodeNotFound},
		{"wrong method", "DELETE", "/charges", ``, nil, mockstore.CodeMethodNotAllowed},
		{"wrong method on account", "PUT", "/accounts/alice", `{}`, nil, mockstore.CodeMethodNotAllowed},
		{"unknown route", "GET", "/nope", ``, nil, mockstore.CodeNotFound},
		{"audit not on API", "GET", "/audit/totals", ``, nil, mockstore.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.totals(t)
			nCharges := len(e.chargeRecords(t))
			status, body := e.do(t, tt.method, tt.path, tt.body, tt.header)
			if status >= 500 {
				t.Fatalf("status %d: %s", status, body)
			}
			var env struct {
				Error *mockstore.Error `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
				t.Fatalf("status %d, body %q is not the error envelope", status, body)
			}
			if env.Error.Code != tt.code || status != tt.code.Status() {
				t.Fatalf("got %d %s (%s), want %d %s", status, env.Error.Code, env.Error.Message, tt.code.Status(), tt.code)
			}
			if after := e.totals(t); !equalTotals(before, after) {
				t.Fatalf("bad input wrote something: %+v -> %+v", before, after)
			}
			if n := len(e.chargeRecords(t)); n != nCharges {
				t.Fatalf("charges %d -> %d", nCharges, n)
			}
		})
	}
	// Nothing above closed o2 or used k-bad: both still work.
	mustCharge(t, e, "k-bad", wallet.ChargeRequest{UserID: "alice", OrderID: "o2", Amount: 5})
	checkLedger(t, e.totals(t))
}

func TestConcurrentSameKey(t *testing.T) {
	e := newEnv(t)
	const n = 32
	req := wallet.ChargeRequest{UserID: "dave", OrderID: "o1", Amount: 1_234}
	results := make([]wallet.Charge, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = e.c.Charge(context.Background(), "same-key", req) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !results[i].Replayed {
			fresh++
		}
		if results[i].ChargeID != results[0].ChargeID || results[i].Balance != 1_000_000-1_234 {
			t.Fatalf("call %d: %+v, call 0: %+v", i, results[i], results[0])
		}
	}
	if fresh != 1 {
		t.Fatalf("%d calls were not replays, want exactly 1", fresh)
	}
	if b := e.balance(t, "dave"); b != 1_000_000-1_234 {
		t.Fatalf("balance %d: debited more than once", b)
	}
	if cs := e.chargeRecords(t); len(cs) != 1 {
		t.Fatalf("%d charges recorded, want 1", len(cs))
	}
	checkLedger(t, e.totals(t))
}

func TestConcurrentOverdraw(t *testing.T) {
	e := newEnv(t)
	// bob has 500: at most 5 charges of 100 can succeed out of 40.
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.c.Charge(context.Background(), fmt.Sprintf("k%d", i),
				wallet.ChargeRequest{UserID: "bob", OrderID: fmt.Sprintf("o%d", i), Amount: 100})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		default:
			wantCode(t, err, mockstore.CodeInsufficientFunds)
		}
	}
	if ok != 5 {
		t.Fatalf("%d charges succeeded, want 5", ok)
	}
	if b := e.balance(t, "bob"); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
	checkLedger(t, e.totals(t))
}

func TestConcurrentRefund(t *testing.T) {
	e := newEnv(t)
	mustCharge(t, e, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 400})
	mustCharge(t, e, "k2", wallet.ChargeRequest{UserID: "bob", OrderID: "o1", Amount: 100})
	const n = 24
	results := make([]wallet.Refund, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = e.c.Refund(context.Background(), "o1") })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !results[i].Replayed {
			fresh++
		}
		if results[i].RefundID != results[0].RefundID || results[i].Amount != 500 {
			t.Fatalf("call %d: %+v, call 0: %+v", i, results[i], results[0])
		}
	}
	if fresh != 1 {
		t.Fatalf("%d refunds were not replays, want exactly 1", fresh)
	}
	for _, c := range e.chargeRecords(t) {
		if c.Refunds != 1 {
			t.Fatalf("charge %s refunded %d times", c.Key, c.Refunds)
		}
	}
	if a, b := e.balance(t, "alice"), e.balance(t, "bob"); a != 1_000 || b != 500 {
		t.Fatalf("balances %d, %d, want the opening ones back", a, b)
	}
	checkLedger(t, e.totals(t))
}

// TestRefundRacesCharge races a charge against the refund of its order: the
// charge either lands first and is refunded, or is refused; the shopper ends
// with the money either way.
func TestRefundRacesCharge(t *testing.T) {
	e := newEnv(t)
	for i := range 30 {
		order := fmt.Sprintf("race-%d", i)
		var wg sync.WaitGroup
		var chErr, rfErr error
		var rf wallet.Refund
		wg.Go(func() {
			_, chErr = e.c.Charge(context.Background(), "k-"+order, wallet.ChargeRequest{UserID: "alice", OrderID: order, Amount: 100})
		})
		wg.Go(func() { rf, rfErr = e.c.Refund(context.Background(), order) })
		wg.Wait()
		if rfErr != nil {
			t.Fatalf("refund %s: %v", order, rfErr)
		}
		switch {
		case chErr == nil && rf.Amount != 100:
			t.Fatalf("%s: charge landed but refund was %d", order, rf.Amount)
		case chErr != nil:
			wantCode(t, chErr, mockstore.CodeConflict)
			if rf.Amount != 0 {
				t.Fatalf("%s: charge refused but refund was %d", order, rf.Amount)
			}
		}
		if b := e.balance(t, "alice"); b != 1_000 {
			t.Fatalf("%s: balance %d, want 1000", order, b)
		}
	}
	checkLedger(t, e.totals(t))
}

func TestAuditDetectsTampering(t *testing.T) {
	e := newEnv(t)
	mustCharge(t, e, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 100})
	checkLedger(t, e.totals(t))
	db := openRaw(t, e.path)

	// A stored balance changed behind the ledger's back.
	if _, err := db.Exec(`UPDATE accounts SET balance = balance + 5 WHERE id = 'alice'`); err != nil {
		t.Fatal(err)
	}
	tot := e.totals(t)
	if tot.Conserved || len(tot.LedgerMismatch) != 1 || tot.LedgerMismatch[0] != (mockstore.AccountCheck{UserID: "alice", Balance: 905, Ledger: 900}) {
		t.Fatalf("totals after tampering with a balance: %+v", tot)
	}
	if _, err := db.Exec(`UPDATE accounts SET balance = balance - 5 WHERE id = 'alice'`); err != nil {
		t.Fatal(err)
	}
	checkLedger(t, e.totals(t))

	// A one-legged entry: the ledger no longer sums to zero.
	if _, err := db.Exec(`INSERT INTO entries (txn, account, amount) SELECT max(id), 'merchant', 7 FROM txns`); err != nil {
		t.Fatal(err)
	}
	tot = e.totals(t)
	if tot.Conserved || tot.LedgerSum != 7 {
		t.Fatalf("totals after an unbalanced entry: %+v", tot)
	}
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wallet.db")
	e := openEnv(t, path, dataset(testUsers))
	ctx := context.Background()
	ch := mustCharge(t, e, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 100})
	if _, err := e.c.Topup(ctx, "bob", 50, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Refund(ctx, "closed"); err != nil {
		t.Fatal(err)
	}
	before := e.totals(t)
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Served after Close: a retryable error, not a panic.
	status, body := e.do(t, "GET", "/accounts/alice", "", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), string(mockstore.CodeUnavailable)) {
		t.Fatalf("after Close: %d %s", status, body)
	}

	// Reopened with other opening balances: the file's state wins.
	other := []mockstore.User{{ID: "alice", Balance: 99}, {ID: "zed", Balance: 99}}
	e2 := openEnv(t, path, mockstore.Dataset{Seed: 2, Users: other})
	after := e2.totals(t)
	if !equalTotals(before, after) {
		t.Fatalf("totals changed across reopen: %+v -> %+v", before, after)
	}
	checkLedger(t, after)
	if b := e2.balance(t, "alice"); b != 900 {
		t.Fatalf("alice %d, want 900", b)
	}
	if _, err := e2.c.Account(ctx, "zed"); mockstore.ErrorCode(err) != mockstore.CodeNotFound {
		t.Fatalf("zed was seeded into an existing ledger: %v", err)
	}
	got, err := e2.c.LookupCharge(ctx, "k1")
	if err != nil || got != ch {
		t.Fatalf("LookupCharge after reopen = %+v, %v; want %+v", got, err, ch)
	}
	if tp, err := e2.c.Topup(ctx, "bob", 50, "r1"); err != nil || !tp.Replayed {
		t.Fatalf("top-up replay after reopen = %+v, %v", tp, err)
	}
	_, err = e2.c.Charge(ctx, "k2", wallet.ChargeRequest{UserID: "alice", OrderID: "closed", Amount: 1})
	wantCode(t, err, mockstore.CodeConflict)
}

func TestNewRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  wallet.Config
	}{
		{"no path", wallet.Config{}},
		{"negative opening balance", wallet.Config{DBPath: filepath.Join(dir, "a.db"), Dataset: dataset([]mockstore.User{{ID: "x", Balance: -1}})}},
		{"duplicate user", wallet.Config{DBPath: filepath.Join(dir, "b.db"), Dataset: dataset([]mockstore.User{{ID: "x"}, {ID: "x"}})}},
		{"empty user id", wallet.Config{DBPath: filepath.Join(dir, "c.db"), Dataset: dataset([]mockstore.User{{ID: ""}})}},
		{"directory", wallet.Config{DBPath: dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := wallet.New(context.Background(), tt.cfg)
			if s != nil {
				t.Cleanup(func() { _ = s.Close() })
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
