package scenario

import (
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

var update = flag.Bool("update", false, "rewrite golden files and scenarios/scenario.schema.json")

// parseOK parses src and fails the test on any error.
func parseOK(tb testing.TB, name, src string) *Scenario {
	tb.Helper()
	sc, err := Parse(name, []byte(src))
	if err != nil {
		tb.Fatalf("Parse(%s): %v\n%s", name, err, src)
	}
	return sc
}

// readFile returns the contents of a file of the test.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// golden compares got with testdata/name, or writes it there with -update.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want := string(readFile(tb, path))
	if got != want {
		tb.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func dur(d time.Duration) *time.Duration { return &d }
func frac(f float64) *float64            { return &f }

func TestParseFull(t *testing.T) {
	const file = "testdata/full.yaml"
	sc, err := Parse(file, readFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		File:        file,
		Name:        "full-example",
		Description: "Every field of the format at once.",
		Guards:      []mockstore.Feature{mockstore.IdempotentPayments, mockstore.SessionFallback},
		Seed:        42,
		Load:        Traffic{Journeys: "storefront", Shoppers: 250, Rate: Rate{N: 900, Per: time.Minute}, Duration: 2 * time.Minute, VUs: 40},
		Faults: []Fault{
			{Kind: FaultToxic, Pos: Pos{14, 5}, Start: 15 * time.Second, Duration: 20 * time.Second,
				Link: "checkout->wallet", Toxic: "reset_peer", Stream: Upstream, Toxicity: 0.3,
				Attrs: Attrs{"timeout": 250 * time.Millisecond}},
			{Kind: FaultToxic, Pos: Pos{21, 5}, Start: 10 * time.Second, Duration: 30 * time.Second,
				Link: "gateway->auth", Toxic: "latency", Stream: Downstream, Toxicity: 1,
				Attrs: Attrs{"latency": 100 * time.Millisecond, "jitter": 10 * time.Millisecond},
				Flap:  &Flap{On: 5 * time.Second, Off: 5 * time.Second},
				Steps: []Step{
					{At: 10 * time.Second, Attrs: Attrs{"latency": 500 * time.Millisecond}},
					{At: 20 * time.Second, Attrs: Attrs{"latency": 2 * time.Second}, Toxicity: frac(0.5)},
				}},
			{Kind: FaultToxic, Pos: Pos{31, 5}, Start: 50 * time.Second, Duration: 10 * time.Second,
				Link: "gateway->wallet", Toxic: "down", Flap: &Flap{On: 2 * time.Second, Off: time.Second}},
			{Kind: FaultToxic, Pos: Pos{32, 5}, Start: time.Minute, Duration: 5 * time.Second,
				Link: "gateway->checkout", Toxic: "http_error", Stream: Downstream, Toxicity: 1,
				Attrs: Attrs{"status": int64(502), "rate": 0.5, "retry_after": 5 * time.Second, "body": `{"error": {"code": "x"}}`}},
			{Kind: FaultToxic, Pos: Pos{40, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "auth->otp", Toxic: "http_latency", Stream: Upstream, Toxicity: 1,
				Attrs: Attrs{"path": "/send", "latency": 3 * time.Second, "jitter": time.Duration(0)}},
			{Kind: FaultToxic, Pos: Pos{41, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "auth->sessions", Toxic: "bandwidth", Stream: Downstream, Toxicity: 1, Attrs: Attrs{"rate": int64(10)}},
			{Kind: FaultToxic, Pos: Pos{42, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "auth->sessions", Toxic: "slow_close", Stream: Downstream, Toxicity: 1, Attrs: Attrs{"delay": time.Second}},
			{Kind: FaultToxic, Pos: Pos{43, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "auth->sessions", Toxic: "timeout", Stream: Downstream, Toxicity: 1, Attrs: Attrs{"timeout": time.Duration(0)}},
			{Kind: FaultToxic, Pos: Pos{44, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "auth->sessions", Toxic: "slicer", Stream: Downstream, Toxicity: 1,
				Attrs: Attrs{"average_size": int64(8), "size_variation": int64(2), "delay": 10 * time.Microsecond}},
			{Kind: FaultToxic, Pos: Pos{45, 5}, Start: 20 * time.Second, Duration: 10 * time.Second,
				Link: "client->gateway", Toxic: "limit_data", Stream: Downstream, Toxicity: 1, Attrs: Attrs{"bytes": int64(1024)}},
			{Kind: FaultMaintenance, Pos: Pos{46, 5}, Start: 70 * time.Second, Duration: 5 * time.Second,
				Maintenance: &Maintenance{RetryAfter: 30, Message: "Back soon"}},
			{Kind: FaultMaintenance, Pos: Pos{49, 5}, Start: 80 * time.Second, Duration: 5 * time.Second,
				Maintenance: &Maintenance{RetryAfter: DefaultMaintenanceRetryAfter, Message: DefaultMaintenanceMessage}},
			{Kind: FaultCrash, Pos: Pos{52, 5}, Start: 90 * time.Second, Duration: 5 * time.Second, Service: "wallet", Action: CrashStop},
			{Kind: FaultCrash, Pos: Pos{53, 5}, Start: 95 * time.Second, Service: "otp", Action: CrashKill},
		},
		Checks: []Check{
			{Kind: CheckInvariant, Pos: Pos{55, 5}, Name: "no_stuck_pending 20s after faults", Subject: InvNoStuckPending,
				AfterFaults: dur(20 * time.Second), Bound: 30 * time.Second, MinSamples: 1},
			{Kind: CheckInvariant, Pos: Pos{58, 5}, Name: "failed_orders_refunded", Subject: InvFailedOrdersRefunded,
				SLA: time.Minute, Abort: true, MinSamples: 1},
			{Kind: CheckInvariant, Pos: Pos{61, 5}, Name: "no_failed_while_charged", Subject: InvNoFailedWhileCharged, Bound: 10 * time.Second, MinSamples: 1},
			{Kind: CheckInvariant, Pos: Pos{63, 5}, Name: "money_conserved", Subject: InvMoneyConserved, MinSamples: 1},
			{Kind: CheckExperience, Pos: Pos{64, 5}, Name: "forced_logouts max 3", Subject: ExpForcedLogouts, Max: 3, MinSamples: 100},
			{Kind: CheckExperience, Pos: Pos{66, 5}, Name: `nobody told "not registered"`, Subject: ExpNoFalseNotRegistered, MinSamples: 5},
			{Kind: CheckMetric, Pos: Pos{68, 5}, Name: "journey_success{journey:checkout} rate >= 60% in fault",
				Subject: "journey_success", Tags: map[string]string{"journey": "checkout"}, Window: Window{Name: WindowFault},
				Stat: StatRate, Cmp: Comparison{Op: ">=", Value: 0.6, Text: ">= 60%"}, MinSamples: 5, Abort: true},
			{Kind: CheckMetric, Pos: Pos{73, 5}, Name: "http_req_duration{endpoint:checkout,status:5xx} p95 <= 400ms in 10s..30s",
				Subject: "http_req_duration", Tags: map[string]string{"endpoint": "checkout", "status": "5xx"},
				Window: Window{From: 10 * time.Second, To: 30 * time.Second},
				Stat:   StatP95, Cmp: Comparison{Op: "<=", Value: 400, Text: "<= 400ms"}, MinSamples: DefaultMinSamples},
			{Kind: CheckMetric, Pos: Pos{76, 5}, Name: "http_reqs per_second > 10 in baseline",
				Subject: "http_reqs", Window: Window{Name: WindowBaseline},
				Stat: StatPerSecond, Cmp: Comparison{Op: ">", Value: 10, Text: "> 10"}, MinSamples: DefaultMinSamples},
			{Kind: CheckMetric, Pos: Pos{79, 5}, Name: "bare_5xx count == 0 in run",
				Subject: "bare_5xx", Window: Window{Name: WindowRun},
				Stat: StatCount, Cmp: Comparison{Op: "==", Value: 0, Text: "== 0"}, MinSamples: DefaultMinSamples},
			{Kind: CheckRecovery, Pos: Pos{81, 5}, Name: "recovery of checkout within 10s", Subject: "checkout", Within: 10 * time.Second, MinSamples: 30},
		},
	}
	compareScenario(t, sc, want)
}

// compareScenario reports every part of got that differs from want.
func compareScenario(tb testing.TB, got, want *Scenario) {
	tb.Helper()
	g, w := *got, *want
	g.Faults, w.Faults, g.Checks, w.Checks = nil, nil, nil, nil
	wantTopo := topology.Storefront
	if w.Topology != nil {
		wantTopo = w.Topology.Name
	}
	if g.Topology == nil || g.Topology.Name != wantTopo {
		tb.Errorf("topology %v, want %s", g.Topology, wantTopo)
	}
	g.Topology, w.Topology = nil, nil
	if !reflect.DeepEqual(g, w) {
		tb.Errorf("scenario:\n got %+v\nwant %+v", g, w)
	}
	if len(got.Faults) != len(want.Faults) {
		tb.Errorf("got %d faults, want %d", len(got.Faults), len(want.Faults))
	}
	for i := range min(len(got.Faults), len(want.Faults)) {
		if !reflect.DeepEqual(got.Faults[i], want.Faults[i]) {
			tb.Errorf("fault %d:\n got %#v\nwant %#v", i, got.Faults[i], want.Faults[i])
		}
	}
	if len(got.Checks) != len(want.Checks) {
		tb.Errorf("got %d checks, want %d", len(got.Checks), len(want.Checks))
	}
	for i := range min(len(got.Checks), len(want.Checks)) {
		if !reflect.DeepEqual(got.Checks[i], want.Checks[i]) {
			tb.Errorf("check %d:\n got %#v\nwant %#v", i, got.Checks[i], want.Checks[i])
		}
	}
}

func TestParseDefaults(t *testing.T) {
	sc := parseOK(t, "dir/my-scenario.yaml", `
load: {duration: 30s}
faults:
  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 5s, duration: 10s}
  - {link: checkout->wallet, toxic: http_latency, latency: 1s, start: 5s, duration: 10s}
  - {link: checkout->wallet, toxic: slicer, start: 5s, duration: 10s}
checks:
  - metric: http_reqs
    count: "> 0"
  - metric: http_reqs
    count: "> 0"
`)
	want := &Scenario{
		File: "dir/my-scenario.yaml",
		Name: "my-scenario",
		Seed: DefaultSeed,
		Load: Traffic{Journeys: DefaultJourneys, Shoppers: DefaultShoppers, Rate: DefaultRate, Duration: 30 * time.Second},
		Faults: []Fault{
			{Kind: FaultToxic, Pos: Pos{4, 5}, Start: 5 * time.Second, Duration: 10 * time.Second, Link: "checkout->wallet",
				Toxic: "latency", Stream: Downstream, Toxicity: DefaultToxicity, Attrs: Attrs{"latency": time.Second, "jitter": time.Duration(0)}},
			// http_latency's only stream is upstream: that is its default.
			{Kind: FaultToxic, Pos: Pos{5, 5}, Start: 5 * time.Second, Duration: 10 * time.Second, Link: "checkout->wallet",
				Toxic: "http_latency", Stream: Upstream, Toxicity: DefaultToxicity,
				Attrs: Attrs{"latency": time.Second, "jitter": time.Duration(0), "path": ""}},
			// slicer's defaults are internal/fault's.
			{Kind: FaultToxic, Pos: Pos{6, 5}, Start: 5 * time.Second, Duration: 10 * time.Second, Link: "checkout->wallet",
				Toxic: "slicer", Stream: Downstream, Toxicity: DefaultToxicity,
				Attrs: Attrs{"average_size": int64(1), "size_variation": int64(0), "delay": time.Duration(0)}},
		},
		Checks: []Check{
			{Kind: CheckMetric, Pos: Pos{8, 5}, Name: "http_reqs count > 0 in run", Subject: "http_reqs",
				Window: Window{Name: WindowRun}, Stat: StatCount, Cmp: Comparison{Op: ">", Value: 0, Text: "> 0"}, MinSamples: DefaultMinSamples},
			// The same check twice gets a numbered label.
			{Kind: CheckMetric, Pos: Pos{10, 5}, Name: "http_reqs count > 0 in run (2)", Subject: "http_reqs",
				Window: Window{Name: WindowRun}, Stat: StatCount, Cmp: Comparison{Op: ">", Value: 0, Text: "> 0"}, MinSamples: DefaultMinSamples},
		},
	}
	compareScenario(t, sc, want)
}

func TestParseAccepts(t *testing.T) {
	// Forms the format allows besides those of full.yaml.
	tests := []struct {
		name  string
		src   string
		check func(*Scenario) bool
	}{
		{"rate per duration", "load: {duration: 10s, rate: 10/500ms}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return sc.Load.Rate == Rate{N: 10, Per: 500 * time.Millisecond} }},
		{"rate per hour", "load: {duration: 10s, rate: 2/h}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return sc.Load.Rate.PerSecond() == 2.0/3600 }},
		{"bare zero start", "load: {duration: 10s}\nfaults: [{link: gateway->auth, toxic: down, start: 0, duration: 1s}]\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return sc.Faults[0].Start == 0 }},
		{"empty faults", "load: {duration: 10s}\nfaults:\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return len(sc.Faults) == 0 }},
		{"retry_after as a number", "load: {duration: 10s}\nfaults: [{maintenance: {retry_after: 12}, start: 1s, duration: 1s}]\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return sc.Faults[0].Maintenance.RetryAfter == 12 }},
		{"aliases", "load: &l {duration: 10s}\nx: *l\nchecks: [{invariant: money_conserved}]", nil},
		{"storefront service levels", "storefront: {refund_sla: 5s, pending_bound: 4s, otp_lifetime: 8s}\nload: {duration: 10s}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool {
				return sc.Storefront == Storefront{RefundSLA: 5 * time.Second, PendingBound: 4 * time.Second, OTPLifetime: 8 * time.Second}
			}},
		{"fault phases", "load: {duration: 10s}\nfaults:\n- {phase: \"logged out\", link: auth->sessions, toxic: reset_peer, start: 1s, duration: 2s}\n- {phase: maintenance, maintenance: {retry_after: 2s}, start: 4s, duration: 1s}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool {
				return sc.Faults[0].Phase == "logged out" && sc.Faults[1].Phase == "maintenance"
			}},
		{"down faults one after another", "load: {duration: 10s}\nfaults:\n- {link: gateway->auth, toxic: down, start: 1s, duration: 2s}\n- {link: gateway->auth, toxic: down, start: 3s, duration: 2s}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return len(sc.Faults) == 2 }},
		{"down on two links at once", "load: {duration: 10s}\nfaults:\n- {link: gateway->auth, toxic: down, start: 1s, duration: 2s}\n- {link: gateway->wallet, toxic: down, start: 1s, duration: 2s}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return len(sc.Faults) == 2 }},
		{"stop until the end", "load: {duration: 10s}\nfaults: [{service: wallet, action: stop, at: 5s}]\nchecks: [{metric: http_reqs, window: baseline, count: '> 0'}]",
			func(sc *Scenario) bool { return sc.Faults[0].End(sc.Load.Duration) == 10*time.Second }},
		{"a journey file", "load: {duration: 10s, journeys: my/journeys.yaml}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool { return sc.Load.Journeys == "my/journeys.yaml" }},
		{"window with only from", "load: {duration: 10s}\nchecks: [{metric: http_reqs, window: {from: 5s}, count: '> 0'}]",
			func(sc *Scenario) bool {
				return sc.Checks[0].Window == Window{From: 5 * time.Second, To: 10 * time.Second}
			}},
		{"percentage rate", "load: {duration: 10s}\nchecks: [{metric: checks, rate: '>=95 %'}]",
			func(sc *Scenario) bool { return sc.Checks[0].Cmp.Value == 0.95 }},
		{"variables of the storefront's journeys", "load: {duration: 10s, env: {GAMEDAY_LOGOUT: 0.4, GAMEDAY_QR: 0.1}}\nchecks: [{invariant: money_conserved}]",
			func(sc *Scenario) bool {
				return maps.Equal(sc.Load.Env, map[string]string{"GAMEDAY_LOGOUT": "0.4", "GAMEDAY_QR": "0.1"}) &&
					maps.Equal(sc.Quick().Load.Env, sc.Load.Env)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// "aliases" has an unknown top-level field x: use a known one.
			src := strings.Replace(tt.src, "x: *l", "description: plain", 1)
			sc := parseOK(t, "t.yaml", src)
			if tt.check != nil && !tt.check(sc) {
				t.Errorf("parsed %+v", sc)
			}
		})
	}
}

// base is a valid scenario that error cases change: a 60 s load, one fault
// from 10 s to 30 s, one check.
const base = `name: base
load: {duration: 60s}
faults:
  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}
checks:
  - invariant: money_conserved
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every message, in order, each a substring of "file:line:col: msg"
		// schemaAccepts marks a problem only the parser can see (the
		// timeline, cross-field rules): the JSON Schema lets it through.
		schemaAccepts bool
	}{
		{"empty file", "", []string{`t.yaml: empty file`}, false},
		{"only a comment", "# nothing\n", []string{`t.yaml: empty file`}, false},
		{"null document", "---\n", []string{`empty file`}, false},
		{"not a mapping", "- a\n- b\n", []string{`t.yaml:1:1: the scenario must be a mapping of fields, not a list`}, false},
		{"invalid YAML", "load: {duration: 10s\nchecks: [", []string{`t.yaml:1: invalid YAML: did not find expected ',' or '}'`}, false},
		{"tab indentation", "load:\n\tduration: 10s\n", []string{`t.yaml:2: invalid YAML: found character that cannot start any token`}, false},
		{"two documents", base + "---\nname: x\n", []string{`t.yaml:8:1: a second YAML document`}, true},
		{"a k6 script", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, script: k6/shopper.js}", 1), []string{
			`load.script: gameday runs no k6 scripts any more (its own load engine drives the journeys); write ` + "`journeys: storefront`"}, false},
		{"journeys neither storefront nor a file", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, journeys: shoppers}", 1), []string{
			`load.journeys: "shoppers": want storefront (the storefront's shoppers) or the path of a journey file ending in .yaml`}, false},
		{"a variable the storefront's journeys do not read", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, env: {GAMEDAY_LOGUOT: 0.5}}", 1), []string{
			`load.env: GAMEDAY_LOGUOT is not a variable of the storefront's journeys; allowed: GAMEDAY_THINK, GAMEDAY_LOGOUT,`}, false},
		{"variables with a journey file", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, journeys: j.yaml, env: {GAMEDAY_LOGOUT: 0.5}}", 1), []string{
			`load.env: only the storefront's journeys read variables`}, true},
		{"missing load and checks", "name: x\n", []string{
			`t.yaml:1:1: missing field load`, `t.yaml:1:1: missing field checks`}, false},
		{"unknown top field", strings.Replace(base, "name: base", "nmae: base", 1), []string{
			`t.yaml:1:1: unknown field "nmae" in the scenario: did you mean "name"? (allowed: name, description, guards, seed, topology, storefront, load, faults, checks)`}, false},
		{"duplicate key", base + "name: again\n", []string{`t.yaml:7:1: duplicate field "name" in the scenario (first at line 1)`}, true},
		{"merge key", "x: &x {duration: 10s}\n" + strings.Replace(base, "load: {duration: 60s}", "load: {<<: *x}", 1), []string{
			`t.yaml:1:1: unknown field "x"`, `t.yaml:3:7: load: missing field duration`, `t.yaml:3:8: merge keys (<<) are not supported`}, false},
		{"bad name", strings.Replace(base, "name: base", "name: ../etc", 1), []string{
			`t.yaml:1:7: name "../etc": use letters, digits, '.', '_' and '-' only`}, false},
		{"unknown feature", strings.Replace(base, "name: base", "guards: [idempotent_payment, nope]", 1), []string{
			`t.yaml:1:10: unknown feature "idempotent_payment": did you mean "idempotent_payments"? (allowed: async_otp, balance_cache,`,
			`t.yaml:1:30: unknown feature "nope" (allowed: `}, false},
		{"guard twice", strings.Replace(base, "name: base", "guards: [async_otp, async_otp]", 1), []string{
			`t.yaml:1:21: feature async_otp is listed twice in guards`}, false},
		{"guards not a list", strings.Replace(base, "name: base", "guards: async_otp", 1), []string{
			`t.yaml:1:9: guards must be a list, not "async_otp"`}, false},
		{"seed not a number", strings.Replace(base, "name: base", "seed: seven", 1), []string{
			`t.yaml:1:7: seed: want a whole number, not "seven"`}, false},
		{"seed a fraction", strings.Replace(base, "name: base", "seed: 1.5", 1), []string{
			`t.yaml:1:7: seed: want a whole number, not "1.5"`}, false},
		{"unknown storefront field", strings.Replace(base, "name: base", "storefront: {refund_sla: 5s, pending: 4s}", 1), []string{
			`t.yaml:1:30: unknown field "pending" in storefront (allowed: refund_sla, pending_bound, otp_lifetime)`}, false},
		{"otp lifetime too long", strings.Replace(base, "name: base", "storefront: {otp_lifetime: 6m}", 1), []string{
			`t.yaml:1:28: otp_lifetime must be 1s to 5m (auth's most), not 6m`}, true},
		{"otp lifetime too short", strings.Replace(base, "name: base", "storefront: {otp_lifetime: 500ms}", 1), []string{
			`t.yaml:1:28: otp_lifetime must be 1s to 5m (auth's most), not 500ms`}, true},
		{"storefront bad duration", strings.Replace(base, "name: base", "storefront: {refund_sla: 0s}", 1), []string{
			`t.yaml:1:26: refund_sla`}, false},
		{"load a list", strings.Replace(base, "load: {duration: 60s}", "load: [60s]", 1), []string{
			`t.yaml:2:7: load must be a mapping of fields, not a list`}, false},
		{"load without duration", strings.Replace(base, "load: {duration: 60s}", "load: {rate: 5/s}", 1), []string{
			`t.yaml:2:7: load: missing field duration`}, false},
		{"unknown load field", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, shopers: 5}", 1), []string{
			`t.yaml:2:23: unknown field "shopers" in load: did you mean "shoppers"?`}, false},
		{"malformed duration", strings.Replace(base, "duration: 60s}", "duration: 60}", 1), []string{
			`t.yaml:2:18: duration: malformed duration 60: want a number and a unit (ms, s, m, h), like 15s or 400ms`}, false},
		{"malformed duration word", strings.Replace(base, "duration: 60s}", "duration: a minute}", 1), []string{
			`t.yaml:2:18: duration: malformed duration "a minute"`}, false},
		{"negative duration", strings.Replace(base, "start: 10s", "start: -10s", 1), []string{
			`t.yaml:4:66: start must not be negative, not -10s`}, false},
		{"zero duration", strings.Replace(base, "duration: 60s}", "duration: 0s}", 1), []string{
			`t.yaml:2:18: duration must be more than 0`}, false},
		{"duration too long", strings.Replace(base, "duration: 60s}", "duration: 100000h}", 1), []string{
			`t.yaml:2:18: duration must be at most 24h, not 100000h`}, true},
		{"malformed rate", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, rate: 15}", 1), []string{
			`t.yaml:2:29: rate: malformed rate "15": want a count per unit of time, like 15/s or 900/m`}, false},
		{"malformed rate unit", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, rate: 15/sec}", 1), []string{
			`t.yaml:2:29: rate: malformed rate "15/sec"`}, false},
		{"zero rate", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, rate: 0/s}", 1), []string{
			`t.yaml:2:29: rate: malformed rate "0/s"`}, false},
		{"shoppers zero", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, shoppers: 0}", 1), []string{
			`t.yaml:2:33: shoppers must be at least 1, not 0`}, false},
		{"shoppers a string", strings.Replace(base, "load: {duration: 60s}", "load: {duration: 60s, shoppers: many}", 1), []string{
			`t.yaml:2:33: shoppers: want a whole number, not "many"`}, false},
		{"faults a mapping", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}", "  link: x", 1), []string{
			`t.yaml:4:3: faults must be a list, not a mapping`}, false},
		{"fault a string", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}", "  - latency", 1), []string{
			`t.yaml:4:5: a fault must be a mapping of fields, not "latency"`}, false},
		{"unknown link", strings.Replace(base, "checkout->wallet", "checkout->walet", 1), []string{
			`t.yaml:4:12: unknown link "checkout->walet": did you mean "checkout->wallet"? (allowed: client->gateway, gateway->auth, auth->sessions, auth->otp, gateway->checkout, checkout->wallet, gateway->wallet, gateway->food)`}, true},
		{"unknown toxic", strings.Replace(base, "toxic: latency", "toxic: latncy", 1), []string{
			`t.yaml:4:37: unknown toxic "latncy": did you mean "latency"? (allowed: latency, down, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, http_error, http_cut, http_latency)`}, false},
		{"unknown attribute", strings.Replace(base, "latency: 1s,", "latency: 1s, jiter: 1s,", 1), []string{
			`t.yaml:4:59: unknown field "jiter" in a latency fault: did you mean "jitter"? (allowed: link, toxic, stream, toxicity, start, duration, phase, flap, steps, latency, jitter)`}, false},
		{"attribute of another toxic", strings.Replace(base, "latency: 1s,", "latency: 1s, rate: 5,", 1), []string{
			`t.yaml:4:59: unknown field "rate" in a latency fault (allowed: `}, false},
		{"field unknown to every toxic", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: nope, strat: 1s,", 1), []string{
			`t.yaml:4:37: unknown toxic "nope"`, `t.yaml:4:43: unknown field "strat" in a fault: did you mean "start"?`}, false},
		{"missing required attribute", strings.Replace(base, "latency: 1s, ", "", 1), []string{
			`t.yaml:4:5: fault: toxic latency needs latency (a duration, like 2s or 400ms)`}, false},
		{"attribute of the wrong type", strings.Replace(base, "latency: 1s,", "latency: [1s],", 1), []string{
			`t.yaml:4:55: latency must be a single value, not a list`}, false},
		{"attribute finer than its unit", strings.Replace(base, "latency: 1s,", "latency: 1500us,", 1), []string{
			`t.yaml:4:55: latency: 1.5ms is not a whole number of milliseconds, the precision of toxic attribute latency`}, true},
		{"attribute out of range", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: http_error, status: 200,", 1), []string{
			`t.yaml:4:57: status must be at least 400, not 200`}, false},
		{"attribute above its maximum", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: http_error, rate: 1.5,", 1), []string{
			`t.yaml:4:55: rate must be between 0 and 1, not 1.5`}, false},
		{"slicer variation not below size", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: slicer, average_size: 4, size_variation: 4,", 1), []string{
			`t.yaml:4:5: toxic slicer: size_variation 4 must be less than average_size 4`}, true},
		{"stream the toxic does not take", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: http_error, stream: upstream,", 1), []string{
			`t.yaml:4:57: unknown stream of http_error "upstream" (allowed: downstream)`}, false},
		{"unknown stream", strings.Replace(base, "latency: 1s,", "latency: 1s, stream: up,", 1), []string{
			`t.yaml:4:67: unknown stream of latency "up" (allowed: downstream, upstream)`}, false},
		{"toxicity above 1", strings.Replace(base, "latency: 1s,", "latency: 1s, toxicity: 30,", 1), []string{
			`t.yaml:4:69: toxicity must be between 0 and 1, not 30`}, false},
		{"stream on down", strings.Replace(base, "toxic: latency, latency: 1s,", "toxic: down, stream: upstream,", 1), []string{
			`t.yaml:4:43: unknown field "stream" in a down fault (allowed: link, toxic, start, duration, phase, flap)`}, false},
		{"fault starts after the run", strings.Replace(base, "start: 10s", "start: 70s", 1), []string{
			`t.yaml:4:5: fault starts at 1m10s, when the load (1m) is over: a fault must start and end within the run`}, true},
		{"fault ends after the run", strings.Replace(base, "duration: 20s", "duration: 55s", 1), []string{
			`t.yaml:4:5: fault ends at 1m5s, after the load (1m): a fault must start and end within the run`}, true},
		{"fault without start", strings.Replace(base, "start: 10s, ", "", 1), []string{
			`t.yaml:4:5: fault: missing field start`}, false},
		{"fault of two kinds", strings.Replace(base, "start: 10s", "maintenance: {}, start: 10s", 1), []string{
			`t.yaml:4:59: a fault is one of link, maintenance or service, not both link and maintenance`}, false},
		{"fault of no kind", strings.Replace(base, "link: checkout->wallet, toxic: latency, latency: 1s, ", "", 1), []string{
			`t.yaml:4:5: a fault needs link and toxic`}, false},
		{"overlapping down faults", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {link: checkout->wallet, toxic: down, start: 10s, duration: 20s}\n  - {link: checkout->wallet, toxic: down, start: 29s, duration: 20s}", 1), []string{
			`t.yaml:5:5: down on checkout->wallet overlaps the down at line 4: a link is down or not`}, true},
		{"overlapping maintenance", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {maintenance: , start: 10s, duration: 20s}\n  - {maintenance: {retry_after: 5}, start: 5s, duration: 10s}", 1), []string{
			`t.yaml:5:5: maintenance overlaps the maintenance at line 4`}, true},
		{"maintenance retry_after zero", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {maintenance: {retry_after: 0, mesage: hi}, start: 10s, duration: 20s}", 1), []string{
			`t.yaml:4:33: retry_after must be more than 0`, `t.yaml:4:36: unknown field "mesage" in maintenance: did you mean "message"?`}, false},
		{"maintenance retry_after fraction", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {maintenance: {retry_after: 1500ms}, start: 10s, duration: 20s}", 1), []string{
			`t.yaml:4:33: retry_after: 1500ms is not a whole number of seconds`}, true},
		{"crash unknown service and action", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {service: walet, action: explode, at: 10s}", 1), []string{
			`t.yaml:4:15: unknown service "walet": did you mean "wallet"?`, `t.yaml:4:30: unknown action "explode" (allowed: kill, stop, restart)`}, false},
		{"crash duration on kill", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}",
			"  - {service: wallet, action: kill, at: 10s, duration: 5s}", 1), []string{
			`t.yaml:4:46: duration applies to action stop only`}, true},
		{"flap without off", strings.Replace(base, "duration: 20s}", "duration: 20s, flap: {on: 1s}}", 1), []string{
			`t.yaml:4:92: flap: missing field off`}, false},
		{"flap on not shorter than the fault", strings.Replace(base, "duration: 20s}", "duration: 20s, flap: {on: 20s, off: 1s}}", 1), []string{
			`t.yaml:4:92: flap: on (20s) is not shorter than the fault's duration (20s), so it never flaps`}, true},
		{"flap too fast", strings.Replace(base, "duration: 20s}", "duration: 20s, flap: {on: 1ms, off: 1ms}}", 1), []string{
			`t.yaml:4:92: flap: on and off must be at least 100ms each`}, true},
		{"flap too often", strings.Replace(strings.Replace(base, "duration: 60s", "duration: 24h", 1), "duration: 20s}", "duration: 20h, flap: {on: 100ms, off: 100ms}}", 1), []string{
			`t.yaml:4:92: flap: 100ms on, 100ms off flaps more than 1000 times in 20h`}, true},
		{"steps out of order and outside", strings.Replace(base, "duration: 20s}", "duration: 20s, steps: [{at: 5s, latency: 2s}, {at: 4s, latency: 3s}, {at: 20s, toxicity: 0.5}, {at: 6s}]}", 1), []string{
			`t.yaml:4:122: step at 4s: steps must be in time order`,
			`t.yaml:4:145: step at 20s: a step must fall within the fault's duration (20s)`,
			`t.yaml:4:166: a step changes nothing: give toxicity or an attribute (allowed: latency, jitter)`,
			`t.yaml:4:171: step at 6s: steps must be in time order`}, true},
		{"step with an unknown attribute", strings.Replace(base, "duration: 20s}", "duration: 20s, steps: [{at: 5s, latncy: 2s}]}", 1), []string{
			`t.yaml:4:103: unknown field "latncy" in a step of a latency fault: did you mean "latency"? (allowed: at, toxicity, latency, jitter)`}, false},
		{"step breaking the slicer", strings.Replace(base, "toxic: latency, latency: 1s, start: 10s, duration: 20s}", "toxic: slicer, average_size: 4, start: 10s, duration: 20s, steps: [{at: 5s, size_variation: 8}]}", 1), []string{
			`t.yaml:4:97: toxic slicer: size_variation 8 must be less than average_size 4`}, true},
		{"checks empty", strings.Replace(base, "  - invariant: money_conserved\n", "", 1) + "  []\n", []string{
			`t.yaml:6:3: checks is empty: a scenario must judge something`}, false},
		{"check of no kind", strings.Replace(base, "invariant: money_conserved", "name: x", 1), []string{
			`t.yaml:6:5: a check needs one of invariant, experience, metric, recovery`}, false},
		{"check of two kinds", strings.Replace(base, "invariant: money_conserved", "invariant: money_conserved\n    experience: forced_logouts", 1), []string{
			`t.yaml:7:5: a check is one of invariant, experience, metric, recovery, probe, not both invariant and experience`}, false},
		{"unknown invariant", strings.Replace(base, "money_conserved", "money_conserve\n    sla: 1m\n    slo: 1m", 1), []string{
			`t.yaml:6:16: unknown invariant "money_conserve": did you mean "money_conserved"?`,
			`t.yaml:8:5: unknown field "slo" in an invariant check: did you mean "sla"?`}, false},
		{"invariant parameter it does not take", strings.Replace(base, "money_conserved", "money_conserved\n    sla: 1m", 1), []string{
			`t.yaml:7:5: sla does not apply to invariant money_conserved (it applies to: failed_orders_refunded)`}, false},
		{"after_faults past the run", strings.Replace(base, "money_conserved", "no_stuck_pending\n    after_faults: 40s", 1), []string{
			`t.yaml:7:19: after_faults 40s goes past the end of the run: the last fault ends at 30s and the load at 1m`}, true},
		{"after_faults without faults", strings.Replace(strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}\n", "", 1), "money_conserved", "no_stuck_pending", 1) + "    after_faults: 1s\n", []string{
			`t.yaml:6:5: after_faults needs a fault in the timeline`}, true},
		{"unknown experience", strings.Replace(base, "invariant: money_conserved", "experience: forced_logout\n    max: -1", 1), []string{
			`t.yaml:6:17: unknown experience "forced_logout": did you mean "forced_logouts"?`, `t.yaml:7:10: max must be at least 0, not -1`}, false},
		{"unknown metric", strings.Replace(base, "invariant: money_conserved", "metric: http_req\n    count: '> 0'", 1), []string{
			`t.yaml:6:13: unknown metric "http_req": did you mean "http_reqs"?`}, false},
		{"unknown tag", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs{endpoint:login, jorney:login}\n    count: '> 0'", 1), []string{
			`t.yaml:6:39: unknown tag "jorney": did you mean "journey"? (allowed: endpoint, journey, name, status, code)`}, false},
		{"unknown status class", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs{status:503}\n    count: '> 0'", 1), []string{
			`t.yaml:6:23: unknown status "503" (allowed: 2xx, 3xx, 4xx, 5xx, 0)`}, false},
		{"malformed selector", strings.Replace(base, "invariant: money_conserved", "metric: 'http_reqs{endpoint:login'\n    count: '> 0'", 1), []string{
			`t.yaml:6:13: metric "http_reqs{endpoint:login": tags are written name{key:value,key:value}`}, false},
		{"tag without value", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs{endpoint}\n    count: '> 0'", 1), []string{
			`t.yaml:6:23: metric tag "endpoint": want key:value`}, false},
		{"unknown window", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs\n    window: faults\n    count: '> 0'", 1), []string{
			`t.yaml:7:13: unknown window "faults": did you mean "fault"? (allowed: baseline, fault, recovery, run)`}, false},
		{"window past the run", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs\n    window: {from: 10s, to: 90s}\n    count: '> 0'", 1), []string{
			`t.yaml:7:13: window ends at 1m30s, after the load (1m)`}, true},
		{"window backwards", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs\n    window: {from: 30s, to: 10s}\n    count: '> 0'", 1), []string{
			`t.yaml:7:13: window: from (30s) must be before to (10s)`}, true},
		{"empty baseline", strings.Replace(base, "start: 10s", "start: 0s", 1) + "  - metric: http_reqs\n    window: baseline\n    count: '> 0'\n", []string{
			`t.yaml:8:13: window baseline is empty: the first fault starts at 0s`}, true},
		{"recovery window without faults", strings.Replace(base, "  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}\n", "", 1) + "  - metric: http_reqs\n    window: recovery\n    count: '> 0'\n", []string{
			`t.yaml:7:13: window recovery needs a fault in the timeline`}, true},
		{"no comparison", strings.Replace(base, "invariant: money_conserved", "metric: http_req_duration", 1), []string{
			`t.yaml:6:5: a metric check needs one comparison, like rate: ">= 0.6" or p95: "<= 400ms" (for trend metric http_req_duration: p50, p95, p99, max, avg, count)`}, false},
		{"two comparisons", strings.Replace(base, "invariant: money_conserved", "metric: http_req_duration\n    p95: '< 1s'\n    p99: '< 2s'", 1), []string{
			`t.yaml:8:5: a metric check has one comparison, not both p95 and p99`}, false},
		{"stat of another kind", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs\n    p95: '< 1s'", 1), []string{
			`t.yaml:7:5: p95 does not apply to counter metric http_reqs (allowed: count, per_second)`}, false},
		{"malformed comparison", strings.Replace(base, "invariant: money_conserved", "metric: journey_success\n    rate: 0.6", 1), []string{
			`t.yaml:7:11: rate: bad comparison "0.6": want an operator (>=, <=, ==, >, <) and a value, like ">= 0.6"`}, false},
		{"comparison without a unit", strings.Replace(base, "invariant: money_conserved", "metric: http_req_duration\n    p95: '<= 400'", 1), []string{
			`t.yaml:7:10: p95: bad comparison "<= 400": "400" is not a duration, want one like "<= 400ms"`}, false},
		{"rate above 1", strings.Replace(base, "invariant: money_conserved", "metric: journey_success\n    rate: '>= 60'", 1), []string{
			`t.yaml:7:11: rate: bad comparison ">= 60": a rate is between 0 and 1`}, true},
		{"negative duration comparison", strings.Replace(base, "invariant: money_conserved", "metric: http_req_duration\n    max: '>= -1s'", 1), []string{
			`t.yaml:7:10: max: bad comparison ">= -1s": a duration is never negative`}, false},
		{"percentage of a count", strings.Replace(base, "invariant: money_conserved", "metric: http_reqs\n    count: '>= 5%'", 1), []string{
			`t.yaml:7:12: count: bad comparison ">= 5%": a percentage is for rates only`}, false},
		{"recovery without within", strings.Replace(base, "invariant: money_conserved", "recovery: checkout", 1), []string{
			`t.yaml:6:5: recovery: missing field within`}, false},
		{"recovery past the run", strings.Replace(base, "invariant: money_conserved", "recovery: checkout\n    within: 31s", 1), []string{
			`t.yaml:7:13: within 31s goes past the end of the run: the last fault ends at 30s and the load at 1m`}, true},
		{"abort not a boolean", strings.Replace(base, "invariant: money_conserved", "invariant: money_conserved\n    abort: yes", 1), []string{
			`t.yaml:7:12: abort: want true or false, not "yes"`}, false},
		{"check name twice", strings.Replace(base, "invariant: money_conserved", "invariant: money_conserved\n    name: a\n  - invariant: no_double_charge\n    name: a", 1), []string{
			`t.yaml:8:5: check name "a" already used at line 6`}, true},
		{"field name a list", strings.Replace(base, "name: base", "[a]: base", 1), []string{
			`t.yaml:1:1: the scenario: a field name must be a word, not a list`}, false},
		{"several errors at once", `name: several
seed: fast
load: {duration: 1m}
faults:
  - {link: nowhere, toxic: latency, latency: 1s, start: 10s, duration: 20s}
  - {link: gateway->auth, toxic: down, start: 50s, duration: 20s}
checks:
  - metric: journey_success{journey:checkout}
    window: fault
    rate: ">= 0.6"
  - invariant: no_such_thing
`, []string{
			`t.yaml:2:7: seed: want a whole number, not "fast"`,
			`t.yaml:5:12: unknown link "nowhere"`,
			`t.yaml:6:5: fault ends at 1m10s, after the load (1m)`,
			`t.yaml:11:16: unknown invariant "no_such_thing"`,
		}, false},
	}
	schema := readSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v\n%s", sc, tt.src)
			}
			if sc != nil {
				t.Errorf("Parse returned a scenario with its error")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			var first *Error
			if !errors.As(err, &first) || first != es[0] {
				t.Errorf("errors.As(*Error) does not find the first problem")
			}
			if len(es) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i := range min(len(es), len(tt.want)) {
				if got := es[i].Error(); !strings.Contains(got, tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got, tt.want[i])
				}
			}
			if doc, ok := yamlValue(tt.src); ok && !tt.schemaAccepts {
				if problem := schema.validate(doc); problem == "" {
					t.Errorf("the JSON Schema accepts what the parser refuses")
				}
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Col: 7, Msg: "bad"}, "a.yaml:3:7: bad"},
		{Error{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	es := Errors{{File: "a", Line: 1, Msg: "x"}, {File: "a", Line: 2, Msg: "y"}}
	if got, want := es.Error(), "a:1: x\na:2: y"; got != want {
		t.Errorf("Errors: got %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	sc, err := Load("testdata/full.yaml")
	if err != nil || sc.Name != "full-example" {
		t.Fatalf("Load: %v, %v", sc, err)
	}
	if _, err := Load("testdata/missing.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want ErrNotExist", err)
	}
}

// TestParseErrorsGolden fixes the whole report on a file with many problems.
func TestParseErrorsGolden(t *testing.T) {
	const file = "testdata/bad.yaml"
	_, err := Parse(file, readFile(t, file))
	if err == nil {
		t.Fatal("Parse accepted it")
	}
	golden(t, "bad.golden", err.Error()+"\n")
}

// TestDocExample holds the format example of the package documentation
// valid, so that it cannot drift from the parser.
func TestDocExample(t *testing.T) {
	doc := string(readFile(t, "doc.go"))
	_, after, ok := strings.Cut(doc, "// # Format\n//\n")
	if !ok {
		t.Fatal("doc.go has no # Format section")
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		code, ok := strings.CutPrefix(l, "//\t")
		if !ok {
			break
		}
		lines = append(lines, code)
	}
	if len(lines) < 10 {
		t.Fatalf("the example has %d lines", len(lines))
	}
	parseOK(t, "doc.yaml", strings.Join(lines, "\n"))
}
