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
//	topology: storefront                  # default; or a topology file (.yaml) relative to the scenario
//	storefront:                           # the storefront's own service levels (quick does not scale them)
//	  refund_sla: 10s                     # default 10s
//	  pending_bound: 30s                  # default 30s
//	  otp_lifetime: 5m                    # a login code's lifetime from its issue, 1s..5m; default 5m
//	load:
//	  journeys: storefront                # default; or a journey file (.yaml) beside the scenario
//	  shoppers: 300                       # seeded shoppers, default 100
//	  rate: 15/s                          # iterations per s, m, h (or "10/500ms"); default 10/s
//	  duration: 60s                       # required
//	  vus: 50                             # optional
//	  env: {GAMEDAY_LOGOUT: 0.3}          # variables of the storefront's journeys
//	faults:                               # the timeline; offsets from the load's start
//	  - link: checkout->wallet            # a toxic on a link of the topology
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
//	  - {service: wallet, action: kill, at: 20s}   # a crash (both runtimes)
//	checks:
//	  - invariant: no_stuck_pending
//	    after_faults: 10s                 # params per invariant: after_faults, sla, bound, min_samples
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
//	  - probe: http                       # an HTTP GET ...
//	    url: "{gateway}/healthz"          # placeholders: ProbePlaceholdersOf
//	    every: 1s                         # or when: before | after (once)
//	    timeout: 500ms                    # one run; default 2s (or every, when shorter)
//	    expect: status == 200             # status, body (JSON), text, headers, duration_ms
//	    max: 0                            # failed runs allowed; default 0
//	    min_runs: 5                       # fewer runs: unknown
//	  - probe: sql                        # ... or a query on a store of the run
//	    db: wallet.db                     # relative to the stores' directory; opened read-only
//	    query: SELECT count(*) AS n FROM ledger
//	    when: after
//	    expect: row.n > 0                 # rows (a list of maps), row (the first), duration_ms
//
// Quote comparisons: a YAML value cannot start with ">". Trend comparisons
// take a duration ("<= 400ms"); rates a fraction (">= 0.6", or ">= 60%").
//
// # Topology
//
// topology names the system the scenario runs on (see internal/topology):
// a built-in topology ("storefront", the default) or the path of a
// topology file, relative to the scenario. Faults name its links, crash
// faults its services; a name that is not there is refused with the
// allowed ones, and a topology file's own problems with their places in
// it. The storefront's journeys, its service levels (storefront:),
// invariant and experience checks and the maintenance switch need the
// storefront: on a topology that lacks one of its services or links they
// are refused, at their line, before anything starts. A storefront with
// one service replaced (the same name, kind process or image) is still the
// storefront: its checks are allowed, and a check whose audit the
// replacement does not serve is judged unknown.
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
// for the audits). The service comes back on its own store, on the same
// address. The docker runtime runs a container per service; the inproc
// runtime runs each service a scenario crashes as a child process (`gameday
// serve`) behind the same proxies, and really kills it. The fault's actual
// interval is the time the service was down.
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
// # Probes
//
// A probe asks the system under test itself, needing no storefront: an
// http probe GETs a URL, a sql probe runs a query (SELECT, WITH or PRAGMA)
// on a SQLite file of the run's stores, opened read-only. It runs once
// before the load (once the environment is up), once after it (when the
// audits are read), or every period while the load runs (the first one
// period after the load starts; a run still going when the next is due
// makes that one skip). Its expect, an expression of the same library as
// journey files (expr-lang/expr, compiled when the file is read, so that a
// mistake is file:line:col), must be true of every answer: for http,
// status, body (the JSON value, nil when the body is not JSON), text,
// headers and duration_ms; for sql, rows (every row, a map by column) and
// row (the first, nil when there is none). A run that gets no answer (the
// target not reached, a timeout, a query the database refuses) or whose
// expression fails counts as a failed run, not as unknown: a probe of a
// service that a fault has taken down must fail. The verdict fails when
// more than max runs failed, and is unknown when the probe ran fewer times
// than min_runs (default 1; for every, half the runs the load has room
// for), e.g. when the load stopped early. An http probe's URL reaches the
// system as shoppers do ({gateway} is the client->gateway proxy; on any
// topology {entry.NAME} is the client->NAME proxy), so the faults on that
// link reach it; {service.NAME} is a service's own address, around the
// proxies (ProbePlaceholdersOf).
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
// judged), or passed in a way no further item could undo (a count or max
// of a metric found at or over its lower bound, above 0). min_samples: 0
// judges whatever there is.
package scenario
