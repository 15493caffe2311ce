// Package mockstore is the mock storefront that gameday breaks on purpose:
// its domain types, error codes, resilience features and audit records.
// The services themselves live in the sub-packages (auth, sessions, otp,
// wallet, checkout, gateway); each is its own HTTP server that knows only the
// addresses of its upstreams, which in every runtime are Toxiproxy proxies.
package mockstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Code is a machine-readable error code. Every error any service answers
// carries one, inside the envelope {"error": {"code", "message", "retry_after_s"?}}.
type Code string

// Error codes. The HTTP status of each is in codeStatus; a code is retryable
// when its status is 503 or 429, and then the answer carries Retry-After.
const (
	CodeInvalidRequest      Code = "invalid_request"      // malformed JSON or a field out of range
	CodeBodyTooLarge        Code = "body_too_large"       // request body over the limit
	CodeUnauthenticated     Code = "unauthenticated"      // no session, or an unknown/revoked one
	CodeForbidden           Code = "forbidden"            // the resource belongs to someone else
	CodeNotFound            Code = "not_found"            // no such resource
	CodeMethodNotAllowed    Code = "method_not_allowed"   // route exists, method does not
	CodeNotRegistered       Code = "phone_not_registered" // only ever said by the naive profile
	CodeInvalidCode         Code = "invalid_code"         // wrong OTP
	CodeCodeExpired         Code = "code_expired"         // OTP older than its lifetime, or superseded
	CodeLoginLocked         Code = "login_locked"         // too many wrong attempts
	CodeResendCooldown      Code = "resend_cooldown"      // resend asked too soon
	CodeIdempotencyKey      Code = "idempotency_key_required"
	CodeIdempotencyConflict Code = "idempotency_conflict" // same key, other parameters
	CodeInsufficientFunds   Code = "insufficient_funds"   // charge over balance
	CodeAccountRestricted   Code = "account_restricted"   // checkout refused: account restricted
	CodePaymentUnsupported  Code = "payment_method_not_supported"
	CodeAddressNotServed    Code = "address_not_served" // courier does not serve the address
	CodeOverWeight          Code = "over_courier_weight_limit"
	CodeOverSize            Code = "over_courier_size_limit"
	CodeUnknownProduct      Code = "unknown_product"
	CodeUnknownCourier      Code = "unknown_courier"
	CodeCartEmpty           Code = "cart_empty"
	CodeConflict            Code = "conflict"                // state does not allow the operation
	CodeUnavailable         Code = "temporarily_unavailable" // an upstream failed; retry
	CodeMaintenance         Code = "maintenance"             // planned maintenance; retry
	CodeRateLimited         Code = "rate_limited"            // too many requests; retry
	CodeInternal            Code = "internal"                // a bug or an unclassified failure
)

var codeStatus = map[Code]int{
	CodeInvalidRequest:      http.StatusBadRequest,
	CodeBodyTooLarge:        http.StatusRequestEntityTooLarge,
	CodeUnauthenticated:     http.StatusUnauthorized,
	CodeForbidden:           http.StatusForbidden,
	CodeNotFound:            http.StatusNotFound,
	CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	CodeNotRegistered:       http.StatusNotFound,
	CodeInvalidCode:         http.StatusUnauthorized,
	CodeCodeExpired:         http.StatusGone,
	CodeLoginLocked:         http.StatusLocked,
	CodeResendCooldown:      http.StatusTooManyRequests,
	CodeIdempotencyKey:      http.StatusBadRequest,
	CodeIdempotencyConflict: http.StatusConflict,
	CodeInsufficientFunds:   http.StatusPaymentRequired,
	CodeAccountRestricted:   http.StatusForbidden,
	CodePaymentUnsupported:  http.StatusUnprocessableEntity,
	CodeAddressNotServed:    http.StatusUnprocessableEntity,
	CodeOverWeight:          http.StatusUnprocessableEntity,
	CodeOverSize:            http.StatusUnprocessableEntity,
	CodeUnknownProduct:      http.StatusUnprocessableEntity,
	CodeUnknownCourier:      http.StatusUnprocessableEntity,
	CodeCartEmpty:           http.StatusUnprocessableEntity,
	CodeConflict:            http.StatusConflict,
	CodeUnavailable:         http.StatusServiceUnavailable,
	CodeMaintenance:         http.StatusServiceUnavailable,
	CodeRateLimited:         http.StatusTooManyRequests,
	CodeInternal:            http.StatusInternalServerError,
}

// Codes returns every known code, for validation and documentation.
func Codes() []Code {
	out := make([]Code, 0, len(codeStatus))
	for c := range codeStatus {
		out = append(out, c)
	}
	return out
}

// Status returns the HTTP status for code; 500 for an unknown code.
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Retryable reports whether a client may retry after an error with this code.
func (c Code) Retryable() bool {
	s := c.Status()
	return s == http.StatusServiceUnavailable || s == http.StatusTooManyRequests
}

// Error is the storefront's one error type. Services return it from their
// logic and WriteError turns it into the envelope; clients turn an envelope
// back into it with ReadError.
type Error struct {
	Code       Code   `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after_s,omitempty"` // seconds; set for retryable codes
	// Status is the HTTP status the error arrived with (clients only); 0 means Code.Status().
	Status int `json:"-"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Retry returns a retryable *Error with a Retry-After of seconds (at least 1).
func Retry(code Code, seconds int, format string, args ...any) *Error {
	if seconds < 1 {
		seconds = 1
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), RetryAfter: seconds}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// CodeInternal otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

type envelope struct {
	Error *Error `json:"error"`
}

// WriteError writes err as the error envelope with the status of its code.
// An error that is not an *Error is answered as CodeInternal without its
// text (it may carry internals). A retryable code always gets Retry-After.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: "internal error"}
	}
	status := e.Status
	if status == 0 {
		status = e.Code.Status()
	}
	out := *e
	if e.Code.Retryable() && out.RetryAfter < 1 {
		out.RetryAfter = 1
	}
	if out.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(out.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Error: &out})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// MaxBody is the largest request body any service reads.
const MaxBody = 64 << 10

// DecodeJSON reads r's body (at most MaxBody bytes) into v, refusing unknown
// fields and trailing data. It returns an *Error with CodeInvalidRequest or
// CodeBodyTooLarge.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Errorf(CodeBodyTooLarge, "request body over %d bytes", MaxBody)
		}
		return Errorf(CodeInvalidRequest, "bad JSON body: %v", err)
	}
	// More would miss a stray ']' or '}'; only the end of the body will do.
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeInvalidRequest, "bad JSON body: trailing data")
	}
	return nil
}

// ReadError turns a non-2xx response into an *Error. A body that is not the
// envelope (a proxy cut it, or a non-storefront server answered) becomes
// CodeUnavailable for 5xx statuses and CodeInternal otherwise. The Retry-After
// header wins over the body's field when both are present. It does not close
// the body.
func ReadError(resp *http.Response) *Error {
	var env envelope
	dec := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, MaxBody))
	if err := dec.Decode(&env); err != nil || env.Error == nil || env.Error.Code == "" {
		code := CodeInternal
		if resp.StatusCode >= 500 {
			code = CodeUnavailable
		}
		env.Error = &Error{Code: code, Message: fmt.Sprintf("upstream answered %s", resp.Status)}
	}
	env.Error.Status = resp.StatusCode
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra > 0 {
		env.Error.RetryAfter = ra
	}
	return env.Error
}
