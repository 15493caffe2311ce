// Package auth is the storefront's login service: users seeded from the
// dataset, login by phone number and one-time code (sent through the otp
// provider), the WhatsApp login link, and session issue, validation and
// logout against the session store.
//
// With otp_send_limits on, the codes asked for (login starts and resends)
// are limited per phone and per client in a sliding window (limit.go): the
// client is the shopper's address, which the gateway names (From), and a
// verified login's codes stop counting. Over a limit the answer is 429
// rate_limited with Retry-After, decided before the phone is looked up, so
// it is the same for registered and unregistered numbers.
//
// Client is what the gateway uses to call it; ReadAudit reads its audit
// handler.
package auth
