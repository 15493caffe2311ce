package storefront

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// The variables a scenario's load.env may set for the storefront's
// shoppers, as shopper.js read them from __ENV. ParseEnv reads them.
const (
	EnvThink    = "GAMEDAY_THINK"     // longest pause between two steps of a visit, seconds
	EnvLogout   = "GAMEDAY_LOGOUT"    // share of visits that end with a logout
	EnvWhatsApp = "GAMEDAY_WHATSAPP"  // share of logins by WhatsApp and its login link
	EnvTimeout  = "GAMEDAY_TIMEOUT"   // timeout of one request: "10s", or milliseconds as k6 read a bare number
	EnvFood     = "GAMEDAY_FOOD"      // share of visits that order food; above 0 the partners work too
	EnvFoodWait = "GAMEDAY_FOOD_WAIT" // longest wait of a food visit for its driver, seconds
	EnvQR       = "GAMEDAY_QR"        // share of visits that pay a restaurant by QR code
	EnvNewKey   = "GAMEDAY_NEW_KEY"   // share of apps that retry a checkout whose answer was lost under a new Idempotency-Key
	EnvOTPLate  = "GAMEDAY_OTP_LATE"  // share of logins whose code is entered after its lifetime
	EnvOTPReuse = "GAMEDAY_OTP_REUSE" // share of logins whose code is entered again after it was accepted
	EnvFlood    = "GAMEDAY_FLOOD"     // share of virtual users that are attackers flooding a few phones with login codes
)

// envNames is the source of EnvNames, in the order of shopper.js, then
// the variables added since.
var envNames = []string{EnvThink, EnvLogout, EnvWhatsApp, EnvTimeout, EnvFood, EnvFoodWait, EnvQR, EnvNewKey, EnvOTPLate, EnvOTPReuse, EnvFlood}

// EnvNames returns the names of the variables ParseEnv accepts, in a fixed
// order; the result is a fresh copy.
func EnvNames() []string { return slices.Clone(envNames) }

// Settings are what a scenario may tune of the shoppers (load.env). The
// zero value is valid but is not shopper.js's defaults: start from
// DefaultSettings.
type Settings struct {
	Think    time.Duration // longest pause between two steps of a visit (each pause is drawn from 0..Think)
	Logout   float64       // share of visits (0..1) that end with a logout
	WhatsApp float64       // share of logins (0..1) that ask for the code by WhatsApp and use its link
	Food     float64       // share of visits (0..1) that order food; above 0 the partners work too
	FoodWait time.Duration // longest wait of a food visit for a driver
	QR       float64       // share of visits (0..1) that pay a restaurant by QR code
	// NewKey is the share of apps (0..1, drawn once per virtual user) that
	// retry a checkout whose answer was lost under a new Idempotency-Key,
	// as an app that makes a key per tap does; the others retry under the
	// same key.
	NewKey float64
	// OTPLate is the share of logins (0..1) whose code is entered after its
	// lifetime: OTPLateMargin past expires_in_s counted from the answer
	// that issued the code (the login start's, or a resend's). OTPReuse is
	// the share of logins whose code, once accepted, is entered again from
	// another device. Both must be refused; the shoppers count what they
	// were answered (MetricOTPLateEntered, MetricOTPReuseEntered, …).
	OTPLate  float64
	OTPReuse float64
	// Flood is the share of virtual users (0..1) that are attackers: instead
	// of shopping they ask for login codes for a few phones (FloodPhones),
	// over and over (SMS pumping).
	Flood float64
	// Timeout bounds one request. The shoppers do not apply it: it is for
	// the VUs' load.VUConfig.Timeout (0 there means load.DefaultTimeout).
	Timeout time.Duration
}

// DefaultSettings returns shopper.js's defaults: pauses up to 0.3 s, one
// visit in ten logs out, one login in four by WhatsApp, no food and no QR
// payments, a food visit waits up to 20 s for its driver, requests time
// out after load.DefaultTimeout.
func DefaultSettings() Settings {
	return Settings{Think: 300 * time.Millisecond, Logout: 0.1, WhatsApp: 0.25, FoodWait: 20 * time.Second, Timeout: load.DefaultTimeout}
}

// VarError is a variable of load.env that cannot be used; its message
// names the variable, its value and what is wanted.
type VarError struct {
	Name  string
	Value string
	Want  string // "a share of visits from 0 to 1", …; empty when Name is not one of EnvNames
}

func (e *VarError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("%s is not a variable of the storefront's shoppers (allowed: %s)", e.Name, strings.Join(envNames, ", "))
	}
	return fmt.Sprintf("%s=%s: want %s", e.Name, e.Value, e.Want)
}

// ParseEnv reads the variables of a scenario's load.env into
// DefaultSettings: an unset or empty variable keeps its default. It
// returns every problem at once, each a *VarError naming its variable (a
// caller that knows where each variable was written can parse them one at
// a time to place each error): a variable it does not know, a number that
// is negative or not finite, a share outside 0..1, a timeout that is not
// a positive duration.
func ParseEnv(vars map[string]string) (Settings, error) {
	s := DefaultSettings()
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names) // errors in a stable order
	var errs []error
	for _, name := range names {
		v := strings.TrimSpace(vars[name])
		if !slices.Contains(envNames, name) {
			errs = append(errs, &VarError{Name: name})
			continue
		}
		if v == "" {
			continue
		}
		var err error
		switch name {
		case EnvThink:
			s.Think, err = seconds(name, v)
		case EnvFoodWait:
			s.FoodWait, err = seconds(name, v)
		case EnvLogout:
			s.Logout, err = share(name, v, "visits")
		case EnvWhatsApp:
			s.WhatsApp, err = share(name, v, "logins")
		case EnvFood:
			s.Food, err = share(name, v, "visits")
		case EnvQR:
			s.QR, err = share(name, v, "visits")
		case EnvNewKey:
			s.NewKey, err = share(name, v, "apps")
		case EnvOTPLate:
			s.OTPLate, err = share(name, v, "logins")
		case EnvOTPReuse:
			s.OTPReuse, err = share(name, v, "logins")
		case EnvFlood:
			s.Flood, err = share(name, v, "virtual users")
		case EnvTimeout:
			s.Timeout, err = timeout(name, v)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// number reads a non-negative finite number, as shopper.js's num() did.
func number(name, v, want string) (float64, error) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, &VarError{Name: name, Value: v, Want: want}
	}
	return n, nil
}

func seconds(name, v string) (time.Duration, error) {
	n, err := number(name, v, "a non-negative number of seconds")
	if err != nil {
		return 0, err
	}
	if n > float64(math.MaxInt64)/float64(time.Second) {
		return 0, &VarError{Name: name, Value: v, Want: "a non-negative number of seconds"}
	}
	return time.Duration(n * float64(time.Second)), nil
}

func share(name, v, of string) (float64, error) {
	want := "a share of " + of + " from 0 to 1"
	n, err := number(name, v, want)
	if err != nil {
		return 0, err
	}
	if n > 1 {
		return 0, &VarError{Name: name, Value: v, Want: want}
	}
	return n, nil
}

// timeout reads a request timeout as k6 read GAMEDAY_TIMEOUT: a duration
// ("10s", "1m30s") or a bare number of milliseconds.
func timeout(name, v string) (time.Duration, error) {
	const want = `a positive duration such as "10s" (a bare number is milliseconds)`
	var d time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(n) || n > float64(math.MaxInt64)/float64(time.Millisecond) {
			return 0, &VarError{Name: name, Value: v, Want: want}
		}
		d = time.Duration(n * float64(time.Millisecond))
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, &VarError{Name: name, Value: v, Want: want}
	}
	if d <= 0 {
		return 0, &VarError{Name: name, Value: v, Want: want}
	}
	return d, nil
}

// Validate reports settings that cannot run: a negative pause, wait or
// timeout, a share outside 0..1.
func (s Settings) Validate() error {
	var errs []error
	if s.Think < 0 {
		errs = append(errs, fmt.Errorf("think %v: want a non-negative pause", s.Think))
	}
	if s.FoodWait < 0 {
		errs = append(errs, fmt.Errorf("food wait %v: want a non-negative wait", s.FoodWait))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a non-negative timeout", s.Timeout))
	}
	for _, sh := range []struct {
		name string
		v    float64
	}{{"logout", s.Logout}, {"whatsapp", s.WhatsApp}, {"food", s.Food}, {"qr", s.QR}, {"new key", s.NewKey}, {"otp late", s.OTPLate}, {"otp reuse", s.OTPReuse}, {"flood", s.Flood}} {
		if !(sh.v >= 0 && sh.v <= 1) {
			errs = append(errs, fmt.Errorf("%s share %v: want a share from 0 to 1", sh.name, sh.v))
		}
	}
	return errors.Join(errs...)
}

// Config is what the storefront's shoppers need: where the storefront is,
// the seed data, and the settings.
type Config struct {
	Gateway string // public API base URL (env.Info.Gateway)
	Inbox   string // OTP provider base URL, GET {Inbox}/inbox/{phone} (env.Info.OTPInbox)
	Data    Data   // NewData of the environment's dataset, or PhoneData
	Settings
	// Observe, when set, is given every answer the judge checks against
	// the stores' truth (see Observation); it must be safe for concurrent
	// use (ObservationLog.Observe is).
	Observe func(Observation)
}

// Validate reports a config the shoppers cannot work with: a URL that is
// not http(s), settings that cannot run, data without a shopper (an
// active user who is neither merchant nor driver), without a courier, or
// with a courier that serves none of the addresses, and, when visits
// order food, a merchant or driver who is not among the users (no phone
// to log in with).
func (c Config) Validate() error {
	var errs []error
	for _, u := range []struct{ what, v, field string }{
		{"gateway", c.Gateway, "gateway"}, {"OTP inbox", c.Inbox, "otp_inbox"},
	} {
		if !httpURL(u.v) {
			errs = append(errs, fmt.Errorf("%s %q: want the URL of the storefront's %s (gameday up --json prints it as %s)", u.what, u.v, u.what, u.field))
		}
	}
	if err := c.Settings.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Data.shoppers()) == 0 {
		errs = append(errs, errors.New("no shopper to log in with: the data has no active user who is neither merchant nor driver "+
			"(use NewData of the storefront's dataset, or PhoneData with registered phones: gameday up --json prints one as sample_phone)"))
	}
	if len(c.Data.Couriers) == 0 {
		errs = append(errs, errors.New("the data has no courier: no visit could check out"))
	}
	for _, co := range c.Data.Couriers {
		if len(addressesFor(c.Data.Addresses, co)) == 0 {
			errs = append(errs, fmt.Errorf("courier %s serves none of the data's addresses (areas %v)", co.ID, co.Areas))
		}
	}
	if c.Food > 0 {
		if _, err := partnersOf(c.Data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
