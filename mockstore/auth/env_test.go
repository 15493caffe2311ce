package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// waitFor is how long a test polls for asynchronous work before failing.
const waitFor = 15 * time.Second

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// forwarder is a TCP forwarder in front of an upstream that a test can cut
// (close connections) or hold (accept and not forward), the way a network
// fault would, without touching the service behind it.
type forwarder struct {
	ln     net.Listener
	target string
	done   chan struct{}

	mu      sync.Mutex
	action  int // what happens to the next new connections
	left    int // how many of them (< 0: all)
	release chan struct{}
	conns   map[net.Conn]struct{}
	held    int
	wg      sync.WaitGroup
	once    sync.Once
}

const (
	fwdPass = iota
	fwdCut
	fwdHold
)

func newForwarder(tb testing.TB, target string) *forwarder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	f := &forwarder{ln: ln, target: target, done: make(chan struct{}), release: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	tb.Cleanup(f.close)
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *forwarder) URL() string { return "http://" + f.ln.Addr().String() }

// Cut closes the next n new connections at once (n < 0: all, until Pass),
// and every open one now.
func (f *forwarder) Cut(n int) { f.set(fwdCut, n) }

// Hold keeps the next n new connections (n < 0: all, until Pass) open
// without forwarding them until Pass; open connections are closed now so
// that clients dial anew.
func (f *forwarder) Hold(n int) { f.set(fwdHold, n) }

// Pass forwards new connections and lets held ones through.
func (f *forwarder) Pass() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.action, f.left = fwdPass, 0
	close(f.release)
	f.release = make(chan struct{})
}

// Held returns how many connections are being held.
func (f *forwarder) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

func (f *forwarder) set(action, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.action, f.left = action, n
	for c := range f.conns {
		c.Close()
	}
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		action, release := f.action, f.release
		if action != fwdPass && f.left > 0 {
			if f.left--; f.left == 0 {
				f.action = fwdPass
			}
		}
		f.conns[c] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go f.handle(c, action, release)
	}
}

func (f *forwarder) handle(c net.Conn, action int, release chan struct{}) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		c.Close()
	}()
	switch action {
	case fwdCut:
		return
	case fwdHold:
		f.mu.Lock()
		f.held++
		f.mu.Unlock()
		select {
		case <-release:
		case <-f.done:
		}
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
	}
	up, err := net.Dial("tcp", f.target)
	if err != nil {
		return
	}
	defer up.Close()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		io.Copy(up, c)
		up.Close()
		c.Close()
	}()
	io.Copy(c, up)
}

func (f *forwarder) close() { f.once.Do(f.shut) }

func (f *forwarder) shut() {
	f.ln.Close()
	close(f.done)
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// env is auth with a real session store and a real OTP provider, each behind
// a forwarder, all on one fake clock.
type env struct {
	clock      *fakeClock
	ds         mockstore.Dataset
	active     mockstore.User
	restricted mockstore.User
	stranger   string // a well-formed phone nobody registered

	sess     *sessions.Service
	sessFail atomic.Bool // the store's HTTP front answers 503 to every call
	sessFwd  *forwarder
	sessAPI  *sessions.Client // direct, around the forwarder
	sessAud  string

	otpSvc *otp.Service
	otpFwd *forwarder
	inbox  *otp.Client // direct: the shopper's phone
	otpAud string

	svc   *Service
	api   *httptest.Server
	audit *httptest.Server
	c     *Client
}

// features returns the resilient profile with the given features turned off.
func features(off ...mockstore.Feature) mockstore.Features {
	f, _ := mockstore.Profile(mockstore.ProfileResilient)
	for _, n := range off {
		f[n] = false
	}
	return f
}

// newEnv starts everything. Unless mod says otherwise, sends never fall back
// (FallbackAfter is long) so that message counts are exact.
func newEnv(tb testing.TB, feats mockstore.Features, mod ...func(*Config)) *env {
	tb.Helper()
	return newBrokenEnv(tb, feats, nil, mod...)
}

// newBrokenEnv is newEnv with an auth that breaks (a function of
// export_test.go, applied before anything is served); nil breaks nothing.
func newBrokenEnv(tb testing.TB, feats mockstore.Features, breaks func(*Service), mod ...func(*Config)) *env {
	tb.Helper()
	dir := tb.TempDir()
	e := &env{clock: &fakeClock{t: time.Date(2023, 2, 6, 12, 0, 0, 0, time.UTC)}}
	e.ds = mockstore.Seed(7, 20)
	e.active, e.restricted = e.ds.Users[0], e.ds.Users[19]
	if e.restricted.Status != mockstore.StatusRestricted {
		tb.Fatalf("dataset: user 20 is %s, want restricted", e.restricted.Status)
	}
	e.stranger = "+6289900000001"

	var err error
	e.sess, err = sessions.New(context.Background(), sessions.Config{DBPath: filepath.Join(dir, "sessions.db"), Now: e.clock.Now})
	if err != nil {
		tb.Fatalf("sessions.New: %v", err)
	}
	tb.Cleanup(func() { e.sess.Close() })
	sh := e.sess.Handler()
	sessSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.sessFail.Load() {
			mockstore.WriteError(w, mockstore.Retry(mockstore.CodeUnavailable, 1, "store overloaded"))
			return
		}
		sh.ServeHTTP(w, r)
	}))
	tb.Cleanup(sessSrv.Close)
	sessAud := httptest.NewServer(e.sess.AuditHandler())
	tb.Cleanup(sessAud.Close)
	e.sessAud = sessAud.URL
	e.sessFwd = newForwarder(tb, sessSrv.Listener.Addr().String())
	e.sessAPI = sessions.NewClient(sessSrv.URL, nil)

	e.otpSvc, err = otp.New(context.Background(), otp.Config{DBPath: filepath.Join(dir, "otp.db"), Now: e.clock.Now})
	if err != nil {
		tb.Fatalf("otp.New: %v", err)
	}
	tb.Cleanup(func() { e.otpSvc.Close() })
	otpSrv := httptest.NewServer(e.otpSvc.Handler())
	tb.Cleanup(otpSrv.Close)
	otpAud := httptest.NewServer(e.otpSvc.AuditHandler())
	tb.Cleanup(otpAud.Close)
	e.otpAud = otpAud.URL
	e.otpFwd = newForwarder(tb, otpSrv.Listener.Addr().String())
	e.inbox = otp.NewClient(otpSrv.URL, nil)

	cfg := Config{
		DBPath:          filepath.Join(dir, "auth.db"),
		Dataset:         e.ds,
		SessionsURL:     e.sessFwd.URL(),
		OTPURL:          e.otpFwd.URL(),
		SessionsTimeout: 5 * time.Second, // generous: a busy CI machine is not a fault
		OTPTimeout:      10 * time.Second,
		FallbackAfter:   time.Hour,
		Features:        feats,
		Now:             e.clock.Now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	e.svc, err = New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := e.svc.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if breaks != nil {
		breaks(e.svc)
	}
	e.api = httptest.NewServer(e.svc.Handler())
	tb.Cleanup(e.api.Close)
	e.audit = httptest.NewServer(e.svc.AuditHandler())
	tb.Cleanup(e.audit.Close)
	e.c = NewClient(e.api.URL, mockstore.NewClient(30*time.Second))
	return e
}

func (e *env) start(tb testing.TB, phone, channel string) LoginStarted {
	tb.Helper()
	ls, err := e.c.StartLogin(context.Background(), phone, channel)
	if err != nil {
		tb.Fatalf("StartLogin(%s, %q): %v", phone, channel, err)
	}
	return ls
}

// messages polls phone's inbox until pred holds for its messages.
func (e *env) messages(tb testing.TB, phone string, pred func([]otp.Message) bool) []otp.Message {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ms, err := e.inbox.Inbox(context.Background(), phone)
		if err != nil {
			tb.Fatalf("Inbox: %v", err)
		}
		if pred(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			tb.Fatalf("inbox of %s: condition not met within %v; have %+v", phone, waitFor, ms)
		}
		time.Sleep(5 * time.Millisecond) // polling for async work, with a deadline
	}
}

// message waits for a message of loginID on channel ("" any) and returns
// the newest.
func (e *env) message(tb testing.TB, phone, loginID, channel string) otp.Message {
	tb.Helper()
	var got otp.Message
	e.messages(tb, phone, func(ms []otp.Message) bool {
		for _, m := range ms {
			if m.LoginID == loginID && (channel == "" || m.Channel == channel) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func (e *env) code(tb testing.TB, phone, loginID string) string {
	tb.Helper()
	return e.message(tb, phone, loginID, "").Code
}

// login logs u in and returns the session.
func (e *env) login(tb testing.TB, u mockstore.User) Verified {
	tb.Helper()
	ls := e.start(tb, u.Phone, "")
	v, err := e.c.Verify(context.Background(), ls.LoginID, e.code(tb, u.Phone, ls.LoginID))
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	return v
}

// idle waits until no send is queued or running.
func (e *env) idle(tb testing.TB) {
	tb.Helper()
	waitUntil(tb, "send queue drained", func() bool { return e.svc.pending.Load() == 0 })
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline
	}
}

func (e *env) readAudit(tb testing.TB) mockstore.AuthAudit {
	tb.Helper()
	a, err := ReadAudit(context.Background(), nil, e.audit.URL)
	if err != nil {
		tb.Fatalf("ReadAudit: %v", err)
	}
	return a
}

func (e *env) otpSent(tb testing.TB) map[string]int {
	tb.Helper()
	a, err := otp.ReadAudit(context.Background(), nil, e.otpAud)
	if err != nil {
		tb.Fatalf("otp.ReadAudit: %v", err)
	}
	return a.Sent
}

// wantErr fails unless err is a *mockstore.Error with code and its status.
func wantErr(tb testing.TB, err error, code mockstore.Code) *mockstore.Error {
	tb.Helper()
	var e *mockstore.Error
	if !errors.As(err, &e) {
		tb.Fatalf("err = %v, want %s", err, code)
	}
	if e.Code != code || e.Status != code.Status() {
		tb.Fatalf("err = %d %v, want %d %s", e.Status, e, code.Status(), code)
	}
	return e
}

// wrong returns a well-formed code that is not code.
func wrong(code string) string {
	n, _ := strconv.Atoi(code)
	return leftPad((n + 1) % 1_000_000)
}

func leftPad(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}
