package sessions

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)} }

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

type env struct {
	svc   *Service
	api   *httptest.Server
	audit *httptest.Server
	c     *Client
	clock *fakeClock
	path  string
}

func newEnv(tb testing.TB, path string) *env {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "sessions.db")
	}
	clock := newClock()
	svc, err := New(context.Background(), Config{DBPath: path, Now: clock.Now})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { svc.Close() })
	api := httptest.NewServer(svc.Handler())
	tb.Cleanup(api.Close)
	audit := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(audit.Close)
	return &env{svc: svc, api: api, audit: audit, c: NewClient(api.URL, nil), clock: clock, path: path}
}

func (e *env) readAudit(tb testing.TB) Audit {
	tb.Helper()
	a, err := ReadAudit(context.Background(), nil, e.audit.URL)
	if err != nil {
		tb.Fatalf("ReadAudit: %v", err)
	}
	if a.Live != a.Created-a.Deleted-a.Expired {
		tb.Errorf("audit %+v: live != created - deleted - expired", a)
	}
	return a
}

func wantCode(tb testing.TB, err error, code mockstore.Code) {
	tb.Helper()
	var e *mockstore.Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestPutGetDelete(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.c.Put(ctx, "tok-1", "u00001", time.Hour); err != nil {
		t.Fatalf("Put: %v", err)
	}
	s, err := e.c.Get(ctx, "tok-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if want := e.clock.Now().Add(time.Hour); s.UserID != "u00001" || !s.ExpiresAt.Equal(want) {
		t.Errorf("Get = %+v, want u00001 until %v", s, want)
	}
	if got := e.readAudit(t); got != (Audit{Live: 1, Created: 1}) {
		t.Errorf("audit = %+v", got)
	}
	if err := e.c.Delete(ctx, "tok-1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = e.c.Get(ctx, "tok-1")
	wantCode(t, err, mockstore.CodeNotFound)
	if err := e.c.Delete(ctx, "tok-1"); err != nil {
		t.Fatalf("Delete of unknown token: %v", err)
	}
	if got := e.readAudit(t); got != (Audit{Created: 1, Deleted: 1}) {
		t.Errorf("audit = %+v", got)
	}
}

func TestPutReplaces(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.c.Put(ctx, "tok", "u1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, "tok", "u2", time.Hour); err != nil {
		t.Fatal(err)
	}
	s, err := e.c.Get(ctx, "tok")
	if err != nil || s.UserID != "u2" {
		t.Fatalf("Get = %+v, %v; want u2", s, err)
	}
	if got := e.readAudit(t); got != (Audit{Live: 1, Created: 1}) {
		t.Errorf("audit = %+v", got)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.c.Put(ctx, "short", "u1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, "long", "u2", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, "other", "u3", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute - time.Nanosecond)
	if _, err := e.c.Get(ctx, "short"); err != nil {
		t.Fatalf("Get just before expiry: %v", err)
	}
	e.clock.Advance(time.Nanosecond)
	_, err := e.c.Get(ctx, "short")
	wantCode(t, err, mockstore.CodeNotFound)
	if got := e.readAudit(t); got != (Audit{Live: 2, Created: 3, Expired: 1}) {
		t.Errorf("audit after lazy purge = %+v", got)
	}
	// "other" expires without being read: the audit purges it.
	e.clock.Advance(time.Minute)
	if got := e.readAudit(t); got != (Audit{Live: 1, Created: 3, Expired: 2}) {
		t.Errorf("audit = %+v", got)
	}
	// Deleting an expired session counts it expired, not deleted; re-putting
	// an expired token is a new session.
	if err := e.c.Put(ctx, "again", "u4", time.Minute); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if err := e.c.Delete(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if got := e.readAudit(t); got != (Audit{Live: 0, Created: 4, Expired: 4}) {
		t.Errorf("audit = %+v", got)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	e := newEnv(t, path)
	if err := e.c.Put(context.Background(), "tok", "u1", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.api.Close()
	if err := e.svc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	e2 := newEnv(t, path)
	if s, err := e2.c.Get(context.Background(), "tok"); err != nil || s.UserID != "u1" {
		t.Fatalf("Get after reopen = %+v, %v", s, err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, "")
	long := strings.Repeat("a", maxTokenLen+1)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     mockstore.Code
	}{
		{"bad json", "PUT", "/sessions/t1", `{"user_id":`, 400, mockstore.CodeInvalidRequest},
		{"unknown field", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":60,"admin":true}`, 400, mockstore.CodeInvalidRequest},
		{"trailing data", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":60}{}`, 400, mockstore.CodeInvalidRequest},
		{"no user", "PUT", "/sessions/t1", `{"ttl_s":60}`, 400, mockstore.CodeInvalidRequest},
		{"user with space", "PUT", "/sessions/t1", `{"user_id":"u 1","ttl_s":60}`, 400, mockstore.CodeInvalidRequest},
		{"ttl zero", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":0}`, 400, mockstore.CodeInvalidRequest},
		{"ttl negative", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":-5}`, 400, mockstore.CodeInvalidRequest},
		{"ttl too long", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":99999999999}`, 400, mockstore.CodeInvalidRequest},
		{"ttl not a number", "PUT", "/sessions/t1", `{"user_id":"u1","ttl_s":"60"}`, 400, mockstore.CodeInvalidRequest},
		{"body too large", "PUT", "/sessions/t1", `{"user_id":"` + strings.Repeat("x", mockstore.MaxBody) + `","ttl_s":60}`, 413, mockstore.CodeBodyTooLarge},
		{"token too long", "PUT", "/sessions/" + long, `{"user_id":"u1","ttl_s":60}`, 400, mockstore.CodeInvalidRequest},
		{"token with space", "PUT", "/sessions/a%20b", `{"user_id":"u1","ttl_s":60}`, 400, mockstore.CodeInvalidRequest},
		{"get token too long", "GET", "/sessions/" + long, "", 400, mockstore.CodeInvalidRequest},
		{"delete token with control", "DELETE", "/sessions/a%01b", "", 400, mockstore.CodeInvalidRequest},
		{"method", "POST", "/sessions/t1", `{}`, 405, mockstore.CodeMethodNotAllowed},
		{"no route", "GET", "/nope", "", 404, mockstore.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.api.URL+tc.path, bytes.NewBufferString(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := mockstore.ReadError(resp)
			if resp.StatusCode != tc.status || got.Code != tc.code {
				t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, got.Code, tc.status, tc.code)
			}
		})
	}
	if got := e.readAudit(t); got != (Audit{}) {
		t.Errorf("bad input wrote something: audit = %+v", got)
	}
	if _, err := e.c.Get(context.Background(), "t1"); mockstore.ErrorCode(err) != mockstore.CodeNotFound {
		t.Errorf("Get t1 after bad input: %v, want not_found", err)
	}
}

func TestHealthAndConfig(t *testing.T) {
	e := newEnv(t, "")
	resp, err := http.Get(e.api.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || strings.TrimSpace(body.String()) != `{"service":"sessions"}` {
		t.Errorf("healthz = %d %s", resp.StatusCode, body.String())
	}
	if _, err := New(context.Background(), Config{}); err == nil {
		t.Error("New without DBPath succeeded")
	}
	if _, err := New(context.Background(), Config{DBPath: filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")}); err == nil {
		t.Error("New in a missing directory succeeded")
	}
}

func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 4 {
				tok := "tok-" + string(rune('a'+i)) + string(rune('a'+j))
				if err := e.c.Put(ctx, tok, "u1", time.Hour); err != nil {
					errs <- err
					return
				}
				if err := e.c.Delete(ctx, tok); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := e.readAudit(t); got != (Audit{Created: 64, Deleted: 64}) {
		t.Errorf("audit = %+v", got)
	}
}
