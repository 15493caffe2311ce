package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// jsonBody returns a JSON object of the given fields; a value is raw JSON.
func jsonBody(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, fmt.Sprintf("%q:%s", kv[i], kv[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// TestBadInputEveryRoute sends bad input to every route of auth and of its
// audit handler: each is refused with its specific code in the one envelope,
// never a 5xx, and nothing moves: not auth's audit nor its tables, not the
// session store, not the OTP provider. The requests aim at a live login and
// a live session, which stay as they were.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	v := e.login(t, e.active)
	pending := e.start(t, e.restricted.Phone, "")
	code := e.code(t, e.restricted.Phone, pending.LoginID)
	e.idle(t)
	// Past the cooldown, a valid resend of the pending login would go out.
	e.clock.Advance(DefaultResendCooldown + time.Second)

	id, tok := quote(pending.LoginID), quote(v.Token)
	wrongCode := quote(wrong(code))
	long := func(n int) string { return quote(strings.Repeat("x", n)) }
	invalid := mockstore.CodeInvalidRequest
	link := func(q string) string { return "/login/verify?" + q }
	cases := []badinput.Case{
		// POST /login.
		{Name: "login malformed JSON", Method: "POST", Path: "/login", Body: `{"phone":"+628`, Code: invalid},
		{Name: "login not JSON", Method: "POST", Path: "/login", Body: `phone=%2B6281234500001`, Code: invalid},
		{Name: "login JSON array", Method: "POST", Path: "/login", Body: `["+6281234500001"]`, Code: invalid},
		{Name: "login JSON null", Method: "POST", Path: "/login", Body: `null`, Code: invalid},
		{Name: "login empty body", Method: "POST", Path: "/login", Body: ``, Code: invalid},
		{Name: "login unknown field", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone), "user_id", `"u1"`), Code: invalid},
		{Name: "login trailing data", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone)) + `[]`, Code: invalid},
		{Name: "login trailing bracket", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone)) + `]`, Code: invalid, Bracket: true},
		{Name: "login body over the limit", Method: "POST", Path: "/login",
			Body: jsonBody("phone", quote(e.active.Phone), "channel", long(mockstore.MaxBody)), Code: mockstore.CodeBodyTooLarge},
		{Name: "login phone as number", Method: "POST", Path: "/login", Body: jsonBody("phone", `6281234500001`), Code: invalid},
		{Name: "login channel as number", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone), "channel", `1`), Code: invalid},
		{Name: "login no phone", Method: "POST", Path: "/login", Body: jsonBody("channel", `"sms"`), Code: invalid},
		{Name: "login empty phone", Method: "POST", Path: "/login", Body: jsonBody("phone", `""`), Code: invalid},
		{Name: "login phone without plus", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(strings.TrimPrefix(e.active.Phone, "+"))), Code: invalid},
		{Name: "login phone national", Method: "POST", Path: "/login", Body: jsonBody("phone", `"081234500001"`), Code: invalid},
		{Name: "login phone leading zero", Method: "POST", Path: "/login", Body: jsonBody("phone", `"+0812345000"`), Code: invalid},
		{Name: "login phone too short", Method: "POST", Path: "/login", Body: jsonBody("phone", `"+6281234"`), Code: invalid},
		{Name: "login phone too long", Method: "POST", Path: "/login", Body: jsonBody("phone", `"+6281234567890123"`), Code: invalid},
		{Name: "login phone with spaces", Method: "POST", Path: "/login", Body: jsonBody("phone", `"+62 812 3450 0001"`), Code: invalid},
		{Name: "login phone unicode digits", Method: "POST", Path: "/login", Body: jsonBody("phone", `"+٦٢٨١٢٣٤٥٠٠٠٠١"`), Code: invalid},
		{Name: "login channel unknown", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone), "channel", `"email"`), Code: invalid},
		{Name: "login channel upper case", Method: "POST", Path: "/login", Body: jsonBody("phone", quote(e.active.Phone), "channel", `"WhatsApp"`), Code: invalid},

		// POST /login/verify, aimed at the pending login.
		{Name: "verify malformed JSON", Method: "POST", Path: "/login/verify", Body: `{"login_id":` + id, Code: invalid},
		{Name: "verify empty body", Method: "POST", Path: "/login/verify", Body: ``, Code: invalid},
		{Name: "verify unknown field", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(code), "phone", quote(e.restricted.Phone)), Code: invalid},
		{Name: "verify trailing data", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(code)) + `x`, Code: invalid},
		{Name: "verify trailing brace", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(code)) + `}`, Code: invalid, Bracket: true},
		{Name: "verify body over the limit", Method: "POST", Path: "/login/verify",
			Body: jsonBody("login_id", id, "code", long(mockstore.MaxBody)), Code: mockstore.CodeBodyTooLarge},
		{Name: "verify code as number", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", "1"+code), Code: invalid},
		{Name: "verify login_id as number", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", `1`, "code", quote(code)), Code: invalid},
		{Name: "verify no login_id", Method: "POST", Path: "/login/verify", Body: jsonBody("code", quote(code)), Code: invalid},
		{Name: "verify no code", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id), Code: invalid},
		{Name: "verify login_id too long", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", long(maxLoginIDLen+1), "code", quote(code)), Code: invalid},
		{Name: "verify login_id with space", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", `"l_ x"`, "code", quote(code)), Code: invalid},
		{Name: "verify login_id with control", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", `"l_\u0000"`, "code", quote(code)), Code: invalid},
		{Name: "verify login_id not ASCII", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", `"l_é"`, "code", quote(code)), Code: invalid},
		{Name: "verify code 5 digits", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(code[:5])), Code: invalid},
		{Name: "verify code 7 digits", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(code+"0")), Code: invalid},
		{Name: "verify code letters", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", `"abcdef"`), Code: invalid},
		{Name: "verify code padded", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", quote(" "+code[:5])), Code: invalid},
		{Name: "verify code fullwidth", Method: "POST", Path: "/login/verify", Body: jsonBody("login_id", id, "code", `"１２３４５６"`), Code: invalid},

		// GET /login/verify: the WhatsApp link, aimed at the pending login.
		{Name: "link without query", Method: "GET", Path: link(""), Code: invalid},
		{Name: "link without code", Method: "GET", Path: link("login_id=" + url.QueryEscape(pending.LoginID)), Code: invalid},
		{Name: "link without login_id", Method: "GET", Path: link("code=" + code), Code: invalid},
		{Name: "link extra parameter", Method: "GET", Path: link("login_id=" + url.QueryEscape(pending.LoginID) + "&code=" + code + "&next=/evil"), Code: invalid},
		{Name: "link repeated code", Method: "GET", Path: link("login_id=" + url.QueryEscape(pending.LoginID) + "&code=" + code + "&code=" + code), Code: invalid},
		{Name: "link short code", Method: "GET", Path: link("login_id=" + url.QueryEscape(pending.LoginID) + "&code=" + code[:5]), Code: invalid},
		{Name: "link code with letters", Method: "GET", Path: link("login_id=" + url.QueryEscape(pending.LoginID) + "&code=12ab56"), Code: invalid},
		{Name: "link login_id with space", Method: "GET", Path: link("login_id=l_%20x&code=" + code), Code: invalid},
		{Name: "link login_id too long", Method: "GET", Path: link("login_id=" + strings.Repeat("l", maxLoginIDLen+1) + "&code=" + code), Code: invalid},

		// POST /login/resend, aimed at the pending login.
		{Name: "resend malformed JSON", Method: "POST", Path: "/login/resend", Body: `{"login_id"`, Code: invalid},
		{Name: "resend empty body", Method: "POST", Path: "/login/resend", Body: ``, Code: invalid},
		{Name: "resend unknown field", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", id, "phone", quote(e.active.Phone)), Code: invalid},
		{Name: "resend body over the limit", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", id, "channel", long(mockstore.MaxBody)), Code: mockstore.CodeBodyTooLarge},
		{Name: "resend login_id as list", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", "["+id+"]"), Code: invalid},
		{Name: "resend no login_id", Method: "POST", Path: "/login/resend", Body: jsonBody("channel", `"sms"`), Code: invalid},
		{Name: "resend login_id too long", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", long(maxLoginIDLen+1)), Code: invalid},
		{Name: "resend login_id with space", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", `"l_ x"`), Code: invalid},
		{Name: "resend channel unknown", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", id, "channel", `"fax"`), Code: invalid},
		{Name: "resend channel as bool", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", id, "channel", `true`), Code: invalid},
		{Name: "resend unknown login", Method: "POST", Path: "/login/resend", Body: jsonBody("login_id", `"l_nobody"`), Code: mockstore.CodeNotFound},

		// POST /sessions/validate.
		{Name: "validate malformed JSON", Method: "POST", Path: "/sessions/validate", Body: `{"token":` + tok[:10], Code: invalid},
		{Name: "validate empty body", Method: "POST", Path: "/sessions/validate", Body: ``, Code: invalid},
		{Name: "validate unknown field", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", tok, "user_id", quote(e.active.ID)), Code: invalid},
		{Name: "validate body over the limit", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", long(mockstore.MaxBody)), Code: mockstore.CodeBodyTooLarge},
		{Name: "validate token as number", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", `42`), Code: invalid},
		{Name: "validate no token", Method: "POST", Path: "/sessions/validate", Body: `{}`, Code: invalid},
		{Name: "validate token too long", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", long(maxTokenLen+1)), Code: invalid},
		{Name: "validate token with space", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", `"a b"`), Code: invalid},
		{Name: "validate token with newline", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", `"a\nb"`), Code: invalid},
		{Name: "validate token not ASCII", Method: "POST", Path: "/sessions/validate", Body: jsonBody("token", `"tökén"`), Code: invalid},

		// POST /logout, aimed at the live session.
		{Name: "logout malformed JSON", Method: "POST", Path: "/logout", Body: `{"token":` + tok + `,`, Code: invalid},
		{Name: "logout empty body", Method: "POST", Path: "/logout", Body: ``, Code: invalid},
		{Name: "logout unknown field", Method: "POST", Path: "/logout", Body: jsonBody("token", tok, "all", `true`), Code: invalid},
		{Name: "logout trailing data", Method: "POST", Path: "/logout", Body: jsonBody("token", tok) + jsonBody("token", tok), Code: invalid},
		{Name: "logout trailing bracket", Method: "POST", Path: "/logout", Body: jsonBody("token", tok) + `]`, Code: invalid, Bracket: true},
		{Name: "logout body over the limit", Method: "POST", Path: "/logout", Body: jsonBody("token", tok, "x", long(mockstore.MaxBody)), Code: mockstore.CodeBodyTooLarge},
		{Name: "logout token as list", Method: "POST", Path: "/logout", Body: jsonBody("token", "["+tok+"]"), Code: invalid},
		{Name: "logout no token", Method: "POST", Path: "/logout", Body: `{}`, Code: invalid},
		{Name: "logout token too long", Method: "POST", Path: "/logout", Body: jsonBody("token", long(maxTokenLen+1)), Code: invalid},
		{Name: "logout token with tab", Method: "POST", Path: "/logout", Body: jsonBody("token", quote(v.Token+"\t")), Code: invalid},

		// Wrong methods and unknown paths.
		{Name: "get login", Method: "GET", Path: "/login", Code: mockstore.CodeMethodNotAllowed},
		{Name: "put verify", Method: "PUT", Path: "/login/verify", Body: jsonBody("login_id", id, "code", wrongCode), Code: mockstore.CodeMethodNotAllowed},
		{Name: "get resend", Method: "GET", Path: "/login/resend", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get validate", Method: "GET", Path: "/sessions/validate", Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete logout", Method: "DELETE", Path: "/logout", Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "unknown path", Method: "POST", Path: "/users", Body: jsonBody("phone", quote(e.active.Phone)), Code: mockstore.CodeNotFound},
		{Name: "deeper path", Method: "POST", Path: "/login/verify/" + pending.LoginID, Body: jsonBody("code", wrongCode), Code: mockstore.CodeNotFound},
		{Name: "sessions collection", Method: "GET", Path: "/sessions", Code: mockstore.CodeNotFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/auth", Code: mockstore.CodeNotFound},

		// The audit handler.
		{Name: "audit wrong method", Method: "POST", Path: "/audit/auth", Body: `{}`, Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: mockstore.CodeNotFound},
		{Name: "API not on the audit", Method: "POST", Path: "/logout", Body: jsonBody("token", tok), Audit: true, Code: mockstore.CodeNotFound},
	}
	// A refusal must not leave a send behind either: the state after a case
	// is read once auth is idle.
	settled := func(tb testing.TB) string { e.idle(tb); return e.state(tb) }
	badinput.Run(t, badinput.Target{API: e.api.URL, Audit: e.audit.URL, State: settled}, cases)
	// The session and the login aimed at are intact: the session validates
	// and the pending login's code still verifies, first time.
	if got, err := e.c.Validate(ctx, v.Token); err != nil || got.UserID != e.active.ID {
		t.Errorf("Validate after bad input = %+v, %v", got, err)
	}
	if got, err := e.c.Verify(ctx, pending.LoginID, code); err != nil || got.UserID != e.restricted.ID {
		t.Errorf("Verify after bad input = %+v, %v", got, err)
	}
}

// state returns auth's audit and tables, the session store's audit and the
// provider's, in a form that compares with ==.
func (e *env) state(tb testing.TB) string {
	tb.Helper()
	sa, err := sessions.ReadAudit(context.Background(), nil, e.sessAud)
	if err != nil {
		tb.Fatalf("sessions.ReadAudit: %v", err)
	}
	oa, err := otp.ReadAudit(context.Background(), nil, e.otpAud)
	if err != nil {
		tb.Fatalf("otp.ReadAudit: %v", err)
	}
	return fmt.Sprintf("auth %+v; sessions %+v; otp %v; %s", e.readAudit(tb), sa, oa.Sent, badinput.Tables(tb, e.svc.st.db.DB))
}
