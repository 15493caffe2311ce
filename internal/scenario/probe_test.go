package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// probeBase is a scenario with two probes: an http probe every second and a
// sql probe after the load.
const probeBase = `load: {duration: 20s}
faults:
  - {link: client->gateway, toxic: timeout, timeout: 0s, start: 5s, duration: 5s}
checks:
  - probe: http
    url: "{gateway}/healthz"
    every: 1s
    expect: status == 200 && body.service == "gateway"
  - probe: sql
    db: wallet.db
    query: SELECT count(*) AS n FROM ledger
    when: after
    expect: row.n > 0
`

func TestParseProbes(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(probeBase))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Checks) != 2 {
		t.Fatalf("%d checks", len(sc.Checks))
	}
	h, q := sc.Checks[0], sc.Checks[1]
	if h.Kind != CheckProbe || h.Probe == nil || h.Probe.Kind != ProbeHTTP || h.Probe.URL != "{gateway}/healthz" ||
		h.Probe.When != ProbeEvery || h.Probe.Every != time.Second || h.Probe.Timeout != time.Second || h.Probe.Program == nil {
		t.Errorf("http probe %+v %+v", h, h.Probe)
	}
	if h.Name != "probe GET {gateway}/healthz every 1s" || h.Subject != "GET {gateway}/healthz" {
		t.Errorf("http probe named %q, subject %q", h.Name, h.Subject)
	}
	if got := h.Probe.Least(sc.Load.Duration); got != 10 {
		t.Errorf("every 1s in 20s needs %d runs; want 10 (half)", got)
	}
	if q.Probe == nil || q.Probe.Kind != ProbeSQL || q.Probe.DB != "wallet.db" || q.Probe.When != ProbeAfter ||
		q.Probe.Timeout != DefaultProbeTimeout || q.Probe.Least(sc.Load.Duration) != 1 {
		t.Errorf("sql probe %+v", q.Probe)
	}
	// The expression runs over an answer as the probe's runner gives it.
	v, err := h.Probe.Program.Run(map[string]any{"status": 200, "body": map[string]any{"service": "gateway"}})
	if err != nil || v != true {
		t.Errorf("expect on a good answer = %v, %v", v, err)
	}
	v, err = q.Probe.Program.Run(map[string]any{"row": map[string]any{"n": int64(0)}, "rows": []map[string]any{{"n": int64(0)}}})
	if err != nil || v != false {
		t.Errorf("expect on an empty ledger = %v, %v", v, err)
	}
	// Quick keeps the period and caps an explicit least to what fits.
	src := strings.Replace(probeBase, "every: 1s", "every: 1s\n    min_runs: 18", 1)
	sc, err = Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	qk := sc.Quick()
	if pr := qk.Checks[0].Probe; pr.Every != time.Second || pr.MinRuns > int(qk.Load.Duration/time.Second) {
		t.Errorf("quick: every %v, min_runs %d in a load of %v", pr.Every, pr.MinRuns, qk.Load.Duration)
	}
	if sc.Checks[0].Probe.MinRuns != 18 {
		t.Errorf("Quick changed the original: %d", sc.Checks[0].Probe.MinRuns)
	}
}

func TestParseProbeErrors(t *testing.T) {
	tests := []struct {
		name     string
		old      string // replaced in probeBase
		new      string
		want     []string
		schemaOK bool // the JSON Schema cannot tell
	}{
		{"unknown probe kind", "probe: http", "probe: ftp", []string{
			`t.yaml:5:12: unknown probe "ftp" (allowed: http, sql)`}, false},
		{"missing expect", "    expect: row.n > 0\n", "", []string{
			`t.yaml:9:5: a probe needs expect: an expression over the answer that must be true, like row.n > 0 (names: rows, row, duration_ms)`}, false},
		{"bad expression", "status == 200 &&", "status === 200 &&", []string{
			`t.yaml:8:22: expect: unexpected token Operator("=")`}, true},
		{"unknown name in the expression", "row.n > 0", "len(rows) > 0 && rowz.n > 0", []string{
			`t.yaml:13:30: expect: unknown sql probe name "rowz": did you mean "rows"? (allowed: rows, row, duration_ms)`}, true},
		{"a name of the other kind", "row.n > 0", "status == 200", []string{
			`t.yaml:13:13: expect: unknown sql probe name "status"`}, true},
		{"misspelt name", "status == 200 &&", "stauts == 200 &&", []string{
			`t.yaml:8:13: expect: unknown http probe name "stauts": did you mean "status"? (allowed: status, body, text, headers, duration_ms)`}, true},
		{"not true or false", `status == 200 && body.service == "gateway"`, "status", []string{
			`t.yaml:8:13: expect: expected bool, but got int: expect must be true or false`}, true},
		{"bad interval", "every: 1s", "every: soon", []string{
			`t.yaml:7:12: every: malformed duration "soon"`}, false},
		{"interval too short", "every: 1s", "every: 10ms", []string{
			`t.yaml:7:12: every 10ms is too often: at least 100ms`}, true},
		{"interval longer than the load", "every: 1s", "every: 30s", []string{
			`t.yaml:7:12: every 30s is longer than the load (20s): the probe would never run`}, true},
		{"when and every", "every: 1s", "every: 1s\n    when: before", []string{
			`t.yaml:8:5: a probe runs at one time: every or when, not both`}, false},
		{"neither when nor every", "    when: after\n", "", []string{
			`t.yaml:9:5: a probe needs when (before or after) or every (a period, like 1s)`}, false},
		{"unknown when", "when: after", "when: during", []string{
			`t.yaml:12:11: unknown when "during" (allowed: before, after)`}, false},
		{"unknown placeholder", "{gateway}/healthz", "{gatewya}/healthz", []string{
			`t.yaml:6:11: url: unknown placeholder "{gatewya}": did you mean "{gateway}"?`}, true},
		{"not a URL", "{gateway}/healthz", "healthz", []string{
			`t.yaml:6:10: url "healthz": want an http(s) URL`}, true},
		{"timeout longer than the period", "every: 1s", "every: 1s\n    timeout: 2s", []string{
			`t.yaml:8:14: timeout 2s is longer than every 1s`}, true},
		{"db outside the stores", "db: wallet.db", "db: ../wallet.db", []string{
			`t.yaml:10:9: db "../wallet.db": want a file of the run's stores`}, true},
		{"query that writes", "query: SELECT", "query: DELETE FROM ledger; SELECT", []string{
			`t.yaml:11:12: query: a probe reads: start with SELECT, WITH, PRAGMA`}, true},
		{"field of the other kind", "db: wallet.db", "db: wallet.db\n    url: http://x", []string{
			`t.yaml:11:5: url does not apply to a sql probe`}, false},
		{"min_runs of a probe that runs once", "when: after", "when: after\n    min_runs: 2", []string{
			`t.yaml:13:15: min_runs 2: a probe after the load runs once`}, true},
		{"min_runs beyond the load", "every: 1s", "every: 1s\n    min_runs: 30", []string{
			`t.yaml:8:15: min_runs 30: a probe every 1s has room for 20 runs in the load (20s)`}, true},
	}
	schema := readSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(probeBase, tt.old, tt.new, 1)
			if src == probeBase {
				t.Fatalf("%q is not in the base", tt.old)
			}
			_, err := Parse("t.yaml", []byte(src))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v; want Errors\n%s", err, src)
			}
			if len(es) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i := range min(len(es), len(tt.want)) {
				if got := es[i].Error(); !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got, tt.want[i])
				}
			}
			if doc, ok := yamlValue(src); ok && !tt.schemaOK {
				if problem := schema.validate(doc); problem == "" {
					t.Errorf("the JSON Schema accepts what the parser refuses")
				}
			}
		})
	}
}
