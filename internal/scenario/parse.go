package scenario

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/internal/yamlpos"
	"github.com/gameday/gameday/mockstore"
)

// Default maintenance answer.
const (
	DefaultMaintenanceRetryAfter = 30
	DefaultMaintenanceMessage    = "The store is under maintenance. Please try again later."
)

// Load reads and parses the scenario file at path. A file that cannot be
// read is a wrapped fs error; a file with problems is Errors.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates the scenario in data; filename is used in
// messages and for the default name. It returns every problem it finds, as
// Errors in file order, and then no scenario; or the scenario with its
// defaults applied.
func Parse(filename string, data []byte) (*Scenario, error) {
	return ParseContext(context.Background(), filename, data)
}

// ctxEvery is how many list items (faults, checks) the parser walks between
// two looks at its context: a few milliseconds of work at most.
const ctxEvery = 256

// ParseContext is Parse that gives up when ctx ends: it looks at ctx every
// 512 bytes the YAML decoder reads and every ctxEvery faults or checks it
// walks. When ctx ends first it returns no scenario and an error wrapping
// ctx.Err() (errors.Is(err, context.Canceled)), not Errors: what was found
// so far is not the whole story.
func ParseContext(ctx context.Context, filename string, data []byte) (sc *Scenario, err error) {
	p := &parser{Reader: yamlpos.Reader{File: filename}}
	defer func() {
		// A panic in the YAML library must not take a CI run down with it.
		if r := recover(); r != nil {
			sc, err = nil, Errors{{File: filename, Msg: fmt.Sprintf("invalid YAML: %v", r)}}
		}
	}()
	return p.run(ctx, data)
}

// run parses data, without ParseContext's safety net, so that the fuzz test
// sees every panic.
func (p *parser) run(ctx context.Context, data []byte) (*Scenario, error) {
	sc, err := p.parse(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", p.File, err)
	}
	if len(p.Errs) > 0 {
		yamlpos.Sort(p.Errs)
		return nil, Errors(p.Errs)
	}
	return sc, nil
}

// readerFunc is an io.Reader made of a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// contextReader reads data until ctx ends, and then fails with ctx.Err().
// The YAML decoder reads its input in small chunks as it goes, so this is
// how a decode of a large file, one call, stops early.
func contextReader(ctx context.Context, data []byte) io.Reader {
	r := bytes.NewReader(data)
	return readerFunc(func(b []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return r.Read(b)
	})
}

// validName reports whether name can name a scenario: a non-empty word of
// letters, digits, '.', '_' and '-', not starting with '.' or '-'.
func validName(name string) bool {
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		case (r == '.' || r == '-') && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

// parse parses data into p. Its error is ctx's when ctx ended, and nil
// otherwise: the problems of the file are in p.Errs.
func (p *parser) parse(ctx context.Context, data []byte) (*Scenario, error) {
	root, err := p.Document(yaml.NewDecoder(contextReader(ctx, data)), "empty file: a scenario needs at least load and checks",
		"a file holds one scenario", ctx.Err)
	if err != nil || root == nil {
		return nil, err
	}
	top, ok := p.Mapping(root, "the scenario")
	if !ok {
		return nil, nil
	}
	p.OnlyFields(top, "the scenario", topFields)

	sc := &Scenario{File: p.File, Seed: DefaultSeed}
	sc.Name = strings.TrimSuffix(filepath.Base(p.File), filepath.Ext(p.File))
	if n, ok := top.Get("name"); ok {
		if v, ok := p.word(n, "name"); ok {
			if validName(v) {
				sc.Name = v
			} else {
				p.ErrAt(p.Deref(n), "name %q: use letters, digits, '.', '_' and '-' only (it names the run's report directory)", v)
			}
		}
	}
	if n, ok := top.Get("description"); ok {
		if v, ok := p.str(n, "description"); ok {
			sc.Description = v
		}
	}
	if n, ok := top.Get("guards"); ok {
		items, _ := p.Seq(n, "guards")
		for _, it := range items {
			v, ok := p.oneOf(it, "feature", featureNames())
			if !ok {
				continue
			}
			if slices.Contains(sc.Guards, mockstore.Feature(v)) {
				p.ErrAt(p.Deref(it), "feature %s is listed twice in guards", v)
				continue
			}
			sc.Guards = append(sc.Guards, mockstore.Feature(v))
		}
	}
	if n, ok := top.Get("seed"); ok {
		if v, ok := p.integer(n, "seed", 0); ok {
			sc.Seed = v
		}
	}

	sc.Topology = p.readTopology(top)
	p.topo = sc.Topology
	notStorefront := p.topo != nil && !p.topo.IsStorefront()

	if n, ok := top.Get("storefront"); ok {
		sc.Storefront = p.storefront(n)
		if notStorefront {
			p.ErrAt(top.Key("storefront"), "storefront: sets the storefront's service levels, and topology %s is not the storefront (%s)",
				p.topo.Name, missingStorefront(p.topo))
		}
	}

	before := len(p.Errs)
	if n, ok := top.Get("load"); ok {
		sc.Load = p.load(n)
	} else {
		p.ErrAt(root, "missing field load (the shoppers' traffic: duration, rate, shoppers)")
	}
	if n, ok := top.Get("load"); ok && notStorefront && sc.Load.Journeys == DefaultJourneys {
		at := p.Deref(n)
		if m, ok := p.Mapping(n, "load"); ok && m.Has("journeys") {
			at = p.Deref(m.Key("journeys"))
		}
		p.ErrAt(at, "load.journeys: the storefront's shoppers need the storefront, and topology %s is not the storefront (%s): write journeys: FILE.yaml, a journey file of your own",
			p.topo.Name, missingStorefront(p.topo))
	}
	t := timeline{dur: sc.Load.Duration, ok: len(p.Errs) == before && sc.Load.Duration > 0}

	before = len(p.Errs)
	if n, ok := top.Get("faults"); ok {
		items, _ := p.Seq(n, "faults")
		for i, it := range items {
			if i%ctxEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if f, ok := p.fault(it, t); ok {
				sc.Faults = append(sc.Faults, f)
			}
		}
	}
	p.overlaps(sc.Faults)
	t.faultsOK = t.ok && len(p.Errs) == before
	t.span(sc.Faults)

	if n, ok := top.Get("checks"); ok {
		items, _ := p.Seq(n, "checks")
		sc.Checks = make([]Check, 0, len(items))
		for i, it := range items {
			if i%ctxEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if c, ok := p.check(it, t); ok {
				sc.Checks = append(sc.Checks, c)
			}
		}
		if len(items) == 0 {
			p.ErrAt(p.Deref(n), "checks is empty: a scenario must judge something")
		}
	} else {
		p.ErrAt(root, "missing field checks: a scenario must judge something")
	}
	if err := p.labels(ctx, sc.Checks); err != nil {
		return nil, err
	}
	return sc, nil
}

// readTopology reads the file's topology: a built-in's name, or a topology
// file's path relative to the scenario. The topology file's own problems
// are reported at their places in it. It returns nil when there is none to
// be had.
func (p *parser) readTopology(top yamlpos.Mapping) *topology.Topology {
	n, ok := top.Get("topology")
	if !ok {
		return topology.Default()
	}
	ref, ok := p.word(n, "topology")
	if !ok {
		return nil
	}
	tp, err := topology.Resolve(ref, filepath.Dir(p.File))
	var es topology.Errors
	switch {
	case errors.As(err, &es):
		p.ErrAt(p.Deref(n), "topology %s has problems, each listed with its place in %s", ref, es[0].File)
		p.Errs = append(p.Errs, es...)
		return nil
	case err != nil && !strings.HasSuffix(ref, ".yaml") && !strings.HasSuffix(ref, ".yml"):
		p.ErrAt(p.Deref(n), "topology: %v, or the path of a topology file (.yaml), relative to the scenario", err)
		return nil
	case err != nil:
		p.ErrAt(p.Deref(n), "topology: %v", err)
		return nil
	}
	return tp
}

// missingStorefront says what t lacks of the storefront, for a message.
func missingStorefront(t *topology.Topology) string {
	var missing []string
	for _, s := range mockstore.Services {
		if _, ok := t.Service(s); !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return "it has no service " + strings.Join(missing, ", ")
	}
	var links []string
	for _, l := range mockstore.Links() {
		if _, ok := t.Link(l.Name); !ok {
			links = append(links, l.Name)
		}
	}
	return "it has no link " + strings.Join(links, ", ")
}

func (p *parser) storefront(n *yaml.Node) Storefront {
	var s Storefront
	m, ok := p.Mapping(n, "storefront")
	if !ok {
		return s
	}
	p.OnlyFields(m, "storefront", storefrontFields)
	if n, ok := m.Get("refund_sla"); ok {
		if v, ok := p.positive(n, "refund_sla"); ok {
			s.RefundSLA = v
		}
	}
	if n, ok := m.Get("pending_bound"); ok {
		if v, ok := p.positive(n, "pending_bound"); ok {
			s.PendingBound = v
		}
	}
	if n, ok := m.Get("otp_lifetime"); ok {
		if v, ok := p.duration(n, "otp_lifetime"); ok {
			if v < MinOTPLifetime || v > MaxOTPLifetime {
				p.ErrAt(p.Deref(n), "otp_lifetime must be %s to %s (auth's most), not %s", fmtDur(MinOTPLifetime), fmtDur(MaxOTPLifetime), fmtDur(v))
			} else {
				s.OTPLifetime = v
			}
		}
	}
	return s
}

func (p *parser) load(n *yaml.Node) Traffic {
	l := Traffic{Journeys: DefaultJourneys, Shoppers: DefaultShoppers, Rate: DefaultRate}
	m, ok := p.Mapping(n, "load")
	if !ok {
		return l
	}
	if _, ok := m.Get("script"); ok {
		// Before gameday had its own load engine, scenarios named a k6 script.
		p.ErrAt(m.Key("script"), "load.script: gameday runs no k6 scripts any more (its own load engine drives the journeys); "+
			"write `journeys: %s` for the storefront's shoppers (what k6/shopper.js did), or `journeys: <file>.yaml` for a journey file", DefaultJourneys)
		m.Keys = slices.DeleteFunc(slices.Clone(m.Keys), func(k string) bool { return k == "script" })
	}
	p.OnlyFields(m, "load", loadFields)
	if n, ok := m.Get("journeys"); ok {
		if v, ok := p.word(n, "journeys"); ok {
			if v != DefaultJourneys && !strings.HasSuffix(v, ".yaml") && !strings.HasSuffix(v, ".yml") {
				p.ErrAt(n, "load.journeys: %q: want %s (the storefront's shoppers) or the path of a journey file ending in .yaml, relative to the scenario", v, DefaultJourneys)
			} else {
				l.Journeys = v
			}
		}
	}
	if n, ok := m.Get("shoppers"); ok {
		if v, ok := p.integer(n, "shoppers", 1); ok {
			l.Shoppers = int(min(v, 1<<31-1))
		}
	}
	if n, ok := m.Get("rate"); ok {
		if v, ok := p.rate(n, "rate"); ok {
			l.Rate = v
		}
	}
	if n, ok := m.Get("duration"); ok {
		if v, ok := p.positive(n, "duration"); ok {
			l.Duration = v
		}
	} else {
		p.ErrAt(m.Node, "load: missing field duration (how long the load runs, like 60s)")
	}
	if n, ok := m.Get("vus"); ok {
		if v, ok := p.integer(n, "vus", 1); ok {
			l.VUs = int(min(v, 1<<31-1))
		}
	}
	if n, ok := m.Get("env"); ok {
		if l.Journeys != DefaultJourneys {
			p.ErrAt(m.Key("env"), "load.env: only the storefront's journeys read variables (%s); a journey file has its own", strings.Join(StorefrontEnv, ", "))
		} else {
			l.Env = p.env(n)
		}
	}
	return l
}

// ReservedEnv are the variables shopper.js once read for what the harness
// now sets itself (the storefront's URLs, the seed data, the load's shape):
// load.env refuses them with a word on what to write instead.
var ReservedEnv = []string{"GAMEDAY_GATEWAY", "GAMEDAY_INBOX", "GAMEDAY_DATA", "GAMEDAY_RATE", "GAMEDAY_DURATION", "GAMEDAY_VUS"}

// StorefrontEnv are the variables the storefront's journeys read from
// load.env (internal/load/storefront.ParseEnv reads the same names; a test
// holds the two lists together).
var StorefrontEnv = []string{"GAMEDAY_THINK", "GAMEDAY_LOGOUT", "GAMEDAY_WHATSAPP", "GAMEDAY_TIMEOUT", "GAMEDAY_FOOD", "GAMEDAY_FOOD_WAIT", "GAMEDAY_QR",
	"GAMEDAY_NEW_KEY", "GAMEDAY_OTP_LATE", "GAMEDAY_OTP_REUSE", "GAMEDAY_FLOOD"}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// env reads load.env: NAME: value, for the script.
func (p *parser) env(n *yaml.Node) map[string]string {
	m, ok := p.Mapping(n, "load.env")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, k := range m.Keys {
		switch {
		case !envName.MatchString(k):
			p.ErrAt(m.Key(k), "load.env: %q is not a variable name (letters, digits and _, not starting with a digit)", k)
			continue
		case slices.Contains(ReservedEnv, k):
			p.ErrAt(m.Key(k), "load.env: %s is set by the harness (reserved: %s); set rate, duration or vus of load instead", k, strings.Join(ReservedEnv, ", "))
			continue
		case !slices.Contains(StorefrontEnv, k):
			p.ErrAt(m.Key(k), "load.env: %s is not a variable of the storefront's journeys; allowed: %s", k, strings.Join(StorefrontEnv, ", "))
			continue
		}
		v, _ := m.Get(k)
		if s, ok := p.str(v, "load.env."+k); ok {
			out[k] = s
		}
	}
	return out
}

// timeline is what checks need to know of the faults to validate their
// windows: the load's duration and the span of the faults. ok is false when
// the load had problems; faultsOK when the faults had problems too (then
// nothing is said that could be a consequence of them).
type timeline struct {
	dur       time.Duration
	ok        bool
	faultsOK  bool
	n         int           // faults
	first     time.Duration // earliest start
	last      time.Duration // latest end
	withSpans bool          // some fault lasts more than an instant
}

func (t *timeline) span(fs []Fault) {
	t.n = len(fs)
	for i, f := range fs {
		end := f.End(t.dur)
		if i == 0 || f.Start < t.first {
			t.first = f.Start
		}
		if end > t.last {
			t.last = end
		}
		if end > f.Start {
			t.withSpans = true
		}
	}
}

// within reports a fault whose span does not fit in the load.
func (p *parser) within(n *yaml.Node, t timeline, start, end time.Duration) bool {
	if !t.ok {
		return true
	}
	if start >= t.dur {
		p.ErrAt(n, "fault starts at %s, when the load (%s) is over: a fault must start and end within the run", fmtDur(start), fmtDur(t.dur))
		return false
	}
	if end > t.dur {
		p.ErrAt(n, "fault ends at %s, after the load (%s): a fault must start and end within the run", fmtDur(end), fmtDur(t.dur))
		return false
	}
	return true
}

func (p *parser) fault(n *yaml.Node, t timeline) (Fault, bool) {
	before := len(p.Errs)
	m, ok := p.Mapping(n, "a fault")
	if !ok {
		return Fault{}, false
	}
	var kinds []string
	for _, k := range faultKeys {
		if m.Has(k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 && m.Has("toxic") {
		kinds = []string{"link"}
	}
	switch len(kinds) {
	case 0:
		p.ErrAt(m.Node, "a fault needs link and toxic (a toxic on a link), maintenance (the gateway's maintenance switch) or service (a crash)")
		return Fault{}, false
	case 1:
	default:
		a, b := lastTwo(m, kinds)
		p.ErrAt(m.Key(b), "a fault is one of link, maintenance or service, not both %s and %s", a, b)
		return Fault{}, false
	}
	var f Fault
	switch kinds[0] {
	case "link":
		f = p.toxicFault(m, t)
	case "maintenance":
		f = p.maintFault(m, t)
	case "service":
		f = p.crashFault(m, t)
	}
	if n, ok := m.Get("phase"); ok {
		if v, ok := p.str(n, "phase"); ok {
			f.Phase = v
		}
	}
	f.Pos = Pos{m.Node.Line, m.Node.Column}
	return f, len(p.Errs) == before
}

// lastTwo returns the first of keys in m's order and the one after it: the
// conflict is reported where the reader added the second.
func lastTwo(m yamlpos.Mapping, keys []string) (string, string) {
	var in []string
	for _, k := range m.Keys {
		if slices.Contains(keys, k) {
			in = append(in, k)
		}
	}
	return in[0], in[1]
}

// startAndDuration reads the span every timed fault has.
func (p *parser) startAndDuration(m yamlpos.Mapping, t timeline) (time.Duration, time.Duration) {
	var start, dur time.Duration
	okS, okD := false, false
	if n, ok := m.Get("start"); ok {
		start, okS = p.duration(n, "start")
	} else {
		p.ErrAt(m.Node, "fault: missing field start (the offset from the load's start, like 15s)")
	}
	if n, ok := m.Get("duration"); ok {
		dur, okD = p.positive(n, "duration")
	} else {
		p.ErrAt(m.Node, "fault: missing field duration (how long it lasts, like 20s)")
	}
	if okS && okD {
		p.within(m.Node, t, start, start+dur)
	}
	return start, dur
}

func (p *parser) toxicFault(m yamlpos.Mapping, t timeline) Fault {
	f := Fault{Kind: FaultToxic, Stream: Downstream, Toxicity: DefaultToxicity}
	if n, ok := m.Get("link"); ok {
		if p.topo == nil {
			f.Link, _ = p.word(n, "link")
		} else if v, ok := p.oneOf(n, "link", p.topo.LinkNames()); ok {
			f.Link = v
		}
	} else if p.topo != nil {
		p.ErrAt(m.Node, "fault: missing field link %s", yamlpos.Allowed(p.topo.LinkNames()))
	} else {
		p.ErrAt(m.Node, "fault: missing field link")
	}
	var spec ToxicSpec
	known := false
	if n, ok := m.Get("toxic"); ok {
		if v, ok := p.oneOf(n, "toxic", toxicNames()); ok {
			spec, known, f.Toxic = mustToxic(v), true, v
		}
	} else {
		p.ErrAt(m.Node, "fault: missing field toxic %s", yamlpos.Allowed(toxicNames()))
	}
	streams := []string{Downstream, Upstream}
	if known {
		fields := slices.Concat(toxicFaultFields, spec.attrNames())
		if spec.Proxy {
			fields = proxyFaultFields
			f.Stream, f.Toxicity = "", 0
		} else {
			streams, f.Stream = spec.Streams, spec.Streams[0]
		}
		p.OnlyFields(m, "a "+spec.Name+" fault", fields)
	} else {
		// Still catch what no toxic has ("strat").
		fields := slices.Clone(toxicFaultFields)
		for _, t := range toxics {
			for _, a := range t.attrNames() {
				if !slices.Contains(fields, a) {
					fields = append(fields, a)
				}
			}
		}
		p.OnlyFields(m, "a fault", fields)
	}
	if n, ok := m.Get("stream"); ok && (!known || !spec.Proxy) {
		what := "stream"
		if known {
			what = "stream of " + spec.Name
		}
		if v, ok := p.oneOf(n, what, streams); ok {
			f.Stream = v
		}
	}
	if n, ok := m.Get("toxicity"); ok && (!known || !spec.Proxy) {
		if v, ok := p.fraction(n, "toxicity"); ok {
			f.Toxicity = v
		}
	}
	f.Start, f.Duration = p.startAndDuration(m, t)
	if n, ok := m.Get("flap"); ok {
		f.Flap = p.flap(n, f.Duration)
	}
	if !known {
		return f
	}
	if len(spec.Attrs) > 0 {
		f.Attrs = Attrs{}
	}
	attrsOK := true
	for _, a := range spec.Attrs {
		if n, ok := m.Get(a.Name); ok {
			if v, ok := p.attr(n, a); ok {
				f.Attrs[a.Name] = v
			} else {
				attrsOK = false
			}
			continue
		}
		if a.Required {
			p.ErrAt(m.Node, "fault: toxic %s needs %s (%s)", spec.Name, a.Name, attrHint(a))
			attrsOK = false
			continue
		}
		f.Attrs[a.Name] = a.Default
	}
	if attrsOK && !spec.Proxy {
		p.toxicOK(m.Node, f.Toxic, f.Stream, f.Toxicity, f.Attrs)
	}
	if n, ok := m.Get("steps"); ok && !spec.Proxy {
		f.Steps = p.steps(n, spec, f, attrsOK)
	}
	return f
}

// toxicOK checks settings against internal/fault's own validation, which
// knows what no single attribute can say (a slicer's size_variation must be
// less than its average_size), so that the engine never meets a toxic the
// API refuses.
func (p *parser) toxicOK(n *yaml.Node, typ, stream string, toxicity float64, attrs Attrs) bool {
	t := fault.Toxic{Type: typ, Stream: stream, Toxicity: float32(toxicity), Attributes: ToxicAttributes(typ, attrs)}
	if err := t.Validate(); err != nil {
		msg := strings.TrimPrefix(err.Error(), fault.ErrInvalidToxic.Error()+": ")
		p.ErrAt(n, "toxic %s", msg)
		return false
	}
	return true
}

// ToxicAttributes returns attrs of the toxic typ as the Toxiproxy API takes
// them: durations as whole numbers in the unit of fault's catalogue, other
// values as they are. Attributes the catalogue does not know are left out.
func ToxicAttributes(typ string, attrs Attrs) map[string]any {
	spec, _ := ToxicByName(typ)
	out := make(map[string]any, len(attrs))
	for name, v := range attrs {
		a, ok := spec.Attr(name)
		if !ok {
			continue
		}
		if d, isDur := v.(time.Duration); isDur && a.Type == AttrDuration {
			out[name] = int64(d / durationUnits[a.Unit])
			continue
		}
		out[name] = v
	}
	return out
}

func mustToxic(name string) ToxicSpec {
	t, _ := ToxicByName(name)
	return t
}

// attrHint says what a value of a looks like.
func attrHint(a AttrSpec) string {
	switch a.Type {
	case AttrDuration:
		if a.Unit == "s" {
			return "a duration in whole seconds, like 30s"
		}
		return "a duration, like 2s or 400ms"
	case AttrFloat:
		return "a number"
	case AttrString:
		return "a string"
	}
	if a.Unit != "" {
		return "a whole number of " + a.Unit
	}
	return "a whole number"
}

// unitNames are the words for the units of durationUnits, for messages.
var unitNames = map[string]string{"ms": "milliseconds", "µs": "microseconds", "s": "seconds"}

func (p *parser) attr(n *yaml.Node, a AttrSpec) (any, bool) {
	var v float64
	var out any
	switch a.Type {
	case AttrDuration:
		var d time.Duration
		var ok bool
		if a.Unit == "s" {
			d, ok = p.seconds(n, a.Name)
		} else {
			d, ok = p.duration(n, a.Name)
		}
		if !ok {
			return nil, false
		}
		if unit := durationUnits[a.Unit]; unit > 0 && d%unit != 0 {
			p.ErrAt(p.Deref(n), "%s: %s is not a whole number of %s, the precision of toxic attribute %s", a.Name, d, unitNames[a.Unit], a.Name)
			return nil, false
		}
		v, out = float64(d), d
	case AttrInt:
		i, ok := p.integer(n, a.Name, int64(a.Min))
		if !ok {
			return nil, false
		}
		v, out = float64(i), i
	case AttrFloat:
		f, ok := p.number(n, a.Name)
		if !ok {
			return nil, false
		}
		v, out = f, f
	case AttrString:
		s, ok := p.str(n, a.Name)
		return s, ok
	}
	if v < a.Min || a.Max > 0 && v > a.Max {
		show := func(x float64) string {
			if a.Type == AttrDuration {
				return fmtDur(time.Duration(x))
			}
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		if a.Max > 0 {
			p.ErrAt(p.Deref(n), "%s must be between %s and %s, not %s", a.Name, show(a.Min), show(a.Max), show(v))
		} else {
			p.ErrAt(p.Deref(n), "%s must be at least %s, not %s", a.Name, show(a.Min), show(v))
		}
		return nil, false
	}
	return out, true
}

func (p *parser) flap(n *yaml.Node, span time.Duration) *Flap {
	m, ok := p.Mapping(n, "flap")
	if !ok {
		return nil
	}
	p.OnlyFields(m, "flap", flapFields)
	var fl Flap
	good := true
	for _, k := range flapFields {
		v, ok := m.Get(k)
		if !ok {
			p.ErrAt(m.Node, "flap: missing field %s (flap: {on: 5s, off: 5s})", k)
			good = false
			continue
		}
		d, ok := p.positive(v, "flap "+k)
		good = good && ok
		if k == "on" {
			fl.On = d
		} else {
			fl.Off = d
		}
	}
	if !good {
		return nil
	}
	switch {
	case fl.On < MinFlap || fl.Off < MinFlap:
		p.ErrAt(m.Node, "flap: on and off must be at least %s each: faults are switched through an API", fmtDur(MinFlap))
		return nil
	case span > 0 && fl.On >= span:
		p.ErrAt(m.Node, "flap: on (%s) is not shorter than the fault's duration (%s), so it never flaps", fmtDur(fl.On), fmtDur(span))
		return nil
	case span/(fl.On+fl.Off) >= MaxFlaps:
		p.ErrAt(m.Node, "flap: %s on, %s off flaps more than %d times in %s: flap slower", fmtDur(fl.On), fmtDur(fl.Off), MaxFlaps, fmtDur(span))
		return nil
	}
	return &fl
}

// Bounds of flapping: the engine switches a fault through Toxiproxy's API,
// within tens of milliseconds, and records every switch.
const (
	MinFlap  = 100 * time.Millisecond
	MaxFlaps = 1000
)

// steps reads a toxic fault's steps. When the fault's own settings are good
// (settingsOK), the settings each step leads to are checked as a whole.
func (p *parser) steps(n *yaml.Node, spec ToxicSpec, f Fault, settingsOK bool) []Step {
	items, _ := p.Seq(n, "steps")
	fields := slices.Concat(stepFields, spec.attrNames())
	var out []Step
	prev := time.Duration(-1)
	attrs, toxicity := maps.Clone(f.Attrs), f.Toxicity
	for _, it := range items {
		m, ok := p.Mapping(it, "a step")
		if !ok {
			settingsOK = false
			continue
		}
		before := len(p.Errs)
		p.OnlyFields(m, "a step of a "+spec.Name+" fault", fields)
		s := Step{Attrs: Attrs{}}
		if v, ok := m.Get("at"); ok {
			if d, ok := p.duration(v, "step at"); ok {
				s.At = d
				switch {
				case d <= prev:
					p.ErrAt(p.Deref(v), "step at %s: steps must be in time order, each after the one before", fmtDur(d))
				case f.Duration > 0 && d >= f.Duration:
					p.ErrAt(p.Deref(v), "step at %s: a step must fall within the fault's duration (%s)", fmtDur(d), fmtDur(f.Duration))
				}
				prev = d
			}
		} else {
			p.ErrAt(m.Node, "a step needs at (the offset from the fault's start, like 10s)")
		}
		if v, ok := m.Get("toxicity"); ok {
			if x, ok := p.fraction(v, "toxicity"); ok {
				s.Toxicity = &x
			}
		}
		for _, a := range spec.Attrs {
			if v, ok := m.Get(a.Name); ok {
				if x, ok := p.attr(v, a); ok {
					s.Attrs[a.Name] = x
				}
			}
		}
		if len(m.Keys) == 1 && m.Has("at") {
			p.ErrAt(m.Node, "a step changes nothing: give toxicity or an attribute %s", yamlpos.Allowed(spec.attrNames()))
		}
		if len(p.Errs) != before {
			settingsOK = false
			continue
		}
		maps.Copy(attrs, s.Attrs)
		if s.Toxicity != nil {
			toxicity = *s.Toxicity
		}
		if settingsOK {
			settingsOK = p.toxicOK(m.Node, spec.Name, f.Stream, toxicity, attrs)
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) maintFault(m yamlpos.Mapping, t timeline) Fault {
	p.OnlyFields(m, "a maintenance fault", maintFaultFields)
	if p.topo != nil {
		if gw, ok := p.topo.Service(mockstore.ServiceGateway); !ok || gw.Kind != topology.KindBuiltin || gw.Builtin != mockstore.ServiceGateway {
			p.ErrAt(m.Key("maintenance"), "maintenance is the storefront gateway's switch, and topology %s has no builtin gateway", p.topo.Name)
		}
	}
	f := Fault{Kind: FaultMaintenance, Maintenance: &Maintenance{RetryAfter: DefaultMaintenanceRetryAfter, Message: DefaultMaintenanceMessage}}
	n, _ := m.Get("maintenance")
	if n = p.Deref(n); n != nil && !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		if mm, ok := p.Mapping(n, "maintenance"); ok {
			p.OnlyFields(mm, "maintenance", maintFields)
			if v, ok := mm.Get("retry_after"); ok {
				if d, ok := p.seconds(v, "retry_after"); ok {
					if d == 0 {
						p.ErrAt(p.Deref(v), "retry_after must be more than 0: shoppers are told when to come back")
					} else {
						f.Maintenance.RetryAfter = int(d / time.Second)
					}
				}
			}
			if v, ok := mm.Get("message"); ok {
				if s, ok := p.word(v, "message"); ok {
					f.Maintenance.Message = s
				}
			}
		}
	}
	f.Start, f.Duration = p.startAndDuration(m, t)
	return f
}

func (p *parser) crashFault(m yamlpos.Mapping, t timeline) Fault {
	p.OnlyFields(m, "a crash fault", crashFaultFields)
	f := Fault{Kind: FaultCrash}
	n, _ := m.Get("service")
	if p.topo == nil {
		f.Service, _ = p.word(n, "service")
	} else if v, ok := p.oneOf(n, "service", p.topo.ServiceNames()); ok {
		f.Service = v
	}
	if n, ok := m.Get("action"); ok {
		if v, ok := p.oneOf(n, "action", crashActions); ok {
			f.Action = v
		}
	} else {
		p.ErrAt(m.Node, "crash: missing field action %s", yamlpos.Allowed(crashActions))
	}
	atOK := false
	if n, ok := m.Get("at"); ok {
		f.Start, atOK = p.duration(n, "at")
	} else {
		p.ErrAt(m.Node, "crash: missing field at (the offset from the load's start, like 20s)")
	}
	if n, ok := m.Get("duration"); ok {
		if f.Action != "" && f.Action != CrashStop {
			p.ErrAt(m.Key("duration"), "duration applies to action stop only (how long the service stays stopped)")
		} else if d, ok := p.positive(n, "duration"); ok {
			f.Duration = d
		}
	}
	if atOK {
		p.within(m.Node, t, f.Start, f.Start+f.Duration)
	}
	return f
}

// overlaps reports faults that cannot hold at the same time: two down faults
// on one link, two maintenance windows. Each pair is reported at the later
// fault in the file, naming the earlier; the problems come in the order of
// the later fault, then of the earlier.
//
// Comparing every fault with every one before it would be quadratic in the
// faults; instead the faults that exclude one another are grouped, and each
// group is swept in order of start, keeping only the faults still on: the
// work grows with the faults and the overlaps found, not with their square.
func (p *parser) overlaps(fs []Fault) {
	type group struct {
		kind FaultKind
		link string // of down faults
	}
	groups := map[group][]int{} // indexes into fs, in file order
	for i, f := range fs {
		var g group
		switch {
		case f.Kind == FaultMaintenance:
			g = group{kind: FaultMaintenance}
		case f.Kind == FaultToxic && f.Toxic == "down":
			g = group{kind: FaultToxic, link: f.Link}
		default:
			continue
		}
		groups[g] = append(groups[g], i)
	}
	overlap := func(a, b Fault) bool {
		return a.Start < b.Start+b.Duration && b.Start < a.Start+a.Duration
	}
	type pair struct{ later, earlier int } // indexes into fs
	var pairs []pair
	for _, idx := range groups {
		slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(fs[i].Start, fs[j].Start) })
		var on []int // faults started at or before the current one, not yet over
		for _, i := range idx {
			p.probes += len(on)
			on = slices.DeleteFunc(on, func(j int) bool { return fs[j].Start+fs[j].Duration <= fs[i].Start })
			for _, j := range on {
				if overlap(fs[i], fs[j]) {
					pairs = append(pairs, pair{later: max(i, j), earlier: min(i, j)})
				}
			}
			on = append(on, i)
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if c := cmp.Compare(x.later, y.later); c != 0 {
			return c
		}
		return cmp.Compare(x.earlier, y.earlier)
	})
	for _, pr := range pairs {
		a, b := fs[pr.later], fs[pr.earlier]
		at := &yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col}
		if a.Kind == FaultMaintenance {
			p.ErrAt(at, "maintenance overlaps the maintenance at line %d: the switch is on or off", b.Pos.Line)
		} else {
			p.ErrAt(at, "down on %s overlaps the down at line %d: a link is down or not", a.Link, b.Pos.Line)
		}
	}
}

func (p *parser) check(n *yaml.Node, t timeline) (Check, bool) {
	before := len(p.Errs)
	m, ok := p.Mapping(n, "a check")
	if !ok {
		return Check{}, false
	}
	var kinds []string
	for _, k := range checkKinds {
		if m.Has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		p.ErrAt(m.Node, "a check needs one of %s", strings.Join(checkKinds, ", "))
		return Check{}, false
	case 1:
	default:
		a, b := lastTwo(m, kinds)
		p.ErrAt(m.Key(b), "a check is one of %s, not both %s and %s", strings.Join(checkKinds, ", "), a, b)
		return Check{}, false
	}
	c := Check{Kind: CheckKind(kinds[0]), Pos: Pos{m.Node.Line, m.Node.Column}}
	if v, ok := m.Get("name"); ok {
		if s, ok := p.word(v, "name"); ok {
			c.Name = s
		}
	}
	if v, ok := m.Get("abort"); ok {
		if b, ok := p.Boolean(v, "abort"); ok {
			c.Abort = b
		}
	}
	if (c.Kind == CheckInvariant || c.Kind == CheckExperience) && p.topo != nil && !p.topo.IsStorefront() {
		p.ErrAt(m.Node, "%s checks judge the storefront from its own stores and audits, and topology %s is not the storefront (%s): "+
			"on a system of your own, judge with metric and recovery checks", c.Kind, p.topo.Name, missingStorefront(p.topo))
		return Check{}, false
	}
	switch c.Kind {
	case CheckInvariant:
		p.invariant(m, &c, t)
	case CheckExperience:
		p.experience(m, &c)
	case CheckMetric:
		p.metric(m, &c, t)
	case CheckRecovery:
		p.recovery(m, &c, t)
	case CheckProbe:
		p.probe(m, &c, t)
	}
	c.MinSamples, _ = Least(c.Kind, c.Subject)
	if v, ok := m.Get("min_samples"); ok {
		if x, ok := p.integer(v, "min_samples", 0); ok {
			c.MinSamples = int(min(x, 1<<31-1))
		}
	}
	return c, len(p.Errs) == before
}

func (p *parser) invariant(m yamlpos.Mapping, c *Check, t timeline) {
	n, _ := m.Get("invariant")
	name, ok := p.oneOf(n, "invariant", invariantNames())
	if !ok {
		// Still catch what no invariant takes.
		var params []string
		for _, s := range invariants {
			params = append(params, s.Params...)
		}
		slices.Sort(params)
		p.OnlyFields(m, "an invariant check", slices.Concat(invariantFields, slices.Compact(params), checkCommonFields))
		return
	}
	c.Subject = name
	spec, _ := invariantByName(name)
	fields := slices.Concat(invariantFields, spec.Params, checkCommonFields)
	for _, k := range m.Keys {
		if slices.Contains(fields, k) {
			continue
		}
		if users := paramUsers(k); len(users) > 0 {
			p.ErrAt(m.Key(k), "%s does not apply to invariant %s (it applies to: %s)", k, name, strings.Join(users, ", "))
			continue
		}
		p.UnknownField(m.Key(k), "an invariant check", fields)
	}
	if v, ok := m.Get(ParamAfterFaults); ok && slices.Contains(spec.Params, ParamAfterFaults) {
		if d, ok := p.duration(v, ParamAfterFaults); ok {
			c.AfterFaults = &d
			if t.faultsOK {
				switch {
				case t.n == 0:
					p.ErrAt(m.Key(ParamAfterFaults), "after_faults needs a fault in the timeline")
				case t.last+d > t.dur:
					p.ErrAt(p.Deref(v), "after_faults %s goes past the end of the run: the last fault ends at %s and the load at %s", fmtDur(d), fmtDur(t.last), fmtDur(t.dur))
				}
			}
		}
	}
	for _, k := range []string{ParamSLA, ParamBound} {
		v, ok := m.Get(k)
		if !ok || !slices.Contains(spec.Params, k) {
			continue
		}
		if d, ok := p.positive(v, k); ok {
			if k == ParamSLA {
				c.SLA = d
			} else {
				c.Bound = d
			}
		}
	}
}

// paramUsers returns the invariants that take parameter k.
func paramUsers(k string) []string {
	var out []string
	for _, s := range invariants {
		if slices.Contains(s.Params, k) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (p *parser) experience(m yamlpos.Mapping, c *Check) {
	p.OnlyFields(m, "an experience check", slices.Concat(experienceFields, checkCommonFields))
	n, _ := m.Get("experience")
	if name, ok := p.oneOf(n, "experience", experienceNames()); ok {
		c.Subject = name
	}
	if v, ok := m.Get("max"); ok {
		if x, ok := p.integer(v, "max", 0); ok {
			c.Max = int(min(x, 1<<31-1))
		}
	}
}

func (p *parser) metric(m yamlpos.Mapping, c *Check, t timeline) {
	p.OnlyFields(m, "a metric check", slices.Concat(metricFields, stats, checkCommonFields))
	c.Window = Window{Name: WindowRun}
	n, _ := m.Get("metric")
	spec, okMetric := p.selector(n, c)
	if v, ok := m.Get("window"); ok {
		if w, ok := p.window(v, t); ok {
			c.Window = w
		}
	}
	var found []string
	for _, s := range stats {
		if m.Has(s) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		hint := yamlpos.Allowed(stats)
		if okMetric {
			hint = fmt.Sprintf("(for %s metric %s: %s)", spec.Kind, spec.Name, strings.Join(StatsFor(spec.Kind), ", "))
		}
		p.ErrAt(m.Node, "a metric check needs one comparison, like rate: \">= 0.6\" or p95: \"<= 400ms\" %s", hint)
		return
	case 1:
	default:
		p.ErrAt(m.Key(found[1]), "a metric check has one comparison, not both %s and %s: write two checks", found[0], found[1])
		return
	}
	c.Stat = found[0]
	if !okMetric {
		return
	}
	if !slices.Contains(StatsFor(spec.Kind), c.Stat) {
		p.ErrAt(m.Key(c.Stat), "%s does not apply to %s metric %s %s", c.Stat, spec.Kind, spec.Name, yamlpos.Allowed(StatsFor(spec.Kind)))
		return
	}
	v, _ := m.Get(c.Stat)
	if cmp, ok := p.comparison(v, c.Stat, spec); ok {
		c.Cmp = cmp
	}
}

// selector reads "name{tag:value,...}" into c. It reports whether the
// metric is known, whatever is wrong with its tags, so that the rest of the
// check is still checked.
func (p *parser) selector(n *yaml.Node, c *Check) (MetricSpec, bool) {
	s, ok := p.word(n, "metric")
	if !ok {
		return MetricSpec{}, false
	}
	n = p.Deref(n)
	name, rest, hasTags := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	spec, known := MetricByName(name)
	if !known {
		p.ErrAt(n, "%s", yamlpos.Unknown("metric", name, metricNames()))
	}
	c.Subject = name
	if !hasTags {
		return spec, known
	}
	lead := len(rest) - len(strings.TrimLeft(rest, " "))
	body, closed := strings.CutSuffix(strings.TrimSpace(rest), "}")
	if !closed || strings.ContainsAny(body, "{}") {
		p.ErrAt(n, "metric %q: tags are written name{key:value,key:value}, like journey_success{journey:checkout}", s)
		return spec, known
	}
	base := strings.Index(s, "{") + 1 + lead
	c.Tags = map[string]string{}
	off := 0
	for _, part := range strings.Split(body, ",") {
		col := offsetCol(n, base+off+len(part)-len(strings.TrimLeft(part, " ")))
		at := &yaml.Node{Line: n.Line, Column: col}
		off += len(part) + 1
		k, v, ok := strings.Cut(part, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			p.ErrAt(at, "metric tag %q: want key:value, like journey:checkout", strings.TrimSpace(part))
			continue
		}
		if !slices.Contains(tags, k) {
			p.ErrAt(at, "%s", yamlpos.Unknown("tag", k, tags))
			continue
		}
		if _, dup := c.Tags[k]; dup {
			p.ErrAt(at, "tag %s given twice", k)
			continue
		}
		if k == "status" && !slices.Contains(statusValues, v) {
			p.ErrAt(at, "%s", yamlpos.Unknown("status", v, statusValues))
			continue
		}
		c.Tags[k] = v
	}
	return spec, known
}

func (p *parser) comparison(n *yaml.Node, stat string, spec MetricSpec) (Comparison, bool) {
	s, ok := p.Scalar(n, stat)
	if !ok {
		return Comparison{}, false
	}
	text := strings.TrimSpace(s.Value)
	timed := spec.Unit == "ms" && stat != StatCount
	example := `">= 0.6"`
	switch {
	case timed:
		example = `"<= 400ms"`
	case stat == StatCount:
		example = `"== 0"`
	}
	var op string
	for _, o := range ops {
		if strings.HasPrefix(text, o) {
			op = o
			break
		}
	}
	if op == "" || s.ShortTag() != "!!str" {
		p.ErrAt(s, "%s: bad comparison %q: want an operator (%s) and a value, like %s", stat, s.Value, strings.Join(ops, ", "), example)
		return Comparison{}, false
	}
	val := strings.TrimSpace(text[len(op):])
	c := Comparison{Op: op, Text: op + " " + val}
	if timed {
		d, err := time.ParseDuration(val)
		if err == nil && d < 0 {
			p.ErrAt(s, "%s: bad comparison %q: a duration is never negative", stat, s.Value)
			return Comparison{}, false
		}
		if err != nil {
			p.ErrAt(s, "%s: bad comparison %q: %q is not a duration, want one like %s", stat, s.Value, val, example)
			return Comparison{}, false
		}
		c.Value = float64(d) / float64(time.Millisecond)
		return c, true
	}
	num, pct := strings.CutSuffix(val, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v != v || v > 1e15 || v < -1e15 {
		p.ErrAt(s, "%s: bad comparison %q: %q is not a number, want one like %s", stat, s.Value, val, example)
		return Comparison{}, false
	}
	if pct {
		if stat != StatRate {
			p.ErrAt(s, "%s: bad comparison %q: a percentage is for rates only", stat, s.Value)
			return Comparison{}, false
		}
		v /= 100
	}
	switch {
	case stat == StatRate && (v < 0 || v > 1):
		p.ErrAt(s, "%s: bad comparison %q: a rate is between 0 and 1", stat, s.Value)
		return Comparison{}, false
	case v < 0:
		p.ErrAt(s, "%s: bad comparison %q: a %s is never negative", stat, s.Value, stat)
		return Comparison{}, false
	}
	c.Value = v
	return c, true
}

func (p *parser) window(n *yaml.Node, t timeline) (Window, bool) {
	n = p.Deref(n)
	if n == nil {
		return Window{}, false
	}
	if n.Kind == yaml.MappingNode {
		m, _ := p.Mapping(n, "window")
		p.OnlyFields(m, "window", windowFields)
		w := Window{From: 0, To: t.dur}
		good := true
		if len(m.Keys) == 0 {
			p.ErrAt(n, "window: give from, to or both, like {from: 10s, to: 30s}")
			return Window{}, false
		}
		if v, ok := m.Get("from"); ok {
			w.From, ok = p.duration(v, "window from")
			good = good && ok
		}
		if v, ok := m.Get("to"); ok {
			w.To, ok = p.positive(v, "window to")
			good = good && ok
		} else if !t.ok {
			good = false
		}
		if !good {
			return Window{}, false
		}
		if w.From >= w.To {
			p.ErrAt(n, "window: from (%s) must be before to (%s)", fmtDur(w.From), fmtDur(w.To))
			return Window{}, false
		}
		if t.ok && w.To > t.dur {
			p.ErrAt(n, "window ends at %s, after the load (%s)", fmtDur(w.To), fmtDur(t.dur))
			return Window{}, false
		}
		return w, true
	}
	name, ok := p.oneOf(n, "window", windows)
	if !ok {
		return Window{}, false
	}
	if !p.needs(n, t, name) {
		return Window{}, false
	}
	return Window{Name: name}, true
}

// needs reports when the timeline cannot give the named window.
func (p *parser) needs(n *yaml.Node, t timeline, name string) bool {
	if !t.faultsOK || name == WindowRun {
		return true
	}
	switch {
	case t.n == 0:
		p.ErrAt(n, "window %s needs a fault in the timeline", name)
	case name == WindowBaseline && t.first == 0:
		p.ErrAt(n, "window baseline is empty: the first fault starts at 0s")
	case name == WindowFault && !t.withSpans:
		p.ErrAt(n, "window fault is empty: no fault lasts more than an instant")
	case name == WindowRecovery && t.last >= t.dur:
		p.ErrAt(n, "window recovery is empty: the last fault ends with the load")
	default:
		return true
	}
	return false
}

func (p *parser) recovery(m yamlpos.Mapping, c *Check, t timeline) {
	p.OnlyFields(m, "a recovery check", slices.Concat(recoveryFields, checkCommonFields))
	n, _ := m.Get("recovery")
	if s, ok := p.word(n, "recovery"); ok {
		c.Subject = s
	}
	v, ok := m.Get("within")
	if !ok {
		p.ErrAt(m.Node, "recovery: missing field within (the time allowed after the last fault ends, like 10s)")
		return
	}
	d, ok := p.positive(v, "within")
	if !ok {
		return
	}
	c.Within = d
	key := m.Key("recovery")
	if !p.needs(key, t, WindowBaseline) || !p.needs(key, t, WindowRecovery) {
		return
	}
	if t.faultsOK && t.last+d > t.dur {
		p.ErrAt(p.Deref(v), "within %s goes past the end of the run: the last fault ends at %s and the load at %s", fmtDur(d), fmtDur(t.last), fmtDur(t.dur))
	}
}

// labels gives every check a unique label: a duplicate given name is an
// error, a duplicate made-up one gets a number. It returns ctx's error when
// ctx ends first.
func (p *parser) labels(ctx context.Context, cs []Check) error {
	given := make(map[string]int, len(cs))
	for i := range cs {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if cs[i].Name == "" {
			continue
		}
		if line, ok := given[cs[i].Name]; ok {
			p.ErrAt(&yaml.Node{Line: cs[i].Pos.Line, Column: cs[i].Pos.Col}, "check name %q already used at line %d", cs[i].Name, line)
		}
		given[cs[i].Name] = cs[i].Pos.Line
	}
	// next holds, for each made-up label, the number to try first (1 for
	// the label alone, k for "label (k)"): every smaller one is taken, and
	// names are never given back, so the search for a free number resumes
	// there instead of starting over for every check, which was quadratic in
	// the checks sharing a label.
	next := map[string]int{}
	for i := range cs {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if cs[i].Name != "" {
			continue
		}
		l := cs[i].label()
		for k := max(next[l], 1); ; k++ {
			p.probes++
			name := l
			if k > 1 {
				name = l + " (" + strconv.Itoa(k) + ")"
			}
			if _, taken := given[name]; !taken {
				next[l] = k + 1
				cs[i].Name = name
				given[name] = cs[i].Pos.Line
				break
			}
		}
	}
	return nil
}
