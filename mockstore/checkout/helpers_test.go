package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/wallet"
)

// testDataset is the seeded world with one rich shopper (u00001), who can
// pay for an order several times over, and one poor one (u00002), whose
// balance covers no product.
func testDataset() mockstore.Dataset {
	d := mockstore.Seed(7, 20)
	d.Users[0].Balance = 10_000_000
	d.Users[1].Balance = 1_000
	return d
}

// testWallet is a real wallet.Service served on loopback.
type testWallet struct {
	svc      *wallet.Service
	url      string // its API
	auditURL string // its audit handler
	client   *wallet.Client
}

func startWallet(tb testing.TB, d mockstore.Dataset) *testWallet {
	tb.Helper()
	svc, err := wallet.New(context.Background(), wallet.Config{DBPath: filepath.Join(tb.TempDir(), "wallet.db"), Dataset: d})
	if err != nil {
		tb.Fatalf("start wallet: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	api := httptest.NewServer(svc.Handler())
	tb.Cleanup(api.Close)
	audit := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(audit.Close)
	return &testWallet{svc: svc, url: api.URL, auditURL: audit.URL, client: wallet.NewClient(api.URL, nil)}
}

// chargesFor returns the wallet's charges for orderID.
func (w *testWallet) chargesFor(tb testing.TB, orderID string) []mockstore.ChargeRecord {
	tb.Helper()
	all, err := wallet.ReadCharges(context.Background(), nil, w.auditURL)
	if err != nil {
		tb.Fatalf("read wallet charges: %v", err)
	}
	var out []mockstore.ChargeRecord
	for _, c := range all {
		if c.OrderID == orderID {
			out = append(out, c)
		}
	}
	return out
}

func (w *testWallet) balance(tb testing.TB, userID string) int64 {
	tb.Helper()
	a, err := w.client.Account(context.Background(), userID)
	if err != nil {
		tb.Fatalf("read balance of %s: %v", userID, err)
	}
	return a.Balance
}

// env is a checkout service under test with its wallet.
type env struct {
	svc      *Service
	cfg      Config
	url      string
	auditURL string
	client   *Client
	wallet   *testWallet
	fwd      *forwarder // between checkout and the wallet; nil when direct
}

type envOption func(*Config)

func withFeatures(on ...mockstore.Feature) envOption {
	return func(c *Config) {
		c.Features = mockstore.Features{}
		for _, f := range on {
			c.Features[f] = true
		}
	}
}

// allPaymentFeatures are the three defences this service has.
var allPaymentFeatures = []mockstore.Feature{mockstore.IdempotentPayments, mockstore.PaymentReconciliation, mockstore.RefundOutbox}

func without(f mockstore.Feature) envOption {
	var on []mockstore.Feature
	for _, x := range allPaymentFeatures {
		if x != f {
			on = append(on, x)
		}
	}
	return withFeatures(on...)
}

// newEnv starts a wallet, a forwarder in front of it when viaForwarder, and a
// checkout service with every payment feature on unless options say
// otherwise. Worker periods are short so that tests settle fast.
func newEnv(tb testing.TB, viaForwarder bool, opts ...envOption) *env {
	tb.Helper()
	d := testDataset()
	e := &env{wallet: startWallet(tb, d)}
	walletURL := e.wallet.url
	if viaForwarder {
		e.fwd = startForwarder(tb, strings.TrimPrefix(e.wallet.url, "http://"))
		walletURL = "http://" + e.fwd.addr()
	}
	// No keep-alive: each call has its own connection, so Go's transport
	// never replays a request on a reused one behind our back, and the
	// forwarder's drops hit exactly the calls a test counts.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	tb.Cleanup(tr.CloseIdleConnections)
	e.cfg = Config{
		DBPath:         filepath.Join(tb.TempDir(), "checkout.db"),
		WalletURL:      walletURL,
		HTTPClient:     &http.Client{Transport: tr, Timeout: 5 * time.Second},
		Dataset:        d,
		Features:       mockstore.Features{},
		PaymentTimeout: 3 * time.Second,
		RefundSLA:      2 * time.Second,
		PendingBound:   time.Minute,
		ReconcileEvery: 20 * time.Millisecond,
	}
	withFeatures(allPaymentFeatures...)(&e.cfg)
	for _, o := range opts {
		o(&e.cfg)
	}
	e.start(tb)
	return e
}

// start (re)starts the service on e.cfg with fresh listeners.
func (e *env) start(tb testing.TB) {
	tb.Helper()
	svc, err := New(context.Background(), e.cfg)
	if err != nil {
		tb.Fatalf("start checkout: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	api := httptest.NewServer(svc.Handler())
	tb.Cleanup(api.Close)
	audit := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(audit.Close)
	e.svc, e.url, e.auditURL = svc, api.URL, audit.URL
	e.client = NewClient(api.URL, nil)
}

func (e *env) orders(tb testing.TB) []mockstore.OrderRecord {
	tb.Helper()
	recs, err := ReadOrders(context.Background(), nil, e.auditURL)
	if err != nil {
		tb.Fatalf("read orders: %v", err)
	}
	return recs
}

func (e *env) record(tb testing.TB, orderID string) mockstore.OrderRecord {
	tb.Helper()
	for _, r := range e.orders(tb) {
		if r.OrderID == orderID {
			return r
		}
	}
	tb.Fatalf("order %s not in the audit", orderID)
	return mockstore.OrderRecord{}
}

func (e *env) fill(tb testing.TB, owner string, items map[string]int) {
	tb.Helper()
	for id, qty := range items {
		if _, err := e.client.AddItem(context.Background(), owner, id, qty); err != nil {
			tb.Fatalf("add %d of %s to %s: %v", qty, id, owner, err)
		}
	}
}

// buy fills userID's cart with one cheap light product and returns a
// request that checks it out with jne to jakarta by wallet.
func (e *env) buy(tb testing.TB, userID string) CheckoutRequest {
	tb.Helper()
	e.fill(tb, "u:"+userID, map[string]int{"p001": 1})
	return CheckoutRequest{UserID: userID, UserStatus: mockstore.StatusActive, Owner: "u:" + userID,
		Address: mockstore.Address{Line: "Jl. Sudirman 1", Area: "jakarta"}, Courier: "jne", PaymentMethod: mockstore.PaymentWallet}
}

// waitFor polls cond until it holds or the deadline passes; what describes
// the last state seen, for the failure message.
func waitFor(tb testing.TB, within time.Duration, cond func() (ok bool, what string)) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not reached within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStatus waits until order id is in status (and, when refund is not "",
// has that refund status).
func (e *env) waitStatus(tb testing.TB, userID, id, status, refund string) Order {
	tb.Helper()
	var o Order
	waitFor(tb, 15*time.Second, func() (bool, string) {
		var err error
		o, err = e.client.Order(context.Background(), userID, id)
		if err != nil {
			return false, err.Error()
		}
		got := o.Status
		if o.Refund != nil {
			got += "/" + o.Refund.Status
		}
		return o.Status == status && (refund == "" || o.Refund != nil && o.Refund.Status == refund), "order is " + got
	})
	return o
}

// call sends a raw request and returns the status and the decoded error
// envelope's code ("" for a 2xx answer). body may be a string (sent as is)
// or a value (encoded as JSON); nil sends none.
func call(tb testing.TB, method, url string, body any, headers map[string]string) (int, mockstore.Code, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	if resp.StatusCode < 300 {
		return resp.StatusCode, "", raw
	}
	var env struct {
		Error *mockstore.Error `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil {
		tb.Fatalf("%s %s: %d answer is not the error envelope: %q", method, url, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 500 && resp.Header.Get("Retry-After") == "" && env.Error.Code != mockstore.CodeInternal {
		tb.Errorf("%s %s: %d without Retry-After", method, url, resp.StatusCode)
	}
	return resp.StatusCode, env.Error.Code, raw
}

// errCode returns the *mockstore.Error code of err, or "" when err is nil,
// or fails the test when err is of another kind.
func errCode(tb testing.TB, err error) mockstore.Code {
	tb.Helper()
	if err == nil {
		return ""
	}
	var e *mockstore.Error
	if !errors.As(err, &e) {
		tb.Fatalf("want an answered error, got %T: %v", err, err)
	}
	return e.Code
}

// forwarder is a TCP forwarder between checkout and the wallet that can lose
// the wallet's answers: the request reaches the wallet (which acts on it),
// and the answer's first bytes are replaced by a connection reset. It can
// also refuse to forward at all (the wallet is unreachable).
type forwarder struct {
	ln       net.Listener
	target   string
	dropNext atomic.Int64 // drop this many answers, then pass
	dropAll  atomic.Bool  // drop every answer while set
	refuse   atomic.Bool  // reset connections without forwarding while set
	dropped  atomic.Int64
	wg       sync.WaitGroup
}

func startForwarder(tb testing.TB, target string) *forwarder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	f := &forwarder{ln: ln, target: target}
	tb.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.serve(c.(*net.TCPConn)) }()
		}
	}()
	return f
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

// loseAnswer decides, when an answer starts to come back, whether to drop it.
func (f *forwarder) loseAnswer() bool {
	if f.dropAll.Load() {
		return true
	}
	for {
		n := f.dropNext.Load()
		if n <= 0 {
			return false
		}
		if f.dropNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func reset(c *net.TCPConn) {
	_ = c.SetLinger(0) // close with RST, not FIN
	_ = c.Close()
}

func (f *forwarder) serve(client *net.TCPConn) {
	if f.refuse.Load() {
		reset(client)
		return
	}
	up, err := net.DialTimeout("tcp", f.target, 2*time.Second)
	if err != nil {
		reset(client)
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, client)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	buf := make([]byte, 32<<10)
	first := true
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if first && f.loseAnswer() {
				// The wallet has answered, so it has acted; the caller
				// never learns how.
				f.dropped.Add(1)
				reset(client)
				_ = up.Close()
				<-done
				return
			}
			first = false
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = client.Close()
	<-done
}
