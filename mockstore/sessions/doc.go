// Package sessions is the storefront's session store, the role Redis plays
// in a real shop: token → user with a TTL, in SQLite (modernc.org/sqlite,
// WAL). Expired sessions are never returned and are purged lazily.
//
// Client is what auth uses to call it; ReadAudit reads its audit handler.
package sessions
