package wallet

import (
	"net/http"

	"github.com/gameday/gameday/mockstore"
)

func (s *Service) handleAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.account(r.Context(), r.PathValue("user_id"))
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, a)
}

func (s *Service) handleTopup(w http.ResponseWriter, r *http.Request) {
	var req topupRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	t, err := s.topup(r.Context(), r.PathValue("user_id"), req.Amount, req.Reference)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleCharge(w http.ResponseWriter, r *http.Request) {
	// The key is checked before the body so that a caller that forgot it is
	// told so, whatever its body.
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeIdempotencyKey, "the %s header is required", IdempotencyHeader))
		return
	}
	var req ChargeRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	ch, created, err := s.charge(r.Context(), key, req)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	mockstore.WriteJSON(w, status, ch)
}

func (s *Service) handleLookupCharge(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupCharge(r.Context(), r.PathValue("key"))
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, ch)
}

func (s *Service) handleRefund(w http.ResponseWriter, r *http.Request) {
	var req RefundRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	rf, err := s.refund(r.Context(), req.OrderID)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, rf)
}

func (s *Service) handleTotals(w http.ResponseWriter, r *http.Request) {
	t, err := s.totals(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleLedger(w http.ResponseWriter, r *http.Request) {
	es, err := s.ledger(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, es)
}

func (s *Service) handleCharges(w http.ResponseWriter, r *http.Request) {
	cs, err := s.charges(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, cs)
}
