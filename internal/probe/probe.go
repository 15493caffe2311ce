// Package probe runs a scenario's probe checks against the system under
// test: an HTTP GET of a URL, or a SQL query on a SQLite file of the run's
// stores opened read-only, with the check's expression over the answer.
// Once runs the probes due before or after the load; Every runs the
// periodic ones while the load runs. Each run ends as a Result, which the
// journal keeps and the judge decides the check from: this package does
// the I/O, the judge none.
package probe

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/expression"
	"github.com/gameday/gameday/internal/scenario"
)

// Result is one run of a probe.
type Result struct {
	Check string    `json:"check"` // the check's label (scenario.Check.Name)
	At    time.Time `json:"at"`    // when the run started
	// Took is how long the GET (with its body) or the query took.
	Took time.Duration `json:"took_ns"`
	// OK is true when the answer came and the expression was true of it.
	OK bool `json:"ok"`
	// Answer is the answer in short: "200 {\"service\":\"gateway\"}",
	// "1 row: {\"n\":42}"; "" when none came.
	Answer string `json:"answer,omitempty"`
	// Err says why the run failed other than by the expression being
	// false: no answer (the target not reached, a timeout, the query
	// refused), or the expression could not be evaluated.
	Err string `json:"error,omitempty"`
}

// NoAnswer reports whether the run got no answer at all.
func (r Result) NoAnswer() bool { return r.Answer == "" && r.Err != "" }

// Target is where probes reach: the values of a URL's placeholders and the
// directory of the run's stores.
type Target struct {
	// Values maps a placeholder's name ("gateway", "audit.wallet") to its
	// value (a base URL, without a trailing slash).
	Values map[string]string
	// Stores is the directory a sql probe's db is relative to.
	Stores string
	// Client makes the GETs; nil gets one that opens a connection for
	// every run. Each run is bounded by the probe's timeout.
	Client *http.Client
}

// TargetOf returns the target of the environment info describes:
// scenario.ProbePlaceholdersOf, each from its field of info ({service.S}
// from Services, {entry.S} from the Entries of the links client->S).
func TargetOf(info env.Info) Target {
	v := map[string]string{
		"gateway":   info.Gateway,
		"otp_inbox": info.OTPInbox,
		"toxiproxy": info.Toxiproxy,
	}
	for svc, u := range info.Audit {
		v["audit."+svc] = u
	}
	for svc, u := range info.Services {
		v["service."+svc] = u
	}
	for link, u := range info.Entries {
		if to, ok := strings.CutPrefix(link, "client->"); ok {
			v["entry."+to] = u
		}
	}
	for k, u := range v {
		if u == "" {
			delete(v, k)
		} else {
			v[k] = strings.TrimRight(u, "/")
		}
	}
	return Target{Values: v, Stores: info.Dir}
}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// URL fills in the placeholders of raw. It returns an error naming a
// placeholder the environment gives no value for.
func (t Target) URL(raw string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(raw, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := t.Values[name]
		if !ok {
			missing = append(missing, m)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("the environment gives no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// freshClient opens a connection for every run, so that each run meets the
// faults on its path as a new shopper would (Toxiproxy draws toxicity per
// connection).
var freshClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// maxBody bounds what a probe reads of an answer.
const maxBody = 1 << 20

// answerText bounds Result.Answer.
const answerText = 200

// Run runs probe c once and returns its result; ctx ending stops the run,
// which then fails. It never panics on what the target answers.
func Run(ctx context.Context, c scenario.Check, t Target) Result {
	res := Result{Check: c.Name, At: time.Now()}
	pr := c.Probe
	if pr == nil || pr.Program == nil {
		res.Err = "not a compiled probe"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, pr.Timeout)
	defer cancel()
	var vars map[string]any
	var err error
	switch pr.Kind {
	case scenario.ProbeSQL:
		vars, res.Answer, err = query(ctx, t, pr)
	default:
		vars, res.Answer, err = get(ctx, t, pr)
	}
	res.Took = time.Since(res.At)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	vars["duration_ms"] = float64(res.Took) / float64(time.Millisecond)
	v, err := pr.Program.Run(vars)
	if err != nil {
		res.Err = "expect: " + err.Error()
		return res
	}
	res.OK = v == true
	return res
}

// get GETs the probe's URL and returns what its expression sees.
func get(ctx context.Context, t Target, pr *scenario.Probe) (map[string]any, string, error) {
	u, err := t.URL(pr.URL)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	hc := t.Client
	if hc == nil {
		hc = freshClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the check's name already
		}
		return nil, "", fmt.Errorf("GET: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Sprintf("%d", resp.StatusCode), fmt.Errorf("read body: %w", err)
	}
	vars := map[string]any{}
	var reads expression.Reads
	reads.Add(pr.Program)
	expression.Answer(vars, reads, resp.StatusCode, resp.Header, body, 0) // duration_ms: Run sets the whole run's
	return vars, short(fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))), nil
}

// query runs the probe's query on its store, opened read-only, and returns
// what its expression sees.
func query(ctx context.Context, t Target, pr *scenario.Probe) (map[string]any, string, error) {
	path := filepath.Join(t.Stores, filepath.FromSlash(pr.DB))
	if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("open %s: %w", pr.DB, err)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, "", fmt.Errorf("open %s: '?' and '#' are not allowed in its path", pr.DB)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(1000)&_pragma=query_only(1)")
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", pr.DB, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, pr.Query)
	if err != nil {
		return nil, "", fmt.Errorf("query %s: %w", pr.DB, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return nil, "", fmt.Errorf("query %s: %w", pr.DB, err)
	}
	var all []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, "", fmt.Errorf("query %s: %w", pr.DB, err)
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			row[c] = vals[i]
		}
		all = append(all, row)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query %s: %w", pr.DB, err)
	}
	vars := map[string]any{"rows": all, "row": map[string]any(nil)}
	summary := fmt.Sprintf("%d rows", len(all))
	if len(all) > 0 {
		vars["row"] = all[0]
		first, _ := json.Marshal(all[0])
		summary += ": " + string(first)
		if len(all) == 1 {
			summary = "1 row: " + string(first)
		}
	}
	if all == nil {
		vars["rows"] = []map[string]any{}
	}
	return vars, short(summary), nil
}

// short cuts s to answerText bytes, on a rune boundary.
func short(s string) string {
	if len(s) <= answerText {
		return s
	}
	cut := answerText
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Once runs, at the same time, every probe of checks that runs when
// (scenario.ProbeBefore or ProbeAfter), and returns their results in the
// order of checks.
func Once(ctx context.Context, when string, checks []scenario.Check, t Target) []Result {
	var due []scenario.Check
	for _, c := range checks {
		if c.Kind == scenario.CheckProbe && c.Probe != nil && c.Probe.When == when {
			due = append(due, c)
		}
	}
	out := make([]Result, len(due))
	var wg sync.WaitGroup
	for i, c := range due {
		wg.Go(func() { out[i] = Run(ctx, c, t) })
	}
	wg.Wait()
	return out
}

// Every runs every periodic probe of checks on its own ticker, the first
// run one period after it is called, until ctx ends; record is called with
// each result, from several goroutines at once. A run that lasts past the
// next tick makes that tick skip. Every returns once every run has ended.
func Every(ctx context.Context, checks []scenario.Check, t Target, record func(Result)) {
	var wg sync.WaitGroup
	for _, c := range checks {
		if c.Kind != scenario.CheckProbe || c.Probe == nil || c.Probe.When != scenario.ProbeEvery || c.Probe.Every <= 0 {
			continue
		}
		wg.Go(func() {
			tick := time.NewTicker(c.Probe.Every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				r := Run(ctx, c, t)
				if ctx.Err() != nil && !r.OK {
					return // cut short by the end of the load: not a run
				}
				record(r)
			}
		})
	}
	wg.Wait()
}
