// Package scenario is gameday's scenario file format: a YAML file that says
// what is rehearsed, the load, a timeline of faults, and the checks that
// judge the run. Parse and Load read a file, refuse bad input before anything
// starts — every problem at once, each as "file:line:col: what is wrong" with
// the allowed values and a "did you mean" for a likely typo — and apply the
// defaults; ParseContext is Parse that stops when its context ends. Events resolves the timeline the engine executes; Quick
// compresses it for fast feedback. The tables in catalog.go (metrics, tags,
// windows, invariants, experiences, fields) and internal/fault's toxic
// catalogue are the single source of the format; Schema makes its JSON
// Schema from them (scenarios/scenario.schema.json, for editors: start a
// file with "# yaml-language-server: $schema=<path to it>").
//
// Built-in scenarios (package scenarios, embedded) are named without a
// path: Builtins, Builtin, and Find, which resolves what a user typed (a
// file, a directory or a built-in name).
//
// # Format
//
//	name: wallet-ambiguous-commit         # default: the file's base name
//	description: The wallet takes the money but checkout never hears back.
//	guards: [idempotent_payments]         # mockstore features this scenario proves
//	seed: 7                               # default 1
//	load:
//	  journeys: storefront                # default; or a journey file (.yaml) beside the scenario
//	  shoppers: 300                       # seeded shoppers, default 100
//	  rate: 15/s                          # iterations per s, m, h (or "10/500ms"); default 10/s
//	  duration: 60s                       # required
//	  vus: 50                             # optional
//	  env: {GAMEDAY_LOGOUT: 0.3}          # variables of the storefront's journeys
//	faults:                               # the timeline; offsets from the load's start
//	  - link: checkout->wallet            # a toxic on a link (mockstore.Links)
//	    toxic: reset_peer                 # see Toxics
//	    stream: downstream                # or upstream; default downstream
//	    toxicity: 0.3                     # share of connections, default 1
//	    timeout: 0s                       # the toxic's attributes, inline
//	    start: 15s
//	    duration: 20s                     # must end within the load
//	  - link: gateway->auth
//	    toxic: latency
//	    latency: 100ms
//	    start: 10s
//	    duration: 30s
//	    flap: {on: 5s, off: 5s}           # toggles during its span (each ≥ 100ms)
//	    steps:                            # changes during its span (at: from the fault's start)
//	      - {at: 10s, latency: 500ms}
//	      - {at: 20s, latency: 2s, toxicity: 0.5}
//	  - maintenance: {retry_after: 30s, message: "Back soon"}  # the gateway's switch
//	    start: 40s
//	    duration: 5s
//	  - {service: wallet, action: kill, at: 20s}   # a crash (--runtime docker)
//	checks:
//	  - invariant: no_stuck_pending
//	    after_faults: 10s                 # params per invariant: after_faults, sla, bound
//	  - experience: forced_logouts
//	    max: 0
//	  - metric: journey_success{journey:checkout}
//	    window: fault                     # baseline, fault, recovery, run (default) or {from: 10s, to: 30s}
//	    rate: ">= 0.6"                    # one of rate, count, per_second, p50, p95, p99, max, avg
//	    min_samples: 10                   # any check: the least it must judge (Least); fewer: unknown
//	    abort: true                       # judged live; a failure stops the run
//	  - recovery: checkout                # a journey
//	    within: 10s
//	    name: checkout recovers           # any check: a label
//
// Quote comparisons: a YAML value cannot start with ">". Trend comparisons
// take a duration ("<= 400ms"); rates a fraction (">= 0.6", or ">= 60%").
//
// # Faults
//
// A fault is one of: a toxic on a link (link and toxic), the gateway's
// maintenance switch (maintenance), or a crash of a service (service). The
// toxic catalogue with attributes, types, streams and defaults is Toxics(),
// made from internal/fault's catalogue: an attribute the toxic takes in
// milliseconds, microseconds or seconds is written as a duration that must
// be a whole number of that unit ("1500us" is refused for latency), one in
// seconds also as a bare number. A toxic's settings, and those each step
// leads to, must pass fault.Toxic.Validate. down disables the link's proxy,
// so it takes neither stream nor toxicity nor steps. Two down faults on one
// link, or two maintenance windows, may not overlap. No duration in a file
// exceeds MaxDuration; flapping is bounded by MinFlap and MaxFlaps.
//
// Crash faults ({service, action: kill|stop|restart, at, duration?}) act on
// a service's process: kill is SIGKILL with the runtime starting the
// service again at once, restart a graceful restart, stop a graceful stop
// for duration (default: until the load ends; the service is started again
// for the audits). The service comes back on its own store. Only the docker
// runtime can do this, a container per service; the inproc runtime, where a
// service is no process of its own, refuses a scenario with a crash fault
// before anything starts (exit code 2, "crash faults need --runtime
// docker") rather than pretend. The fault's actual interval is the time the
// service was down.
//
// # Windows
//
// baseline is the load before the first fault starts; fault is while any
// fault is in place; recovery is after the last fault ends; run is the whole
// load; {from, to} an explicit span. A window the timeline cannot give (a
// baseline when the first fault starts at 0s) is refused.
//
// # Checks
//
// invariant: read from the services' stores after the load (Invariants).
// experience: what shoppers were told (Experiences), with max the number of
// offending answers allowed (default 0). metric: a statistic of a metric
// over a window, by tag (Metrics, Tags, StatsFor). recovery: the time from
// the last fault's end until the journey's success rate and p95 latency are
// back in the baseline's band (defined by the judge). A check with
// abort: true that is a metric check is judged while the load runs.
//
// No vacuous verdicts: every check states the least it must have judged —
// its min_samples, by default Least of its kind and subject: one charged
// failed order for failed_orders_refunded, one 5xx answer for
// errors_have_retry_after, five codes entered for no_lockout_by_fault, ten
// samples in the window for a metric, nine journeys after the last fault
// for a recovery (InvariantSpec.Least, ExperienceSpec.Least). With fewer the
// verdict is unknown (exit 1) and says so ("judged 0 charged failed orders,
// fewer than 1"), unless it already failed on offences no further item
// could undo (an order charged twice is a failure however few were
// judged). min_samples: 0 judges whatever there is.
package scenario
