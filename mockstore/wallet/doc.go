// Package wallet is the storefront's wallet: balances, top-ups idempotent by
// the payer's reference, charges idempotent by Idempotency-Key, refunds
// idempotent per order, and a lookup of a charge by key.
//
// Money lives in a double-entry ledger in SQLite (modernc.org/sqlite, WAL):
// every transaction writes entries that sum to zero, and every shopper's
// stored balance equals the sum of its entries. Each money operation is one
// SQLite transaction, so a crash leaves either all of it or none of it.
//
// Client is what other services (checkout, gateway) use to call it;
// ReadTotals and ReadCharges read its audit handler.
package wallet
