package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie and header names of the public API.
const (
	SessionCookie = "session"    // the session token, set by /login/verify
	GuestCookie   = "guest_id"   // a guest's cart id
	GuestHeader   = "X-Guest-Id" // the same, for clients without cookies
)

const (
	maxTokenLen = 512
	guestMaxAge = 30 * 24 * time.Hour
)

// credentials is the session token a request carries, and where it was.
type credentials struct {
	token      string
	fromCookie bool
	malformed  bool // an Authorization header or cookie that cannot be a token
}

// readCredentials finds the token: the Authorization header wins over the
// session cookie. An empty token means the request carries none.
func readCredentials(r *http.Request) credentials {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !validToken(tok) {
			return credentials{malformed: true}
		}
		return credentials{token: tok}
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return credentials{}
	}
	if !validToken(c.Value) {
		return credentials{fromCookie: true, malformed: true}
	}
	return credentials{token: c.Value, fromCookie: true}
}

// validToken reports whether s can be a token: printable ASCII without
// spaces or cookie separators, of a sane length.
func validToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func setSessionCookie(w http.ResponseWriter, token string, expiresInS int) {
	c := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if expiresInS > 0 {
		c.MaxAge = expiresInS
	}
	http.SetCookie(w, c)
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// guestID returns the request's guest id (header first, then cookie), or a
// new one when it has none; fresh reports that it is new. ok is false when the
// request carries a malformed id.
func guestID(r *http.Request) (id string, fresh, ok bool) {
	id = r.Header.Get(GuestHeader)
	if id == "" {
		if c, err := r.Cookie(GuestCookie); err == nil {
			id = c.Value
		}
	}
	if id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		return hex.EncodeToString(b[:]), true, true
	}
	return id, false, validGuestID(id)
}

// validGuestID accepts 8 to 64 letters, digits, '.', '_' or '-'.
func validGuestID(s string) bool { return validID(s, 8) }

func setGuestCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: GuestCookie, Value: id, Path: "/", MaxAge: int(guestMaxAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set(GuestHeader, id)
}

// tokenKey is a token's digest: the gateway remembers tokens only by it, so
// no token sits in its memory or logs in the clear.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// knownSession is what the gateway remembers of a token that was valid.
type knownSession struct {
	userID  string
	expires time.Time // zero when unknown
	seq     uint64
}

// validTokens is a bounded set of recently valid tokens: when auth later
// calls one of them unknown before its expiry, and nobody logged it out, the
// shopper was logged out by force. The oldest entries are forgotten first.
type validTokens struct {
	mu   sync.Mutex
	max  int
	m    map[tokenKey]knownSession
	ring []ringEntry // insertion order, for eviction
	pos  int
	seq  uint64
}

type ringEntry struct {
	key tokenKey
	seq uint64
}

func newValidTokens(max int) *validTokens {
	return &validTokens{max: max, m: make(map[tokenKey]knownSession), ring: make([]ringEntry, max)}
}

// remember records that token belongs to userID (expires may be zero). It
// returns the user the token was known to belong to before ("" if none).
func (v *validTokens) remember(token, userID string, expires time.Time) (previous string) {
	k := keyOf(token)
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.m[k]; ok {
		if expires.IsZero() {
			expires = old.expires
		}
		previous = old.userID
		old.userID, old.expires = userID, expires
		v.m[k] = old
		return previous
	}
	if e := v.ring[v.pos]; e.seq != 0 {
		if cur, ok := v.m[e.key]; ok && cur.seq == e.seq {
			delete(v.m, e.key)
		}
	}
	v.seq++
	v.m[k] = knownSession{userID: userID, expires: expires, seq: v.seq}
	v.ring[v.pos] = ringEntry{key: k, seq: v.seq}
	v.pos = (v.pos + 1) % v.max
	return ""
}

// userOf returns the user token was last known to belong to.
func (v *validTokens) userOf(token string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.m[keyOf(token)]
	return s.userID, ok
}

// forget drops token (it was logged out).
func (v *validTokens) forget(token string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, keyOf(token))
}

// rejected drops token and reports whether its rejection at now is a forced
// logout: it was valid, not logged out, and not past its known expiry.
func (v *validTokens) rejected(token string, now time.Time) bool {
	k := keyOf(token)
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.m[k]
	if !ok {
		return false
	}
	delete(v.m, k)
	return s.expires.IsZero() || now.Before(s.expires)
}
