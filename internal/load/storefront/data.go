package storefront

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gameday/gameday/mockstore"
)

// DataFile is the name a run gives its seed data file (in the run's load
// directory; the README points there for loads by hand).
const DataFile = "shoppers.json"

// Data is the seed data the shoppers work from: who can log in, what can
// be bought, who delivers where, and the food side (restaurants with their
// merchants' user IDs, drivers' user IDs). Its JSON is the data file
// the harness writes for its load child.
type Data struct {
	Seed      int64               `json:"seed"`
	Users     []mockstore.User    `json:"users"` // active and restricted
	Products  []mockstore.Product `json:"products"`
	Couriers  []mockstore.Courier `json:"couriers"`
	Addresses []mockstore.Address `json:"addresses"` // at least one in an area of every courier
	// Restaurants and Drivers are the food side. Their merchants and
	// drivers log in as partners and never shop.
	Restaurants []mockstore.Restaurant `json:"restaurants"`
	Drivers     []string               `json:"drivers"`
}

// NewData derives the seed data from ds, with two street addresses in
// every area of mockstore.Areas.
func NewData(ds mockstore.Dataset) Data {
	d := Data{Seed: ds.Seed, Users: ds.Users, Products: ds.Products, Couriers: ds.Couriers,
		Restaurants: ds.Restaurants, Drivers: ds.Drivers}
	for _, area := range mockstore.Areas {
		for i := 1; i <= 2; i++ {
			d.Addresses = append(d.Addresses, mockstore.Address{Line: fmt.Sprintf("Jl. Merdeka %d, %s", i*17, area), Area: area})
		}
	}
	return d
}

// PhoneData is the seed data of a storefront known only by some of its
// registered phones (shopper.js's GAMEDAY_PHONES, for use by hand): each
// phone is an active shopper whose user ID is not known, with the couriers
// every seeded storefront has and one address in each of its areas. It has
// no restaurants and no drivers, so no partners work (food orders are
// placed, and nobody accepts them). Blank phones are left out; the others
// are trimmed.
func PhoneData(phones ...string) Data {
	var d Data
	for _, p := range phones {
		if p = strings.TrimSpace(p); p != "" {
			d.Users = append(d.Users, mockstore.User{Phone: p, Status: mockstore.StatusActive})
		}
	}
	d.Couriers = []mockstore.Courier{
		{ID: "jne", Areas: []string{"jakarta", "bandung", "surabaya", "medan", "bali"}, MaxWeightG: 20_000, MaxSizeCM: 100},
		{ID: "sicepat", Areas: []string{"jakarta", "bandung", "surabaya"}, MaxWeightG: 10_000, MaxSizeCM: 80},
		{ID: "cargo", Areas: []string{"jakarta", "surabaya", "papua"}, MaxWeightG: 200_000, MaxSizeCM: 300},
	}
	for _, area := range mockstore.Areas {
		d.Addresses = append(d.Addresses, mockstore.Address{Line: "Jl. Merdeka 17, " + area, Area: area})
	}
	return d
}

// WriteData writes NewData(ds) as JSON to path.
func WriteData(path string, ds mockstore.Dataset) error {
	b, err := json.MarshalIndent(NewData(ds), "", " ")
	if err != nil {
		return fmt.Errorf("encode seed data: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write seed data: %w", err)
	}
	return nil
}

// ReadData reads the seed data file at path, as WriteData writes it. Fields
// it does not know are ignored.
func ReadData(path string) (Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Data{}, fmt.Errorf("read seed data: %w", err)
	}
	var d Data
	if err := json.Unmarshal(b, &d); err != nil {
		return Data{}, fmt.Errorf("decode seed data %s: %w", path, err)
	}
	return d, nil
}

// partnerIDs returns the user IDs of the restaurants' merchants and of
// the drivers.
func (d Data) partnerIDs() map[string]bool {
	out := map[string]bool{}
	for _, r := range d.Restaurants {
		out[r.Owner] = true
	}
	for _, id := range d.Drivers {
		out[id] = true
	}
	return out
}

// shoppers returns the users who shop: active ones that are neither
// merchants nor drivers (a restricted account is refused at checkout by
// design).
func (d Data) shoppers() []mockstore.User {
	partner := d.partnerIDs()
	var out []mockstore.User
	for _, u := range d.Users {
		if u.Status == mockstore.StatusActive && !partner[u.ID] {
			out = append(out, u)
		}
	}
	return out
}
