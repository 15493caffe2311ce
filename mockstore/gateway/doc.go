// Package gateway is the storefront's public API v1, the only service
// shoppers talk to. It sits in front of auth, checkout and wallet, validates
// every session through auth, answers every error in the one envelope of
// mockstore.WriteError, serves planned maintenance, and guards each upstream
// with a timeout, a circuit breaker and a retry budget.
//
// The routes are DESIGN.md's "Public API v1". A session is
// "Authorization: Bearer <token>" or the session cookie that
// POST /api/v1/login/verify sets; cart routes also work for guests, who are
// known by the guest_id cookie or the X-Guest-Id header (a new id is issued
// when a request carries none).
//
// Which defences are on is decided by mockstore.Features:
//   - honest_errors: a failed upstream is 503 temporarily_unavailable with
//     Retry-After, naming what is unavailable (off: a bare 500, and a failed
//     login start is "phone number not registered");
//   - session_fallback: auth failing to validate a session is that failure,
//     passed on as retryable, never a logout (off: the shopper gets 401 and
//     loses the cookie);
//   - balance_cache: an unreadable balance is the last one read, marked
//     stale with its time (off: the balance shows as 0);
//   - circuit_breakers: a failing upstream trips its breaker and calls fail
//     fast with Retry-After (off: every call waits its full timeout);
//   - retry_budget: idempotent calls are retried at most once, with jittered
//     backoff, within 10% of the calls (off: three immediate retries).
//
// Login starts and resends name the shopper's address to auth, for its
// per-client OTP send limit: the last X-Forwarded-For address when the
// gateway's peer is the proxy in front of it (loopback or a private
// network), the peer's address otherwise (clientAddr).
//
// AuditHandler serves what shoppers were told (GET /audit/gateway) and the
// operator's maintenance switch (POST /audit/maintenance); it is served on
// its own loopback listener, never to shoppers.
package gateway
