package auth

import (
	"context"

	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// The rule-breaking auths: what the tests that prove scenarios/otp-rules.yaml
// can fail run in place of auth. They live here, in test code, so that no
// build of gameday holds them; they reach auth through the unexported seams
// of Service (sent, verifying), which nothing but auth's own tests can set.
// Call them on a Service before it serves anything.

// BreakLifetimeFromDelivery makes s count a code's lifetime from each
// acknowledged send of it instead of from its issue: a late SMS extends
// the code (the bug DESIGN.md's "counted from issue" rules out).
func BreakLifetimeFromDelivery(s *Service) {
	s.sent = func(ctx context.Context, loginID string, codeHash []byte) {
		err := s.st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE logins SET expires_at = ? WHERE login_id = ? AND code_hash = ?`,
				s.now().Add(s.cfg.CodeTTL).UnixNano(), loginID, codeHash)
			return err
		})
		if err != nil {
			s.log.Error("extend code", "err", err)
		}
	}
}

// BreakSingleUse makes s accept a code again: a verify of the login's
// current code reopens the login that code completed (the bug "single use"
// rules out).
func BreakSingleUse(s *Service) {
	s.verifying = func(ctx context.Context, loginID string, codeHash []byte) {
		err := s.st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE logins SET done = 0 WHERE login_id = ? AND code_hash = ? AND locked = 0`, loginID, codeHash)
			return err
		})
		if err != nil {
			s.log.Error("reopen login", "err", err)
		}
	}
}
