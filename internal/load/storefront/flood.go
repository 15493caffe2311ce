package storefront

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// The flood: a share of the virtual users (Settings.Flood) are attackers
// who ask for login codes for a few phones, again and again — SMS pumping
// (OWASP), or a grudge against one shopper whose inbox fills with codes
// they never asked for. Half the phones are registered shoppers', half are
// numbers nobody registered, so that a limit that answered the two
// differently would show. The registered victims do not shop in a load
// with attackers: their own logins are the limit's to refuse, and the
// shoppers' logins must keep their level.
const (
	floodVictims    = 2  // registered phones flooded
	floodStrangers  = 2  // unregistered phones flooded
	floodBurst      = 10 // login starts in one attacker's iteration, one after the other
	forwardedHeader = "X-Forwarded-For"
)

// floodStrangerBase is the first of the unregistered numbers flooded: the
// seeded storefront's phones are +628… numbers of 13 digits; these are
// not among them (floodPhones skips any that is).
const floodStrangerBase = 6289_9000_0100

// floodPhones returns the phones the attackers flood: the last floodVictims
// shoppers of shoppers (leaving at least one to shop) and floodStrangers
// numbers that no user of users has. It returns the shoppers who are left
// to shop.
func floodPhones(shoppers, users []mockstore.User) (phones []string, left []mockstore.User) {
	n := min(floodVictims, len(shoppers)-1)
	left = shoppers
	if n > 0 {
		left = shoppers[:len(shoppers)-n]
		for _, u := range shoppers[len(shoppers)-n:] {
			phones = append(phones, u.Phone)
		}
	}
	taken := map[string]bool{}
	for _, u := range users {
		taken[u.Phone] = true
	}
	for i := int64(0); len(phones) < n+floodStrangers; i++ {
		p := "+" + strconv.FormatInt(floodStrangerBase+i, 10)
		if !taken[p] {
			phones = append(phones, p)
		}
	}
	return phones, left
}

// FloodPhones returns the phones the attackers of a load of cfg flood
// (none when Settings.Flood is 0): a few registered shoppers' phones, then
// a few numbers nobody registered.
func FloodPhones(cfg Config) []string {
	if cfg.Flood <= 0 {
		return nil
	}
	phones, _ := floodPhones(cfg.Data.shoppers(), cfg.Data.Users)
	return phones
}

// attacker reports whether virtual user id is an attacker in a load whose
// share of attackers is share: every 1/share-th VU, so that the share
// holds exactly however few VUs there are.
func attacker(id int, share float64) bool {
	if share <= 0 {
		return false
	}
	return int(float64(id)*share) > int(float64(id-1)*share)
}

// flooder is an attacker: the load.User of an attacker's VU.
type flooder struct {
	*person
	phones []string
}

// Iterate asks for floodBurst login codes for one of the flooded phones,
// each once (an attacker does not wait out a Retry-After). Each request is
// counted in MetricFloodAttempts with the phone as its name tag, and
// tagged with JourneyFlood, so that the shoppers' journeys are not
// touched; the attack records no journey_success.
func (f *flooder) Iterate(ctx context.Context, _ load.Iteration) {
	phone := pick(f.person, f.phones)
	for range floodBurst {
		if ctx.Err() != nil {
			return
		}
		_, err := f.call(ctx, http.MethodPost, "/api/v1/login", map[string]string{"phone": phone},
			callOpts{endpoint: "login", journey: JourneyFlood, anonymous: true, once: true})
		if err != nil {
			return
		}
		f.vu.Count(MetricFloodAttempts, load.Tags{Journey: JourneyFlood, Name: phone}, 1)
	}
}

// clientAddr is the address a VU's requests come from, as the proxy in
// front of the gateway would name it in X-Forwarded-For: each shopper has
// their own, on a mobile carrier's shared range (100.64.0.0/10), each
// attacker one of the documentation range 203.0.113.0/24. The per-client
// OTP send limit counts these.
func clientAddr(id int, attacking bool) string {
	if attacking {
		return fmt.Sprintf("203.0.113.%d", id%254+1)
	}
	return fmt.Sprintf("100.%d.%d.%d", 64+(id>>16)&63, (id>>8)&255, id&255)
}
