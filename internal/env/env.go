// Package env starts the storefront with every link behind Toxiproxy, reads
// the audits its services keep of themselves (ReadAudit), and tears it down
// again. The inproc runtime runs every service, the proxies and
// the Toxiproxy API in this process on 127.0.0.1 with ports the OS picks,
// except the services it runs as child processes (a service a scenario
// crashes, or a replacement: Options.Crashable, Options.Processes), each
// supervised by a Process; whatever runtime runs it, an environment is
// described by the same Info.
package env

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/gateway"
)

// Options configure an environment. The zero value is a resilient storefront
// with 100 shoppers from seed 0 in a temporary directory.
type Options struct {
	Features mockstore.Features // nil means the resilient profile
	Profile  string             // the profile Features started from, for Info
	Seed     int64
	Shoppers int    // seeded shoppers; < 1 means 100
	Dir      string // where the stores go; "" means a temporary directory removed at Close
	// Direct makes services call each other without the proxies. Only the
	// benchmark that measures what the proxies cost uses it: faults cannot
	// reach a direct environment.
	Direct bool
	// ToxiproxyAddr is where the Toxiproxy API listens; "" means 127.0.0.1
	// with a port the OS picks. It stays on loopback unless told otherwise.
	ToxiproxyAddr string
	RefundSLA     time.Duration // checkout's refund SLA; 0 means its default
	PendingBound  time.Duration // checkout's bound on an unresolved payment; 0 means its default
	// OTPTimeout bounds each send from auth to the OTP provider, and
	// OTPFallbackAfter is how long an SMS may go unacknowledged before the
	// code also goes out by WhatsApp (otp_fallback_channel); 0 means auth's
	// defaults.
	OTPTimeout       time.Duration
	OTPFallbackAfter time.Duration
	// OTPLifetime is how long a login code lives from its issue (auth's
	// CodeTTL, at most auth.MaxCodeTTL); 0 means auth's default.
	OTPLifetime time.Duration
	// NewAuth, when set, builds auth in place of auth.New: a seam for the
	// tests that run the storefront with an auth of their own (the
	// rule-breaking auths of mockstore/auth's tests). Only the in-process
	// runtime takes it; StartDocker refuses it. No flag, scenario field or
	// command sets it.
	NewAuth func(ctx context.Context, cfg auth.Config) (*auth.Service, error)
	// GatewayTimeouts bound each call of the gateway to an upstream (each
	// attempt, when retried); zero fields mean the gateway's defaults.
	GatewayTimeouts gateway.Timeouts
	// Crashable names storefront services that the inproc runtime runs as
	// child processes (`gameday serve <service>`, its store in Dir) rather
	// than inside the harness, so that crash faults reach them (see
	// Inproc.Crash); a scenario that crashes a service names it here. The
	// docker runtime runs every service as a process already and ignores it.
	Crashable []string
	// Processes replace storefront services (by name) with processes of
	// their own in the inproc runtime: the links to and from such a service
	// go through the same proxies, and crash faults reach it. A name may not
	// be both here and in Crashable.
	Processes map[string]ProcessSpec
	// Serve is the command that runs `gameday serve` for Crashable
	// services; nil means this executable's serve command. Tests whose own
	// binary is not gameday name one that is.
	Serve []string
	// Topology is the system to start; nil means the storefront
	// (topology.Default). Its builtin services are configured from these
	// options (Configure).
	Topology *topology.Topology
	Logger   *slog.Logger
}

// topology returns the topology o starts.
func (o Options) topology() *topology.Topology {
	if o.Topology != nil {
		return o.Topology
	}
	return topology.Default()
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.Shoppers > 100_000 {
		errs = append(errs, fmt.Errorf("shoppers: %d is over the limit of 100000", o.Shoppers))
	}
	if o.RefundSLA < 0 || o.PendingBound < 0 {
		errs = append(errs, errors.New("refund SLA and pending bound must not be negative"))
	}
	if o.OTPTimeout < 0 || o.OTPFallbackAfter < 0 {
		errs = append(errs, errors.New("OTP timeout and fallback delay must not be negative"))
	}
	if o.OTPLifetime < 0 || o.OTPLifetime > auth.MaxCodeTTL {
		errs = append(errs, fmt.Errorf("OTP lifetime %v: want at most %v", o.OTPLifetime, auth.MaxCodeTTL))
	}
	if t := o.GatewayTimeouts; t.Auth < 0 || t.Checkout < 0 || t.Wallet < 0 || t.Food < 0 {
		errs = append(errs, errors.New("gateway timeouts must not be negative"))
	}
	for _, name := range o.Crashable { // StartInproc holds them to the topology's services
		switch {
		case o.Processes[name].Command != nil:
			errs = append(errs, fmt.Errorf("service %s: both crashable and replaced by a process", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.Processes)) {
		switch {
		case !slices.Contains(mockstore.Services, name):
			errs = append(errs, fmt.Errorf("process service %q: allowed values: %s", name, strings.Join(mockstore.Services, ", ")))
		case o.Processes[name].Command == nil:
			errs = append(errs, fmt.Errorf("process service %s: no command", name))
		}
	}
	for f := range o.Features {
		if !f.Known() {
			errs = append(errs, fmt.Errorf("unknown feature %q", f))
		}
	}
	return errors.Join(errs...)
}

// Info is what an environment tells its users: where everything is.
// `gameday up --json` prints it.
type Info struct {
	Runtime   string            `json:"runtime"`
	Profile   string            `json:"profile"`
	Features  string            `json:"features"` // name=on|off,...
	Seed      int64             `json:"seed"`
	Shoppers  int               `json:"shoppers"`
	Dir       string            `json:"dir"`
	Gateway   string            `json:"gateway"`   // public API base URL, through the client->gateway proxy
	Toxiproxy string            `json:"toxiproxy"` // Toxiproxy API URL
	OTPInbox  string            `json:"otp_inbox"` // OTP provider base URL: GET {otp_inbox}/inbox/{phone}
	Audit     map[string]string `json:"audit"`     // service -> audit base URL (loopback, never proxied)
	Links     map[string]string `json:"links"`     // link name ("gateway->auth") -> Toxiproxy proxy name
	// Topology names the system that runs ("storefront", or a topology
	// file's name); Services maps each of its services to the base URL of
	// its API (loopback, never proxied: for probes and inboxes), and Entries
	// each link from client to the URL of its proxy, where the load enters.
	Topology    string            `json:"topology,omitempty"`
	Services    map[string]string `json:"services,omitempty"`
	Entries     map[string]string `json:"entries,omitempty"`
	SamplePhone string            `json:"sample_phone"`
	Direct      bool              `json:"direct,omitempty"`
	// Run is the value of the DockerLabelRun label on everything the docker
	// runtime started for this environment ("" in-process).
	Run string `json:"run,omitempty"`
}

// Env is a running storefront.
type Env interface {
	// Info describes where everything is.
	Info() Info
	// Dataset is the seeded world the services were started with.
	Dataset() mockstore.Dataset
	// Close stops everything the environment started and releases every
	// port; it returns what could not be cleaned up. It is idempotent.
	Close() error
}

// Crash actions, what a Crasher carries out on a service. The first three
// are the scenario format's; CrashStart ends a stop.
const (
	CrashKill    = "kill"    // SIGKILL, then started again at once
	CrashStop    = "stop"    // SIGTERM (SIGKILL after a grace period); it stays down
	CrashRestart = "restart" // SIGTERM, then started again
	CrashStart   = "start"   // a stopped service started again
)

// Crasher is an environment that can crash its services, each a process of
// its own: the docker runtime (every service), and the inproc runtime for
// the services it runs as child processes (Options.Crashable and
// Options.Processes).
type Crasher interface {
	// Crash carries out action (CrashKill, CrashStop, CrashRestart,
	// CrashStart) on service, one of mockstore.Services, and returns once
	// it is done: for an action that starts the service, once it answers
	// its health check again on the addresses Info gave. The service's
	// store survives, as a process's files survive its crash. It returns an
	// error naming the service and the action when that cannot be done.
	Crash(ctx context.Context, service, action string) error
}

// samplePhone returns an active shopper's phone.
func samplePhone(d mockstore.Dataset) string {
	for _, u := range d.Users {
		if u.Status == mockstore.StatusActive {
			return u.Phone
		}
	}
	return ""
}
