package mockstore

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Feature is a named defence of the storefront. Turned off, the service
// behaves the way the incidents in INCIDENTS.md showed.
type Feature string

// The defences. Each constant's comment says what the service does with it
// on, and (after "off:") the incident behaviour it shows without it.
const (
	// SessionFallback: a session-store error is retryable (503 + Retry-After),
	// never a logout. off: the error is taken as "invalid session", 401, the
	// shopper is logged out.
	SessionFallback Feature = "session_fallback"
	// HonestErrors: a failed lookup or upstream call is "temporarily
	// unavailable", with a code and Retry-After. off: a failed user lookup is
	// "phone number not registered", other failures a bare 500.
	HonestErrors Feature = "honest_errors"
	// AsyncOTP: login start queues the OTP send and answers at once. off: it
	// sends synchronously and blocks until the provider answers or times out.
	AsyncOTP Feature = "async_otp"
	// OTPFallbackChannel: when an SMS send fails or is slow, the code goes out
	// by WhatsApp instead. off: SMS only.
	OTPFallbackChannel Feature = "otp_fallback_channel"
	// FaultAwareLockout: only a wrong code counts towards the lockout; a
	// failure of ours neither consumes the code nor counts. off: any failed
	// verify counts and consumes the code.
	FaultAwareLockout Feature = "fault_aware_lockout"
	// IdempotentPayments: one Idempotency-Key per order payment, the same on
	// every retry. off: a fresh key per attempt, so a retry can charge twice.
	IdempotentPayments Feature = "idempotent_payments"
	// PaymentReconciliation: a payment whose outcome is unknown leaves the order
	// payment_pending, and a reconciler settles it by looking the charge up by
	// key. off: the order is marked failed at once, charged or not.
	PaymentReconciliation Feature = "payment_reconciliation"
	// RefundOutbox: a failed order that was charged gets its refund through an
	// outbox, retried until done, exactly once. off: refunds only on request.
	RefundOutbox Feature = "refund_outbox"
	// IdempotentRequests: a food order or chat message sent again with the same
	// Idempotency-Key (a retry after a lost answer) is stored once. off: the
	// key is ignored, so a retry places a second order or posts the message
	// twice.
	IdempotentRequests Feature = "idempotent_requests"
	// CheckoutOncePerCart: a cart is ordered at most once, even when an app
	// retries a checkout with a new Idempotency-Key (a lost answer, a second
	// tap): checkout answers with the cart's order still being paid, or with
	// the order already placed from the cart as it is now. off: a new key is a
	// new order — a second order and a second charge while the first is still
	// paying, "cart empty" once it is paid.
	CheckoutOncePerCart Feature = "checkout_once_per_cart"
	// BalanceCache: when the wallet cannot be read the last known balance is
	// shown with its time, or a clear error. off: the balance shows as 0.
	BalanceCache Feature = "balance_cache"
	// CircuitBreakers: a failing upstream trips a breaker and calls fail fast.
	// off: every call waits for its full timeout.
	CircuitBreakers Feature = "circuit_breakers"
	// OTPSendLimits: login starts and resends are limited per phone and per
	// client within a sliding window; over a limit the answer is 429
	// rate_limited with Retry-After, the same for registered and
	// unregistered phones. off: every start sends a code, without limit
	// (SMS pumping, a flooded shopper's inbox).
	OTPSendLimits Feature = "otp_send_limits"
	// RetryBudget: retries of idempotent upstream calls are bounded by a budget
	// with jittered backoff. off: immediate retries, without bound.
	RetryBudget Feature = "retry_budget"
)

var featureDoc = map[Feature]string{
	SessionFallback:       "a session-store error is retryable, never a logout",
	HonestErrors:          "a failed lookup is never \"not registered\"; every failure has a code and Retry-After",
	AsyncOTP:              "login start does not wait for the OTP provider",
	OTPFallbackChannel:    "a late or failed SMS falls back to WhatsApp",
	FaultAwareLockout:     "only wrong codes count towards the login lockout",
	IdempotentPayments:    "one Idempotency-Key per order payment across retries",
	PaymentReconciliation: "an unknown payment outcome stays pending and is reconciled by key",
	RefundOutbox:          "failed charged orders are refunded through an outbox, exactly once, within the SLA",
	IdempotentRequests:    "a food order or chat message retried with the same Idempotency-Key is stored once",
	CheckoutOncePerCart:   "a cart is ordered at most once, even when a checkout is retried with a new Idempotency-Key",
	BalanceCache:          "an unreadable balance is shown as last known (with its time), never as 0",
	CircuitBreakers:       "a failing upstream trips a breaker; calls fail fast",
	RetryBudget:           "upstream retries are bounded and jittered",
	OTPSendLimits:         "login codes asked for one phone or by one client are limited per window (429 + Retry-After, alike for unregistered phones)",
}

// AllFeatures returns every feature name, sorted.
func AllFeatures() []Feature {
	out := make([]Feature, 0, len(featureDoc))
	for f := range featureDoc {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Describe returns a one-line description of f ("" for an unknown feature).
func (f Feature) Describe() string { return featureDoc[f] }

// Known reports whether f is a defined feature.
func (f Feature) Known() bool { _, ok := featureDoc[f]; return ok }

// Profiles are the named starting points for a feature set.
const (
	ProfileResilient = "resilient"
	ProfileNaive     = "naive"
)

// Features is a set of feature switches. The zero value (nil) has every
// feature off; use Profile to start from a named profile.
type Features map[Feature]bool

// Profile returns the feature set of the named profile: "resilient" has every
// feature on, "naive" every feature off.
func Profile(name string) (Features, error) {
	f := Features{}
	switch name {
	case ProfileResilient, "":
		for _, n := range AllFeatures() {
			f[n] = true
		}
	case ProfileNaive:
		for _, n := range AllFeatures() {
			f[n] = false
		}
	default:
		return nil, fmt.Errorf("unknown profile %q (allowed: %s, %s)", name, ProfileResilient, ProfileNaive)
	}
	return f, nil
}

// On reports whether feature name is on.
func (f Features) On(name Feature) bool { return f[name] }

// Set applies one override "name=on" or "name=off" (also true/false, 1/0).
// It returns an error naming the allowed features or values.
func (f Features) Set(spec string) error {
	name, val, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("feature override %q: want name=on or name=off", spec)
	}
	feat := Feature(strings.TrimSpace(name))
	if !feat.Known() {
		return fmt.Errorf("unknown feature %q (allowed: %s)", feat, joinFeatures(AllFeatures()))
	}
	switch strings.ToLower(strings.TrimSpace(val)) {
	case "on", "true", "1":
		f[feat] = true
	case "off", "false", "0":
		f[feat] = false
	default:
		return fmt.Errorf("feature %s: value %q (allowed: on, off)", feat, val)
	}
	return nil
}

// Clone returns a copy of f.
func (f Features) Clone() Features {
	out := make(Features, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

// Off returns the names of the features that are off, sorted.
func (f Features) Off() []Feature {
	var out []Feature
	for _, n := range AllFeatures() {
		if !f[n] {
			out = append(out, n)
		}
	}
	return out
}

// String renders f as a comma-separated list of name=on|off, sorted; Parse
// reads it back. It is how features reach a service in another process.
func (f Features) String() string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, string(n))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v := "off"
		if f[Feature(n)] {
			v = "on"
		}
		parts = append(parts, n+"="+v)
	}
	return strings.Join(parts, ",")
}

// ParseFeatures reads the form String writes, starting from every feature off.
func ParseFeatures(s string) (Features, error) {
	f, _ := Profile(ProfileNaive)
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, part := range strings.Split(s, ",") {
		if err := f.Set(part); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func joinFeatures(fs []Feature) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
