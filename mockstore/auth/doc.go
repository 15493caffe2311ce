// Package auth is the storefront's login service: users seeded from the
// dataset, login by phone number and one-time code (sent through the otp
// provider), the WhatsApp login link, and session issue, validation and
// logout against the session store.
//
// Client is what the gateway uses to call it; ReadAudit reads its audit
// handler.
package auth
