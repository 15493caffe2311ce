package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/mockstore"
)

// The contract between the harness and scenarios/k6/shopper.js: the
// environment variables the script reads (as __ENV). ShopperEnv builds them;
// the top of shopper.js and scenarios/k6/README.md document the same names.
const (
	EnvGateway  = "GAMEDAY_GATEWAY"  // public API base URL (env.Info.Gateway)
	EnvInbox    = "GAMEDAY_INBOX"    // OTP provider base URL: GET {inbox}/inbox/{phone} (env.Info.OTPInbox)
	EnvData     = "GAMEDAY_DATA"     // path of the seed data file (Data as JSON)
	EnvPhones   = "GAMEDAY_PHONES"   // comma-separated phones, when there is no data file (by hand)
	EnvRate     = "GAMEDAY_RATE"     // shopper visits started per second (constant arrival rate)
	EnvDuration = "GAMEDAY_DURATION" // how long visits are started, a k6 duration ("60s")
	EnvVUs      = "GAMEDAY_VUS"      // most shoppers (k6 VUs) at once
)

// DataFile is the name of the seed data file ShopperEnv writes in the run
// directory.
const DataFile = "shoppers.json"

// Data is the seed data a shopper script reads from the file named by
// EnvData: who can log in, what can be bought, who delivers where.
type Data struct {
	Seed      int64               `json:"seed"`
	Users     []mockstore.User    `json:"users"` // active and restricted
	Products  []mockstore.Product `json:"products"`
	Couriers  []mockstore.Courier `json:"couriers"`
	Addresses []mockstore.Address `json:"addresses"` // at least one in every area
	// The food side: restaurants (each with its merchant's user ID) and
	// drivers' user IDs. Partners log in as partners, never as shoppers.
	Restaurants []mockstore.Restaurant `json:"restaurants"`
	Drivers     []string               `json:"drivers"`
}

// NewData derives the script's seed data from ds, with two street addresses
// in every area of mockstore.Areas.
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

// Shape is the load a shopper script applies. The zero value lets the script
// choose (see shopper.js: 5 visits/s for 30s).
type Shape struct {
	Rate     float64       // shopper visits started per second; 0: the script's default
	Duration time.Duration // how long visits are started; 0: the script's default
	VUs      int           // most shoppers at once; 0: DefaultVUs(Rate)
}

// DefaultVUs is how many VUs a constant arrival rate of rate visits per
// second gets: enough for visits lasting 10 s on average (a storefront
// slowed by a fault, shoppers waiting out Retry-After), at least 10 and at
// most 2000. A run that needs more shows dropped_iterations in its series.
func DefaultVUs(rate float64) int {
	return min(max(int(math.Ceil(rate*10)), 10), 2000)
}

// Validate reports a shape that cannot run.
func (s Shape) Validate() error {
	var errs []error
	if s.Rate < 0 || math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v: want a positive number of visits per second", s.Rate))
	}
	if s.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v: want a positive duration", s.Duration))
	}
	if s.VUs < 0 {
		errs = append(errs, fmt.Errorf("vus %d: want a positive number", s.VUs))
	}
	return errors.Join(errs...)
}

// env renders the shape as the script's variables; zero fields are left out.
func (s Shape) env() map[string]string {
	m := map[string]string{}
	if s.Rate > 0 {
		m[EnvRate] = strconv.FormatFloat(s.Rate, 'f', -1, 64)
	}
	if s.Duration > 0 {
		m[EnvDuration] = s.Duration.String() // k6 parses Go's duration format
	}
	switch {
	case s.VUs > 0:
		m[EnvVUs] = strconv.Itoa(s.VUs)
	case s.Rate > 0:
		m[EnvVUs] = strconv.Itoa(DefaultVUs(s.Rate))
	}
	return m
}

// ShopperEnv is the one place that says how a shopper script reaches a
// storefront: it writes the seed data file DataFile into dir and returns the
// variables for Spec.Env — the gateway and inbox URLs of info, the data
// file's path and the load shape. It fails when info lacks a URL, the shape
// is invalid or the file cannot be written.
func ShopperEnv(dir string, info env.Info, ds mockstore.Dataset, shape Shape) (map[string]string, error) {
	if info.Gateway == "" || info.OTPInbox == "" {
		return nil, errors.New("load: the environment gives no gateway or OTP inbox URL")
	}
	if err := shape.Validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load: run directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("load: create run directory: %w", err)
	}
	path := filepath.Join(dir, DataFile)
	if err := WriteData(path, ds); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	m := shape.env()
	m[EnvGateway] = info.Gateway
	m[EnvInbox] = info.OTPInbox
	m[EnvData] = path
	return m, nil
}

// WriteScript copies the k6 script name (a slash-separated path in fsys,
// such as "k6/shopper.js" in the embedded scenarios) into dir and returns
// the copy's path, for Spec.Script: a binary that carries its scripts
// embedded runs them without the repository. k6 resolves the script's own
// relative imports and open() calls next to the copy, so a script that uses
// them needs those files copied too.
func WriteScript(dir string, fsys fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", fmt.Errorf("load: read script: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("load: create run directory: %w", err)
	}
	dst, err := filepath.Abs(filepath.Join(dir, path.Base(name)))
	if err != nil {
		return "", fmt.Errorf("load: script path: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return "", fmt.Errorf("load: write script: %w", err)
	}
	return dst, nil
}
