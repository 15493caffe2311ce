package storefront

import (
	"slices"
	"testing"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// floodData is fakeData with four shoppers.
func floodData() Data {
	d := fakeData()
	for _, id := range []string{"u2", "u3", "u4"} {
		d.Users = append(d.Users, mockstore.User{ID: id, Phone: "+62811000000" + id[1:] + "9", Status: mockstore.StatusActive})
	}
	return d
}

// TestFloodAttackers: with GAMEDAY_FLOOD every 1/share-th VU is an
// attacker who asks for codes for the flooded phones only, each request
// once (a 429 is not waited out), from an address of its own, tagged with
// its own journey and counted by phone; the shoppers never use a flooded
// phone and keep their own addresses.
func TestFloodAttackers(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on("POST /api/v1/login", reply(429, `{"error":{"code":"rate_limited","retry_after_s":30}}`, "Retry-After", "30"))
	s := quick()
	s.Flood = 0.5
	cfg := Config{Gateway: f.URL, Inbox: f.URL, Data: floodData(), Settings: s}
	sc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	phones := FloodPhones(cfg)
	if len(phones) != 4 || phones[0] != "+6281100000039" || phones[1] != "+6281100000049" {
		t.Fatalf("FloodPhones = %v, want the last two shoppers' phones and two unregistered numbers", phones)
	}
	registered := map[string]bool{}
	for _, u := range cfg.Data.Users {
		registered[u.Phone] = true
	}
	if registered[phones[2]] || registered[phones[3]] {
		t.Errorf("FloodPhones %v: the strangers are registered", phones)
	}

	rec := newRecorder()
	var shoppers []string
	for id := 1; id <= 8; id++ {
		u := sc.NewUser(newVU(t, id, rec))
		switch u := u.(type) {
		case *flooder:
			if id%2 != 0 {
				t.Errorf("VU %d is an attacker; with a share of 0.5 every second VU is", id)
			}
			u.Iterate(ctxFor(t), load.Iteration{})
		case *shopper:
			if id%2 == 0 {
				t.Errorf("VU %d is a shopper; with a share of 0.5 every second VU attacks", id)
			}
			shoppers = append(shoppers, u.phone, u.addr)
		}
	}
	for _, p := range phones {
		if slices.Contains(shoppers, p) {
			t.Errorf("a shopper uses the flooded phone %s", p)
		}
	}
	if !slices.Contains(shoppers, "100.64.0.1") {
		t.Errorf("shoppers' phones and addresses %v: VU 1 comes from 100.64.0.1", shoppers)
	}

	logins := f.requests("POST /api/v1/login")
	if len(logins) != 4*floodBurst {
		t.Fatalf("%d login starts by 4 attackers, want %d: each is sent once", len(logins), 4*floodBurst)
	}
	for _, r := range logins {
		if p := r.decode(t)["phone"].(string); !slices.Contains(phones, p) {
			t.Errorf("an attacker asked for a code for %s, not a flooded phone", p)
		}
		if a := r.header.Get("X-Forwarded-For"); a != "203.0.113.3" && a != "203.0.113.5" && a != "203.0.113.7" && a != "203.0.113.9" {
			t.Errorf("an attacker came from %q, want 203.0.113.<VU+1>", a)
		}
	}
	var counted float64
	for _, p := range phones {
		counted += rec.sum(MetricFloodAttempts, load.Tags{Journey: JourneyFlood, Name: p})
	}
	if counted != float64(4*floodBurst) {
		t.Errorf("flood_attempts by phone sum to %v, want %d", counted, 4*floodBurst)
	}
	if n := rec.n(MetricJourneySuccess, load.Tags{}); n != 0 {
		t.Errorf("the attack recorded %d journeys; it must not touch the shoppers' journey_success", n)
	}
	if n := rec.sum(load.MetricReqs, load.Tags{Journey: JourneyFlood, Endpoint: "login"}); n != float64(4*floodBurst) {
		t.Errorf("http_reqs{journey:flood} = %v, want %d: %s", n, 4*floodBurst, rec)
	}
}

// TestNoFloodByDefault: without GAMEDAY_FLOOD there is no attacker and no
// flooded phone, and every shopper of the data shops.
func TestNoFloodByDefault(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	cfg := Config{Gateway: f.URL, Inbox: f.URL, Data: floodData(), Settings: quick()}
	sc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := FloodPhones(cfg); p != nil {
		t.Errorf("FloodPhones = %v, want none", p)
	}
	rec := newRecorder()
	seen := map[string]bool{}
	for id := 1; id <= 4; id++ {
		u, ok := sc.NewUser(newVU(t, id, rec)).(*shopper)
		if !ok {
			t.Fatalf("VU %d is not a shopper", id)
		}
		seen[u.phone] = true
	}
	if len(seen) != 4 {
		t.Errorf("4 VUs shop with %d phones, want all 4 shoppers'", len(seen))
	}
}
