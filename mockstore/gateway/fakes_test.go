package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/wallet"
)

// ---- a link we can cut: a TCP forwarder between the gateway and an upstream

type linkMode int32

const (
	linkPass       linkMode = iota // forward to the target
	linkReset                      // accept, then reset the connection
	linkBlackhole                  // accept, then never answer
	linkLoseAnswer                 // forward the request, reset the connection when the answer comes back
)

// link is a tiny in-test Toxiproxy: a TCP forwarder whose mode can change at
// any time (changing it cuts every open connection). It counts the
// connections it accepted, which are the gateway's attempts.
type link struct {
	ln       net.Listener
	target   string
	mode     atomic.Int32
	accepted atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// newLink starts a link to target ("host:port"; "" for a link that is never
// in pass mode).
func newLink(tb testing.TB, target string, mode linkMode) *link {
	tb.Helper()
	l := &link{target: target, conns: map[net.Conn]struct{}{}}
	l.mode.Store(int32(mode))
	tb.Cleanup(l.close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	l.ln = ln
	go l.serve()
	return l
}

func (l *link) URL() string { return "http://" + l.ln.Addr().String() }

// set switches the mode and cuts every open connection.
func (l *link) set(m linkMode) {
	l.mode.Store(int32(m))
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
		delete(l.conns, c)
	}
}

func (l *link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *link) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if l.ln != nil {
		_ = l.ln.Close()
	}
	l.set(linkMode(l.mode.Load()))
}

func (l *link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.accepted.Add(1)
		switch linkMode(l.mode.Load()) {
		case linkReset:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		case linkBlackhole:
			l.track(c) // held open until the mode changes or the test ends
		case linkLoseAnswer:
			go l.loseAnswer(c)
		default:
			go l.pipe(c)
		}
	}
}

// loseAnswer forwards what c sends to the target and, once the target starts
// answering (it has done the work), resets c instead: the caller never
// learns the outcome.
func (l *link) loseAnswer(c net.Conn) {
	if !l.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", l.target, 2*time.Second)
	if err != nil || !l.track(up) {
		_ = c.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c) }()
	var b [1]byte
	_, _ = up.Read(b[:])
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	_ = up.Close()
}

func (l *link) pipe(c net.Conn) {
	if !l.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", l.target, 2*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	if !l.track(up) {
		_ = c.Close()
		return
	}
	go func() {
		_, _ = io.Copy(up, c)
		_ = up.Close()
	}()
	_, _ = io.Copy(c, up)
	_ = c.Close()
}

// hostOf returns the host:port of an httptest server.
func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// ---- fake upstreams, small and controllable

// fakeAuth is an auth service with one code ("123456") and tokens
// "tok-<n>". validateErr, when set, is answered to every validate.
type fakeAuth struct {
	mu          sync.Mutex
	sessions    map[string]auth.Identity
	next        int
	validateErr *mockstore.Error
	switchUser  bool // validate answers with another user (a store mix-up)
	calls       map[string]int
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{sessions: map[string]auth.Identity{}, calls: map[string]int{}}
}

func (f *fakeAuth) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		f.count("login")
		var req struct{ Phone, Channel string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeInvalidRequest, "bad body"))
			return
		}
		mockstore.WriteJSON(w, http.StatusAccepted, auth.LoginStarted{LoginID: "L-" + strings.TrimPrefix(req.Phone, "+"), ExpiresInS: 300, ResendAfterS: 30})
	})
	mux.HandleFunc("POST /login/verify", func(w http.ResponseWriter, r *http.Request) {
		f.count("verify")
		var req struct {
			LoginID string `json:"login_id"`
			Code    string `json:"code"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Code != "123456" {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeInvalidCode, "wrong code"))
			return
		}
		f.mu.Lock()
		f.next++
		tok := fmt.Sprintf("tok-%d", f.next)
		uid := fmt.Sprintf("u%05d", f.next)
		f.sessions[tok] = auth.Identity{UserID: uid, Phone: "+" + strings.TrimPrefix(req.LoginID, "L-"), Status: mockstore.StatusActive}
		f.mu.Unlock()
		mockstore.WriteJSON(w, http.StatusOK, auth.Verified{Token: tok, UserID: uid, ExpiresInS: 3600})
	})
	mux.HandleFunc("POST /login/resend", func(w http.ResponseWriter, r *http.Request) {
		f.count("resend")
		mockstore.WriteJSON(w, http.StatusAccepted, auth.LoginStarted{LoginID: "L-1", ExpiresInS: 300, ResendAfterS: 30})
	})
	mux.HandleFunc("POST /sessions/validate", func(w http.ResponseWriter, r *http.Request) {
		f.count("validate")
		var req struct{ Token string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		id, ok := f.sessions[req.Token]
		verr, sw := f.validateErr, f.switchUser
		f.mu.Unlock()
		switch {
		case verr != nil:
			mockstore.WriteError(w, verr)
		case !ok:
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeUnauthenticated, "unknown session"))
		case sw:
			mockstore.WriteJSON(w, http.StatusOK, auth.Identity{UserID: "u99999", Phone: "+62000", Status: mockstore.StatusActive})
		default:
			mockstore.WriteJSON(w, http.StatusOK, id)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		f.count("logout")
		var req struct{ Token string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		delete(f.sessions, req.Token)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (f *fakeAuth) count(route string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[route]++
}

func (f *fakeAuth) set(fn func(f *fakeAuth)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// fakeCheckout has two products, carts in memory and orders.
type fakeCheckout struct {
	mu         sync.Mutex
	carts      map[string]map[string]int
	orders     map[string]checkout.CheckoutRequest
	wrongOwner bool // answers carts as somebody else's
	writes     int  // calls that change state
}

var fakeProducts = []mockstore.Product{
	{ID: "p001", Name: "Batik shirt", Price: 15_000, WeightG: 300, SizeCM: 30},
	{ID: "p002", Name: "Rice cooker", Price: 40_000, WeightG: 2_000, SizeCM: 40},
}

func newFakeCheckout() *fakeCheckout {
	return &fakeCheckout{carts: map[string]map[string]int{}, orders: map[string]checkout.CheckoutRequest{}}
}

func (f *fakeCheckout) cart(owner string) checkout.Cart {
	c := checkout.Cart{Owner: owner, Items: []checkout.CartItem{}}
	if f.wrongOwner {
		c.Owner = "u:u99999"
	}
	for _, p := range fakeProducts {
		if q := f.carts[owner][p.ID]; q > 0 {
			c.Items = append(c.Items, checkout.CartItem{ProductID: p.ID, Qty: q, Price: p.Price})
			c.Total += int64(q) * p.Price
		}
	}
	return c
}

func (f *fakeCheckout) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		mockstore.WriteJSON(w, http.StatusOK, fakeProducts)
	})
	mux.HandleFunc("GET /carts/{owner}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		mockstore.WriteJSON(w, http.StatusOK, f.cart(r.PathValue("owner")))
	})
	mux.HandleFunc("POST /carts/{owner}/items", func(w http.ResponseWriter, r *http.Request) {
		var req checkout.AddItemRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.writes++
		if req.ProductID != "p001" && req.ProductID != "p002" {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeUnknownProduct, "no product %q", req.ProductID))
			return
		}
		owner := r.PathValue("owner")
		if f.carts[owner] == nil {
			f.carts[owner] = map[string]int{}
		}
		f.carts[owner][req.ProductID] += req.Qty
		mockstore.WriteJSON(w, http.StatusOK, f.cart(owner))
	})
	mux.HandleFunc("DELETE /carts/{owner}/items/{pid}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.writes++
		delete(f.carts[r.PathValue("owner")], r.PathValue("pid"))
		mockstore.WriteJSON(w, http.StatusOK, f.cart(r.PathValue("owner")))
	})
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		var req checkout.CheckoutRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.writes++
		if req.UserStatus == mockstore.StatusRestricted {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeAccountRestricted, "restricted"))
			return
		}
		id := "o-" + r.Header.Get(IdempotencyHeader)
		f.orders[id] = req
		mockstore.WriteJSON(w, http.StatusCreated, checkout.Order{OrderID: id, Status: mockstore.OrderPaid, Amount: f.cart(req.Owner).Total})
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		o, ok := f.orders[r.PathValue("id")]
		if !ok || o.UserID != r.URL.Query().Get("user_id") {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeNotFound, "no such order"))
			return
		}
		mockstore.WriteJSON(w, http.StatusOK, checkout.Order{OrderID: r.PathValue("id"), Status: mockstore.OrderPaid, Amount: 1})
	})
	return mux
}

// fakeWallet keeps balances in memory; top-ups are idempotent by reference.
type fakeWallet struct {
	mu       sync.Mutex
	balances map[string]int64
	refs     map[string]int64
	now      func() time.Time
}

func newFakeWallet(now func() time.Time) *fakeWallet {
	return &fakeWallet{balances: map[string]int64{}, refs: map[string]int64{}, now: now}
}

func (f *fakeWallet) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{uid}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		uid := r.PathValue("uid")
		mockstore.WriteJSON(w, http.StatusOK, wallet.Account{UserID: uid, Balance: 500_000 + f.balances[uid], Currency: mockstore.Currency, AsOf: f.now()})
	})
	mux.HandleFunc("POST /accounts/{uid}/topup", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Amount    int64  `json:"amount"`
			Reference string `json:"reference"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		uid := r.PathValue("uid")
		key := uid + "/" + req.Reference
		if _, ok := f.refs[key]; ok {
			mockstore.WriteJSON(w, http.StatusOK, wallet.Topup{Balance: 500_000 + f.balances[uid], TopupID: key, Replayed: true})
			return
		}
		f.refs[key] = req.Amount
		f.balances[uid] += req.Amount
		mockstore.WriteJSON(w, http.StatusOK, wallet.Topup{Balance: 500_000 + f.balances[uid], TopupID: key})
	})
	return mux
}
