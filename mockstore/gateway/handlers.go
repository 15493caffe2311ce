package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/wallet"
)

// Limits on what shoppers send.
const (
	MaxTopup       = 100_000_000 // largest single top-up, smallest unit
	maxIDLen       = 64          // product, order, login and guest IDs
	maxKeyLen      = 128         // Idempotency-Key, top-up reference
	codeLen        = 6           // an OTP code's digits
	maxAddressLine = 300
)

// IdempotencyHeader carries a checkout's idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// ---- answering

// fail answers err: an upstream failure per honest_errors, an upstream's
// answered error as it is, anything else as internal (and logged). what
// names the feature that is unavailable ("your wallet balance"); hint, when
// given, tells the shopper how to retry safely.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error, what, hint string) {
	var f *failure
	if !errors.As(err, &f) {
		s.errs.Write(w, r, err)
		return
	}
	s.log.Debug("upstream failure", "upstream", f.upstream, "breaker_open", f.breaker, "err", f.err)
	if !s.features.On(mockstore.HonestErrors) {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInternal, "internal error"))
		return
	}
	code := mockstore.CodeUnavailable
	if f.code != "" {
		code = f.code
	}
	msg := what + " is temporarily unavailable; please retry in a few seconds"
	if hint != "" {
		msg += " (" + hint + ")"
	}
	s.errs.Write(w, r, mockstore.Retry(code, f.retryAfter, "%s", msg))
}

// idempotencyKey returns the request's Idempotency-Key, answering the
// request itself and returning false when it is missing or malformed. what
// names the operation the key makes safe to retry.
func (s *Service) idempotencyKey(w http.ResponseWriter, r *http.Request, what string) (string, bool) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeIdempotencyKey, "the %s header is required: one key per %s, the same on every retry", IdempotencyHeader, what))
		return "", false
	}
	if len(key) > maxKeyLen || !printable(key) {
		s.errs.Write(w, r, badRequest("%s: want 1..%d printable characters", IdempotencyHeader, maxKeyLen))
		return "", false
	}
	return key, true
}

func badRequest(format string, args ...any) error {
	return mockstore.Errorf(mockstore.CodeInvalidRequest, format, args...)
}

// ---- sessions

// session returns the identity behind the request's session. When there is
// none, or it cannot be validated, it answers the request itself and returns
// false.
func (s *Service) session(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	token, ok := s.credential(w, r)
	if !ok {
		return auth.Identity{}, false
	}
	return s.validate(w, r, token)
}

// credential returns the request's session token without asking auth about
// it. When the request carries none, or a malformed one, it answers 401
// itself and returns false. Handlers that take input check it between
// credential and validate, so that bad input never costs a call upstream.
func (s *Service) credential(w http.ResponseWriter, r *http.Request) (string, bool) {
	cred := readCredentials(r)
	if cred.malformed {
		if cred.fromCookie {
			clearSessionCookie(w)
		}
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeUnauthenticated, "malformed credentials: want \"Authorization: Bearer <token>\" or the session cookie"))
		return "", false
	}
	if cred.token == "" {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeUnauthenticated, "sign in first"))
		return "", false
	}
	return cred.token, true
}

// validate asks auth who owns token. Only auth saying the token is unknown
// is a 401 (the cookie is cleared then). With session_fallback on, auth
// failing to answer is that failure, retryable, and the cookie stays; off, it
// is taken as an invalid session, as in the incidents.
func (s *Service) validate(w http.ResponseWriter, r *http.Request, token string) (auth.Identity, bool) {
	var id auth.Identity
	err := s.up[upstreamAuth].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		id, err = s.auth.Validate(ctx, token)
		return err
	})
	var f *failure
	var e *mockstore.Error
	switch {
	case err == nil:
		if known, ok := s.tokens.userOf(token); ok && known != id.UserID {
			s.audit.crossUserData()
			s.log.Error("session answered for another user", "user_id", known, "answered_user_id", id.UserID)
			s.fail(w, r, &failure{upstream: upstreamAuth, retryAfter: defaultRetryAS, err: errors.New("session answered for another user")},
				"your account", "")
			return auth.Identity{}, false
		}
		s.tokens.remember(token, id.UserID, time.Time{})
		return id, true
	case errors.As(err, &f):
		if !s.features.On(mockstore.SessionFallback) {
			s.unauthenticated(w, r, token, "your session could not be verified; please sign in again")
			return auth.Identity{}, false
		}
		s.fail(w, r, f, "sign-in", "you are still signed in")
	case errors.As(err, &e) && e.Code.Retryable():
		s.fail(w, r, e, "", "")
	default:
		s.unauthenticated(w, r, token, "your session has ended; please sign in again")
	}
	return auth.Identity{}, false
}

// unauthenticated answers 401 for token, clears the cookie, and counts a
// forced logout when the token was valid, not logged out, and not expired.
func (s *Service) unauthenticated(w http.ResponseWriter, r *http.Request, token, msg string) {
	if s.tokens.rejected(token, s.now()) {
		s.audit.forcedLogout()
	}
	clearSessionCookie(w)
	s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeUnauthenticated, "%s", msg))
}

// owner returns the cart owner of the request: "u:<user_id>" for a session,
// else "g:<guest_id>" (issuing a guest id when the request has none). It
// answers the request itself and returns false when it cannot.
func (s *Service) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, ok := s.cartCaller(w, r)
	if !ok {
		return "", false
	}
	return s.cartOwner(w, r, c)
}

// caller is who a cart request comes from, as far as the gateway can tell
// without asking auth: a session token, or else a guest id.
type caller struct {
	token, guest string
}

// cartCaller reads the request's session token or guest id (issuing a guest
// id when the request has neither). It answers the request itself and
// returns false when either is malformed.
func (s *Service) cartCaller(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if cred := readCredentials(r); cred.token != "" || cred.malformed {
		token, ok := s.credential(w, r)
		return caller{token: token}, ok
	}
	gid, fresh, ok := guestID(r)
	if !ok {
		s.errs.Write(w, r, badRequest("guest id must be 8..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return caller{}, false
	}
	if fresh {
		setGuestCookie(w, gid)
	}
	return caller{guest: gid}, true
}

// cartOwner returns the cart owner of c, validating its session with auth
// when it has one; it answers the request itself and returns false when the
// session is not valid.
func (s *Service) cartOwner(w http.ResponseWriter, r *http.Request, c caller) (string, bool) {
	if c.token == "" {
		return "g:" + c.guest, true
	}
	id, ok := s.validate(w, r, c.token)
	if !ok {
		return "", false
	}
	return "u:" + id.UserID, true
}

// ---- login

type loginRequest struct {
	Phone   string `json:"phone"`
	Channel string `json:"channel,omitempty"`
}

type verifyRequest struct {
	LoginID string `json:"login_id"`
	Code    string `json:"code"`
}

type resendRequest struct {
	LoginID string `json:"login_id"`
	Channel string `json:"channel,omitempty"`
}

// handleLogin starts a login. A failure of auth is never "not registered"
// with honest_errors on; off, it is exactly that (the incident).
func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !validPhone(req.Phone) {
		s.errs.Write(w, r, badRequest("phone: want an international number, '+' and 8..15 digits, the first not 0"))
		return
	}
	if !validChannel(req.Channel) {
		s.errs.Write(w, r, badRequest("channel %q: allowed sms, whatsapp", clip(req.Channel)))
		return
	}
	var out auth.LoginStarted
	client := clientAddr(r)
	err := s.up[upstreamAuth].do(r.Context(), false, func(ctx context.Context) error {
		var err error
		out, err = s.auth.StartLogin(ctx, req.Phone, req.Channel, auth.From(client))
		return err
	})
	var f *failure
	if errors.As(err, &f) && !s.features.On(mockstore.HonestErrors) {
		s.log.Debug("upstream failure", "upstream", f.upstream, "err", f.err)
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeNotRegistered, "phone number not registered or inactive"))
		return
	}
	if err != nil {
		s.fail(w, r, err, "sign-in", "")
		return
	}
	mockstore.WriteJSON(w, http.StatusAccepted, out)
}

// handleVerify checks the code and opens the session: the token is answered
// and set as an HttpOnly cookie.
func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !validID(req.LoginID, 1) {
		s.errs.Write(w, r, badRequest("login_id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	if !validCode(req.Code) {
		s.errs.Write(w, r, badRequest("code: want the %d digits you received", codeLen))
		return
	}
	var out auth.Verified
	err := s.up[upstreamAuth].do(r.Context(), false, func(ctx context.Context) error {
		var err error
		out, err = s.auth.Verify(ctx, req.LoginID, req.Code)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "sign-in", "")
		return
	}
	var expires time.Time
	if out.ExpiresInS > 0 {
		expires = s.now().Add(time.Duration(out.ExpiresInS) * time.Second)
	}
	s.tokens.remember(out.Token, out.UserID, expires)
	setSessionCookie(w, out.Token, out.ExpiresInS)
	mockstore.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleResend(w http.ResponseWriter, r *http.Request) {
	var req resendRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !validID(req.LoginID, 1) {
		s.errs.Write(w, r, badRequest("login_id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	if !validChannel(req.Channel) {
		s.errs.Write(w, r, badRequest("channel %q: allowed sms, whatsapp", clip(req.Channel)))
		return
	}
	var out auth.LoginStarted
	client := clientAddr(r)
	err := s.up[upstreamAuth].do(r.Context(), false, func(ctx context.Context) error {
		var err error
		out, err = s.auth.Resend(ctx, req.LoginID, req.Channel, auth.From(client))
		return err
	})
	if err != nil {
		s.fail(w, r, err, "sign-in", "")
		return
	}
	mockstore.WriteJSON(w, http.StatusAccepted, out)
}

// handleLogout revokes the session. When auth cannot be reached the session
// is still valid, so the cookie stays and the answer is a failure.
func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	cred := readCredentials(r)
	if cred.malformed || cred.token == "" {
		if cred.fromCookie {
			clearSessionCookie(w)
		}
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeUnauthenticated, "no session to sign out of"))
		return
	}
	err := s.up[upstreamAuth].do(r.Context(), false, func(ctx context.Context) error {
		return s.auth.Logout(ctx, cred.token)
	})
	// The shopper asked to end this session: whether or not auth's answer
	// came back, a later 401 for it is no forced logout (auth may have
	// revoked it before its answer was lost).
	s.tokens.forget(cred.token)
	if err != nil {
		s.fail(w, r, err, "sign-out", "retry to make sure you are signed out")
		return
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

type meResponse struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone"`
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	id, ok := s.session(w, r)
	if !ok {
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, meResponse{UserID: id.UserID, Phone: id.Phone})
}

// ---- wallet

type walletResponse struct {
	Balance  int64     `json:"balance"`
	Currency string    `json:"currency"`
	AsOf     time.Time `json:"as_of"`
	Stale    bool      `json:"stale,omitempty"` // the last balance read, the wallet cannot be read now
}

type topupRequest struct {
	Amount    int64  `json:"amount"`
	Reference string `json:"reference"`
}

type topupResponse struct {
	Balance  int64 `json:"balance"`
	Replayed bool  `json:"replayed"`
}

// handleWallet answers the balance. When the wallet fails: with balance_cache
// the last balance read (stale, with its time) or a failure when none is
// known; without it, 0 (the incident's "balance gone").
func (s *Service) handleWallet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.session(w, r)
	if !ok {
		return
	}
	var acct wallet.Account
	err := s.up[upstreamWallet].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		acct, err = s.wallet.Account(ctx, id.UserID)
		return err
	})
	if err == nil {
		if acct.Currency == "" {
			acct.Currency = mockstore.Currency
		}
		s.balances.put(id.UserID, acct.Balance, acct.Currency, acct.AsOf)
		mockstore.WriteJSON(w, http.StatusOK, walletResponse{Balance: acct.Balance, Currency: acct.Currency, AsOf: acct.AsOf.UTC()})
		return
	}
	var f *failure
	if !errors.As(err, &f) {
		s.fail(w, r, err, "your wallet balance", "")
		return
	}
	if !s.features.On(mockstore.BalanceCache) {
		s.log.Debug("upstream failure", "upstream", f.upstream, "err", f.err)
		mockstore.WriteJSON(w, http.StatusOK, walletResponse{Balance: 0, Currency: mockstore.Currency, AsOf: s.now().UTC()})
		return
	}
	if b, ok := s.balances.get(id.UserID); ok {
		mockstore.WriteJSON(w, http.StatusOK, walletResponse{Balance: b.balance, Currency: b.currency, AsOf: b.asOf.UTC(), Stale: true})
		return
	}
	s.fail(w, r, f, "your wallet balance", "")
}

func (s *Service) handleTopup(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	var req topupRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if req.Amount < 1 || req.Amount > MaxTopup {
		s.errs.Write(w, r, badRequest("amount %d out of range (1..%d)", req.Amount, MaxTopup))
		return
	}
	if req.Reference == "" || len(req.Reference) > maxKeyLen || !printable(req.Reference) {
		s.errs.Write(w, r, badRequest("reference: want 1..%d printable characters", maxKeyLen))
		return
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var out wallet.Topup
	err := s.up[upstreamWallet].do(r.Context(), false, func(ctx context.Context) error {
		var err error
		out, err = s.wallet.Topup(ctx, id.UserID, req.Amount, req.Reference)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "wallet top-up", "retry with the same reference: it is applied at most once")
		return
	}
	s.balances.put(id.UserID, out.Balance, mockstore.Currency, s.now())
	mockstore.WriteJSON(w, http.StatusOK, topupResponse{Balance: out.Balance, Replayed: out.Replayed})
}

// ---- catalogue and carts

type addItemRequest struct {
	ProductID string `json:"product_id"`
	Qty       int    `json:"qty"`
}

func (s *Service) handleProducts(w http.ResponseWriter, r *http.Request) {
	var ps []mockstore.Product
	err := s.up[upstreamCheckout].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		ps, err = s.checkout.Products(ctx)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "the product catalogue", "")
		return
	}
	if ps == nil {
		ps = []mockstore.Product{}
	}
	mockstore.WriteJSON(w, http.StatusOK, ps)
}

func (s *Service) handleCart(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.owner(w, r)
	if !ok {
		return
	}
	s.cartCall(w, r, owner, true, func(ctx context.Context) (checkout.Cart, error) {
		return s.checkout.Cart(ctx, owner)
	})
}

func (s *Service) handleAddItem(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cartCaller(w, r)
	if !ok {
		return
	}
	var req addItemRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !validID(req.ProductID, 1) {
		s.errs.Write(w, r, badRequest("product_id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	if req.Qty < 1 || req.Qty > checkout.MaxQty {
		s.errs.Write(w, r, badRequest("qty %d out of range (1..%d)", req.Qty, checkout.MaxQty))
		return
	}
	owner, ok := s.cartOwner(w, r, c)
	if !ok {
		return
	}
	s.cartCall(w, r, owner, false, func(ctx context.Context) (checkout.Cart, error) {
		return s.checkout.AddItem(ctx, owner, req.ProductID, req.Qty)
	})
}

func (s *Service) handleRemoveItem(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cartCaller(w, r)
	if !ok {
		return
	}
	pid := r.PathValue("product_id")
	if !validID(pid, 1) {
		s.errs.Write(w, r, badRequest("product_id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	owner, ok := s.cartOwner(w, r, c)
	if !ok {
		return
	}
	s.cartCall(w, r, owner, false, func(ctx context.Context) (checkout.Cart, error) {
		return s.checkout.RemoveItem(ctx, owner, pid)
	})
}

// cartCall runs a cart operation for owner and answers the cart, withholding
// a cart that belongs to someone else.
func (s *Service) cartCall(w http.ResponseWriter, r *http.Request, owner string, idempotent bool,
	fn func(context.Context) (checkout.Cart, error)) {
	var cart checkout.Cart
	err := s.up[upstreamCheckout].do(r.Context(), idempotent, func(ctx context.Context) error {
		var err error
		cart, err = fn(ctx)
		return err
	})
	if err == nil && cart.Owner != "" && cart.Owner != owner {
		s.audit.crossUserData()
		s.log.Error("cart answered for another owner", "owner", owner, "answered_owner", cart.Owner)
		err = &failure{upstream: upstreamCheckout, retryAfter: defaultRetryAS, err: errors.New("cart answered for another owner")}
	}
	if err != nil {
		s.fail(w, r, err, "your cart", "")
		return
	}
	cart.Owner = owner
	if cart.Items == nil {
		cart.Items = []checkout.CartItem{}
	}
	mockstore.WriteJSON(w, http.StatusOK, cart)
}

// ---- checkout and orders

type checkoutRequest struct {
	Address       mockstore.Address `json:"address"`
	Courier       string            `json:"courier"`
	PaymentMethod string            `json:"payment_method"`
}

// handleCheckout buys the shopper's cart. The Idempotency-Key is required and
// passed on, so a retry after a lost answer is the same order; the user's
// status from auth goes with it (restricted accounts are refused).
func (s *Service) handleCheckout(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(w, r, "checkout")
	if !ok {
		return
	}
	var req checkoutRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	switch {
	case strings.TrimSpace(req.Address.Line) == "" || len(req.Address.Line) > maxAddressLine:
		s.errs.Write(w, r, badRequest("address.line: want 1..%d characters", maxAddressLine))
		return
	case strings.ContainsFunc(req.Address.Line, unicode.IsControl):
		s.errs.Write(w, r, badRequest("address.line: want text without control characters"))
		return
	case !validID(req.Address.Area, 1):
		s.errs.Write(w, r, badRequest("address.area: want an area name"))
		return
	case !validID(req.Courier, 1):
		s.errs.Write(w, r, badRequest("courier: want a courier id"))
		return
	case !slices.Contains(paymentMethods, req.PaymentMethod):
		s.errs.Write(w, r, badRequest("payment_method %q: allowed %s", clip(req.PaymentMethod), strings.Join(paymentMethods, ", ")))
		return
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var order checkout.Order
	err := s.up[upstreamCheckout].do(r.Context(), false, func(ctx context.Context) error {
		var err error
		order, err = s.checkout.Checkout(ctx, key, checkout.CheckoutRequest{
			UserID:        id.UserID,
			UserStatus:    id.Status,
			Owner:         "u:" + id.UserID,
			Address:       req.Address,
			Courier:       req.Courier,
			PaymentMethod: req.PaymentMethod,
		})
		return err
	})
	var f *failure
	if errors.As(err, &f) && !s.features.On(mockstore.HonestErrors) {
		// The incident: the wallet "could not be used to pay" — an outage
		// shown to the shopper as a refusal of their payment method.
		s.log.Debug("upstream failure", "upstream", f.upstream, "err", f.err)
		s.audit.falseRefusal()
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodePaymentUnsupported, "payment method %s is not supported for this order", req.PaymentMethod))
		return
	}
	if err != nil {
		s.fail(w, r, err, "checkout", "retry with the same "+IdempotencyHeader+": you will not be charged twice")
		return
	}
	mockstore.WriteJSON(w, http.StatusCreated, order)
}

func (s *Service) handleOrder(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid := r.PathValue("id")
	if !validID(oid, 1) {
		s.errs.Write(w, r, badRequest("order id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var order checkout.Order
	err := s.up[upstreamCheckout].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		order, err = s.checkout.Order(ctx, id.UserID, oid)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "your orders", "")
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, order)
}

// ---- validation

// validID reports whether s is min..64 letters, digits, '.', '_' or '-'.
func validID(s string, min int) bool {
	if len(s) < min || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validPhone accepts what auth does: an E.164 number, '+' and 8..15
// digits, the first not 0. Anything else would only be refused upstream.
func validPhone(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return digits(s[1:])
}

// validCode accepts exactly the codes auth issues: codeLen ASCII digits.
func validCode(s string) bool { return len(s) == codeLen && digits(s) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// paymentMethods are the methods checkout knows; it refuses all but wallet
// with payment_method_not_supported, in its own order of refusals.
var paymentMethods = []string{mockstore.PaymentWallet, mockstore.PaymentCard, mockstore.PaymentCOD, mockstore.PaymentPaylater}

func validChannel(c string) bool { return c == "" || c == "sms" || c == "whatsapp" }

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ---- balance cache

type cachedBalance struct {
	balance  int64
	currency string
	asOf     time.Time
}

// balanceCache remembers the last balance read per user, up to max users.
type balanceCache struct {
	mu  sync.Mutex
	max int
	m   map[string]cachedBalance
}

func newBalanceCache(max int) *balanceCache {
	return &balanceCache{max: max, m: make(map[string]cachedBalance)}
}

// put records a balance read at asOf, unless a newer one is known.
func (c *balanceCache) put(userID string, balance int64, currency string, asOf time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[userID]
	if ok && old.asOf.After(asOf) {
		return
	}
	if !ok && len(c.m) >= c.max {
		for k := range c.m { // forget any one user: the map's order is random
			delete(c.m, k)
			break
		}
	}
	c.m[userID] = cachedBalance{balance: balance, currency: currency, asOf: asOf}
}

func (c *balanceCache) get(userID string) (cachedBalance, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[userID]
	return b, ok
}
