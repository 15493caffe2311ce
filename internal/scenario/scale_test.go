package scenario

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/yamlpos"
	"gopkg.in/yaml.v3"
)

var (
	largeFile   = flag.String("large", "", "write a scenario of -large.checks checks of -large.shape (as BenchmarkParseChecks parses) to this file, for timing gameday validate")
	largeChecks = flag.Int("large.checks", 200_000, "checks (or faults) of the -large file")
	largeShape  = flag.String("large.shape", "same", "shape of the -large file: same, mixed, problems or faults")
)

// shape is the kind of large scenario genScenario writes.
type shape string

const (
	sameChecks  shape = "same"     // valid; one check over and over, as in the issue: every label the same
	mixedChecks shape = "mixed"    // valid; checks of every kind, most without a name, so labels repeat
	badChecks   shape = "problems" // as mixedChecks, with problems in 2 of every 16 checks
	manyFaults  shape = "faults"   // valid; maintenance windows and down faults one after another
)

var shapes = []shape{sameChecks, mixedChecks, badChecks, manyFaults}

// genScenario returns a scenario of n checks (or faults) of shape sh, about
// 30 bytes a check: 200,000 make a file of 6 MB.
func genScenario(n int, sh shape) []byte {
	var b strings.Builder
	b.Grow(64 + 33*n)
	if sh == manyFaults {
		fmt.Fprintf(&b, "load: {duration: %ds}\nfaults:\n", 2*n+1)
		for i := range n {
			if i%2 == 0 {
				fmt.Fprintf(&b, "- {maintenance: , start: %ds, duration: 1s}\n", 2*i)
			} else {
				fmt.Fprintf(&b, "- {link: gateway->auth, toxic: down, start: %ds, duration: 1s}\n", 2*i)
			}
		}
		b.WriteString("checks:\n- invariant: money_conserved\n")
		return []byte(b.String())
	}
	if sh == sameChecks {
		b.WriteString("name: large\nload: {duration: 60s}\nchecks:\n")
		for range n {
			b.WriteString("- invariant: money_conserved\n")
		}
		return []byte(b.String())
	}
	b.WriteString("name: large\nload: {duration: 60s}\nfaults:\n- {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}\nchecks:\n")
	for i := range n {
		switch {
		case sh == badChecks && i%16 == 12: // a name used 8 checks before
			fmt.Fprintf(&b, "- {name: c%d, invariant: ledger_matches}\n", i-8)
			continue
		case sh == badChecks && i%16 == 15: // an unknown invariant and a misspelt field
			fmt.Fprintf(&b, "- {name: c%d, invariant: money_conserve, bond: 1s}\n", i)
			continue
		}
		switch i % 8 {
		case 0:
			b.WriteString("- invariant: money_conserved\n")
		case 1:
			b.WriteString("- experience: forced_logouts\n")
		case 2:
			b.WriteString("- {metric: http_reqs, count: ==0}\n")
		case 3:
			b.WriteString("- {recovery: checkout, within: 5s}\n")
		case 4:
			fmt.Fprintf(&b, "- {name: c%d, invariant: ledger_matches}\n", i)
		case 5:
			b.WriteString("- invariant: ledger_matches\n")
		case 6:
			b.WriteString("- {metric: bare_5xx, count: ==0}\n")
		case 7:
			b.WriteString("- experience: no_zero_balance\n")
		}
	}
	return []byte(b.String())
}

// TestGenScenario holds the generator to what it promises: the valid shapes
// parse, with every check, and the bad one has its problems.
func TestGenScenario(t *testing.T) {
	const n = 1000
	for _, sh := range []shape{sameChecks, mixedChecks} {
		sc := parseOK(t, "large.yaml", string(genScenario(n, sh)))
		if len(sc.Checks) != n {
			t.Errorf("%s: %d checks, want %d", sh, len(sc.Checks), n)
		}
		if got, want := sc.Checks[n-1].Name, "money_conserved ("+fmt.Sprint(n)+")"; sh == sameChecks && got != want {
			t.Errorf("%s: the last check is called %q, want %q", sh, got, want)
		}
	}
	sc := parseOK(t, "faults.yaml", string(genScenario(n, manyFaults)))
	if len(sc.Faults) != n {
		t.Errorf("%d faults, want %d", len(sc.Faults), n)
	}
	_, err := Parse("bad.yaml", genScenario(n, badChecks))
	var es Errors
	if !errors.As(err, &es) || len(es) != 3*(n/16) {
		t.Fatalf("want %d problems, got %v", 3*(n/16), err)
	}
	for i, want := range []string{
		`bad.yaml:18:3: check name "c4" already used at line 10`,
		`bad.yaml:21:26: unknown invariant "money_conserve": did you mean "money_conserved"?`,
		`bad.yaml:21:42: unknown field "bond" in an invariant check: did you mean "bound"?`,
	} {
		if !strings.HasPrefix(es[i].Error(), want) {
			t.Errorf("problem %d: %q, want %q...", i, es[i].Error(), want)
		}
	}
}

// TestWriteLargeScenario writes the generated scenario to the file named by
// -large, to time gameday validate on it:
//
//	go test ./internal/scenario -run WriteLarge -large /tmp/large.yaml [-large.checks 8000] [-large.shape mixed]
//	time gameday validate /tmp/large.yaml
func TestWriteLargeScenario(t *testing.T) {
	if *largeFile == "" {
		t.Skip("writes a file only when asked to with -large FILE")
	}
	sh := shape(*largeShape)
	if !slices.Contains(shapes, sh) {
		t.Fatalf("-large.shape %q: want one of %v", sh, shapes)
	}
	data := genScenario(*largeChecks, sh)
	if err := os.WriteFile(*largeFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d %s checks, %d bytes", *largeFile, *largeChecks, sh, len(data))
}

// BenchmarkParseChecks parses scenarios of 8,000 and 200,000 checks; its
// ns/check must not grow with the number of checks.
func BenchmarkParseChecks(b *testing.B) {
	for _, sh := range []shape{sameChecks, mixedChecks, badChecks} {
		for _, n := range []int{8_000, 200_000} {
			data := genScenario(n, sh)
			b.Run(fmt.Sprintf("%s/%dk", sh, n/1000), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Parse("large.yaml", data); (err == nil) != (sh != badChecks) {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/check")
			})
		}
	}
}

// TestParseLinear holds the parser's work linear in its input, counted
// rather than timed (a clock on a busy machine is not a measure): parsing
// four times the checks (or faults) must allocate about four times as many
// objects, and take about four times as many steps in the searches that
// depend on what came before. With the quadratic search for label numbers
// the checks took 17 to 19 times as many allocations, and with the pairwise
// overlaps the faults took 16 times the steps.
func TestParseLinear(t *testing.T) {
	for _, sh := range shapes {
		t.Run(string(sh), func(t *testing.T) {
			const n = 2000
			// work parses data once and counts its allocations, the way
			// testing.AllocsPerRun does, and its search steps.
			work := func(data []byte) (allocs uint64, probes int) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				p := &parser{Reader: yamlpos.Reader{File: "large.yaml"}}
				_, err := p.run(context.Background(), data)
				runtime.ReadMemStats(&after)
				if err != nil && sh != badChecks {
					t.Fatal(err)
				}
				return after.Mallocs - before.Mallocs, p.probes
			}
			a, pa := work(genScenario(n, sh))
			b, pb := work(genScenario(4*n, sh))
			t.Logf("for %d and %d: %d and %d allocations (%.2f times as many), %d and %d search steps", n, 4*n, a, b, float64(b)/float64(a), pa, pb)
			if b > 5*a {
				t.Errorf("%.1f times as many allocations for 4 times the input", float64(b)/float64(a))
			}
			if pa < n/2 || pb > 5*pa {
				t.Errorf("%d search steps for %d, %d for 4 times the input", pa, n, pb)
			}
		})
	}
}

// lookingContext counts how often it is asked whether it is done, and calls
// at its at-th look, if set, before answering: the known point for an
// interrupt.
type lookingContext struct {
	context.Context
	at    int64
	looks atomic.Int64
	atIt  func()
}

func (c *lookingContext) Err() error {
	if c.looks.Add(1) == c.at && c.atIt != nil {
		c.atIt()
	}
	return c.Context.Err()
}

// canceledAt returns a context that is cancelled at its at-th look.
func canceledAt(tb testing.TB, at int64) *lookingContext {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return &lookingContext{Context: ctx, at: at, atIt: cancel}
}

// wantCanceled fails tb unless ParseContext gave up.
func wantCanceled(tb testing.TB, sc *Scenario, err error) {
	tb.Helper()
	var es Errors
	switch {
	case !errors.Is(err, context.Canceled):
		tb.Fatalf("error %v, want context.Canceled", err)
	case errors.As(err, &es):
		tb.Fatalf("error %v is the file's problems", err)
	case sc != nil:
		tb.Fatal("a scenario from a cancelled parse")
	}
}

// TestParseContextCanceled: a context cancelled before the parse starts
// is seen at once, before anything is decoded.
func TestParseContextCanceled(t *testing.T) {
	ctx := canceledAt(t, 1)
	sc, err := ParseContext(ctx, "large.yaml", genScenario(10_000, mixedChecks))
	wantCanceled(t, sc, err)
	if !strings.HasPrefix(err.Error(), "parse large.yaml: ") {
		t.Errorf("error %q does not name the file", err)
	}
	if n := ctx.looks.Load(); n > 3 {
		t.Errorf("%d looks at a context cancelled from the start", n)
	}
}

// TestParseContextStops: a parse cancelled at any point, in the YAML
// decoder or in the walk of the checks, stops at once: it returns the
// context's error, and looks at the context no more than twice after.
func TestParseContextStops(t *testing.T) {
	const n = 10_000
	data := genScenario(n, mixedChecks)
	count := &lookingContext{Context: context.Background()}
	if _, err := ParseContext(count, "large.yaml", data); err != nil {
		t.Fatal(err)
	}
	// The decoder looks at every read of 512 bytes, the walk every
	// ctxEvery checks, thrice (checks, given names, made-up names).
	looks := count.looks.Load()
	if min := int64(len(data)/512 + 3*(n/ctxEvery)); looks < min {
		t.Fatalf("the parse looked at its context %d times, want at least %d", looks, min)
	}
	for _, at := range []int64{1, 2, looks / 4, looks / 2, looks - 3*(n/ctxEvery), looks - 2*(n/ctxEvery), looks - 1, looks} {
		t.Run(fmt.Sprintf("at look %d of %d", at, looks), func(t *testing.T) {
			ctx := canceledAt(t, at)
			sc, err := ParseContext(ctx, "large.yaml", data)
			wantCanceled(t, sc, err)
			if got := ctx.looks.Load(); got > at+2 {
				t.Errorf("%d looks after the cancel", got-at)
			}
		})
	}
}

// TestParseContextCancelFromAnotherGoroutine: the cancel comes from another
// goroutine, while the parse waits at a known point in the middle of the
// checks.
func TestParseContextCancelFromAnotherGoroutine(t *testing.T) {
	data := genScenario(10_000, mixedChecks)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	reached, resume := make(chan struct{}), make(chan struct{})
	ctx := &lookingContext{Context: parent, at: int64(len(data)/512 + 40), atIt: func() {
		close(reached)
		<-resume
	}}
	type result struct {
		sc  *Scenario
		err error
	}
	done := make(chan result)
	go func() {
		sc, err := ParseContext(ctx, "large.yaml", data)
		done <- result{sc, err}
	}()
	<-reached
	cancel()
	close(resume)
	r := <-done
	wantCanceled(t, r.sc, r.err)
	if got := ctx.looks.Load(); got > ctx.at+2 {
		t.Errorf("%d looks after the cancel", got-ctx.at)
	}
}

// naiveLabels is labels as it was, trying every number from 2 for every
// made-up label: the reference the faster one must agree with.
func (p *parser) naiveLabels(cs []Check) {
	given := map[string]int{}
	for i := range cs {
		if cs[i].Name == "" {
			continue
		}
		if line, ok := given[cs[i].Name]; ok {
			p.ErrAt(&yaml.Node{Line: cs[i].Pos.Line, Column: cs[i].Pos.Col}, "check name %q already used at line %d", cs[i].Name, line)
		}
		given[cs[i].Name] = cs[i].Pos.Line
	}
	for i := range cs {
		if cs[i].Name != "" {
			continue
		}
		l := cs[i].label()
		name := l
		for k := 2; ; k++ {
			if _, ok := given[name]; !ok {
				break
			}
			name = fmt.Sprintf("%s (%d)", l, k)
		}
		cs[i].Name = name
		given[name] = cs[i].Pos.Line
	}
}

// TestLabelsSameAsNaive holds labels to the search it replaced, on random
// checks whose given names take the made-up labels and numbers.
func TestLabelsSameAsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	subjects := []string{"a", "b", "a (2)"}
	names := []string{"", "", "", "a", "a (2)", "a (3)", "a (2) (2)", "b (2)", "x"}
	for round := range 2000 {
		cs := make([]Check, rng.IntN(14))
		for i := range cs {
			cs[i] = Check{Kind: CheckInvariant, Pos: Pos{i + 6, 5}, Subject: subjects[rng.IntN(len(subjects))], Name: names[rng.IntN(len(names))]}
		}
		want, got := &parser{Reader: yamlpos.Reader{File: "t.yaml"}}, &parser{Reader: yamlpos.Reader{File: "t.yaml"}}
		wantCs := slices.Clone(cs)
		want.naiveLabels(wantCs)
		if err := got.labels(context.Background(), cs); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cs, wantCs) || !reflect.DeepEqual(got.Errs, want.Errs) {
			t.Fatalf("round %d:\ngot  %q %v\nwant %q %v", round, checkNames(cs), got.Errs, checkNames(wantCs), want.Errs)
		}
	}
}

// naiveOverlaps is overlaps as it was, comparing every fault with every one
// before it: the reference the sweep must agree with.
func (p *parser) naiveOverlaps(fs []Fault) {
	for i, a := range fs {
		for _, b := range fs[:i] {
			if a.Start >= b.Start+b.Duration || b.Start >= a.Start+a.Duration {
				continue
			}
			switch {
			case a.Kind == FaultMaintenance && b.Kind == FaultMaintenance:
				p.ErrAt(&yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col}, "maintenance overlaps the maintenance at line %d: the switch is on or off", b.Pos.Line)
			case a.Kind == FaultToxic && b.Kind == FaultToxic && a.Toxic == "down" && b.Toxic == "down" && a.Link == b.Link:
				p.ErrAt(&yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col}, "down on %s overlaps the down at line %d: a link is down or not", a.Link, b.Pos.Line)
			}
		}
	}
}

// TestOverlapsSameAsNaive holds the sweep of overlaps to the pairwise
// comparison it replaced, on random timelines full of ties, shared
// positions (aliases) and instants.
func TestOverlapsSameAsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := rng.IntN(12)
		fs := make([]Fault, n)
		for i := range fs {
			f := Fault{Pos: Pos{Line: i + 4, Col: 5}, Start: time.Duration(rng.IntN(6)) * time.Second, Duration: time.Duration(rng.IntN(4)) * time.Second}
			if rng.IntN(5) == 0 { // an alias: the position of an earlier fault
				f.Pos.Line = 4 + rng.IntN(i+1)
			}
			switch rng.IntN(4) {
			case 0:
				f.Kind = FaultMaintenance
			case 1:
				f.Kind, f.Toxic, f.Link = FaultToxic, "down", []string{"gateway->auth", "checkout->wallet"}[rng.IntN(2)]
			case 2:
				f.Kind, f.Toxic, f.Link = FaultToxic, "latency", "gateway->auth"
			default:
				f.Kind, f.Service, f.Action = FaultCrash, "wallet", CrashStop
			}
			fs[i] = f
		}
		want, got := &parser{Reader: yamlpos.Reader{File: "t.yaml"}}, &parser{Reader: yamlpos.Reader{File: "t.yaml"}}
		want.naiveOverlaps(fs)
		got.overlaps(fs)
		if !reflect.DeepEqual(got.Errs, want.Errs) {
			t.Fatalf("round %d, faults %+v:\ngot\n%v\nwant\n%v", round, fs, got.Errs, want.Errs)
		}
	}
}

func checkNames(cs []Check) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
