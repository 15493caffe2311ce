package auth

import (
	"slices"
	"sync"
	"time"
)

// sendLimiter bounds the codes asked for (login starts and resends) per
// phone and per client within a sliding window, with otp_send_limits on:
// OWASP's answer to SMS pumping and to a flooded phone whose owner cannot
// find their own code among dozens.
//
// A send counts from the moment it is let through until the window has
// passed, or until a login of its phone is verified: whoever entered a code
// holds the phone, so its earlier sends were the owner's (or are moot) and
// stop counting, for the phone and for the clients that asked for them. A
// shopper who logs in and out all day is never limited; an attacker, who
// never sees the codes, is.
//
// Registered and unregistered phones are counted alike, so the limit's
// answer tells nothing about registration.
type sendLimiter struct {
	window              time.Duration
	perPhone, perClient int

	mu      sync.Mutex
	phones  map[string][]sendMark // by phone, oldest first
	clients map[string][]sendMark // by client, oldest first
	seq     uint64                // numbers the marks
	swept   time.Time             // when every key was last pruned
}

// sendMark is one send that counts.
type sendMark struct {
	at            time.Time
	phone, client string
	seq           uint64 // tells two sends apart at one instant
}

func newSendLimiter(window time.Duration, perPhone, perClient int) *sendLimiter {
	return &sendLimiter{window: window, perPhone: perPhone, perClient: perClient,
		phones: map[string][]sendMark{}, clients: map[string][]sendMark{}}
}

// reserve counts a send for phone asked by client at now, when both are
// under their limits, and returns a release that takes it back (for a send
// that then failed). Over a limit it counts nothing and returns ok false
// and how long until the fuller of the two has room again.
func (l *sendLimiter) reserve(now time.Time, phone, client string) (release func(), wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := now.Add(-l.window)
	if now.Sub(l.swept) >= l.window {
		// Keys nobody asks for again (an attacker's made-up numbers) would
		// otherwise stay for good.
		for k := range l.phones {
			l.prune(l.phones, k, from)
		}
		for k := range l.clients {
			l.prune(l.clients, k, from)
		}
		l.swept = now
	}
	ps := l.prune(l.phones, phone, from)
	cs := l.prune(l.clients, client, from)
	if len(ps) >= l.perPhone {
		wait = max(wait, ps[len(ps)-l.perPhone].at.Add(l.window).Sub(now))
	}
	if len(cs) >= l.perClient {
		wait = max(wait, cs[len(cs)-l.perClient].at.Add(l.window).Sub(now))
	}
	if len(ps) >= l.perPhone || len(cs) >= l.perClient {
		return nil, wait, false
	}
	l.seq++
	m := sendMark{at: now, phone: phone, client: client, seq: l.seq}
	l.phones[phone] = append(ps, m)
	l.clients[client] = append(cs, m)
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.drop(l.phones, phone, m)
		l.drop(l.clients, client, m)
	}, 0, true
}

// forgive stops counting every send of phone: a login of it was verified.
func (l *sendLimiter) forgive(phone string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.phones[phone] {
		l.drop(l.clients, m.client, m)
	}
	delete(l.phones, phone)
}

// prune drops key's marks older than from and returns the rest.
func (l *sendLimiter) prune(marks map[string][]sendMark, key string, from time.Time) []sendMark {
	ms := marks[key]
	i := 0
	for i < len(ms) && !ms[i].at.After(from) {
		i++
	}
	if i == len(ms) {
		delete(marks, key)
		return nil
	}
	ms = ms[i:]
	marks[key] = ms
	return ms
}

// drop removes mark m from key's marks.
func (l *sendLimiter) drop(marks map[string][]sendMark, key string, m sendMark) {
	ms := slices.DeleteFunc(marks[key], func(x sendMark) bool { return x.seq == m.seq })
	if len(ms) == 0 {
		delete(marks, key)
		return
	}
	marks[key] = ms
}
