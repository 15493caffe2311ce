package wallet

import (
	"database/sql"

	"github.com/gameday/gameday/mockstore/internal/prepared"
)

// The writer's transactions run their statements prepared (see package
// prepared).
type (
	stmts = prepared.Cache
	wtx   = prepared.Tx
)

func newStmts(db *sql.DB) *stmts { return prepared.New(db) }
