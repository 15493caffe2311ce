package storefront

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

func TestParseEnv(t *testing.T) {
	t.Parallel()
	def := DefaultSettings()
	with := func(f func(*Settings)) Settings { s := def; f(&s); return s }
	tests := []struct {
		name string
		vars map[string]string
		want Settings
		errs []string // each a variable named in the error
	}{
		{name: "none", want: def},
		{name: "empty values keep the defaults", vars: map[string]string{EnvThink: "", EnvFood: " "}, want: def},
		{name: "every one", vars: map[string]string{EnvThink: "0.5", EnvLogout: "0.9", EnvWhatsApp: "1", EnvTimeout: "2s",
			EnvFood: "0.6", EnvFoodWait: "5", EnvQR: "0", EnvNewKey: "0.25", EnvOTPLate: "0.2", EnvOTPReuse: "0.3"},
			want: Settings{Think: 500 * time.Millisecond, Logout: 0.9, WhatsApp: 1, Timeout: 2 * time.Second, Food: 0.6,
				FoodWait: 5 * time.Second, QR: 0, NewKey: 0.25, OTPLate: 0.2, OTPReuse: 0.3}},
		{name: "OTP shares over 1", vars: map[string]string{EnvOTPLate: "1.5", EnvOTPReuse: "-0.1"}, errs: []string{EnvOTPLate, EnvOTPReuse}},
		{name: "timeout in milliseconds, as k6 read a bare number", vars: map[string]string{EnvTimeout: "2500"},
			want: with(func(s *Settings) { s.Timeout = 2500 * time.Millisecond })},
		{name: "no think", vars: map[string]string{EnvThink: "0"}, want: with(func(s *Settings) { s.Think = 0 })},
		{name: "negative", vars: map[string]string{EnvThink: "-1"}, errs: []string{EnvThink}},
		{name: "not a number", vars: map[string]string{EnvFoodWait: "20s"}, errs: []string{EnvFoodWait}},
		{name: "infinite", vars: map[string]string{EnvThink: "Inf"}, errs: []string{EnvThink}},
		{name: "NaN", vars: map[string]string{EnvLogout: "NaN"}, errs: []string{EnvLogout}},
		{name: "share over 1", vars: map[string]string{EnvFood: "1.5", EnvQR: "2", EnvWhatsApp: "1.01", EnvNewKey: "1.2", EnvFlood: "1.2"},
			errs: []string{EnvFood, EnvQR, EnvWhatsApp, EnvNewKey, EnvFlood}},
		{name: "bad timeouts", vars: map[string]string{EnvTimeout: "soon"}, errs: []string{EnvTimeout}},
		{name: "zero timeout", vars: map[string]string{EnvTimeout: "0s"}, errs: []string{EnvTimeout}},
		{name: "unknown", vars: map[string]string{"GAMEDAY_FOOOD": "0.5", EnvFood: "0.5"}, errs: []string{"GAMEDAY_FOOOD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnv(tt.vars)
			if len(tt.errs) == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("ParseEnv = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseEnv = %+v, want errors about %v", got, tt.errs)
			}
			for _, name := range tt.errs {
				if !strings.Contains(err.Error(), name+"=") && !strings.Contains(err.Error(), name+" is not") {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
			var ve *VarError
			if !errors.As(err, &ve) || !slices.Contains(tt.errs, ve.Name) {
				t.Errorf("error %v is not a *VarError about one of %v", err, tt.errs)
			}
		})
	}
	_, err := ParseEnv(map[string]string{"GAMEDAY_FOOOD": "1"})
	for _, name := range EnvNames() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error about an unknown variable does not list %s: %v", name, err)
		}
	}
}

// TestEnvNames: every name is accepted, none is one the harness sets.
func TestEnvNames(t *testing.T) {
	t.Parallel()
	names := EnvNames()
	if len(names) != 11 {
		t.Fatalf("EnvNames() = %v, want the seven of shopper.js, GAMEDAY_NEW_KEY, the OTP rules' two and GAMEDAY_FLOOD", names)
	}
	for _, n := range names {
		if _, err := ParseEnv(map[string]string{n: "1"}); err != nil {
			t.Errorf("ParseEnv refuses %s=1: %v", n, err)
		}
	}
	names[0] = "changed"
	if EnvNames()[0] == "changed" {
		t.Error("EnvNames returns its own slice")
	}
}

func FuzzParseEnv(f *testing.F) {
	for _, v := range []string{"0", "0.3", "-1", "1e309", "2s", "NaN", "", " 1 ", "0x10", "1_0"} {
		f.Add(EnvThink, v)
		f.Add(EnvTimeout, v)
		f.Add(EnvQR, v)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		s, err := ParseEnv(map[string]string{name: value})
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseEnv(%s=%q) = %+v, which Validate refuses: %v", name, value, s, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ds := mockstore.Seed(1, 20)
	good := Config{Gateway: "http://127.0.0.1:1", Inbox: "https://inbox.example/", Data: NewData(ds), Settings: DefaultSettings()}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no gateway", func(c *Config) { c.Gateway = "" }, "gateway"},
		{"gateway without scheme", func(c *Config) { c.Gateway = "127.0.0.1:8080" }, "gateway"},
		{"inbox not http", func(c *Config) { c.Inbox = "ftp://x" }, "OTP inbox"},
		{"negative think", func(c *Config) { c.Think = -time.Second }, "think"},
		{"share", func(c *Config) { c.Logout = 1.5 }, "logout share"},
		{"no shopper", func(c *Config) { c.Data.Users = nil }, "no shopper"},
		{"only restricted shoppers", func(c *Config) {
			c.Data = PhoneData("+6281100000001")
			c.Data.Users[0].Status = mockstore.StatusRestricted
		}, "no shopper"},
		{"no courier", func(c *Config) { c.Data.Couriers = nil }, "no courier"},
		{"courier without address", func(c *Config) {
			c.Data.Addresses = []mockstore.Address{{Line: "Jl. Trikora 1", Area: "papua"}} // only cargo goes there
		}, "courier jne serves none"},
		{"partner without phone", func(c *Config) { c.Food = 0.5; c.Data.Drivers = append(c.Data.Drivers, "u99999") }, "u99999"},
	}
	for _, tt := range tests {
		c := good
		c.Data.Users = slices.Clone(good.Data.Users)
		tt.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error about %q", tt.name, err, tt.want)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepts the config", tt.name)
		}
	}
	// Without food, nobody needs the partners' phones.
	c := good
	c.Data.Drivers = append(slices.Clone(c.Data.Drivers), "u99999")
	if err := c.Validate(); err != nil {
		t.Errorf("an unknown driver without food: %v", err)
	}
}

func TestData(t *testing.T) {
	t.Parallel()
	ds := mockstore.Seed(3, 30)
	path := filepath.Join(t.TempDir(), "shoppers.json")
	if err := WriteData(path, ds); err != nil {
		t.Fatal(err)
	}
	d, err := ReadData(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Seed != 3 || len(d.Users) != 30 || len(d.Products) != len(ds.Products) || len(d.Restaurants) != len(ds.Restaurants) ||
		!slices.Equal(d.Drivers, ds.Drivers) || d.Users[4] != ds.Users[4] {
		t.Fatalf("read back %+v, want the dataset", d)
	}
	for _, c := range d.Couriers {
		if len(addressesFor(d.Addresses, c)) == 0 {
			t.Errorf("no address for courier %s", c.ID)
		}
	}
	if _, err := ReadData(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "read seed data") {
		t.Errorf("a missing file: %v", err)
	}
	if err := WriteData(filepath.Join(t.TempDir(), "no", "such", "dir.json"), ds); err == nil {
		t.Error("WriteData into a missing directory succeeded")
	}

	p := PhoneData(" +6281100000001 ", "", "+6281100000002")
	if len(p.Users) != 2 || p.Users[0].Phone != "+6281100000001" || p.Users[0].Status != mockstore.StatusActive || p.Users[0].ID != "" {
		t.Errorf("PhoneData users %+v", p.Users)
	}
	if len(p.Couriers) != 3 || len(p.Addresses) != len(mockstore.Areas) || len(p.Restaurants) != 0 || len(p.Drivers) != 0 {
		t.Errorf("PhoneData %+v: want the seeded couriers, an address per area, no partners", p)
	}
	if err := (Config{Gateway: "http://x", Inbox: "http://y", Data: p, Settings: DefaultSettings()}).Validate(); err != nil {
		t.Errorf("PhoneData does not validate: %v", err)
	}
}

// TestNewUser: VU n plays shopper (n-1) mod the number of shoppers, who
// are the active users that are neither merchants nor drivers.
func TestNewUser(t *testing.T) {
	t.Parallel()
	ds := mockstore.Seed(1, 40)
	sc, err := New(Config{Gateway: "http://127.0.0.1:1/", Inbox: "http://127.0.0.1:2", Data: NewData(ds), Settings: DefaultSettings()})
	if err != nil {
		t.Fatal(err)
	}
	if sc.cfg.Gateway != "http://127.0.0.1:1" {
		t.Errorf("gateway %q keeps its trailing slash", sc.cfg.Gateway)
	}
	partners := ds.Partners()
	var shoppers []string
	for _, u := range ds.Users {
		if u.Status == mockstore.StatusActive && !partners[u.ID] {
			shoppers = append(shoppers, u.Phone)
		}
	}
	if len(shoppers) == len(ds.Users) || len(shoppers) == 0 {
		t.Fatalf("the dataset has %d shoppers of %d users: nothing to leave out", len(shoppers), len(ds.Users))
	}
	rec := newRecorder()
	for _, id := range []int{1, 2, len(shoppers), len(shoppers) + 1, 3*len(shoppers) + 2} {
		u := sc.NewUser(newVU(t, id, rec)).(*shopper)
		if want := shoppers[(id-1)%len(shoppers)]; u.phone != want {
			t.Errorf("VU %d plays %s, want %s", id, u.phone, want)
		}
		if u.balance != -1 || u.token != "" {
			t.Errorf("VU %d starts knowing balance %d, token %q", id, u.balance, u.token)
		}
	}
}

// TestPartners: one partner per restaurant (its merchant) and per driver,
// only when visits order food and the data has them.
func TestPartners(t *testing.T) {
	t.Parallel()
	ds := mockstore.Seed(1, 40)
	cfg := Config{Gateway: "http://127.0.0.1:1", Inbox: "http://127.0.0.1:2", Data: NewData(ds), Settings: DefaultSettings()}
	sc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Partners() != 0 {
		t.Errorf("%d partners without food, want 0", sc.Partners())
	}
	cfg.Food = 0.1
	if sc, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if want := len(ds.Restaurants) + len(ds.Drivers); sc.Partners() != want || want == 0 {
		t.Fatalf("%d partners, want %d", sc.Partners(), want)
	}
	rec := newRecorder()
	phone := map[string]string{}
	for _, u := range ds.Users {
		phone[u.ID] = u.Phone
	}
	for i := range sc.Partners() {
		p := sc.NewPartner(newVU(t, 100+i, rec), i).(*partner)
		switch {
		case i < len(ds.Restaurants):
			r := ds.Restaurants[i]
			if p.spec.role != JourneyMerchant || p.spec.restaurant != r.ID || p.phone != phone[r.Owner] {
				t.Errorf("partner %d = %+v, want the merchant of %s", i, p.spec, r.ID)
			}
		default:
			d := ds.Drivers[i-len(ds.Restaurants)]
			if p.spec.role != JourneyDriver || p.phone != phone[d] || p.wantUser != d {
				t.Errorf("partner %d = %+v, want driver %s", i, p.spec, d)
			}
		}
	}
	cfg.Data = PhoneData("+6281100000001")
	if sc, err = New(cfg); err != nil || sc.Partners() != 0 {
		t.Errorf("phones only with food: %d partners, %v; want none", sc.Partners(), err)
	}
	var _ load.Partners = sc
}
