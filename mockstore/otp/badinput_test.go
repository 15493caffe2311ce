package otp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
)

// sendBody returns a POST /send body with field set to raw JSON (or left
// out when raw is "-"), the other fields valid.
func sendBody(field, raw string) string {
	fields := [][2]string{
		{"phone", `"` + phone + `"`},
		{"channel", `"sms"`},
		{"code", `"123456"`},
		{"login_id", `"l1"`},
	}
	var parts []string
	found := false
	for _, f := range fields {
		if f[0] == field {
			found = true
			if raw == "-" {
				continue
			}
			f[1] = raw
		}
		parts = append(parts, `"`+f[0]+`":`+f[1])
	}
	if !found && raw != "-" {
		parts = append(parts, `"`+field+`":`+raw)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestBadInputEveryRoute sends bad input to every route of the provider and
// of its audit handler: each is refused with its specific code in the one
// envelope, never a 5xx, and no message is stored or counted.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// One message already in the inbox: the bad requests must not add any.
	if _, err := e.c.Send(ctx, Message{Phone: phone, Channel: ChannelSMS, Code: "654321", LoginID: "l0"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	invalid := mockstore.CodeInvalidRequest
	cases := []badinput.Case{
		// POST /send: the body.
		{Name: "send malformed JSON", Method: "POST", Path: "/send", Body: `{"phone":"` + phone + `",`, Code: invalid},
		{Name: "send not JSON", Method: "POST", Path: "/send", Body: `phone=` + phone, Code: invalid},
		{Name: "send JSON array", Method: "POST", Path: "/send", Body: `[]`, Code: invalid},
		{Name: "send JSON string", Method: "POST", Path: "/send", Body: `"hello"`, Code: invalid},
		{Name: "send JSON null", Method: "POST", Path: "/send", Body: `null`, Code: invalid},
		{Name: "send empty body", Method: "POST", Path: "/send", Body: ``, Code: invalid},
		{Name: "send unknown field", Method: "POST", Path: "/send", Body: sendBody("priority", `"high"`), Code: invalid},
		{Name: "send message_id given", Method: "POST", Path: "/send", Body: sendBody("message_id", `"m_1"`), Code: invalid},
		{Name: "send trailing data", Method: "POST", Path: "/send", Body: sendBody("", "-") + ` {}`, Code: invalid},
		{Name: "send trailing brace", Method: "POST", Path: "/send", Body: sendBody("", "-") + `}`, Code: invalid, Bracket: true},
		{Name: "send body over the limit", Method: "POST", Path: "/send",
			Body: sendBody("link", `"`+strings.Repeat("x", mockstore.MaxBody)+`"`), Code: mockstore.CodeBodyTooLarge},
		// Wrong types.
		{Name: "send phone as number", Method: "POST", Path: "/send", Body: sendBody("phone", `6281234500001`), Code: invalid},
		{Name: "send code as number", Method: "POST", Path: "/send", Body: sendBody("code", `123456`), Code: invalid},
		{Name: "send channel as list", Method: "POST", Path: "/send", Body: sendBody("channel", `["sms"]`), Code: invalid},
		{Name: "send login_id as object", Method: "POST", Path: "/send", Body: sendBody("login_id", `{}`), Code: invalid},
		{Name: "send link as bool", Method: "POST", Path: "/send", Body: sendBody("link", `true`), Code: invalid},
		// Missing fields.
		{Name: "send no phone", Method: "POST", Path: "/send", Body: sendBody("phone", "-"), Code: invalid},
		{Name: "send no channel", Method: "POST", Path: "/send", Body: sendBody("channel", "-"), Code: invalid},
		{Name: "send no code", Method: "POST", Path: "/send", Body: sendBody("code", "-"), Code: invalid},
		{Name: "send no login_id", Method: "POST", Path: "/send", Body: sendBody("login_id", "-"), Code: invalid},
		{Name: "send empty object", Method: "POST", Path: "/send", Body: `{}`, Code: invalid},
		// Ill-formed phones.
		{Name: "phone without plus", Method: "POST", Path: "/send", Body: sendBody("phone", `"6281234500001"`), Code: invalid},
		{Name: "phone national", Method: "POST", Path: "/send", Body: sendBody("phone", `"081234500001"`), Code: invalid},
		{Name: "phone leading zero", Method: "POST", Path: "/send", Body: sendBody("phone", `"+0812345000"`), Code: invalid},
		{Name: "phone 7 digits", Method: "POST", Path: "/send", Body: sendBody("phone", `"+6281234"`), Code: invalid},
		{Name: "phone 16 digits", Method: "POST", Path: "/send", Body: sendBody("phone", `"+6281234500001234"`), Code: invalid},
		{Name: "phone with spaces", Method: "POST", Path: "/send", Body: sendBody("phone", `"+62 812 3450 0001"`), Code: invalid},
		{Name: "phone with dashes", Method: "POST", Path: "/send", Body: sendBody("phone", `"+62-812-3450-0001"`), Code: invalid},
		{Name: "phone plus only", Method: "POST", Path: "/send", Body: sendBody("phone", `"+"`), Code: invalid},
		{Name: "phone two plus", Method: "POST", Path: "/send", Body: sendBody("phone", `"++6281234500001"`), Code: invalid},
		{Name: "phone unicode digits", Method: "POST", Path: "/send", Body: sendBody("phone", `"+٦٢٨١٢٣٤٥٠٠٠٠١"`), Code: invalid},
		{Name: "phone fullwidth digits", Method: "POST", Path: "/send", Body: sendBody("phone", `"+６２８１２３４５０００"`), Code: invalid},
		// Channels.
		{Name: "channel unknown", Method: "POST", Path: "/send", Body: sendBody("channel", `"email"`), Code: invalid},
		{Name: "channel upper case", Method: "POST", Path: "/send", Body: sendBody("channel", `"SMS"`), Code: invalid},
		{Name: "channel padded", Method: "POST", Path: "/send", Body: sendBody("channel", `" sms"`), Code: invalid},
		{Name: "channel empty", Method: "POST", Path: "/send", Body: sendBody("channel", `""`), Code: invalid},
		// Codes.
		{Name: "code 5 digits", Method: "POST", Path: "/send", Body: sendBody("code", `"12345"`), Code: invalid},
		{Name: "code 7 digits", Method: "POST", Path: "/send", Body: sendBody("code", `"1234567"`), Code: invalid},
		{Name: "code letters", Method: "POST", Path: "/send", Body: sendBody("code", `"abcdef"`), Code: invalid},
		{Name: "code with space", Method: "POST", Path: "/send", Body: sendBody("code", `"123 45"`), Code: invalid},
		{Name: "code negative", Method: "POST", Path: "/send", Body: sendBody("code", `"-12345"`), Code: invalid},
		{Name: "code fullwidth digits", Method: "POST", Path: "/send", Body: sendBody("code", `"１２３４５６"`), Code: invalid},
		{Name: "code empty", Method: "POST", Path: "/send", Body: sendBody("code", `""`), Code: invalid},
		// Login IDs and links.
		{Name: "login_id empty", Method: "POST", Path: "/send", Body: sendBody("login_id", `""`), Code: invalid},
		{Name: "login_id too long", Method: "POST", Path: "/send", Body: sendBody("login_id", `"`+strings.Repeat("l", maxLoginIDLen+1)+`"`), Code: invalid},
		{Name: "login_id with space", Method: "POST", Path: "/send", Body: sendBody("login_id", `"l 1"`), Code: invalid},
		{Name: "login_id with control", Method: "POST", Path: "/send", Body: sendBody("login_id", `"l\n1"`), Code: invalid},
		{Name: "login_id not ASCII", Method: "POST", Path: "/send", Body: sendBody("login_id", `"lü"`), Code: invalid},
		{Name: "link too long", Method: "POST", Path: "/send", Body: sendBody("link", `"/`+strings.Repeat("k", maxLinkLen)+`"`), Code: invalid},
		{Name: "link with space", Method: "POST", Path: "/send", Body: sendBody("link", `"/login verify"`), Code: invalid},
		{Name: "link with NUL", Method: "POST", Path: "/send", Body: sendBody("link", `"/login\u0000"`), Code: invalid},

		// POST /send/{channel}: the channel in the path, the rest in the body.
		{Name: "send/sms malformed JSON", Method: "POST", Path: "/send/sms", Body: `{"phone":`, Code: invalid},
		{Name: "send/sms empty body", Method: "POST", Path: "/send/sms", Body: ``, Code: invalid},
		{Name: "send/sms unknown field", Method: "POST", Path: "/send/sms", Body: sendBody("retries", `3`), Code: invalid},
		{Name: "send/sms trailing brace", Method: "POST", Path: "/send/sms", Body: sendBody("channel", "-") + `}`, Code: invalid, Bracket: true},
		{Name: "send/sms body over the limit", Method: "POST", Path: "/send/sms",
			Body: sendBody("link", `"`+strings.Repeat("x", mockstore.MaxBody)+`"`), Code: mockstore.CodeBodyTooLarge},
		{Name: "send/sms phone as number", Method: "POST", Path: "/send/sms", Body: sendBody("phone", `6281234500001`), Code: invalid},
		{Name: "send/sms bad phone", Method: "POST", Path: "/send/sms", Body: sendBody("phone", `"081234500001"`), Code: invalid},
		{Name: "send/sms bad code", Method: "POST", Path: "/send/sms", Body: sendBody("code", `"12a456"`), Code: invalid},
		{Name: "send/sms no login_id", Method: "POST", Path: "/send/sms", Body: sendBody("login_id", "-"), Code: invalid},
		{Name: "send/fax", Method: "POST", Path: "/send/fax", Body: sendBody("channel", "-"), Code: invalid},
		{Name: "send/SMS", Method: "POST", Path: "/send/SMS", Body: sendBody("channel", "-"), Code: invalid},
		{Name: "send/ channel with space", Method: "POST", Path: "/send/sms%20", Body: sendBody("channel", "-"), Code: invalid},
		{Name: "send/ channel with NUL", Method: "POST", Path: "/send/sms%00", Body: sendBody("channel", "-"), Code: invalid},
		{Name: "send/whatsapp body says sms", Method: "POST", Path: "/send/whatsapp", Body: sendBody("", "-"), Code: invalid},
		{Name: "send/fax body says sms", Method: "POST", Path: "/send/fax", Body: sendBody("", "-"), Code: invalid},

		// GET /inbox/{phone}.
		{Name: "inbox phone without plus", Method: "GET", Path: "/inbox/6281234500001", Code: invalid},
		{Name: "inbox phone letters", Method: "GET", Path: "/inbox/+62812345abc", Code: invalid},
		{Name: "inbox phone too long", Method: "GET", Path: "/inbox/+" + strings.Repeat("6", 16), Code: invalid},
		{Name: "inbox phone with space", Method: "GET", Path: "/inbox/+62%20812345000", Code: invalid},
		{Name: "inbox phone not ASCII", Method: "GET", Path: "/inbox/+62%C3%BC12345000", Code: invalid},
		{Name: "inbox limit zero", Method: "GET", Path: "/inbox/" + phone + "?limit=0", Code: invalid},
		{Name: "inbox limit negative", Method: "GET", Path: "/inbox/" + phone + "?limit=-1", Code: invalid},
		{Name: "inbox limit over max", Method: "GET", Path: fmt.Sprintf("/inbox/%s?limit=%d", phone, maxInboxLimit+1), Code: invalid},
		{Name: "inbox limit beyond int64", Method: "GET", Path: "/inbox/" + phone + "?limit=99999999999999999999", Code: invalid},
		{Name: "inbox limit exponent", Method: "GET", Path: "/inbox/" + phone + "?limit=1e3", Code: invalid},
		{Name: "inbox limit word", Method: "GET", Path: "/inbox/" + phone + "?limit=all", Code: invalid},

		// Wrong methods and unknown paths.
		{Name: "get send", Method: "GET", Path: "/send", Code: mockstore.CodeMethodNotAllowed},
		{Name: "put send", Method: "PUT", Path: "/send", Body: sendBody("", "-"), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post inbox", Method: "POST", Path: "/inbox/" + phone, Body: sendBody("", "-"), Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete inbox", Method: "DELETE", Path: "/inbox/" + phone, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get send/sms", Method: "GET", Path: "/send/sms", Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete send/whatsapp", Method: "DELETE", Path: "/send/whatsapp", Code: mockstore.CodeMethodNotAllowed},
		{Name: "send without channel", Method: "POST", Path: "/send/", Body: sendBody("", "-"), Code: mockstore.CodeNotFound},
		{Name: "send deeper path", Method: "POST", Path: "/send/sms/now", Body: sendBody("channel", "-"), Code: mockstore.CodeNotFound},
		{Name: "inbox without phone", Method: "GET", Path: "/inbox/", Code: mockstore.CodeNotFound},
		{Name: "inbox deeper path", Method: "GET", Path: "/inbox/" + phone + "/1", Code: mockstore.CodeNotFound},
		{Name: "unknown path", Method: "POST", Path: "/messages", Body: sendBody("", "-"), Code: mockstore.CodeNotFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/otp", Code: mockstore.CodeNotFound},

		// The audit handler.
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: mockstore.CodeNotFound},
		{Name: "API not on the audit", Method: "POST", Path: "/send", Body: sendBody("", "-"), Audit: true, Code: mockstore.CodeNotFound},
	}
	badinput.Run(t, badinput.Target{API: e.api.URL, Audit: e.audit.URL, State: e.state}, cases)
	// The body every case above spoils is itself accepted: the cases are
	// refused for what they change, not for the rest.
	if a := badinput.Send(t, "POST", e.api.URL+"/send", sendBody("", "-"), nil); a.Status != http.StatusAccepted {
		t.Fatalf("the valid send = %d %s (%v)", a.Status, a.Body, a.Header)
	}
	if a := badinput.Send(t, "POST", e.api.URL+"/send/whatsapp", sendBody("channel", "-"), nil); a.Status != http.StatusAccepted {
		t.Fatalf("the valid send on /send/whatsapp = %d %s (%v)", a.Status, a.Body, a.Header)
	}
	if got := e.sent(t); got[ChannelSMS] != 2 || got[ChannelWhatsApp] != 1 {
		t.Errorf("sent %v, want 2 sms and 1 whatsapp", got)
	}
}

// state returns the audit and every stored message, in a form that compares
// with ==.
func (e *env) state(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("sent %v; %s", e.sent(tb), badinput.Tables(tb, e.svc.db.DB))
}
