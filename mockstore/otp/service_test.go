package otp

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
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	clock := &fakeClock{t: time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)}
	svc, err := New(context.Background(), Config{DBPath: filepath.Join(tb.TempDir(), "otp.db"), Now: clock.Now})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { svc.Close() })
	api := httptest.NewServer(svc.Handler())
	tb.Cleanup(api.Close)
	audit := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(audit.Close)
	return &env{svc: svc, api: api, audit: audit, c: NewClient(api.URL, nil), clock: clock}
}

func (e *env) sent(tb testing.TB) map[string]int {
	tb.Helper()
	a, err := ReadAudit(context.Background(), nil, e.audit.URL)
	if err != nil {
		tb.Fatalf("ReadAudit: %v", err)
	}
	return a.Sent
}

const phone = "+6281234500001"

func TestSendAndInbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.clock.Now()
	r1, err := e.c.Send(ctx, Message{Phone: phone, Channel: ChannelSMS, Code: "012345", LoginID: "l1"})
	if err != nil {
		t.Fatalf("Send sms: %v", err)
	}
	if r1.Channel != ChannelSMS || !strings.HasPrefix(r1.MessageID, "m_") {
		t.Errorf("Send sms = %+v", r1)
	}
	e.clock.Advance(time.Second)
	link := "/login/verify?login_id=l1&code=012345"
	r2, err := e.c.Send(ctx, Message{Phone: phone, Channel: ChannelWhatsApp, Code: "012345", LoginID: "l1", Link: link})
	if err != nil {
		t.Fatalf("Send whatsapp: %v", err)
	}
	if r2.MessageID == r1.MessageID {
		t.Error("two sends got the same message id")
	}
	if _, err := e.c.Send(ctx, Message{Phone: "+6281299999999", Channel: ChannelSMS, Code: "999999", LoginID: "l2"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.Inbox(ctx, phone)
	if err != nil {
		t.Fatalf("Inbox: %v", err)
	}
	want := []Message{
		{MessageID: r2.MessageID, Phone: phone, Channel: ChannelWhatsApp, Code: "012345", LoginID: "l1", Link: link, ReceivedAt: first.Add(time.Second)},
		{MessageID: r1.MessageID, Phone: phone, Channel: ChannelSMS, Code: "012345", LoginID: "l1", ReceivedAt: first},
	}
	if len(got) != len(want) {
		t.Fatalf("Inbox = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Inbox[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	empty, err := e.c.Inbox(ctx, "+6281200000000")
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty inbox = %#v, %v; want an empty list", empty, err)
	}
	if s := e.sent(t); s[ChannelSMS] != 2 || s[ChannelWhatsApp] != 1 {
		t.Errorf("audit sent = %v", s)
	}
	// One code by SMS and WhatsApp is one code the phone received.
	a, err := ReadAudit(ctx, nil, e.audit.URL)
	if err != nil || len(a.Codes) != 2 || a.Codes[phone] != 1 || a.Codes["+6281299999999"] != 1 {
		t.Errorf("audit codes = %v, %v; want one code for each phone", a.Codes, err)
	}
}

func TestInboxLimit(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"111111", "222222", "333333"} {
		if _, err := e.c.Send(context.Background(), Message{Phone: phone, Channel: ChannelSMS, Code: code, LoginID: "l"}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(e.api.URL + "/inbox/" + phone + "?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || strings.Count(b.String(), "message_id") != 1 || !strings.Contains(b.String(), "333333") {
		t.Errorf("inbox?limit=1 = %d %s", resp.StatusCode, b.String())
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     mockstore.Code
		msg                      string // a substring of the message
	}{
		{"bad channel", "POST", "/send", `{"phone":"+6281234500001","channel":"pigeon","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "allowed: sms, whatsapp"},
		{"no channel", "POST", "/send", `{"phone":"+6281234500001","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "allowed: sms, whatsapp"},
		{"no plus", "POST", "/send", `{"phone":"6281234500001","channel":"sms","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "phone"},
		{"letters in phone", "POST", "/send", `{"phone":"+62812345abc","channel":"sms","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "phone"},
		{"phone too short", "POST", "/send", `{"phone":"+6281","channel":"sms","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "phone"},
		{"phone too long", "POST", "/send", `{"phone":"+62812345678901234","channel":"sms","code":"123456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "phone"},
		{"code 5 digits", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"12345","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "6 digits"},
		{"code 7 digits", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"1234567","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "6 digits"},
		{"code letters", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"12a456","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "6 digits"},
		{"code unicode digits", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"١٢٣","login_id":"l"}`, 400, mockstore.CodeInvalidRequest, "6 digits"},
		{"no login id", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"123456"}`, 400, mockstore.CodeInvalidRequest, "login_id"},
		{"link with space", "POST", "/send", `{"phone":"+6281234500001","channel":"whatsapp","code":"123456","login_id":"l","link":"a b"}`, 400, mockstore.CodeInvalidRequest, "link"},
		{"unknown field", "POST", "/send", `{"phone":"+6281234500001","channel":"sms","code":"123456","login_id":"l","message_id":"x"}`, 400, mockstore.CodeInvalidRequest, "unknown field"},
		{"not json", "POST", "/send", `phone=1`, 400, mockstore.CodeInvalidRequest, "JSON"},
		{"too large", "POST", "/send", `{"login_id":"` + strings.Repeat("x", mockstore.MaxBody) + `"}`, 413, mockstore.CodeBodyTooLarge, ""},
		{"inbox bad phone", "GET", "/inbox/12345", "", 400, mockstore.CodeInvalidRequest, "phone"},
		{"inbox bad limit", "GET", "/inbox/+6281234500001?limit=0", "", 400, mockstore.CodeInvalidRequest, "limit"},
		{"inbox limit not a number", "GET", "/inbox/+6281234500001?limit=x", "", 400, mockstore.CodeInvalidRequest, "limit"},
		{"send method", "GET", "/send", "", 405, mockstore.CodeMethodNotAllowed, ""},
		{"inbox method", "DELETE", "/inbox/+6281234500001", "", 405, mockstore.CodeMethodNotAllowed, ""},
		{"no route", "GET", "/audit/otp", "", 404, mockstore.CodeNotFound, ""},
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
			if resp.StatusCode != tc.status || got.Code != tc.code || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("%s %s = %d %s %q, want %d %s with %q", tc.method, tc.path, resp.StatusCode, got.Code, got.Message, tc.status, tc.code, tc.msg)
			}
		})
	}
	if s := e.sent(t); s[ChannelSMS] != 0 || s[ChannelWhatsApp] != 0 {
		t.Errorf("bad input wrote something: audit sent = %v", s)
	}
	if got, err := e.c.Inbox(context.Background(), phone); err != nil || len(got) != 0 {
		t.Errorf("inbox after bad input = %v, %v", got, err)
	}
}

func TestClientErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.Send(context.Background(), Message{Phone: phone, Channel: "fax", Code: "123456", LoginID: "l"})
	var me *mockstore.Error
	if !errors.As(err, &me) || me.Code != mockstore.CodeInvalidRequest || me.Status != 400 {
		t.Errorf("Send on fax: %v", err)
	}
	e.api.Close()
	_, err = e.c.Send(context.Background(), Message{Phone: phone, Channel: ChannelSMS, Code: "123456", LoginID: "l"})
	if !mockstore.IsUnreachable(err) {
		t.Errorf("Send to a closed server: %v, want *UpstreamError", err)
	}
}

func TestHealthAndClose(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.api.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || strings.TrimSpace(b.String()) != `{"service":"otp"}` {
		t.Errorf("healthz = %d %s", resp.StatusCode, b.String())
	}
	if err := e.svc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := e.svc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := New(context.Background(), Config{}); err == nil {
		t.Error("New without DBPath succeeded")
	}
}
