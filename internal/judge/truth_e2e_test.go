package judge_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/gateway"
)

// lyingGateway stands in front of a real gateway, as a team's own code path
// would, and passes every request on — except that, while lie is set (the
// test has taken the wallet down), it answers every checkout
// "insufficient_funds" itself: the outage shown as a refusal, by a path the
// gateway knows nothing of and so cannot count. While drain is set, it
// first spends the shopper's wallet down to 1 by a real QR payment (as the
// shopper's other phone might), so that the storefront's own refusal that
// follows is true.
type lyingGateway struct {
	target string
	proxy  *httputil.ReverseProxy
	hc     *http.Client
	lie    atomic.Bool
	drain  atomic.Bool
	lies   atomic.Int64

	mu   sync.Mutex
	errs []string
}

func newLyingGateway(tb testing.TB, target string) (*lyingGateway, string) {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	g := &lyingGateway{target: strings.TrimRight(target, "/"), proxy: httputil.NewSingleHostReverseProxy(u), hc: mockstore.NewClient(5 * time.Second)}
	srv := httptest.NewServer(g)
	tb.Cleanup(srv.Close)
	return g, srv.URL
}

func (g *lyingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/checkout" {
		if g.lie.Load() {
			g.lies.Add(1)
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeInsufficientFunds, "your balance is too low for this order"))
			return
		}
		if g.drain.Load() {
			g.spend(r)
		}
	}
	g.proxy.ServeHTTP(w, r)
}

// spend pays a restaurant all but 1 of the shopper's balance, through the
// gateway's public API with the shopper's own session.
func (g *lyingGateway) spend(r *http.Request) {
	hdr := map[string]string{"Authorization": r.Header.Get("Authorization")}
	var w struct {
		Balance int64 `json:"balance"`
	}
	if err := mockstore.Call(r.Context(), g.hc, http.MethodGet, g.target+"/api/v1/wallet", nil, &w, hdr); err != nil {
		g.fail("read the wallet: " + err.Error())
		return
	}
	if w.Balance <= 1 {
		return
	}
	key := make([]byte, 8)
	_, _ = rand.Read(key)
	hdr["Idempotency-Key"] = "drain-" + hex.EncodeToString(key)
	pay := map[string]any{"qr": gateway.QRPrefix + "r01", "amount": w.Balance - 1}
	if err := mockstore.Call(r.Context(), g.hc, http.MethodPost, g.target+"/api/v1/wallet/pay", pay, nil, hdr); err != nil {
		g.fail("spend the wallet: " + err.Error())
	}
}

func (g *lyingGateway) fail(msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, msg)
}

// noRecorder drops the series: this test judges from observations.
type noRecorder struct{}

func (noRecorder) Add(time.Time, string, string, load.Tags, float64) {}

// TestFalseRefusalByAPathTheGatewayDoesNotCount runs the storefront's
// shoppers through a lying gateway wrapper against a real in-process
// storefront, then judges no_false_refusal from their observations and
// the stores' audits. The refusals the wrapper made up while the wallet
// was down are caught, though the gateway counted none; the true ones — a
// shopper whose wallet was really spent, an address the courier really
// does not serve — are not flagged.
func TestFalseRefusalByAPathTheGatewayDoesNotCount(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := env.StartInproc(ctx, env.Options{Seed: 5, Shoppers: 12})
	t.Cleanup(func() {
		if e != nil {
			_ = e.Close()
		}
	})
	if err != nil {
		t.Fatalf("start the storefront: %v", err)
	}
	info := e.Info()
	g, front := newLyingGateway(t, info.Gateway)

	obsPath := filepath.Join(t.TempDir(), storefront.ObservationsFile)
	f, err := os.Create(obsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	obs := storefront.NewObservationLog(f)
	settings := storefront.DefaultSettings()
	settings.Think, settings.Logout, settings.WhatsApp = 0, 0, 0
	script := func(data storefront.Data) *storefront.Script {
		s, err := storefront.New(storefront.Config{Gateway: front, Inbox: info.OTPInbox, Data: data, Settings: settings, Observe: obs.Observe})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	honest := script(storefront.NewData(e.Dataset()))
	users := map[int]load.User{}
	visit := func(sc *storefront.Script, vuID int, n int64) {
		u, ok := users[vuID]
		if !ok || sc != honest {
			vu := load.NewVU(vuID, load.VUConfig{Timeout: 5 * time.Second, Recorder: noRecorder{}, Seed: 7})
			t.Cleanup(vu.Close)
			u = sc.NewUser(vu)
			if sc == honest {
				users[vuID] = u
			}
		}
		u.Iterate(ctx, load.Iteration{N: n})
	}

	start := time.Now()
	var n int64
	// The wallet down for checkout, and the wrapper's lie.
	fc := fault.NewClient(info.Toxiproxy)
	if err := fc.SetEnabled(ctx, info.Links["checkout->wallet"], false); err != nil {
		t.Fatal(err)
	}
	g.lie.Store(true)
	for vu := 1; vu <= 3; vu++ {
		visit(honest, vu, n)
		n++
	}
	g.lie.Store(false)
	if err := fc.SetEnabled(ctx, info.Links["checkout->wallet"], true); err != nil {
		t.Fatal(err)
	}
	lies := int(g.lies.Load())
	if lies != 3 {
		t.Fatalf("the wrapper told %d lies, want 3 (one per visit)", lies)
	}
	liesEnd := len(readObservations(t, obsPath))

	// True refusals: a wallet really spent, an address really not served.
	g.drain.Store(true)
	visit(honest, 4, n)
	n++
	g.drain.Store(false)
	lying := storefront.NewData(e.Dataset())
	for i, c := range lying.Couriers {
		if c.ID == "jne" {
			c.Areas = []string{"papua"} // the app believes it; jne does not go there
			lying.Couriers = []mockstore.Courier{c}
			break
		}
		if i == len(lying.Couriers)-1 {
			t.Fatal("the dataset has no courier jne")
		}
	}
	visit(script(lying), 5, n)
	n++
	// Enough honest checkouts for the check to judge.
	for i := range 24 {
		visit(honest, 1+i%6, n)
		n++
	}
	g.mu.Lock()
	if len(g.errs) > 0 {
		t.Fatalf("the wrapper could not spend the wallet: %v", g.errs)
	}
	g.mu.Unlock()
	if err := obs.Err(); err != nil {
		t.Fatal(err)
	}
	all := readObservations(t, obsPath)

	audit, err := env.ReadAudit(ctx, info.Audit, nil)
	if err != nil {
		t.Fatalf("read the audits: %v", err)
	}
	if audit.Gateway.FalseRefusals != 0 {
		t.Fatalf("the gateway counted %d false refusals of its own, want 0: the lies were not its own", audit.Gateway.FalseRefusals)
	}
	check := scenario.Check{Kind: scenario.CheckExperience, Subject: scenario.ExpNoFalseRefusal, Name: scenario.ExpNoFalseRefusal}
	run := func(o []storefront.Observation) judge.Verdict {
		return judge.Decide(&judge.Run{Timeline: judge.Timeline{Start: start, Duration: time.Minute}, Audit: audit, Observations: o}, check)
	}

	t.Run("the lies are caught", func(t *testing.T) {
		v := run(all)
		if v.Status != judge.Fail || v.Evidence.Count != lies {
			t.Fatalf("verdict %s, want fail with %d false refusals", v, lies)
		}
		for _, want := range []string{"2 true and 3 false by the stores", "the gateway counted 0 false refusals of its own — the two disagree"} {
			if !strings.Contains(v.Reason, want) {
				t.Errorf("reason %q does not say %q", v.Reason, want)
			}
		}
		if !strings.Contains(v.Evidence.First, "insufficient_funds") || !strings.Contains(v.Evidence.First, "the ledger held at least") {
			t.Errorf("first offence %q does not show the ledger against the refusal", v.Evidence.First)
		}
	})
	t.Run("true refusals are not flagged", func(t *testing.T) {
		truths := all[liesEnd:]
		codes := map[string]int{}
		for _, o := range truths {
			if o.Kind == storefront.ObserveCheckout && o.Code != "" {
				codes[o.Code]++
			}
		}
		if codes[string(mockstore.CodeInsufficientFunds)] != 1 || codes[string(mockstore.CodeAddressNotServed)] != 1 {
			t.Fatalf("refusals the shoppers were given after the lies: %v, want one insufficient_funds and one address_not_served", codes)
		}
		v := run(truths)
		if v.Status != judge.Pass || v.Got != 0 || !strings.Contains(v.Reason, "2 refusals, 2 true and 0 false") {
			t.Fatalf("verdict %s, want pass with the 2 true refusals judged", v)
		}
	})
}

func readObservations(tb testing.TB, path string) []storefront.Observation {
	tb.Helper()
	o, err := storefront.ReadObservations(path)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}
