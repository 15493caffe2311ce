package auth

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// TestVerifiesAudited: every verify of a known login is in the audit with
// the issue time of the login's code, the time of the decision and its
// outcome — the ground truth the judge holds to the OTP rules.
func TestVerifiesAudited(t *testing.T) {
	e := newEnv(t, features())
	ctx := context.Background()
	issued := e.clock.Now()
	ls := e.start(t, e.active.Phone, "")
	code := e.code(t, e.active.Phone, ls.LoginID)
	e.clock.Advance(time.Second)
	_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
	wantErr(t, err, mockstore.CodeInvalidCode)
	e.clock.Advance(time.Second)
	if _, err := e.c.Verify(ctx, ls.LoginID, code); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err = e.c.Verify(ctx, ls.LoginID, code)
	wantErr(t, err, mockstore.CodeCodeExpired)

	late := e.start(t, e.active.Phone, "")
	lateIssued := e.clock.Now()
	lateCode := e.code(t, e.active.Phone, late.LoginID)
	e.clock.Advance(5 * time.Minute)
	_, err = e.c.Verify(ctx, late.LoginID, lateCode)
	wantErr(t, err, mockstore.CodeCodeExpired)
	_, err = e.c.Verify(ctx, "l_unknown", code) // an unknown login has no code to record
	wantErr(t, err, mockstore.CodeInvalidCode)

	want := []mockstore.VerifyRecord{
		{LoginID: ls.LoginID, IssuedAt: issued, At: issued.Add(time.Second), Outcome: string(mockstore.CodeInvalidCode)},
		{LoginID: ls.LoginID, IssuedAt: issued, At: issued.Add(2 * time.Second), Outcome: mockstore.VerifyAccepted},
		{LoginID: ls.LoginID, IssuedAt: issued, At: issued.Add(3 * time.Second), Outcome: string(mockstore.CodeCodeExpired)},
		{LoginID: late.LoginID, IssuedAt: lateIssued, At: lateIssued.Add(5 * time.Minute), Outcome: string(mockstore.CodeCodeExpired)},
	}
	got := e.readAudit(t).Verifies
	if !slices.EqualFunc(got, want, func(a, b mockstore.VerifyRecord) bool {
		return a.LoginID == b.LoginID && a.IssuedAt.Equal(b.IssuedAt) && a.At.Equal(b.At) && a.Outcome == b.Outcome
	}) {
		t.Errorf("audit verifies:\n got %+v\nwant %+v", got, want)
	}
}

// TestRulesBrokenOnPurpose holds the rule-breaking auths of export_test.go
// to what they claim, against auth as it is: a late delivery extends the
// code of BreakLifetimeFromDelivery only, a code is accepted twice by
// BreakSingleUse only — and the audit tells both apart from a kept rule.
func TestRulesBrokenOnPurpose(t *testing.T) {
	lateDelivery := func(t *testing.T, e *env) error {
		e.otpFwd.Hold(1)
		ls := e.start(t, e.active.Phone, "")
		waitUntil(t, "send held", func() bool { return e.otpFwd.Held() == 1 })
		e.clock.Advance(4 * time.Minute)
		e.otpFwd.Pass()
		m := e.message(t, e.active.Phone, ls.LoginID, "")
		e.idle(t)                    // the send acknowledged, as far as auth goes
		e.clock.Advance(time.Minute) // issue+5m, delivery+1m
		_, err := e.c.Verify(context.Background(), ls.LoginID, m.Code)
		return err
	}
	twice := func(t *testing.T, e *env) error {
		ls := e.start(t, e.active.Phone, "")
		code := e.code(t, e.active.Phone, ls.LoginID)
		if _, err := e.c.Verify(context.Background(), ls.LoginID, code); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
		_, err := e.c.Verify(context.Background(), ls.LoginID, code)
		return err
	}
	for _, tc := range []struct {
		name     string
		breaks   func(*Service)
		try      func(*testing.T, *env) error
		accepted bool // the last verify
	}{
		{"late delivery, rules kept", nil, lateDelivery, false},
		{"late delivery, lifetime from delivery", BreakLifetimeFromDelivery, lateDelivery, true},
		{"late delivery, single use broken", BreakSingleUse, lateDelivery, false},
		{"twice, rules kept", nil, twice, false},
		{"twice, single use broken", BreakSingleUse, twice, true},
		{"twice, lifetime from delivery", BreakLifetimeFromDelivery, twice, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newBrokenEnv(t, features(), tc.breaks)
			err := tc.try(t, e)
			if !tc.accepted {
				wantErr(t, err, mockstore.CodeCodeExpired)
				return
			}
			if err != nil {
				t.Fatalf("the last verify: %v; want it accepted by the broken rule", err)
			}
			var accepted []mockstore.VerifyRecord
			for _, v := range e.readAudit(t).Verifies {
				if v.Outcome == mockstore.VerifyAccepted {
					accepted = append(accepted, v)
				}
			}
			last := accepted[len(accepted)-1]
			switch {
			case len(accepted) == 2 && accepted[0].IssuedAt.Equal(last.IssuedAt):
				// one code accepted twice: what the judge's otp_used_once sees
			case len(accepted) == 1 && !last.At.Before(last.IssuedAt.Add(DefaultCodeTTL)):
				// accepted at or after issue + lifetime: what otp_within_lifetime sees
			default:
				t.Errorf("audit of accepted verifies %+v shows no broken rule", accepted)
			}
		})
	}
}
