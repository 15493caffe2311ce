// Package checkout is the storefront's checkout service: the catalogue,
// carts persisted per owner, couriers with the areas they serve and their
// weight and size limits, checkout with the specific refusal reasons of
// INCIDENTS.md, and orders with a state machine
//
//	created → payment_pending → paid | failed → refunded
//
// whose every transition is recorded with its time and reason.
//
// A checkout is idempotent by (user, Idempotency-Key). Its refusals, checked
// in this order before any order exists: idempotency_key_required,
// invalid_request (malformed body or a value outside the allowed set),
// account_restricted, cart_empty, payment_method_not_supported,
// unknown_courier, address_not_served, over_courier_weight_limit,
// over_courier_size_limit.
//
// Payment goes to the wallet under a key derived from the order. Which
// defences are on is decided by mockstore.Features:
//   - idempotent_payments: every attempt for an order uses the same key, so a
//     retry after a lost answer cannot charge twice (off: a fresh key each time);
//   - payment_reconciliation: an unknown outcome leaves the order
//     payment_pending and a reconciler re-drives the charge by key until it is
//     settled or PendingBound passes (off: the order fails at once);
//   - checkout_once_per_cart: a checkout under a new key for a cart that is
//     ordered already (its order still being paid, or paid from the cart as
//     it is now) is answered with that order, replayed "cart"; the cart is
//     ordered at most once (off: a new key is a new order and a new charge);
//   - refund_outbox: an order that fails after a payment of unknown outcome is
//     refunded through an outbox written in the same transaction, retried
//     until the wallet confirms, exactly once (off: only the manual refund).
//
// Client is what the gateway uses to call it; ReadOrders reads its audit
// handler.
package checkout
