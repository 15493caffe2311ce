package auth

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/sessions"
)

// TestNewTokenEveryLogin: each login gets a fresh 256-bit token, stored in
// the session store under the user, and never stored by auth itself.
func TestNewTokenEveryLogin(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	seen := map[string]bool{}
	for i := range 3 {
		v := e.login(t, e.active)
		raw, err := base64.RawURLEncoding.DecodeString(v.Token)
		if err != nil || len(raw) != TokenBytes || len(v.Token) != 43 {
			t.Fatalf("token %q: %d bytes, %v; want 32 random bytes in base64url", v.Token, len(raw), err)
		}
		if seen[v.Token] {
			t.Fatalf("login %d reused a token", i+1)
		}
		seen[v.Token] = true
		if s, err := e.sessAPI.Get(ctx, v.Token); err != nil || s.UserID != e.active.ID {
			t.Errorf("store has %+v, %v", s, err)
		}
		var n int
		if err := e.svc.st.db.QueryRow(`SELECT count(*) FROM tokens WHERE CAST(token_hash AS TEXT) = ? OR user_id = ?`,
			v.Token, v.Token).Scan(&n); err != nil || n != 0 {
			t.Errorf("auth stores the token in clear (%d, %v)", n, err)
		}
		e.clock.Advance(time.Minute)
	}
	for tok := range seen {
		if _, err := e.c.Validate(ctx, tok); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
	if a := e.readAudit(t); a.SessionsIssued != 3 || a.Verified != 3 {
		t.Errorf("audit = %+v", a)
	}
}

func TestLogoutRevokes(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	v := e.login(t, e.active)
	other := e.login(t, e.active)
	if err := e.c.Logout(ctx, v.Token); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err := e.sessAPI.Get(ctx, v.Token)
	wantErr(t, err, mockstore.CodeNotFound)
	_, err = e.c.Validate(ctx, v.Token)
	wantErr(t, err, mockstore.CodeUnauthenticated)
	if _, err := e.c.Validate(ctx, other.Token); err != nil {
		t.Errorf("another session of the same user: %v", err)
	}
	if err := e.c.Logout(ctx, v.Token); err != nil {
		t.Errorf("second Logout: %v", err)
	}
	if err := e.c.Logout(ctx, "never-issued"); err != nil {
		t.Errorf("Logout of an unknown token: %v", err)
	}
	a := e.readAudit(t)
	if a.Logouts != 1 || a.SessionsRejected[RejectRevoked] != 1 {
		t.Errorf("audit = %+v", a)
	}
	sa, err := sessions.ReadAudit(ctx, nil, e.sessAud)
	if err != nil || sa.Deleted != 1 || sa.Live != 1 {
		t.Errorf("store audit = %+v, %v", sa, err)
	}
}

// TestLogoutWhileStoreDown: the token is dead even though the store could
// not be told; it stays dead once the store is back.
func TestLogoutWhileStoreDown(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	v := e.login(t, e.active)
	e.sessFwd.Cut(-1)
	if err := e.c.Logout(ctx, v.Token); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	e.sessFwd.Pass()
	_, err := e.c.Validate(ctx, v.Token)
	wantErr(t, err, mockstore.CodeUnauthenticated)
	if a := e.readAudit(t); a.SessionsRejected[RejectRevoked] != 1 || a.Logouts != 1 {
		t.Errorf("audit = %+v", a)
	}
}

func TestValidateRejections(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	v := e.login(t, e.active)

	_, err := e.c.Validate(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantErr(t, err, mockstore.CodeUnauthenticated)

	e.clock.Advance(24*time.Hour - time.Second)
	if _, err := e.c.Validate(ctx, v.Token); err != nil {
		t.Fatalf("Validate just before the TTL: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err = e.c.Validate(ctx, v.Token)
	wantErr(t, err, mockstore.CodeUnauthenticated)

	a := e.readAudit(t)
	want := map[string]int{RejectUnknown: 1, RejectExpired: 1, RejectRevoked: 0, RejectStoreError: 0}
	for k, n := range want {
		if a.SessionsRejected[k] != n {
			t.Errorf("sessions_rejected = %v, want %v", a.SessionsRejected, want)
			break
		}
	}
}

func TestSessionTTLConfig(t *testing.T) {
	e := newEnv(t, features(), func(c *Config) { c.SessionTTL = time.Hour })
	v := e.login(t, e.active)
	if v.ExpiresInS != 3600 {
		t.Errorf("expires_in_s = %d, want 3600", v.ExpiresInS)
	}
	e.clock.Advance(time.Hour)
	_, err := e.c.Validate(context.Background(), v.Token)
	wantErr(t, err, mockstore.CodeUnauthenticated)
}
