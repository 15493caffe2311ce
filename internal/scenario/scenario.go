package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// Scenario is one parsed, validated scenario file with its defaults applied.
// Every offset in it (fault starts, windows) counts from the start of the
// load.
type Scenario struct {
	File        string // the name given to Parse
	Name        string // defaults to the file's base name without extension
	Description string
	Guards      []mockstore.Feature // the defences this scenario proves
	Seed        int64
	// Topology is the system the scenario runs on: the file's topology
	// (a built-in's name or a path relative to the file), the storefront
	// by default. Faults name its links and services. It is shared by
	// clones and never modified (topology.Topology.Replace makes a copy).
	Topology *topology.Topology
	Load     Traffic // the file's load
	// Storefront holds the service levels the storefront runs with; zero
	// fields mean its defaults.
	Storefront Storefront
	Faults     []Fault // in file order
	Checks     []Check // in file order
	// Builtin is true for a scenario embedded in the binary (see Builtin):
	// File is then its path in the gameday repository.
	Builtin bool
	// Compressed is true for a scenario made by Quick.
	Compressed bool
}

// Traffic is the shoppers' traffic: the file's load.
type Traffic struct {
	// Journeys is what the virtual users do: DefaultJourneys (the
	// storefront's shoppers, merchants and drivers) or the path of a journey
	// file, relative to the scenario file.
	Journeys string
	Shoppers int  // seeded shoppers
	Rate     Rate // iterations started per unit of time
	Duration time.Duration
	VUs      int // 0: the load package decides
	// Env holds variables for the storefront's journeys (load.env), such as
	// GAMEDAY_LOGOUT; only names of StorefrontEnv.
	Env map[string]string
}

// Storefront is what a scenario sets of the storefront's own service levels:
// the refund SLA the refund outbox keeps and the judge holds it to, how
// long an order may stay payment_pending before it fails, and how long a
// login code lives from its issue (auth keeps it, the judge holds auth to
// it). Quick does not scale them: they describe the system, not the
// timeline.
type Storefront struct {
	RefundSLA    time.Duration
	PendingBound time.Duration
	OTPLifetime  time.Duration // MinOTPLifetime..MaxOTPLifetime; 0: auth's default (the most)
}

// Bounds of Storefront.OTPLifetime. The most is auth's own bound on a
// code's lifetime (auth.MaxCodeTTL, DESIGN.md's "≤ 5 min").
const (
	MinOTPLifetime = time.Second
	MaxOTPLifetime = 5 * time.Minute
)

// Rate is an arrival rate: N iterations per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// PerSecond returns the rate per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// String renders r the way files write it ("15/s", "900/m").
func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/m", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// Pos is a position in the scenario file (1-based).
type Pos struct {
	Line, Col int
}

// FaultKind tells the kinds of timeline entries apart.
type FaultKind string

// Fault kinds.
const (
	FaultToxic       FaultKind = "toxic"       // a toxic on a link
	FaultMaintenance FaultKind = "maintenance" // the gateway's maintenance switch
	FaultCrash       FaultKind = "crash"       // a service process killed, stopped or restarted (docker runtime)
)

// Fault is one entry of the timeline.
type Fault struct {
	Kind FaultKind
	Pos  Pos
	// Start is the offset from the load's start; for a crash it is the file's
	// "at". Duration is the span; 0 for a kill or restart and for a stop
	// without duration (which lasts until the end of the load).
	Start, Duration time.Duration
	// Phase names what shoppers saw while the fault was on ("" if the file
	// gives none): replays name their phases after the incident's symptoms.
	Phase string

	// Kind FaultToxic.
	Link     string  // a link of the topology, "checkout->wallet"
	Toxic    string  // a name from Toxics()
	Stream   string  // Downstream or Upstream ("" for a proxy toxic)
	Toxicity float64 // share of connections affected, 0..1
	Attrs    Attrs   // every attribute of the toxic, defaults filled in
	Flap     *Flap   // nil: on for the whole span
	Steps    []Step  // attribute changes over the span, by increasing At

	// Kind FaultMaintenance.
	Maintenance *Maintenance

	// Kind FaultCrash.
	Service string // a service of the topology
	Action  string // CrashKill, CrashStop or CrashRestart
}

// End returns the offset at which the fault's span ends. A stop without
// duration is taken to end with the load.
func (f Fault) End(loadDuration time.Duration) time.Duration {
	if f.Kind == FaultCrash && f.Action == CrashStop && f.Duration == 0 {
		return loadDuration
	}
	return f.Start + f.Duration
}

// String describes the fault in one line, for reports and logs.
func (f Fault) String() string {
	switch f.Kind {
	case FaultMaintenance:
		return fmt.Sprintf("maintenance (retry after %ds) from %s for %s", f.Maintenance.RetryAfter, fmtDur(f.Start), fmtDur(f.Duration))
	case FaultCrash:
		s := fmt.Sprintf("%s %s at %s", f.Action, f.Service, fmtDur(f.Start))
		if f.Duration > 0 {
			s += " for " + fmtDur(f.Duration)
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", f.Link, f.Toxic)
	for _, k := range slices.Sorted(maps.Keys(f.Attrs)) {
		fmt.Fprintf(&b, " %s=%v", k, f.Attrs[k])
	}
	if f.Stream != "" && f.Stream != Downstream {
		b.WriteString(" " + f.Stream)
	}
	if f.Toxicity != 1 && f.Stream != "" {
		fmt.Fprintf(&b, " toxicity=%g", f.Toxicity)
	}
	fmt.Fprintf(&b, " from %s for %s", fmtDur(f.Start), fmtDur(f.Duration))
	if f.Flap != nil {
		fmt.Fprintf(&b, " flapping %s on/%s off", fmtDur(f.Flap.On), fmtDur(f.Flap.Off))
	}
	if len(f.Steps) > 0 {
		fmt.Fprintf(&b, " in %d steps", len(f.Steps))
	}
	return b.String()
}

// Flap toggles a fault during its span: On, then Off, then On again.
type Flap struct {
	On, Off time.Duration
}

// Step changes a toxic's attributes At the offset from the fault's start;
// what it leaves out keeps its value.
type Step struct {
	At       time.Duration
	Toxicity *float64 // nil: unchanged
	Attrs    Attrs    // only the attributes the step sets
}

// Maintenance is the operator's maintenance switch on the gateway.
type Maintenance struct {
	RetryAfter int    // seconds, what shoppers are told
	Message    string // shown to shoppers
}

// Attrs are a toxic's attributes by name, each typed as its AttrSpec says:
// time.Duration, int64 or float64.
type Attrs map[string]any

// Duration returns attribute name as a duration (0 when absent or not one).
func (a Attrs) Duration(name string) time.Duration { d, _ := a[name].(time.Duration); return d }

// Int returns attribute name as an int64 (0 when absent or not one).
func (a Attrs) Int(name string) int64 { n, _ := a[name].(int64); return n }

// Float returns attribute name as a float64 (0 when absent or not one).
func (a Attrs) Float(name string) float64 { f, _ := a[name].(float64); return f }

// CheckKind tells the kinds of checks apart.
type CheckKind string

// Check kinds.
const (
	CheckInvariant  CheckKind = "invariant"  // read from the services' stores after the load
	CheckExperience CheckKind = "experience" // what shoppers were told
	CheckMetric     CheckKind = "metric"     // a statistic of the series over a window
	CheckRecovery   CheckKind = "recovery"   // time for a journey to return to its baseline
	CheckProbe      CheckKind = "probe"      // an HTTP GET or a SQL query, before, after or during the load
)

// Check is one thing the judge decides. Which fields matter depends on Kind.
type Check struct {
	Kind CheckKind
	Pos  Pos
	// Name is the check's label: the file's name, or one made from the check
	// ("journey_success{journey:checkout} rate >= 0.6 in fault"). Labels are
	// unique within a scenario.
	Name string
	// Abort stops the run early when a metric check fails while the load
	// runs. Other kinds are judged after the load; for them it only marks the
	// check as critical.
	Abort bool
	// MinSamples is the least the check must have judged (file's
	// min_samples, else Least of its kind and subject): with fewer items the
	// verdict is unknown, unless it already failed on offences no further
	// item could undo. 0 judges whatever there is.
	MinSamples int
	// Subject is the invariant's or experience's name, the metric's name, or
	// the recovering journey.
	Subject string

	// Invariant parameters. AfterFaults is nil when not given; SLA and Bound
	// are 0 when not given (the judge then uses the run's own values).
	AfterFaults *time.Duration
	SLA         time.Duration
	Bound       time.Duration

	// Experience: the offending count allowed. Probe: the failed runs
	// allowed.
	Max int

	// Metric.
	Tags   map[string]string // the selector's tags (nil for none)
	Window Window
	Stat   string // one of Stats()
	Cmp    Comparison

	// Recovery.
	Within time.Duration

	// Probe: what it asks, when, and what must hold of the answer.
	Probe *Probe
}

// Selector renders a metric check's metric and tags ("http_reqs{endpoint:checkout}").
func (c Check) Selector() string {
	if len(c.Tags) == 0 {
		return c.Subject
	}
	parts := make([]string, 0, len(c.Tags))
	for _, k := range slices.Sorted(maps.Keys(c.Tags)) {
		parts = append(parts, k+":"+c.Tags[k])
	}
	return c.Subject + "{" + strings.Join(parts, ",") + "}"
}

func (c Check) label() string {
	switch c.Kind {
	case CheckInvariant:
		if c.AfterFaults != nil {
			return fmt.Sprintf("%s %s after faults", c.Subject, fmtDur(*c.AfterFaults))
		}
		return c.Subject
	case CheckExperience:
		if c.Max > 0 {
			return fmt.Sprintf("%s max %d", c.Subject, c.Max)
		}
		return c.Subject
	case CheckMetric:
		return fmt.Sprintf("%s %s %s in %s", c.Selector(), c.Stat, c.Cmp, c.Window)
	case CheckRecovery:
		return fmt.Sprintf("recovery of %s within %s", c.Subject, fmtDur(c.Within))
	case CheckProbe:
		return probeLabel(c.Probe)
	}
	return string(c.Kind)
}

// Window is the span of the load a metric check looks at: a named window or
// an explicit From..To.
type Window struct {
	Name     string // one of Windows(); "" for an explicit window
	From, To time.Duration
}

// String renders the window ("fault", "10s..30s").
func (w Window) String() string {
	if w.Name != "" {
		return w.Name
	}
	return fmtDur(w.From) + ".." + fmtDur(w.To)
}

// Comparison is a check's bound, "<= 400ms" or ">= 0.6".
type Comparison struct {
	Op    string  // ">=", "<=", "==", ">" or "<"
	Value float64 // durations in milliseconds
	Text  string  // as written, normalised ("<= 400ms")
}

var ops = []string{">=", "<=", "==", ">", "<"}

// Holds reports whether x satisfies the comparison.
func (c Comparison) Holds(x float64) bool {
	switch c.Op {
	case ">=":
		return x >= c.Value
	case "<=":
		return x <= c.Value
	case "==":
		return x == c.Value
	case ">":
		return x > c.Value
	case "<":
		return x < c.Value
	}
	return false
}

// String returns the comparison as written.
func (c Comparison) String() string { return c.Text }

// fmtDur renders d compactly: "20s", "1m30s", "400ms".
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Clone returns a deep copy of sc.
func (sc *Scenario) Clone() *Scenario {
	out := *sc
	out.Guards = slices.Clone(sc.Guards)
	out.Faults = make([]Fault, len(sc.Faults))
	for i, f := range sc.Faults {
		f.Attrs = maps.Clone(f.Attrs)
		if f.Flap != nil {
			fl := *f.Flap
			f.Flap = &fl
		}
		if f.Maintenance != nil {
			m := *f.Maintenance
			f.Maintenance = &m
		}
		f.Steps = slices.Clone(f.Steps)
		for j, s := range f.Steps {
			s.Attrs = maps.Clone(s.Attrs)
			if s.Toxicity != nil {
				t := *s.Toxicity
				s.Toxicity = &t
			}
			f.Steps[j] = s
		}
		out.Faults[i] = f
	}
	out.Checks = make([]Check, len(sc.Checks))
	for i, c := range sc.Checks {
		c.Tags = maps.Clone(c.Tags)
		if c.AfterFaults != nil {
			d := *c.AfterFaults
			c.AfterFaults = &d
		}
		if c.Probe != nil {
			pr := *c.Probe // its Program is immutable: shared
			c.Probe = &pr
		}
		out.Checks[i] = c
	}
	return &out
}
