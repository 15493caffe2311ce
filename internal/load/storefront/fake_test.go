package storefront

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// fake is a storefront of canned answers, for the rules the real one
// cannot be made to break: the gateway's routes and the OTP inbox on one
// server, each answered by a handler a test may replace.
type fake struct {
	URL string

	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	reqs     []fakeRequest
}

// fakeRequest is one request the fake received.
type fakeRequest struct {
	route  string
	path   string
	at     time.Time
	header http.Header
	body   []byte
}

// decode decodes the request's JSON body into a map.
func (r fakeRequest) decode(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("%s: body %q: %v", r.route, r.body, err)
	}
	return m
}

// The fake's users and IDs.
const (
	fakeUser  = "u1"
	fakePhone = "+6281100000001"
	fakeToken = "token-1"
)

// fakeRoutes are the routes the fake serves.
var fakeRoutes = []string{
	"POST /api/v1/login", "POST /api/v1/login/verify", "POST /api/v1/login/resend", "POST /api/v1/logout",
	"GET /inbox/{phone}", "GET /api/v1/me", "GET /api/v1/products", "GET /api/v1/cart", "POST /api/v1/cart/items",
	"DELETE /api/v1/cart/items/{id}", "GET /api/v1/wallet", "POST /api/v1/wallet/topup", "POST /api/v1/checkout",
	"GET /api/v1/orders/{id}", "POST /api/v1/wallet/pay", "GET /api/v1/food/restaurants", "POST /api/v1/food/orders",
	"GET /api/v1/food/orders/{id}", "POST /api/v1/food/orders/{id}/messages", "GET /api/v1/food/restaurants/{id}/orders",
	"POST /api/v1/food/orders/{id}/accept", "GET /api/v1/food/offers", "POST /api/v1/food/orders/{id}/take",
}

// newFake starts a fake whose every route answers as a healthy storefront
// does for fakeUser: the code is in the inbox at once, the order is paid
// at once, the food order is assigned at once.
func newFake(tb testing.TB) *fake {
	tb.Helper()
	f := &fake{handlers: map[string]http.HandlerFunc{
		"POST /api/v1/login":        reply(http.StatusAccepted, `{"login_id":"L1","expires_in_s":300,"resend_after_s":30}`),
		"GET /inbox/{phone}":        reply(http.StatusOK, `[{"message_id":"m1","channel":"sms","code":"123456","login_id":"L1"}]`),
		"POST /api/v1/login/verify": reply(http.StatusOK, `{"token":"`+fakeToken+`","user_id":"`+fakeUser+`"}`),
		"POST /api/v1/login/resend": reply(http.StatusAccepted, `{"login_id":"L1","expires_in_s":300,"resend_after_s":30}`),
		"POST /api/v1/logout":       reply(http.StatusNoContent, ``),
		"GET /api/v1/me":            reply(http.StatusOK, `{"user_id":"`+fakeUser+`","phone":"`+fakePhone+`"}`),
		"GET /api/v1/products": reply(http.StatusOK, `[{"id":"p1","price":1000,"weight_g":100,"size_cm":10},`+
			`{"id":"p2","price":2000,"weight_g":200,"size_cm":10}]`),
		"GET /api/v1/cart":                         reply(http.StatusOK, `{"items":[{"product_id":"p1","qty":1,"price":1000}],"total":1000}`),
		"POST /api/v1/cart/items":                  reply(http.StatusOK, `{"items":[]}`),
		"DELETE /api/v1/cart/items/{id}":           reply(http.StatusOK, `{"items":[]}`),
		"GET /api/v1/wallet":                       reply(http.StatusOK, `{"balance":5000000,"currency":"IDR"}`),
		"POST /api/v1/wallet/topup":                reply(http.StatusOK, `{"balance":7000000}`),
		"POST /api/v1/checkout":                    reply(http.StatusCreated, `{"order_id":"o1","status":"paid","amount":1000}`),
		"GET /api/v1/orders/{id}":                  reply(http.StatusOK, `{"order_id":"o1","status":"paid","amount":1000}`),
		"POST /api/v1/wallet/pay":                  reply(http.StatusOK, `{"payment_id":"pay1","amount":20000}`),
		"GET /api/v1/food/restaurants":             reply(http.StatusOK, `[{"id":"r01","name":"R","menu":[{"id":"m1","price":1000},{"id":"m2","price":2000}]}]`),
		"POST /api/v1/food/orders":                 reply(http.StatusCreated, `{"order_id":"f1","user_id":"`+fakeUser+`","status":"placed"}`),
		"GET /api/v1/food/orders/{id}":             reply(http.StatusOK, `{"order_id":"f1","user_id":"`+fakeUser+`","status":"assigned"}`),
		"POST /api/v1/food/orders/{id}/messages":   reply(http.StatusCreated, `{"message_id":"c1","order_id":"f1","from":"`+fakeUser+`"}`),
		"GET /api/v1/food/restaurants/{id}/orders": reply(http.StatusOK, `[]`),
		"POST /api/v1/food/orders/{id}/accept":     reply(http.StatusOK, `{}`),
		"GET /api/v1/food/offers":                  reply(http.StatusOK, `[]`),
		"POST /api/v1/food/orders/{id}/take":       reply(http.StatusOK, `{}`),
	}}
	mux := http.NewServeMux()
	for _, route := range fakeRoutes {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			f.mu.Lock()
			f.reqs = append(f.reqs, fakeRequest{route: route, path: r.URL.Path, at: time.Now(), header: r.Header.Clone(), body: body})
			h := f.handlers[route]
			f.mu.Unlock()
			h(w, r)
		})
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// on makes route answer with h from now on.
func (f *fake) on(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.handlers[route]; !ok {
		panic("fake: no route " + route)
	}
	f.handlers[route] = h
}

// requests returns the requests route received, in order.
func (f *fake) requests(route string) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.reqs {
		if r.route == route {
			out = append(out, r)
		}
	}
	return out
}

// all returns every request the fake received, in order.
func (f *fake) all() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// reply answers status with body (JSON) and the header pairs given.
func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sequence answers with each handler in turn, the last one ever after.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// noAnswer closes the connection without answering.
func noAnswer(w http.ResponseWriter, r *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = c.Close()
	}
}

// fakeData is the seed data of the fake: fakeUser, a restaurant with its
// merchant and a driver.
func fakeData() Data {
	d := PhoneData()
	d.Users = []mockstore.User{
		{ID: fakeUser, Phone: fakePhone, Status: mockstore.StatusActive},
		{ID: "m1", Phone: "+6281100000002", Status: mockstore.StatusActive},
		{ID: "d1", Phone: "+6281100000003", Status: mockstore.StatusActive},
	}
	d.Restaurants = []mockstore.Restaurant{{ID: "r01", Owner: "m1"}}
	d.Drivers = []string{"d1"}
	return d
}

// fakeScript returns the script of settings s against f.
func fakeScript(tb testing.TB, f *fake, s Settings) *Script {
	tb.Helper()
	sc, err := New(Config{Gateway: f.URL, Inbox: f.URL, Data: fakeData(), Settings: s})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return sc
}

// fakeShopper returns the shopper of VU 1 against f, with settings s.
func fakeShopper(tb testing.TB, f *fake, s Settings, rec *recorder) *shopper {
	tb.Helper()
	return fakeScript(tb, f, s).NewUser(newVU(tb, 1, rec)).(*shopper)
}

// loggedIn returns a shopper of f who holds a session, with nothing
// recorded yet.
func loggedIn(tb testing.TB, f *fake, s Settings) (*shopper, *recorder) {
	tb.Helper()
	rec := newRecorder()
	u := fakeShopper(tb, f, s, rec)
	u.token, u.userID = fakeToken, fakeUser
	return u, rec
}
