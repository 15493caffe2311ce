package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/bits"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
)

func TestNewCodeUniform(t *testing.T) {
	const n = 30000
	var first, last [10]int
	for range n {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if err := otp.CheckCode(c); err != nil {
			t.Fatalf("code %q: %v", c, err)
		}
		first[c[0]-'0']++
		last[c[5]-'0']++
	}
	// Each digit is expected n/10 = 3000 times (sd ≈ 52); a bound of ±400 is
	// more than 7 sd: a failure means a biased draw, not bad luck.
	for d := range 10 {
		if first[d] < 2600 || first[d] > 3400 || last[d] < 2600 || last[d] > 3400 {
			t.Errorf("digit %d: %d times first, %d times last; want about 3000 (leading zeros included)", d, first[d], last[d])
		}
	}
}

func TestTokenEntropy(t *testing.T) {
	seen := map[string]bool{}
	ones := 0
	const n = 1000
	for range n {
		tok, err := randomID(TokenBytes)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 || len(tok) != 43 {
			t.Fatalf("token %q: %d bytes, err %v; want 43 base64url characters of 32 bytes", tok, len(raw), err)
		}
		if seen[tok] {
			t.Fatalf("token %q drawn twice", tok)
		}
		seen[tok] = true
		for _, b := range raw {
			ones += bits.OnesCount8(b)
		}
	}
	// n*256 bits, half of them set (sd ≈ 253).
	if want := n * 128; ones < want-2500 || ones > want+2500 {
		t.Errorf("%d bits set of %d; want about %d", ones, n*256, want)
	}
}

func TestLoginAndValidate(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	ls := e.start(t, e.active.Phone, "")
	if !strings.HasPrefix(ls.LoginID, "l_") || ls.ExpiresInS != 300 || ls.ResendAfterS != 30 {
		t.Errorf("StartLogin = %+v, want l_…, 300s, 30s", ls)
	}
	m := e.message(t, e.active.Phone, ls.LoginID, "")
	if m.Channel != otp.ChannelSMS || m.Link != "" {
		t.Errorf("message = %+v, want an SMS without link", m)
	}
	v, err := e.c.Verify(ctx, ls.LoginID, m.Code)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.UserID != e.active.ID || v.ExpiresInS != 86400 {
		t.Errorf("Verify = %+v", v)
	}
	id, err := e.c.Validate(ctx, v.Token)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if want := (Identity{UserID: e.active.ID, Phone: e.active.Phone, Status: mockstore.StatusActive}); id != want {
		t.Errorf("Validate = %+v, want %+v", id, want)
	}
	s, err := e.sessAPI.Get(ctx, v.Token)
	if err != nil || s.UserID != e.active.ID || !s.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Errorf("store has %+v, %v; want the user until now+24h", s, err)
	}
	e.idle(t)
	a := e.readAudit(t)
	if a.LoginsStarted != 1 || a.CodesIssued != 1 || a.CodesDelivered != 1 || a.Verified != 1 ||
		a.SessionsIssued != 1 || a.WrongCodes != 0 || a.SendsByChannel["sms"] != 1 || a.NotRegistered != 0 {
		t.Errorf("audit = %+v", a)
	}
}

func TestRestrictedCanLogIn(t *testing.T) {
	e := newEnv(t, features())
	v := e.login(t, e.restricted)
	id, err := e.c.Validate(context.Background(), v.Token)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if id.Status != mockstore.StatusRestricted || id.UserID != e.restricted.ID {
		t.Errorf("Validate = %+v, want restricted %s", id, e.restricted.ID)
	}
}

// TestCodeStoredHashed checks that no column of auth's store holds the code.
func TestCodeStoredHashed(t *testing.T) {
	e := newEnv(t, features())
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	e.clock.Advance(30 * time.Second)
	if _, err := e.c.Resend(context.Background(), ls.LoginID, ""); err != nil {
		t.Fatal(err)
	}
	code2 := e.message(t, e.active.Phone, ls.LoginID, "").Code
	n, _ := strconv.Atoi(code)
	for _, table := range []string{"logins", "old_codes"} {
		rows, err := e.svc.st.db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		count := 0
		for rows.Next() {
			count++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case string:
					if v == code || v == code2 {
						t.Errorf("%s.%s holds the code", table, cols[i])
					}
				case []byte:
					if string(v) == code || string(v) == code2 {
						t.Errorf("%s.%s holds the code", table, cols[i])
					}
				case int64:
					if v == int64(n) {
						t.Errorf("%s.%s holds the code as a number", table, cols[i])
					}
				}
			}
		}
		rows.Close()
		if count == 0 {
			t.Errorf("table %s is empty; the test looked at nothing", table)
		}
	}
}

func TestCodeLifetimeFromIssue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  mockstore.Code // "" for success
	}{
		{"at once", 0, ""},
		{"just before 5m", 5*time.Minute - time.Second, ""},
		{"at 5m", 5 * time.Minute, mockstore.CodeCodeExpired},
		{"an hour later", time.Hour, mockstore.CodeCodeExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, features())
			ls := e.start(t, e.active.Phone, "")
			code := e.code(t, e.active.Phone, ls.LoginID)
			e.clock.Advance(tc.after)
			_, err := e.c.Verify(context.Background(), ls.LoginID, code)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify after %v: %v", tc.after, err)
				}
				return
			}
			wantErr(t, err, tc.want)
		})
	}
}

// TestLateDeliveryDoesNotExtend delivers the code four minutes after its
// issue: it still dies five minutes after the issue.
func TestLateDeliveryDoesNotExtend(t *testing.T) {
	e := newEnv(t, features())
	e.otpFwd.Hold(1)
	issued := e.clock.Now()
	ls := e.start(t, e.active.Phone, "")
	waitUntil(t, "send held", func() bool { return e.otpFwd.Held() == 1 })
	e.clock.Advance(4 * time.Minute)
	e.otpFwd.Pass()
	m := e.message(t, e.active.Phone, ls.LoginID, "")
	if !m.ReceivedAt.Equal(issued.Add(4 * time.Minute)) {
		t.Fatalf("received at %v, want issue+4m", m.ReceivedAt)
	}
	e.clock.Advance(time.Minute) // issue+5m, delivery+1m
	_, err := e.c.Verify(context.Background(), ls.LoginID, m.Code)
	wantErr(t, err, mockstore.CodeCodeExpired)
}

func TestSingleUse(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	if _, err := e.c.Verify(ctx, ls.LoginID, code); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	_, err := e.c.Verify(ctx, ls.LoginID, code)
	wantErr(t, err, mockstore.CodeCodeExpired)
	_, err = e.c.Resend(ctx, ls.LoginID, "")
	wantErr(t, err, mockstore.CodeConflict)
	if a := e.readAudit(t); a.Verified != 1 || a.SessionsIssued != 1 || a.WrongCodes != 0 {
		t.Errorf("audit = %+v", a)
	}
}

func TestConcurrentVerifyOnce(t *testing.T) {
	e := newEnv(t, features())
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[mockstore.Code]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.c.Verify(context.Background(), ls.LoginID, code)
			c := mockstore.Code("ok")
			if err != nil {
				c = mockstore.ErrorCode(err)
			}
			mu.Lock()
			codes[c]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["ok"] != 1 || codes[mockstore.CodeCodeExpired] != 7 {
		t.Errorf("8 concurrent verifies: %v; want 1 ok and 7 code_expired", codes)
	}
}

func TestResendCooldownAndNewestOnly(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	ls := e.start(t, e.active.Phone, "")
	codeA := e.code(t, e.active.Phone, ls.LoginID)

	for _, tc := range []struct {
		advance time.Duration
		retry   int
	}{{0, 30}, {10 * time.Second, 20}, {19*time.Second + 500*time.Millisecond, 1}} {
		e.clock.Advance(tc.advance)
		_, err := e.c.Resend(ctx, ls.LoginID, "")
		got := wantErr(t, err, mockstore.CodeResendCooldown)
		if got.RetryAfter != tc.retry {
			t.Errorf("resend cooldown: retry after %ds, want %d", got.RetryAfter, tc.retry)
		}
	}
	// Retry-After is on the wire as well.
	resp := post(t, e.api.URL+"/login/resend", fmt.Sprintf(`{"login_id":%q}`, ls.LoginID))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("resend in cooldown: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	e.clock.Advance(500 * time.Millisecond) // 30s after the issue
	rs, err := e.c.Resend(ctx, ls.LoginID, "")
	if err != nil {
		t.Fatalf("Resend after the cooldown: %v", err)
	}
	if rs != ls {
		t.Errorf("Resend = %+v, want %+v", rs, ls)
	}
	ms := e.messages(t, e.active.Phone, func(ms []otp.Message) bool { return len(ms) == 2 })
	codeB := ms[0].Code
	// The new code lives 5 minutes from its own issue.
	e.clock.Advance(4*time.Minute + 50*time.Second) // issue A + 5m20s
	if codeA != codeB {
		_, err = e.c.Verify(ctx, ls.LoginID, codeA)
		wantErr(t, err, mockstore.CodeCodeExpired)
	} else {
		t.Log("the two codes happen to be equal (p = 1e-6): old-code check skipped")
	}
	if _, err := e.c.Verify(ctx, ls.LoginID, codeB); err != nil {
		t.Fatalf("Verify newest code: %v", err)
	}
	a := e.readAudit(t)
	if a.CodesIssued != 2 || a.WrongCodes != 0 || a.Verified != 1 {
		t.Errorf("audit = %+v (an old code is not a wrong attempt)", a)
	}
}

func TestResendOnWhatsApp(t *testing.T) {
	e := newEnv(t, features())
	ls := e.start(t, e.active.Phone, otp.ChannelSMS)
	e.code(t, e.active.Phone, ls.LoginID)
	e.clock.Advance(30 * time.Second)
	if _, err := e.c.Resend(context.Background(), ls.LoginID, otp.ChannelWhatsApp); err != nil {
		t.Fatal(err)
	}
	m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
	if m.Link != Link(ls.LoginID, m.Code) {
		t.Errorf("whatsapp message link %q, want %q", m.Link, Link(ls.LoginID, m.Code))
	}
}

func TestLockout(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	for i := 1; i <= 4; i++ {
		_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
		wantErr(t, err, mockstore.CodeInvalidCode)
	}
	_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
	wantErr(t, err, mockstore.CodeLoginLocked)
	_, err = e.c.Verify(ctx, ls.LoginID, code)
	wantErr(t, err, mockstore.CodeLoginLocked)
	e.clock.Advance(time.Minute)
	_, err = e.c.Resend(ctx, ls.LoginID, "")
	wantErr(t, err, mockstore.CodeLoginLocked)
	a := e.readAudit(t)
	if a.WrongCodes != 5 || a.Lockouts != 1 || a.Verified != 0 || a.FaultCounted != 0 {
		t.Errorf("audit = %+v", a)
	}
}

// TestLockoutSurvivesResend: a resend gives a new code, not new attempts.
func TestLockoutSurvivesResend(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	for range 3 {
		_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
		wantErr(t, err, mockstore.CodeInvalidCode)
	}
	e.clock.Advance(30 * time.Second)
	if _, err := e.c.Resend(ctx, ls.LoginID, ""); err != nil {
		t.Fatal(err)
	}
	ms := e.messages(t, e.active.Phone, func(ms []otp.Message) bool { return len(ms) == 2 })
	code2 := ms[0].Code
	// Two more wrong codes, neither the new nor an old one, lock the login.
	bad := code2
	for i := 0; i < 2; i++ {
		for bad = wrong(bad); bad == code || bad == code2; bad = wrong(bad) {
		}
		_, err := e.c.Verify(ctx, ls.LoginID, bad)
		want := mockstore.CodeInvalidCode
		if i == 1 {
			want = mockstore.CodeLoginLocked
		}
		wantErr(t, err, want)
	}
	_, err := e.c.Verify(ctx, ls.LoginID, code2)
	wantErr(t, err, mockstore.CodeLoginLocked)
}

func TestUnknownLoginID(t *testing.T) {
	e := newEnv(t, features())
	_, err := e.c.Verify(context.Background(), "l_nosuchlogin", "123456")
	wantErr(t, err, mockstore.CodeInvalidCode)
	_, err = e.c.Resend(context.Background(), "l_nosuchlogin", "")
	wantErr(t, err, mockstore.CodeNotFound)
	if a := e.readAudit(t); a.WrongCodes != 0 || a.LoginsStarted != 0 {
		t.Errorf("audit = %+v; an unknown login writes nothing", a)
	}
}

// TestUnregisteredSameAnswer compares, field by field, the answers for a
// registered and an unregistered phone, with the OTP send asynchronous and
// synchronous.
func TestUnregisteredSameAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		feats mockstore.Features
	}{
		{"async_otp on", features()},
		{"async_otp off", features(mockstore.AsyncOTP)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.feats)
			type answer struct {
				status int
				ctype  string
				keys   []string
				body   map[string]any
			}
			read := func(phone string) answer {
				t.Helper()
				resp := post(t, e.api.URL+"/login", fmt.Sprintf(`{"phone":%q}`, phone))
				var body map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatalf("decode: %v", err)
				}
				var keys []string
				for k := range body {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				return answer{resp.StatusCode, resp.Header.Get("Content-Type"), keys, body}
			}
			reg, unreg := read(e.active.Phone), read(e.stranger)
			if reg.status != 202 || unreg.status != reg.status || unreg.ctype != reg.ctype || !reflect.DeepEqual(reg.keys, unreg.keys) {
				t.Fatalf("registered %+v, unregistered %+v", reg, unreg)
			}
			for _, k := range reg.keys {
				rv, uv := reg.body[k], unreg.body[k]
				if k == "login_id" {
					rs, us := rv.(string), uv.(string)
					if len(rs) != len(us) || rs[:2] != us[:2] || rs == us {
						t.Errorf("login_id %q vs %q: want the same form", rs, us)
					}
					continue
				}
				if !reflect.DeepEqual(rv, uv) {
					t.Errorf("field %s: registered %v, unregistered %v", k, rv, uv)
				}
			}
			e.idle(t)
			if ms, _ := e.inbox.Inbox(context.Background(), e.stranger); len(ms) != 0 {
				t.Errorf("unregistered phone received %+v", ms)
			}
			e.message(t, e.active.Phone, reg.body["login_id"].(string), "")
			if s := e.otpSent(t); s["sms"]+s["whatsapp"] != 1 {
				t.Errorf("provider sent %v; want only the registered phone's code", s)
			}

			// Resend and verify answer as for a registered phone with a wrong code.
			loginID := unreg.body["login_id"].(string)
			e.clock.Advance(30 * time.Second)
			rs, err := e.c.Resend(context.Background(), loginID, "")
			if err != nil || rs.ExpiresInS != 300 || rs.ResendAfterS != 30 {
				t.Errorf("Resend = %+v, %v", rs, err)
			}
			e.idle(t)
			for i := range 5 {
				_, err := e.c.Verify(context.Background(), loginID, leftPad(i))
				want := mockstore.CodeInvalidCode
				if i == 4 {
					want = mockstore.CodeLoginLocked
				}
				wantErr(t, err, want)
			}
			a := e.readAudit(t)
			if a.LoginsStarted != 2 || a.CodesIssued != 1 || a.CodesDelivered != 1 || a.NotRegistered != 0 {
				t.Errorf("audit = %+v", a)
			}
		})
	}
}

// TestUnregisteredNeverVerifies: even the code auth drew for an unregistered
// phone (which nobody receives) does not open a session.
func TestUnregisteredNeverVerifies(t *testing.T) {
	e := newEnv(t, features())
	now := e.clock.Now()
	l := login{ID: "l_crafted", Phone: e.stranger, Channel: "sms", CodeHash: e.svc.codeHash("l_crafted", "424242"),
		IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if err := e.svc.st.createLogin(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.Verify(context.Background(), l.ID, "424242")
	wantErr(t, err, mockstore.CodeInvalidCode)
}

func TestMalformedPhone(t *testing.T) {
	e := newEnv(t, features())
	for _, p := range []string{"", "0812345678", "+62 812345678", "+62-812-3456", "+0812345678", "+62812345678901234", "phone"} {
		_, err := e.c.StartLogin(context.Background(), p, "")
		wantErr(t, err, mockstore.CodeInvalidRequest)
	}
	if a := e.readAudit(t); a.LoginsStarted != 0 {
		t.Errorf("audit = %+v", a)
	}
}

func TestWhatsAppLink(t *testing.T) {
	e := newEnv(t, features())
	open := func(link string) (*http.Response, Verified) {
		t.Helper()
		resp, err := http.Get(e.api.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		var v Verified
		if resp.StatusCode == 200 {
			json.NewDecoder(resp.Body).Decode(&v)
		}
		return resp, v
	}
	status := func(resp *http.Response) mockstore.Code {
		if resp.StatusCode == 200 {
			return "ok"
		}
		return mockstore.ReadError(resp).Code
	}

	t.Run("login", func(t *testing.T) {
		ls := e.start(t, e.active.Phone, otp.ChannelWhatsApp)
		m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		want := "/login/verify?login_id=" + ls.LoginID + "&code=" + m.Code
		if m.Link != want {
			t.Fatalf("link %q, want %q", m.Link, want)
		}
		id, code, err := ParseLink("https://shop.example" + m.Link)
		if err != nil || id != ls.LoginID || code != m.Code {
			t.Fatalf("ParseLink = %q, %q, %v", id, code, err)
		}
		resp, v := open(m.Link)
		if resp.StatusCode != 200 || v.UserID != e.active.ID || len(v.Token) != 43 {
			t.Fatalf("open link: %d %+v", resp.StatusCode, v)
		}
		if _, err := e.c.Validate(context.Background(), v.Token); err != nil {
			t.Errorf("Validate: %v", err)
		}
		resp, _ = open(m.Link)
		if got := status(resp); got != mockstore.CodeCodeExpired {
			t.Errorf("link opened twice: %s, want code_expired", got)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		ls := e.start(t, e.active.Phone, otp.ChannelWhatsApp)
		m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		e.clock.Advance(5 * time.Minute)
		resp, _ := open(m.Link)
		if got := status(resp); got != mockstore.CodeCodeExpired {
			t.Errorf("expired link: %s, want code_expired", got)
		}
	})
	t.Run("lockout", func(t *testing.T) {
		ls := e.start(t, e.active.Phone, otp.ChannelWhatsApp)
		m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		for i := range 5 {
			resp, _ := open(Link(ls.LoginID, wrong(m.Code)))
			want := mockstore.CodeInvalidCode
			if i == 4 {
				want = mockstore.CodeLoginLocked
			}
			if got := status(resp); got != want {
				t.Errorf("wrong link %d: %s, want %s", i+1, got, want)
			}
		}
		resp, _ := open(m.Link)
		if got := status(resp); got != mockstore.CodeLoginLocked {
			t.Errorf("right link after lockout: %s, want login_locked", got)
		}
	})
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, features())
	long := strings.Repeat("t", maxTokenLen+1)
	big := `{"phone":"` + strings.Repeat("1", mockstore.MaxBody) + `"}`
	cases := []struct {
		name, method, path, body string
		code                     mockstore.Code
		msg                      string
	}{
		{"login bad json", "POST", "/login", `{"phone":`, mockstore.CodeInvalidRequest, "JSON"},
		{"login unknown field", "POST", "/login", `{"phone":"+6281234500001","pin":"1"}`, mockstore.CodeInvalidRequest, "unknown field"},
		{"login no phone", "POST", "/login", `{}`, mockstore.CodeInvalidRequest, "phone"},
		{"login malformed phone", "POST", "/login", `{"phone":"081234500001"}`, mockstore.CodeInvalidRequest, "phone"},
		{"login phone as number", "POST", "/login", `{"phone":6281234500001}`, mockstore.CodeInvalidRequest, "JSON"},
		{"login bad channel", "POST", "/login", `{"phone":"+6281234500001","channel":"email"}`, mockstore.CodeInvalidRequest, "allowed: sms, whatsapp"},
		{"login too large", "POST", "/login", big, mockstore.CodeBodyTooLarge, ""},
		{"login empty body", "POST", "/login", ``, mockstore.CodeInvalidRequest, "JSON"},
		{"verify no login", "POST", "/login/verify", `{"code":"123456"}`, mockstore.CodeInvalidRequest, "login_id"},
		{"verify short code", "POST", "/login/verify", `{"login_id":"l_x","code":"12345"}`, mockstore.CodeInvalidRequest, "6 digits"},
		{"verify letters", "POST", "/login/verify", `{"login_id":"l_x","code":"abcdef"}`, mockstore.CodeInvalidRequest, "6 digits"},
		{"verify spaced login", "POST", "/login/verify", `{"login_id":"l x","code":"123456"}`, mockstore.CodeInvalidRequest, "login_id"},
		{"verify unknown field", "POST", "/login/verify", `{"login_id":"l_x","code":"123456","x":1}`, mockstore.CodeInvalidRequest, "unknown field"},
		{"link no code", "GET", "/login/verify?login_id=l_x", "", mockstore.CodeInvalidRequest, "6 digits"},
		{"link extra param", "GET", "/login/verify?login_id=l_x&code=123456&next=evil", "", mockstore.CodeInvalidRequest, "allowed: login_id, code"},
		{"link repeated param", "GET", "/login/verify?login_id=l_x&code=123456&code=654321", "", mockstore.CodeInvalidRequest, "2 times"},
		{"resend no login", "POST", "/login/resend", `{}`, mockstore.CodeInvalidRequest, "login_id"},
		{"resend bad channel", "POST", "/login/resend", `{"login_id":"l_x","channel":"fax"}`, mockstore.CodeInvalidRequest, "allowed: sms, whatsapp"},
		{"validate empty", "POST", "/sessions/validate", `{"token":""}`, mockstore.CodeInvalidRequest, "token"},
		{"validate long", "POST", "/sessions/validate", `{"token":"` + long + `"}`, mockstore.CodeInvalidRequest, "token"},
		{"validate spaced", "POST", "/sessions/validate", `{"token":"a b"}`, mockstore.CodeInvalidRequest, "token"},
		{"validate not json", "POST", "/sessions/validate", `token=x`, mockstore.CodeInvalidRequest, "JSON"},
		{"logout empty", "POST", "/logout", `{}`, mockstore.CodeInvalidRequest, "token"},
		{"logout control char", "POST", "/logout", `{"token":"a\u0001b"}`, mockstore.CodeInvalidRequest, "token"},
		{"login method", "GET", "/login", "", mockstore.CodeMethodNotAllowed, ""},
		{"verify method", "PUT", "/login/verify", "", mockstore.CodeMethodNotAllowed, ""},
		{"validate method", "GET", "/sessions/validate", "", mockstore.CodeMethodNotAllowed, ""},
		{"logout method", "DELETE", "/logout", "", mockstore.CodeMethodNotAllowed, ""},
		{"no route", "GET", "/users", "", mockstore.CodeNotFound, ""},
		{"audit not on api", "GET", "/audit/auth", "", mockstore.CodeNotFound, ""},
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
			if resp.StatusCode != tc.code.Status() || got.Code != tc.code || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("%s %s = %d %s %q, want %d %s with %q", tc.method, tc.path, resp.StatusCode, got.Code, got.Message,
					tc.code.Status(), tc.code, tc.msg)
			}
		})
	}
	e.idle(t)
	zero := mockstore.AuthAudit{
		SessionsRejected: map[string]int{"unknown": 0, "expired": 0, "revoked": 0, "store_error": 0},
		SendsByChannel:   map[string]int{"sms": 0, "whatsapp": 0},
		Verifies:         []mockstore.VerifyRecord{},
	}
	if a := e.readAudit(t); !reflect.DeepEqual(a, zero) {
		t.Errorf("bad input counted something: %+v", a)
	}
	for _, table := range []string{"logins", "old_codes", "tokens", "verifies"} {
		var n int
		if err := e.svc.st.db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("table %s: %d rows, %v; bad input wrote", table, n, err)
		}
	}
	if s := e.otpSent(t); s["sms"]+s["whatsapp"] != 0 {
		t.Errorf("bad input sent %v", s)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, features())
	resp, err := http.Get(e.api.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body["service"] != "auth" {
		t.Errorf("healthz = %d %v", resp.StatusCode, body)
	}
}

func TestConfig(t *testing.T) {
	c, err := Config{DBPath: "x", SessionsURL: "http://s", OTPURL: "http://o"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionsTimeout != time.Second || c.OTPTimeout != 5*time.Second || c.CodeTTL != 5*time.Minute ||
		c.ResendCooldown != 30*time.Second || c.FallbackAfter != 3*time.Second || c.SessionTTL != 24*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no db", Config{SessionsURL: "http://s", OTPURL: "http://o"}},
		{"no upstreams", Config{DBPath: "x"}},
		{"code ttl over 5m", Config{DBPath: "x", SessionsURL: "http://s", OTPURL: "http://o", CodeTTL: 6 * time.Minute}},
		{"negative cooldown", Config{DBPath: "x", SessionsURL: "http://s", OTPURL: "http://o", ResendCooldown: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(context.Background(), tc.cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	// A phone used twice cannot be seeded.
	ds := mockstore.Seed(1, 3)
	ds.Users[1].Phone = ds.Users[0].Phone
	_, err = New(context.Background(), Config{DBPath: t.TempDir() + "/a.db", SessionsURL: "http://s", OTPURL: "http://o", Dataset: ds})
	if err == nil {
		t.Error("New with a duplicate phone succeeded")
	}
}

func post(tb testing.TB, url, body string) *http.Response {
	tb.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}
