package env

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/gateway"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
	"github.com/gameday/gameday/mockstore/wallet"
)

// This file is the one wiring of a storefront service: what it is started
// with, derived from a topology and Options in one place (Configure),
// validated once (Builtin.Validate), and carried to it whichever runtime
// runs it: built in this process (Builtin.Start, the inproc runtime and
// `gameday serve`), or told through `gameday serve`'s flags (Builtin.Args,
// the docker runtime's containers and child processes).

// Service is what every storefront service offers the runtime that serves
// it.
type Service interface {
	Handler() http.Handler
	AuditHandler() http.Handler
	Close() error
}

// Builtin is the configuration of one storefront service.
type Builtin struct {
	Service  string // one of mockstore.Services
	DBPath   string // the service's SQLite file; "" for the gateway, which keeps none
	Seed     int64
	Shoppers int // seeded shoppers, MinShoppers to MaxShoppers
	Features mockstore.Features
	// Upstreams maps each service this one calls to the base URL it calls
	// it at: the proxy of its link, never the service itself.
	Upstreams map[string]string
	Settings  Settings
	// Dataset is the world Seed and Shoppers make, when the caller has it
	// already (it is the same for every service); nil: Start seeds it.
	Dataset *mockstore.Dataset
	// NewAuth is Options.NewAuth (the tests' seam for an auth that breaks
	// an OTP rule), for auth built in this process only: Args cannot carry
	// it, and the runtimes that start services from Args refuse it.
	NewAuth func(ctx context.Context, cfg auth.Config) (*auth.Service, error)
}

// Settings are the storefront's service levels; each belongs to one
// service (see BuiltinSettings), and zero means that service's default.
type Settings struct {
	RefundSLA, PendingBound                   time.Duration // checkout
	OTPTimeout, OTPFallbackAfter, OTPLifetime time.Duration // auth
	Gateway                                   gateway.Timeouts
}

// Setting is one of Settings: its `gameday serve` flag, its service, and
// where it is in Settings.
type Setting struct {
	Flag    string // without the dashes: "refund-sla"
	Service string
	Usage   string
	Field   func(*Settings) *time.Duration
}

// BuiltinSettings are every one of Settings. `gameday serve` registers a
// flag for each, Validate checks each and Args writes each: a setting added
// here reaches every runtime.
var BuiltinSettings = []Setting{
	{"refund-sla", mockstore.ServiceCheckout, "checkout's refund SLA", func(s *Settings) *time.Duration { return &s.RefundSLA }},
	{"pending-bound", mockstore.ServiceCheckout, "checkout's bound on an unresolved payment", func(s *Settings) *time.Duration { return &s.PendingBound }},
	{"otp-timeout", mockstore.ServiceAuth, "auth's bound on each send to the OTP provider", func(s *Settings) *time.Duration { return &s.OTPTimeout }},
	{"otp-fallback-after", mockstore.ServiceAuth, "auth's wait for an SMS before the WhatsApp fallback", func(s *Settings) *time.Duration { return &s.OTPFallbackAfter }},
	{"otp-lifetime", mockstore.ServiceAuth, "auth's lifetime of a login code from its issue, at most 5m", func(s *Settings) *time.Duration { return &s.OTPLifetime }},
	{"auth-timeout", mockstore.ServiceGateway, "gateway's bound on each call to auth", func(s *Settings) *time.Duration { return &s.Gateway.Auth }},
	{"checkout-timeout", mockstore.ServiceGateway, "gateway's bound on each call to checkout", func(s *Settings) *time.Duration { return &s.Gateway.Checkout }},
	{"wallet-timeout", mockstore.ServiceGateway, "gateway's bound on each call to the wallet", func(s *Settings) *time.Duration { return &s.Gateway.Wallet }},
	{"food-timeout", mockstore.ServiceGateway, "gateway's bound on each call to food", func(s *Settings) *time.Duration { return &s.Gateway.Food }},
}

// Bounds of Builtin.Shoppers.
const (
	MinShoppers = 1
	MaxShoppers = 100_000
)

// BuiltinUpstreams returns the services the storefront service svc calls,
// in mockstore.Links' order: the links a topology must give it.
func BuiltinUpstreams(svc string) []string {
	var out []string
	for _, l := range mockstore.Links() {
		if l.From == svc {
			out = append(out, l.To)
		}
	}
	return out
}

// UpstreamFlag is the `gameday serve` flag that carries the URL of
// upstream: "wallet-url".
func UpstreamFlag(upstream string) string { return upstream + "-url" }

// settings returns the service levels o sets.
func (o Options) settings() Settings {
	return Settings{RefundSLA: o.RefundSLA, PendingBound: o.PendingBound, OTPTimeout: o.OTPTimeout,
		OTPFallbackAfter: o.OTPFallbackAfter, OTPLifetime: o.OTPLifetime, Gateway: o.GatewayTimeouts}
}

// Configure derives the configuration of svc, a builtin service of t, from
// opts: its store is <dir>/<name>.db, each of its upstreams is reached at
// proxyURL(link), the URL of that link's proxy as this runtime's callers
// see it, and it gets the settings of its own service out of opts. It
// returns the configuration validated, or what is wrong with it.
func Configure(t *topology.Topology, svc topology.Service, opts Options, dir string, proxyURL func(topology.Link) string) (Builtin, error) {
	if svc.Kind != topology.KindBuiltin {
		return Builtin{}, fmt.Errorf("configure %s: a %s service is no storefront service", svc.Name, svc.Kind)
	}
	feats := opts.Features
	if feats == nil {
		feats, _ = mockstore.Profile(mockstore.ProfileResilient)
	}
	b := Builtin{
		Service: svc.Builtin, Seed: opts.Seed, Shoppers: opts.Shoppers, Features: feats,
		Upstreams: map[string]string{},
	}
	if b.Shoppers < 1 {
		b.Shoppers = 100 // mockstore.Seed's default
	}
	if svc.Builtin != mockstore.ServiceGateway {
		b.DBPath = filepath.Join(dir, svc.Name+".db")
	}
	for _, l := range t.Links {
		if l.From == svc.Name {
			b.Upstreams[l.To] = proxyURL(l)
		}
	}
	all := opts.settings()
	for _, s := range BuiltinSettings {
		if s.Service == b.Service {
			*s.Field(&b.Settings) = *s.Field(&all)
		}
	}
	if b.Service == mockstore.ServiceAuth {
		b.NewAuth = opts.NewAuth
	}
	if err := b.Validate(); err != nil {
		return Builtin{}, fmt.Errorf("configure %s: %w", svc.Name, err)
	}
	return b, nil
}

// Validate reports everything that is wrong with b, in the words of
// `gameday serve`'s flags: an unknown service, upstreams it does not call
// or lacks, URLs that are not absolute http(s), a store for the gateway,
// shoppers out of bounds, unknown features, and settings that are negative
// or belong to another service.
func (b Builtin) Validate() error {
	if !slices.Contains(mockstore.Services, b.Service) {
		return fmt.Errorf("service %q: allowed values: %s", b.Service, strings.Join(mockstore.Services, ", "))
	}
	var errs []error
	takes := BuiltinUpstreams(b.Service)
	for _, u := range takes {
		if _, ok := b.Upstreams[u]; !ok {
			errs = append(errs, fmt.Errorf("%s needs --%s", b.Service, UpstreamFlag(u)))
		}
	}
	for _, u := range slices.Sorted(maps.Keys(b.Upstreams)) {
		if !slices.Contains(takes, u) {
			errs = append(errs, fmt.Errorf("--%s: %s has no such upstream (it takes: %s)", UpstreamFlag(u), b.Service, upstreamFlags(takes)))
			continue
		}
		if err := checkBaseURL(b.Upstreams[u]); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", UpstreamFlag(u), err))
		}
	}
	if b.Service == mockstore.ServiceGateway && b.DBPath != "" {
		errs = append(errs, errors.New("--db: the gateway keeps no store"))
	}
	if b.Shoppers < MinShoppers || b.Shoppers > MaxShoppers {
		errs = append(errs, fmt.Errorf("--shoppers %d: want %d to %d", b.Shoppers, MinShoppers, MaxShoppers))
	}
	for f := range b.Features {
		if !f.Known() {
			errs = append(errs, fmt.Errorf("unknown feature %q", f))
		}
	}
	for _, s := range BuiltinSettings {
		d := *s.Field(&b.Settings)
		switch {
		case d < 0:
			errs = append(errs, fmt.Errorf("--%s %v: must not be negative", s.Flag, d))
		case d > 0 && b.Service != s.Service:
			errs = append(errs, fmt.Errorf("--%s is for %s only", s.Flag, s.Service))
		}
	}
	if b.Settings.OTPLifetime > auth.MaxCodeTTL {
		errs = append(errs, fmt.Errorf("--otp-lifetime %v: want at most %v (a login code lives at most 5 minutes)", b.Settings.OTPLifetime, auth.MaxCodeTTL))
	}
	return errors.Join(errs...)
}

// Args returns the flags of `gameday serve <service>` that carry b (all
// but the listen addresses and the log level): the exact feature set
// whatever its profile, the upstreams' URLs, the settings that are set and
// the store.
func (b Builtin) Args() []string {
	args := []string{
		"--seed", strconv.FormatInt(b.Seed, 10), "--shoppers", strconv.Itoa(b.Shoppers),
		"--profile", mockstore.ProfileNaive, "--feature", b.Features.String(),
	}
	for _, u := range BuiltinUpstreams(b.Service) {
		if v, ok := b.Upstreams[u]; ok {
			args = append(args, "--"+UpstreamFlag(u), v)
		}
	}
	for _, s := range BuiltinSettings {
		if d := *s.Field(&b.Settings); d != 0 {
			args = append(args, "--"+s.Flag, d.String())
		}
	}
	if b.DBPath != "" {
		args = append(args, "--db", b.DBPath)
	}
	return args
}

// Start builds the service b configures, its store opened; it does not
// serve it. b must be valid (Validate).
func (b Builtin) Start(ctx context.Context, logger *slog.Logger) (Service, error) {
	var ds mockstore.Dataset
	if b.Dataset != nil {
		ds = *b.Dataset
	} else {
		ds = mockstore.Seed(b.Seed, b.Shoppers)
	}
	feats, db, up, s := b.Features, b.DBPath, b.Upstreams, b.Settings
	switch b.Service {
	case mockstore.ServiceSessions:
		return sessions.New(ctx, sessions.Config{DBPath: db, Features: feats, Logger: logger})
	case mockstore.ServiceOTP:
		return otp.New(ctx, otp.Config{DBPath: db, Features: feats, Logger: logger})
	case mockstore.ServiceWallet:
		return wallet.New(ctx, wallet.Config{DBPath: db, Dataset: ds, Features: feats, Logger: logger})
	case mockstore.ServiceAuth:
		newAuth := auth.New
		if b.NewAuth != nil {
			newAuth = b.NewAuth
		}
		return newAuth(ctx, auth.Config{
			DBPath: db, SessionsURL: up[mockstore.ServiceSessions], OTPURL: up[mockstore.ServiceOTP],
			OTPTimeout: s.OTPTimeout, FallbackAfter: s.OTPFallbackAfter, CodeTTL: s.OTPLifetime,
			Dataset: ds, Features: feats, Logger: logger,
		})
	case mockstore.ServiceCheckout:
		return checkout.New(ctx, checkout.Config{
			DBPath: db, WalletURL: up[mockstore.ServiceWallet], Dataset: ds, Features: feats,
			RefundSLA: s.RefundSLA, PendingBound: s.PendingBound, Logger: logger,
		})
	case mockstore.ServiceFood:
		return food.New(ctx, food.Config{DBPath: db, Dataset: ds, Features: feats, Logger: logger})
	case mockstore.ServiceGateway:
		return gateway.New(ctx, gateway.Config{
			AuthURL: up[mockstore.ServiceAuth], CheckoutURL: up[mockstore.ServiceCheckout],
			WalletURL: up[mockstore.ServiceWallet], FoodURL: up[mockstore.ServiceFood],
			Timeouts: s.Gateway, Features: feats, Logger: logger,
		})
	}
	return nil, fmt.Errorf("start %q: allowed values: %s", b.Service, strings.Join(mockstore.Services, ", "))
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

func upstreamFlags(ups []string) string {
	if len(ups) == 0 {
		return "none"
	}
	flags := make([]string, len(ups))
	for i, u := range ups {
		flags[i] = "--" + UpstreamFlag(u)
	}
	return strings.Join(flags, ", ")
}
