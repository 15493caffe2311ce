// Package food is the storefront's food-delivery service, the role
// ShopeeFood plays: a shopper orders dishes from a restaurant, the
// restaurant's merchant accepts the order, a driver takes the delivery, and
// the parties chat on the order. An order moves
//
//	placed → accepted → assigned
//
// and every move is recorded with its time. Orders and chat messages live in
// SQLite (modernc.org/sqlite, WAL, synchronous=NORMAL).
//
// Placing an order and posting a message each carry an Idempotency-Key.
// With mockstore.IdempotentRequests on, the same key from the same sender is
// stored once: a retry after a lost answer gets the first result back with
// Replayed set, and the key reused for another request is refused with
// idempotency_conflict. Off (the incident's behaviour) the key is only
// recorded, so every retry places another order or posts the message again,
// and the audit shows the duplicates under one key.
//
// Only the parties of an order see it: its shopper, the merchant of its
// restaurant and, once assigned, its driver. To anyone else it does not
// exist (not_found).
//
// The gateway is the only caller; it passes the authenticated user as "as".
// Client is what it uses; Client.Audit reads the audit handler.
package food
