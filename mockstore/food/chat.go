package food

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Message is one chat message on an order. From is the sender's user ID.
type Message struct {
	MessageID string    `json:"message_id"`
	OrderID   string    `json:"order_id"`
	From      string    `json:"from"`
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
	// Replayed is set on the answer to an Idempotency-Key seen before.
	Replayed bool `json:"replayed,omitempty"`
}

// postRequest is the body of POST /orders/{id}/messages.
type postRequest struct {
	As   string `json:"as"`
	Text string `json:"text"`
}

// post stores text from as on order id under key, or, with
// IdempotentRequests on, returns the message as sent under key on the order
// before (replay true); idempotency_conflict when that message had another
// text. not_found when there is no such order or as is not a party to it.
func (s *Service) post(ctx context.Context, key, as, id, text string) (m message, replay bool, err error) {
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := s.visibleOrder(ctx, tx, as, id); err != nil {
			return err
		}
		var dedup any // NULL: the naive store posts every retry again
		if s.idempotent {
			prev, ok, err := messageByKey(ctx, tx, id, as, key)
			if err != nil {
				return err
			}
			if ok {
				if prev.Text != text {
					return mockstore.Errorf(mockstore.CodeIdempotencyConflict,
						"%s %q was used for another message (%s)", IdempotencyHeader, clip(key), prev.ID)
				}
				m, replay = prev, true
				return nil
			}
			dedup = key
		}
		m = message{ID: newID("c"), OrderID: id, From: as, Key: key, Text: text, At: s.now().UTC()}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, order_id, sender, idem_key, dedup_key, text, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.OrderID, m.From, key, dedup, m.Text, m.At.UnixNano()); err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		return nil
	})
	return m, replay, err
}

func (s *Service) handlePost(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(IdempotencyHeader)
	if err := checkKey(key); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	id, err := orderParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	var req postRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkID("as", req.As); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkText(req.Text); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	m, replay, err := s.post(r.Context(), key, req.As, id, req.Text)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	v, status := m.view(), http.StatusCreated
	if replay {
		v.Replayed, status = true, http.StatusOK
	}
	mockstore.WriteJSON(w, status, v)
}

func (s *Service) handleMessages(w http.ResponseWriter, r *http.Request) {
	id, err := orderParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	as, err := asQuery(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	// One snapshot: the order's parties and its messages as of one moment.
	tx, err := s.db.BeginTx(r.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		s.errs.Write(w, r, fmt.Errorf("begin read: %w", err))
		return
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := s.visibleOrder(r.Context(), tx, as, id); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	list, err := listMessages(r.Context(), tx, id)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, list)
}
