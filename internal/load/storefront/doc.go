// Package storefront is the load of the mock storefront: its shoppers,
// and the restaurants' merchants and the drivers who work the food orders
// beside them. It is the k6 script shopper.js of gameday's first versions,
// in Go, for the load engine of package load, with the same journeys,
// metric names, tags and counting rules, so that scenario files and the
// judge read what they read before.
//
// A shopper is a person with a phone. A visit logs in by OTP (the code
// read from the provider's test inbox, asked for again when late, by SMS
// then by WhatsApp, and a WhatsApp login link used when one comes),
// browses, fills the cart, looks at the wallet and tops up when it runs
// low, checks out with one Idempotency-Key kept across retries, and polls
// the order until it settles; for a share of visits it first orders food
// or pays a restaurant by QR code. Answers 503 and 429 are retried after
// their Retry-After (capped at 10 s) spread by a factor of 1 to 1.5, never
// sooner; a call that may be repeated is sent again after no answer.
//
// For the OTP rules (Settings.OTPLate, OTPReuse), a share of logins enter
// their code after its lifetime — OTPLateMargin past expires_in_s, counted
// from the answer that issued the code, never from its arrival — and a
// share enter an accepted code again from another device (no cookies).
// Both must be refused; each entry is counted with its answer.
//
// With Settings.Flood, a share of the virtual users are attackers instead
// (flood.go): they ask for login codes for a few phones over and over,
// beside the shoppers, under a journey tag of their own. Every virtual
// user sends its own address in X-Forwarded-For, as the proxy in front of
// a real gateway would name it.
//
// Every request is measured by load.VU.Do with the tags endpoint and
// journey. The storefront's own metrics are the Metric* constants: what
// shoppers were shown, counted where shopper.js counted it.
//
// A visit whose context ends stops at once, between two requests or in
// the middle of one; the journey it was in is not recorded as a failure,
// and a request cut short is no shopper_error: the storefront did not
// fail them.
package storefront
