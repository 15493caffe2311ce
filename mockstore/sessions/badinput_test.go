package sessions

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
)

// TestBadInputEveryRoute sends bad input to every route of the store and of
// its audit handler: each is refused with its specific code in the one
// envelope, never a 5xx, and neither the audit nor the store's tables move.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	// A live session that the bad requests below aim at.
	if err := e.c.Put(ctx, "t1", "u1", time.Hour); err != nil {
		t.Fatalf("Put: %v", err)
	}
	const put = `{"user_id":"u2","ttl_s":60}`
	invalid, tooLarge := mockstore.CodeInvalidRequest, mockstore.CodeBodyTooLarge
	cases := []badinput.Case{
		// PUT /sessions/{token}: the body.
		{Name: "put malformed JSON", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2",`, Code: invalid},
		{Name: "put not JSON", Method: "PUT", Path: "/sessions/t1", Body: `user_id=u2&ttl_s=60`, Code: invalid},
		{Name: "put JSON array", Method: "PUT", Path: "/sessions/t1", Body: `["u2",60]`, Code: invalid},
		{Name: "put JSON null", Method: "PUT", Path: "/sessions/t1", Body: `null`, Code: invalid},
		{Name: "put empty body", Method: "PUT", Path: "/sessions/t1", Body: ``, Code: invalid},
		{Name: "put unknown field", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":60,"admin":true}`, Code: invalid},
		{Name: "put trailing data", Method: "PUT", Path: "/sessions/t1", Body: put + `{}`, Code: invalid},
		{Name: "put trailing bracket", Method: "PUT", Path: "/sessions/t1", Body: put + `]`, Code: invalid, Bracket: true},
		{Name: "put body over the limit", Method: "PUT", Path: "/sessions/t1",
			Body: `{"user_id":"u2","ttl_s":60,"x":"` + strings.Repeat("x", mockstore.MaxBody) + `"}`, Code: tooLarge},
		{Name: "put user_id as number", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":2,"ttl_s":60}`, Code: invalid},
		{Name: "put ttl as string", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":"60"}`, Code: invalid},
		{Name: "put ttl as fraction", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":1.5}`, Code: invalid},
		{Name: "put ttl as bool", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":true}`, Code: invalid},
		{Name: "put no user_id", Method: "PUT", Path: "/sessions/t1", Body: `{"ttl_s":60}`, Code: invalid},
		{Name: "put empty user_id", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"","ttl_s":60}`, Code: invalid},
		{Name: "put no ttl", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2"}`, Code: invalid},
		{Name: "put ttl zero", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":0}`, Code: invalid},
		{Name: "put ttl negative", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":-1}`, Code: invalid},
		{Name: "put ttl over MaxTTL", Method: "PUT", Path: "/sessions/t1",
			Body: fmt.Sprintf(`{"user_id":"u2","ttl_s":%d}`, int64(MaxTTL/time.Second)+1), Code: invalid},
		{Name: "put ttl beyond int64", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":9223372036854775808}`, Code: invalid},
		{Name: "put ttl 1e30", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u2","ttl_s":1e30}`, Code: invalid},
		{Name: "put user_id too long", Method: "PUT", Path: "/sessions/t1",
			Body: `{"user_id":"` + strings.Repeat("u", maxUserIDLen+1) + `","ttl_s":60}`, Code: invalid},
		{Name: "put user_id with space", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u 2","ttl_s":60}`, Code: invalid},
		{Name: "put user_id with control", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"u\u00002","ttl_s":60}`, Code: invalid},
		{Name: "put user_id not ASCII", Method: "PUT", Path: "/sessions/t1", Body: `{"user_id":"ü2","ttl_s":60}`, Code: invalid},
		// PUT /sessions/{token}: the token.
		{Name: "put token too long", Method: "PUT", Path: "/sessions/" + strings.Repeat("t", maxTokenLen+1), Body: put, Code: invalid},
		{Name: "put token with space", Method: "PUT", Path: "/sessions/t%201", Body: put, Code: invalid},
		{Name: "put token with control", Method: "PUT", Path: "/sessions/t%0A1", Body: put, Code: invalid},
		{Name: "put token not ASCII", Method: "PUT", Path: "/sessions/t%C3%BC", Body: put, Code: invalid},
		{Name: "put token with DEL", Method: "PUT", Path: "/sessions/t%7F", Body: put, Code: invalid},

		// GET /sessions/{token}.
		{Name: "get token too long", Method: "GET", Path: "/sessions/" + strings.Repeat("t", maxTokenLen+1), Code: invalid},
		{Name: "get token with space", Method: "GET", Path: "/sessions/t%201", Code: invalid},
		{Name: "get token not ASCII", Method: "GET", Path: "/sessions/%FF", Code: invalid},
		{Name: "get unknown token", Method: "GET", Path: "/sessions/nobody", Code: mockstore.CodeNotFound},

		// DELETE /sessions/{token}.
		{Name: "delete token too long", Method: "DELETE", Path: "/sessions/" + strings.Repeat("t", maxTokenLen+1), Code: invalid},
		{Name: "delete token with tab", Method: "DELETE", Path: "/sessions/t%091", Code: invalid},
		{Name: "delete token not ASCII", Method: "DELETE", Path: "/sessions/t%E2%82%AC", Code: invalid},

		// Wrong methods and unknown paths.
		{Name: "post a session", Method: "POST", Path: "/sessions/t1", Body: put, Code: mockstore.CodeMethodNotAllowed},
		{Name: "patch a session", Method: "PATCH", Path: "/sessions/t1", Body: put, Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "no token", Method: "PUT", Path: "/sessions/", Body: put, Code: mockstore.CodeNotFound},
		{Name: "sessions collection", Method: "GET", Path: "/sessions", Code: mockstore.CodeNotFound},
		{Name: "deeper path", Method: "PUT", Path: "/sessions/t1/extra", Body: put, Code: mockstore.CodeNotFound},
		{Name: "unknown path", Method: "GET", Path: "/nope", Code: mockstore.CodeNotFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/sessions", Code: mockstore.CodeNotFound},

		// The audit handler.
		{Name: "audit wrong method", Method: "DELETE", Path: "/audit/sessions", Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: mockstore.CodeNotFound},
		{Name: "API not on the audit", Method: "PUT", Path: "/sessions/t1", Body: put, Audit: true, Code: mockstore.CodeNotFound},
	}
	badinput.Run(t, badinput.Target{API: e.api.URL, Audit: e.audit.URL, State: e.state}, cases)
	// The session aimed at is as it was put.
	s, err := e.c.Get(ctx, "t1")
	if err != nil || s.UserID != "u1" || !s.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("session t1 after bad input = %+v, %v; want u1 for an hour", s, err)
	}
}

// state returns the audit and every row of every table of the store, in a
// form that compares with ==.
func (e *env) state(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("audit %+v; %s", e.readAudit(tb), badinput.Tables(tb, e.svc.db.DB))
}
