// Package otp is the storefront's SMS/WhatsApp provider and the shoppers'
// test inbox: it accepts sends of codes that auth generated and delivers
// them, at once, into the inbox of the phone, which load scripts poll as a
// phone would receive them. Messages live in SQLite (modernc.org/sqlite, WAL).
//
// Client is what auth (Send) and tests (Inbox) use; ReadAudit reads its audit
// handler.
package otp
