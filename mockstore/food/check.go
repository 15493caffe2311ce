package food

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gameday/gameday/mockstore"
)

// Limits of what the service accepts.
const (
	MaxQty   = 20  // of one dish in an order
	MaxItems = 10  // distinct dishes in an order
	MaxText  = 500 // characters of a chat message

	maxIDLen  = 64  // user, restaurant, item, order IDs
	maxKeyLen = 128 // Idempotency-Key
	listLimit = 50  // orders in a queue or an offer list
)

// IdempotencyHeader carries the key of an order or a message.
const IdempotencyHeader = "Idempotency-Key"

// validID reports whether s is a plausible identifier: 1..64 characters of
// letters, digits, '.', '_' and '-'.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkID returns invalid_request naming what when id is not a plausible
// identifier (see validID): an ID that cannot exist is a malformed request,
// not a missing thing.
func checkID(what, id string) error {
	if id == "" {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s is required", what)
	}
	if !validID(id) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest,
			"%s %q: want 1..%d letters, digits, '.', '_', '-'", what, clip(id), maxIDLen)
	}
	return nil
}

// checkKey returns idempotency_key_required for a missing key and
// invalid_request for one over maxKeyLen bytes or not printable ASCII
// without spaces.
func checkKey(key string) error {
	if key == "" {
		return mockstore.Errorf(mockstore.CodeIdempotencyKey, "the %s header is required", IdempotencyHeader)
	}
	if len(key) > maxKeyLen {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s over %d bytes", IdempotencyHeader, maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s must be printable ASCII without spaces", IdempotencyHeader)
		}
	}
	return nil
}

// checkText returns invalid_request unless text is 1..MaxText characters of
// UTF-8, not blank, without control characters.
func checkText(text string) error {
	if !utf8.ValidString(text) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "text must be UTF-8")
	}
	if strings.TrimSpace(text) == "" {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "text is required")
	}
	if n := utf8.RuneCountInString(text); n > MaxText {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "text of %d characters: at most %d", n, MaxText)
	}
	if strings.ContainsFunc(text, unicode.IsControl) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "text must not contain control characters (newlines included)")
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// newID returns prefix followed by 20 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b)
}
