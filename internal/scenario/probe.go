package scenario

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"
	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/expression"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/internal/yamlpos"
	"github.com/gameday/gameday/mockstore"
)

// Probe kinds.
const (
	ProbeHTTP = "http" // an HTTP GET of a URL
	ProbeSQL  = "sql"  // a query on a SQLite file of the run's stores, opened read-only
)

// When a probe runs.
const (
	ProbeBefore = "before" // once, after the environment is up, before the load starts
	ProbeAfter  = "after"  // once, after the load, when the audits are read
	ProbeEvery  = "every"  // every Every while the load runs, the first Every after its start
)

// Bounds of a probe.
const (
	MinProbeEvery       = 100 * time.Millisecond
	DefaultProbeTimeout = 2 * time.Second
)

var (
	probeKinds = []string{ProbeHTTP, ProbeSQL}
	probeWhens = []string{ProbeBefore, ProbeAfter}
	// sqlVerbs are the words a probe's query may start with: it reads.
	sqlVerbs = []string{"SELECT", "WITH", "PRAGMA"}
)

// Probe is what a probe check asks and when: an HTTP GET or a SQL query,
// and an expression over the answer that must hold at every run.
type Probe struct {
	Kind string // ProbeHTTP or ProbeSQL
	// URL is an http probe's URL, placeholders ({gateway}) unresolved: see
	// ProbePlaceholders.
	URL string
	// DB is a sql probe's SQLite file, relative to the run's store
	// directory (env.Info.Dir), like "wallet.db"; Query its query.
	DB    string
	Query string
	When  string        // ProbeBefore, ProbeAfter or ProbeEvery
	Every time.Duration // for ProbeEvery
	// Timeout bounds one run (the GET with its body, or the query).
	Timeout time.Duration
	// Expect is the expression that must be true of every answer; Program
	// is it compiled against ProbeNames(Kind).
	Expect  string
	Program *expression.Program
	// MinRuns is the least number of runs the verdict needs (fewer:
	// unknown); 0 means Least's default.
	MinRuns int
}

// Target renders what the probe asks: "GET {gateway}/healthz" or
// "wallet.db: SELECT count(*) AS n FROM ledger".
func (p Probe) Target() string {
	if p.Kind == ProbeSQL {
		return p.DB + ": " + p.Query
	}
	return "GET " + p.URL
}

// Schedule renders when the probe runs: "before the load", "every 1s".
func (p Probe) Schedule() string {
	switch p.When {
	case ProbeBefore:
		return "before the load"
	case ProbeAfter:
		return "after the load"
	}
	return "every " + fmtDur(p.Every)
}

// Least returns how many runs the verdict needs for a load of duration d:
// MinRuns when given; otherwise 1 for a probe before or after the load, and
// for a probe every N half of the runs the load has room for (at least 1),
// so that a probe that could not keep its schedule is unknown, not passed on
// the strength of a run or two.
func (p Probe) Least(d time.Duration) int {
	if p.MinRuns > 0 {
		return p.MinRuns
	}
	if p.When != ProbeEvery || p.Every <= 0 {
		return 1
	}
	return max(1, int(d/p.Every)/2)
}

// ProbeNames returns the names a probe's expression sees for a probe of
// kind, typed.
func ProbeNames(kind string) types.Map {
	if kind == ProbeSQL {
		return types.Map{
			"rows":        types.TypeOf([]map[string]any{}),
			"row":         types.TypeOf(map[string]any{}),
			"duration_ms": types.Float64,
		}
	}
	return types.Map{
		"status":      types.Int,
		"headers":     types.TypeOf(map[string]string{}),
		"body":        types.Any,
		"text":        types.String,
		"duration_ms": types.Float64,
	}
}

// probeNameList lists ProbeNames(kind) in the order the documentation gives.
func probeNameList(kind string) []string {
	if kind == ProbeSQL {
		return []string{"rows", "row", "duration_ms"}
	}
	return []string{"status", "body", "text", "headers", "duration_ms"}
}

// ProbePlaceholders returns the placeholders an http probe's URL may name on
// the storefront (ProbePlaceholdersOf: on any topology), each resolved from
// what the environment tells (env.Info): {gateway} (the public API, through
// the client->gateway proxy: faults on that link reach the probe),
// {otp_inbox}, {toxiproxy}, and {audit.SERVICE} (a service's audit
// handler, never proxied).
func ProbePlaceholders() []string {
	out := []string{"gateway", "otp_inbox", "toxiproxy"}
	for _, s := range mockstore.Services {
		out = append(out, "audit."+s)
	}
	return out
}

// ProbePlaceholdersOf returns the placeholders an http probe's URL may name
// on topology t (nil: the storefront): on the storefront
// ProbePlaceholders', elsewhere {toxiproxy}; and on every topology, for
// each service S, {service.S} (the base URL of its own address, never
// proxied) and for each link from client to S, {entry.S} (the URL of that
// link's proxy, where the load enters: faults on the link reach the probe).
func ProbePlaceholdersOf(t *topology.Topology) []string {
	if t == nil {
		t = topology.Default()
	}
	out := []string{"toxiproxy"}
	if t.IsStorefront() {
		out = ProbePlaceholders()
	}
	for _, l := range t.Entries() {
		out = append(out, "entry."+l.To)
	}
	for _, s := range t.ServiceNames() {
		out = append(out, "service."+s)
	}
	return out
}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// probe reads a probe check into c.
func (p *parser) probe(m yamlpos.Mapping, c *Check, t timeline) {
	n, _ := m.Get("probe")
	kind, ok := p.oneOf(n, "probe", probeKinds)
	var fields []string
	switch {
	case ok && kind == ProbeHTTP:
		fields = slices.Concat(httpProbeFields, probeFields, checkCommonFields)
	case ok:
		fields = slices.Concat(sqlProbeFields, probeFields, checkCommonFields)
	default:
		fields = slices.Concat(httpProbeFields, sqlProbeFields, probeFields, checkCommonFields)
	}
	for _, k := range m.Keys {
		if slices.Contains(fields, k) {
			continue
		}
		if ok && (slices.Contains(httpProbeFields, k) || slices.Contains(sqlProbeFields, k)) {
			p.ErrAt(m.Key(k), "%s does not apply to a %s probe %s", k, kind, yamlpos.Allowed(fields))
			continue
		}
		p.UnknownField(m.Key(k), "a probe check", fields)
	}
	if !ok {
		return
	}
	pr := &Probe{Kind: kind, Timeout: DefaultProbeTimeout}
	c.Probe = pr
	switch kind {
	case ProbeHTTP:
		if v, ok := m.Get("url"); ok {
			if s, ok := p.word(v, "url"); ok && p.probeURL(p.Deref(v), s) {
				pr.URL = s
			}
		} else {
			p.ErrAt(m.Node, "an http probe needs url (like \"{gateway}/healthz\"; placeholders: %s)", placeholderList())
		}
	case ProbeSQL:
		if v, ok := m.Get("db"); ok {
			if s, ok := p.word(v, "db"); ok {
				clean := path.Clean(s)
				if path.IsAbs(s) || strings.HasPrefix(s, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(s, `\`) {
					p.ErrAt(p.Deref(v), "db %q: want a file of the run's stores, relative to their directory, like wallet.db", s)
				} else {
					pr.DB = clean
				}
			}
		} else {
			p.ErrAt(m.Node, "a sql probe needs db (a file of the run's stores, like wallet.db)")
		}
		if v, ok := m.Get("query"); ok {
			if s, ok := p.word(v, "query"); ok {
				verb, _, _ := strings.Cut(strings.TrimSpace(s), " ")
				if !slices.Contains(sqlVerbs, strings.ToUpper(strings.TrimSpace(verb))) {
					p.ErrAt(p.Deref(v), "query: a probe reads: start with %s", strings.Join(sqlVerbs, ", "))
				} else {
					pr.Query = strings.TrimSpace(s)
				}
			}
		} else {
			p.ErrAt(m.Node, "a sql probe needs query (like SELECT count(*) AS n FROM ledger)")
		}
	}
	p.probeWhen(m, pr, t)
	if v, ok := m.Get("timeout"); ok {
		if d, ok := p.positive(v, "timeout"); ok {
			pr.Timeout = d
			if pr.When == ProbeEvery && pr.Every > 0 && d > pr.Every {
				p.ErrAt(p.Deref(v), "timeout %s is longer than every %s: a run must end before the next is due", fmtDur(d), fmtDur(pr.Every))
			}
		}
	} else if pr.When == ProbeEvery && pr.Every > 0 {
		pr.Timeout = min(pr.Every, DefaultProbeTimeout)
	}
	if v, ok := m.Get("min_runs"); ok {
		if x, ok := p.integer(v, "min_runs", 1); ok {
			pr.MinRuns = int(min(x, 1<<31-1))
			if pr.When != ProbeEvery && pr.MinRuns > 1 {
				p.ErrAt(p.Deref(v), "min_runs %d: a probe %s runs once", pr.MinRuns, pr.Schedule())
			} else if pr.When == ProbeEvery && pr.Every > 0 && t.ok && pr.MinRuns > int(t.dur/pr.Every) {
				p.ErrAt(p.Deref(v), "min_runs %d: a probe every %s has room for %d runs in the load (%s)", pr.MinRuns, fmtDur(pr.Every), int(t.dur/pr.Every), fmtDur(t.dur))
			}
		}
	}
	if v, ok := m.Get("max"); ok {
		if x, ok := p.integer(v, "max", 0); ok {
			c.Max = int(min(x, 1<<31-1))
		}
	}
	if v, ok := m.Get("expect"); ok {
		if s, ok := p.word(v, "expect"); ok {
			pr.Expect = s
			pr.Program = p.probeExpect(p.Deref(v), s, kind)
		}
	} else {
		p.ErrAt(m.Node, "a probe needs expect: an expression over the answer that must be true, like %s (names: %s)",
			map[string]string{ProbeHTTP: "status == 200", ProbeSQL: "row.n > 0"}[kind], strings.Join(probeNameList(kind), ", "))
	}
	c.Subject = pr.Target()
}

// probeWhen reads when the probe runs: when (before, after) or every.
func (p *parser) probeWhen(m yamlpos.Mapping, pr *Probe, t timeline) {
	w, hasWhen := m.Get("when")
	e, hasEvery := m.Get("every")
	switch {
	case hasWhen && hasEvery:
		a, b := lastTwo(m, []string{"when", "every"})
		p.ErrAt(m.Key(b), "a probe runs at one time: %s or %s, not both", a, b)
	case hasWhen:
		if v, ok := p.oneOf(w, "when", probeWhens); ok {
			pr.When = v
		}
	case hasEvery:
		pr.When = ProbeEvery
		d, ok := p.positive(e, "every")
		if !ok {
			return
		}
		switch {
		case d < MinProbeEvery:
			p.ErrAt(p.Deref(e), "every %s is too often: at least %s", fmtDur(d), fmtDur(MinProbeEvery))
		case t.ok && d > t.dur:
			p.ErrAt(p.Deref(e), "every %s is longer than the load (%s): the probe would never run", fmtDur(d), fmtDur(t.dur))
		default:
			pr.Every = d
		}
	default:
		p.ErrAt(m.Node, "a probe needs when (%s) or every (a period, like 1s)", strings.Join(probeWhens, " or "))
	}
}

// probeURL checks an http probe's URL: known placeholders, and an http or
// https URL with a host once they are filled in.
func (p *parser) probeURL(n *yaml.Node, s string) bool {
	names := ProbePlaceholdersOf(p.topo)
	good := true
	for _, loc := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		name := s[loc[2]:loc[3]]
		if !slices.Contains(names, name) {
			at := &yaml.Node{Line: n.Line, Column: offsetCol(n, loc[0])}
			p.ErrAt(at, "url: %s", yamlpos.Unknown("placeholder", "{"+name+"}", braced(names)))
			good = false
		}
	}
	if !good {
		return false
	}
	filled := placeholder.ReplaceAllString(s, "http://127.0.0.1:1")
	u, err := url.Parse(filled)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t") {
		p.ErrAt(n, "url %q: want an http(s) URL, or one that starts with a placeholder, like \"{gateway}/healthz\" (placeholders: %s)", s, strings.Join(braced(names), ", "))
		return false
	}
	return true
}

// braced returns each of names in braces, as a URL names it.
func braced(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "{"+n+"}")
	}
	return out
}

// placeholderList lists the storefront's placeholders and the forms every
// topology's take, for messages and the schema.
func placeholderList() string {
	return strings.Join(append(braced(ProbePlaceholders()), "{entry.SERVICE}", "{service.SERVICE}"), ", ")
}

// probeExpect compiles a probe's expression, reporting a problem at its
// place in the file.
func (p *parser) probeExpect(n *yaml.Node, src, kind string) *expression.Program {
	prog, err := expression.Compile(src, ProbeNames(kind), true)
	if err == nil {
		return prog
	}
	at := n
	msg := err.Error()
	if e, ok := err.(*expression.Error); ok {
		if e.Offset > 0 && !strings.ContainsAny(src, "\n") {
			at = &yaml.Node{Line: n.Line, Column: offsetCol(n, e.Offset)}
		}
		msg = e.Message
	}
	switch {
	case strings.HasPrefix(msg, "unknown name "):
		name := strings.TrimPrefix(msg, "unknown name ")
		msg = yamlpos.Unknown(kind+" probe name", name, probeNameList(kind))
	case strings.HasPrefix(msg, "expected bool"):
		msg += ": expect must be true or false"
	}
	p.ErrAt(at, "expect: %s", msg)
	return nil
}

// probeLabel names a probe check: "probe GET {gateway}/healthz every 1s".
func probeLabel(pr *Probe) string {
	if pr == nil {
		return "probe"
	}
	return fmt.Sprintf("probe %s %s", pr.Target(), pr.Schedule())
}
