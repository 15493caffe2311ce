package wallet_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
	"github.com/gameday/gameday/mockstore/wallet"
)

// TestBadInputEveryRoute sends bad input to every route of the wallet and of
// its audit handler: each is refused with its specific code in the one
// envelope, never a 5xx, and neither the audit (totals, charges) nor any row
// of the ledger changes.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Some history for the bad requests to collide with.
	if _, err := e.c.Topup(ctx, "alice", 100, "r1"); err != nil {
		t.Fatalf("Topup: %v", err)
	}
	mustCharge(t, e, "k1", wallet.ChargeRequest{UserID: "alice", OrderID: "o1", Amount: 10})
	if _, err := e.c.Refund(ctx, "o-closed"); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	raw := openRaw(t, e.path)

	key := func(k string) map[string]string { return map[string]string{wallet.IdempotencyHeader: k} }
	k := key("k-new")
	charge := func(user, order, amount string) string {
		return fmt.Sprintf(`{"user_id":%s,"order_id":%s,"amount":%s}`, user, order, amount)
	}
	long := strings.Repeat("x", 201)
	invalid, notFound := mockstore.CodeInvalidRequest, mockstore.CodeNotFound
	over := strconv.FormatInt(wallet.MaxAmount+1, 10)
	cases := []badinput.Case{
		// GET /accounts/{user_id}.
		{Name: "account unknown user", Method: "GET", Path: "/accounts/mallory", Code: notFound},
		{Name: "account user too long", Method: "GET", Path: "/accounts/" + long, Code: invalid},
		{Name: "account user with control", Method: "GET", Path: "/accounts/ali%00ce", Code: invalid},
		{Name: "account user not UTF-8", Method: "GET", Path: "/accounts/%FF%FE", Code: invalid},

		// POST /accounts/{user_id}/topup.
		{Name: "topup malformed JSON", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,`, Code: invalid},
		{Name: "topup not JSON", Method: "POST", Path: "/accounts/alice/topup", Body: `amount=5&reference=r2`, Code: invalid},
		{Name: "topup JSON array", Method: "POST", Path: "/accounts/alice/topup", Body: `[5,"r2"]`, Code: invalid},
		{Name: "topup JSON null", Method: "POST", Path: "/accounts/alice/topup", Body: `null`, Code: invalid},
		{Name: "topup empty body", Method: "POST", Path: "/accounts/alice/topup", Body: ``, Code: invalid},
		{Name: "topup unknown field", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"r2","user_id":"bob"}`, Code: invalid},
		{Name: "topup trailing data", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"r2"}5`, Code: invalid},
		{Name: "topup trailing bracket", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"r2"}]`, Code: invalid, Bracket: true},
		{Name: "topup body over the limit", Method: "POST", Path: "/accounts/alice/topup",
			Body: `{"amount":5,"reference":"` + strings.Repeat("r", mockstore.MaxBody) + `"}`, Code: mockstore.CodeBodyTooLarge},
		{Name: "topup amount as string", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":"5","reference":"r2"}`, Code: invalid},
		{Name: "topup amount as bool", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":true,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount fraction", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":0.5,"reference":"r2"}`, Code: invalid},
		{Name: "topup reference as number", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":2}`, Code: invalid},
		{Name: "topup no amount", Method: "POST", Path: "/accounts/alice/topup", Body: `{"reference":"r2"}`, Code: invalid},
		{Name: "topup no reference", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5}`, Code: invalid},
		{Name: "topup amount zero", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":0,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount negative", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":-5,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount min int64", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":-9223372036854775808,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount over MaxAmount", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":` + over + `,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount max int64", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":9223372036854775807,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount beyond int64", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":9223372036854775808,"reference":"r2"}`, Code: invalid},
		{Name: "topup amount 1e30", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":1e30,"reference":"r2"}`, Code: invalid},
		{Name: "topup reference empty", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":""}`, Code: invalid},
		{Name: "topup reference too long", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"` + long + `"}`, Code: invalid},
		{Name: "topup reference with NUL", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"r\u00002"}`, Code: invalid},
		{Name: "topup reference with newline", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":5,"reference":"r\n2"}`, Code: invalid},
		{Name: "topup reference reused for another amount", Method: "POST", Path: "/accounts/alice/topup", Body: `{"amount":101,"reference":"r1"}`, Code: mockstore.CodeIdempotencyConflict},
		{Name: "topup unknown user", Method: "POST", Path: "/accounts/mallory/topup", Body: `{"amount":5,"reference":"r2"}`, Code: notFound},
		{Name: "topup user too long", Method: "POST", Path: "/accounts/" + long + "/topup", Body: `{"amount":5,"reference":"r2"}`, Code: invalid},
		{Name: "topup user with control", Method: "POST", Path: "/accounts/ali%0Ace/topup", Body: `{"amount":5,"reference":"r2"}`, Code: invalid},

		// POST /charges.
		{Name: "charge no key", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5"), Code: mockstore.CodeIdempotencyKey},
		{Name: "charge blank key", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5"), Header: key("   "), Code: mockstore.CodeIdempotencyKey},
		{Name: "charge key too long", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5"), Header: key(long), Code: invalid},
		{Name: "charge key with tab", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5"), Header: key("k\tnew"), Code: invalid},
		{Name: "charge malformed JSON", Method: "POST", Path: "/charges", Body: `{"user_id":"alice"`, Header: k, Code: invalid},
		{Name: "charge not JSON", Method: "POST", Path: "/charges", Body: `<charge/>`, Header: k, Code: invalid},
		{Name: "charge JSON null", Method: "POST", Path: "/charges", Body: `null`, Header: k, Code: invalid},
		{Name: "charge empty body", Method: "POST", Path: "/charges", Body: ``, Header: k, Code: invalid},
		{Name: "charge unknown field", Method: "POST", Path: "/charges", Body: `{"user_id":"alice","order_id":"o2","amount":5,"currency":"USD"}`, Header: k, Code: invalid},
		{Name: "charge trailing object", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5") + `{}`, Header: k, Code: invalid},
		{Name: "charge trailing bracket", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5") + `]`, Header: k, Code: invalid, Bracket: true},
		{Name: "charge trailing brace", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "5") + `}`, Header: k, Code: invalid, Bracket: true},
		{Name: "charge body over the limit", Method: "POST", Path: "/charges",
			Body: charge(`"alice"`, `"`+strings.Repeat("o", mockstore.MaxBody)+`"`, "5"), Header: k, Code: mockstore.CodeBodyTooLarge},
		{Name: "charge user as number", Method: "POST", Path: "/charges", Body: charge(`1`, `"o2"`, "5"), Header: k, Code: invalid},
		{Name: "charge order as object", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `{}`, "5"), Header: k, Code: invalid},
		{Name: "charge amount as string", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, `"5"`), Header: k, Code: invalid},
		{Name: "charge no user", Method: "POST", Path: "/charges", Body: `{"order_id":"o2","amount":5}`, Header: k, Code: invalid},
		{Name: "charge no order", Method: "POST", Path: "/charges", Body: `{"user_id":"alice","amount":5}`, Header: k, Code: invalid},
		{Name: "charge no amount", Method: "POST", Path: "/charges", Body: `{"user_id":"alice","order_id":"o2"}`, Header: k, Code: invalid},
		{Name: "charge amount zero", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "0"), Header: k, Code: invalid},
		{Name: "charge amount negative", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o2"`, "-1"), Header: k, Code: invalid},
		{Name: "charge amount over MaxAmount", Method: "POST", Path: "/charges", Body: charge(`"dave"`, `"o2"`, over), Header: k, Code: invalid},
		{Name: "charge amount beyond int64", Method: "POST", Path: "/charges", Body: charge(`"dave"`, `"o2"`, "99999999999999999999"), Header: k, Code: invalid},
		{Name: "charge amount 1e30", Method: "POST", Path: "/charges", Body: charge(`"dave"`, `"o2"`, "1e30"), Header: k, Code: invalid},
		{Name: "charge user too long", Method: "POST", Path: "/charges", Body: charge(`"`+long+`"`, `"o2"`, "5"), Header: k, Code: invalid},
		{Name: "charge order too long", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"`+long+`"`, "5"), Header: k, Code: invalid},
		{Name: "charge order with control", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o\u001b2"`, "5"), Header: k, Code: invalid},
		{Name: "charge unknown user", Method: "POST", Path: "/charges", Body: charge(`"mallory"`, `"o2"`, "5"), Header: k, Code: notFound},
		{Name: "charge over balance", Method: "POST", Path: "/charges", Body: charge(`"bob"`, `"o2"`, "501"), Header: k, Code: mockstore.CodeInsufficientFunds},
		{Name: "charge key reused for another body", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o1"`, "11"), Header: key("k1"), Code: mockstore.CodeIdempotencyConflict},
		{Name: "charge closed order", Method: "POST", Path: "/charges", Body: charge(`"alice"`, `"o-closed"`, "5"), Header: k, Code: mockstore.CodeConflict},

		// GET /charges/{key}.
		{Name: "lookup unknown key", Method: "GET", Path: "/charges/k-new", Code: notFound},
		{Name: "lookup key too long", Method: "GET", Path: "/charges/" + long, Code: invalid},
		{Name: "lookup key with control", Method: "GET", Path: "/charges/k%01", Code: invalid},

		// POST /refunds.
		{Name: "refund malformed JSON", Method: "POST", Path: "/refunds", Body: `{"order_id":`, Code: invalid},
		{Name: "refund not JSON", Method: "POST", Path: "/refunds", Body: `order_id=o1`, Code: invalid},
		{Name: "refund JSON null", Method: "POST", Path: "/refunds", Body: `null`, Code: invalid},
		{Name: "refund empty body", Method: "POST", Path: "/refunds", Body: ``, Code: invalid},
		{Name: "refund unknown field", Method: "POST", Path: "/refunds", Body: `{"order_id":"o1","amount":10}`, Code: invalid},
		{Name: "refund trailing data", Method: "POST", Path: "/refunds", Body: `{"order_id":"o1"}{"order_id":"o1"}`, Code: invalid},
		{Name: "refund trailing brace", Method: "POST", Path: "/refunds", Body: `{"order_id":"o2"}}`, Code: invalid, Bracket: true},
		{Name: "refund body over the limit", Method: "POST", Path: "/refunds", Body: `{"order_id":"` + strings.Repeat("o", mockstore.MaxBody) + `"}`, Code: mockstore.CodeBodyTooLarge},
		{Name: "refund order as number", Method: "POST", Path: "/refunds", Body: `{"order_id":1}`, Code: invalid},
		{Name: "refund no order", Method: "POST", Path: "/refunds", Body: `{}`, Code: invalid},
		{Name: "refund order too long", Method: "POST", Path: "/refunds", Body: `{"order_id":"` + long + `"}`, Code: invalid},
		{Name: "refund order with control", Method: "POST", Path: "/refunds", Body: `{"order_id":"o1\r"}`, Code: invalid},

		// Wrong methods and unknown paths.
		{Name: "put account", Method: "PUT", Path: "/accounts/alice", Body: `{"balance":1}`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get topup", Method: "GET", Path: "/accounts/alice/topup", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get charges", Method: "GET", Path: "/charges", Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete a charge", Method: "DELETE", Path: "/charges/k1", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get refunds", Method: "GET", Path: "/refunds", Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "accounts collection", Method: "GET", Path: "/accounts", Code: notFound},
		{Name: "account without user", Method: "GET", Path: "/accounts/", Code: notFound},
		{Name: "deeper topup path", Method: "POST", Path: "/accounts/alice/topup/r2", Body: `{"amount":5,"reference":"r2"}`, Code: notFound},
		{Name: "refund by path", Method: "POST", Path: "/refunds/o1", Code: notFound},
		{Name: "unknown path", Method: "GET", Path: "/nope", Code: notFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/charges", Code: notFound},

		// The audit handler.
		{Name: "audit totals wrong method", Method: "POST", Path: "/audit/totals", Body: `{}`, Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit charges wrong method", Method: "DELETE", Path: "/audit/charges", Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: notFound},
		{Name: "API not on the audit", Method: "POST", Path: "/refunds", Body: `{"order_id":"o1"}`, Audit: true, Code: notFound},
	}
	state := func(tb testing.TB) string { return walletState(tb, e, raw) }
	badinput.Run(t, badinput.Target{API: e.api.URL, Audit: e.audit.URL, State: state}, cases)
	// What the cases spoiled works when it is right: nothing above used k-new
	// or r2, or closed o2.
	if _, err := e.c.Topup(ctx, "alice", 5, "r2"); err != nil {
		t.Errorf("Topup r2 after bad input: %v", err)
	}
	if ch, err := e.c.Charge(ctx, "k-new", wallet.ChargeRequest{UserID: "alice", OrderID: "o2", Amount: 5}); err != nil || ch.Replayed {
		t.Errorf("Charge k-new after bad input = %+v, %v", ch, err)
	}
	checkLedger(t, e.totals(t))
}

// TestBadInputBalanceOverflow: a top-up that would take a balance past the
// largest int64 is refused, and nothing is written.
func TestBadInputBalanceOverflow(t *testing.T) {
	e := newEnv(t, mockstore.User{ID: "midas", Balance: math.MaxInt64 - 5})
	raw := openRaw(t, e.path)
	before := walletState(t, e, raw)
	a := badinput.Send(t, "POST", e.api.URL+"/accounts/midas/topup", `{"amount":10,"reference":"more"}`, nil)
	badinput.WantRefusal(t, a, mockstore.CodeInvalidRequest)
	if after := walletState(t, e, raw); after != before {
		t.Errorf("an overflowing top-up changed the ledger:\nbefore %s\nafter  %s", before, after)
	}
	if b := e.balance(t, "midas"); b != math.MaxInt64-5 {
		t.Errorf("balance %d, want %d", b, int64(math.MaxInt64-5))
	}
}

// walletState returns the audit (totals and charges) and every row of the
// ledger, in a form that compares with ==.
func walletState(tb testing.TB, e *env, raw *sql.DB) string {
	tb.Helper()
	return fmt.Sprintf("totals %+v; charges %+v; %s", e.totals(tb), e.chargeRecords(tb), badinput.Tables(tb, raw))
}
