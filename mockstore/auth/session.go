package auth

import (
	"context"
	"errors"

	"github.com/gameday/gameday/mockstore"
)

// validate returns the owner of token. A token revoked at logout is refused
// without asking the store. When the store fails, session_fallback decides:
// on, a retryable 503 and the session is untouched; off, the token is
// treated as invalid (the forced logout of the incidents).
func (s *Service) validate(ctx context.Context, token string) (Identity, error) {
	th := tokenHash(token)
	rec, known, err := s.st.token(ctx, th)
	if err != nil {
		return Identity{}, err
	}
	if known && rec.Revoked {
		return Identity{}, s.reject(ctx, RejectRevoked)
	}
	gctx, cancel := context.WithTimeout(ctx, s.cfg.SessionsTimeout)
	sess, err := s.sessions.Get(gctx, token)
	cancel()
	if err != nil {
		var e *mockstore.Error
		if errors.As(err, &e) && e.Code == mockstore.CodeNotFound {
			if known && !s.now().Before(rec.ExpiresAt) {
				return Identity{}, s.reject(ctx, RejectExpired)
			}
			return Identity{}, s.reject(ctx, RejectUnknown)
		}
		s.log.Warn("session store failed", "err", err)
		if s.cfg.Features.On(mockstore.SessionFallback) {
			return Identity{}, mockstore.Retry(mockstore.CodeUnavailable, retryAfterS, "session store unavailable; retry")
		}
		return Identity{}, s.reject(ctx, RejectStoreError)
	}
	u, ok, err := s.st.userBy(ctx, "user_id", sess.UserID)
	if err != nil {
		return Identity{}, err
	}
	if !ok {
		return Identity{}, s.reject(ctx, RejectUnknown)
	}
	return Identity{UserID: u.ID, Phone: u.Phone, Status: u.Status}, nil
}

// reject counts a refused session by reason and returns the 401.
func (s *Service) reject(ctx context.Context, reason string) error {
	if err := s.st.count(context.WithoutCancel(ctx), cRejectedPrefix+reason); err != nil {
		return err
	}
	msg := "no such session"
	switch reason {
	case RejectExpired:
		msg = "session expired"
	case RejectRevoked:
		msg = "session ended at logout"
	}
	return mockstore.Errorf(mockstore.CodeUnauthenticated, "%s", msg)
}

// logout revokes token: auth records the revocation (so validate refuses it
// whatever the store does) and deletes the session from the store. A store
// failure is logged, not answered: the token is dead all the same.
func (s *Service) logout(ctx context.Context, token string) error {
	th := tokenHash(token)
	if _, err := s.st.revoke(context.WithoutCancel(ctx), th, s.now()); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.SessionsTimeout)
	defer cancel()
	if err := s.sessions.Delete(dctx, token); err != nil {
		s.log.Warn("delete session at logout", "err", err)
	}
	return nil
}
