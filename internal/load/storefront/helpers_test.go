package storefront

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// testTimeout bounds every wait of these tests; each finishes far sooner
// when the storefront and the shoppers behave.
const testTimeout = 30 * time.Second

// sample is one value a recorder took.
type sample struct {
	at     time.Time
	metric string
	kind   string
	tags   load.Tags
	v      float64
}

// recorder keeps every sample in memory.
type recorder struct {
	mu      sync.Mutex
	samples []sample
	added   chan struct{} // a tick per sample, for waitFor; never blocks
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1)} }

func (r *recorder) Add(t time.Time, metric, kind string, tags load.Tags, v float64) {
	r.mu.Lock()
	r.samples = append(r.samples, sample{at: t, metric: metric, kind: kind, tags: tags, v: v})
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
}

// matches reports whether tags has every field that want sets.
func matches(tags, want load.Tags) bool {
	eq := func(got, want string) bool { return want == "" || got == want }
	return eq(tags.Endpoint, want.Endpoint) && eq(tags.Journey, want.Journey) && eq(tags.Name, want.Name) &&
		eq(tags.Status, want.Status) && eq(tags.Code, want.Code)
}

// find returns the samples of metric whose tags match want.
func (r *recorder) find(metric string, want load.Tags) []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sample
	for _, s := range r.samples {
		if s.metric == metric && matches(s.tags, want) {
			out = append(out, s)
		}
	}
	return out
}

// sum adds up the values of metric's samples that match want: a counter's
// total, a rate's successes.
func (r *recorder) sum(metric string, want load.Tags) float64 {
	var n float64
	for _, s := range r.find(metric, want) {
		n += s.v
	}
	return n
}

// n counts metric's samples that match want.
func (r *recorder) n(metric string, want load.Tags) int { return len(r.find(metric, want)) }

// journeys returns the journey_success samples as "journey=ok" strings,
// in order, for compact comparisons.
func (r *recorder) journeys() []string {
	var out []string
	for _, s := range r.find(MetricJourneySuccess, load.Tags{}) {
		out = append(out, fmt.Sprintf("%s=%v", s.tags.Journey, s.v == 1))
	}
	return out
}

// journey returns the samples of one journey as (samples, successes).
func (r *recorder) journey(name string) (n, ok int) {
	for _, s := range r.find(MetricJourneySuccess, load.Tags{Journey: name}) {
		n++
		if s.v == 1 {
			ok++
		}
	}
	return n, ok
}

// String lists the storefront's own samples and the requests by
// endpoint, for failure messages.
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := map[string]int{}
	var b strings.Builder
	for _, s := range r.samples {
		switch s.metric {
		case load.MetricReqs:
			reqs[s.tags.Endpoint+"/"+s.tags.Status]++
		case load.MetricReqFailed, load.MetricReqDuration:
		default:
			fmt.Fprintf(&b, "  %s %+v %v\n", s.metric, s.tags, s.v)
		}
	}
	keys := make([]string, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  request %s ×%d\n", k, reqs[k])
	}
	return b.String()
}

// waitFor waits until cond holds, checking it after every sample the
// recorder takes, and fails tb after testTimeout.
func (r *recorder) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.added:
		case <-deadline.C:
			tb.Fatalf("%s: not within %v; recorded:\n%s", what, testTimeout, r)
		}
	}
}

// await waits until cond holds, checking it after every sample the
// recorder takes, or until ctx ends; it reports whether cond held. Unlike
// waitFor it may run on any goroutine. One waiter per recorder at a time.
func (r *recorder) await(ctx context.Context, cond func() bool) bool {
	for !cond() {
		select {
		case <-r.added:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// ctxFor returns a context that ends with the test or after testTimeout.
func ctxFor(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// newVU returns virtual user id recording into rec.
func newVU(tb testing.TB, id int, rec *recorder) *load.VU {
	tb.Helper()
	vu := load.NewVU(id, load.VUConfig{Timeout: 5 * time.Second, Recorder: rec, Seed: 7})
	tb.Cleanup(vu.Close)
	return vu
}

// quick are the settings of most tests: no pauses, no logout, SMS.
func quick() Settings {
	s := DefaultSettings()
	s.Think, s.Logout, s.WhatsApp = 0, 0, 0
	return s
}

// startEnv starts an in-process storefront with opts (12 seeded users
// unless said otherwise: 6 shoppers, 3 merchants, 3 drivers) and stops
// it at cleanup, registered before the error is looked at.
func startEnv(tb testing.TB, opts env.Options) *env.Inproc {
	tb.Helper()
	if opts.Shoppers == 0 {
		opts.Shoppers = 12
	}
	e, err := env.StartInproc(context.Background(), opts)
	tb.Cleanup(func() {
		if e == nil {
			return
		}
		if err := e.Close(); err != nil {
			tb.Errorf("close the environment: %v", err)
		}
	})
	if err != nil {
		tb.Fatalf("start the storefront: %v", err)
	}
	return e
}

// profile returns the named profile's features, with the named features
// switched off.
func profile(tb testing.TB, name string, off ...mockstore.Feature) mockstore.Features {
	tb.Helper()
	f, err := mockstore.Profile(name)
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range off {
		f[o] = false
	}
	return f
}

// scriptFor returns the script for the storefront e with settings s.
func scriptFor(tb testing.TB, e *env.Inproc, s Settings) *Script {
	tb.Helper()
	info := e.Info()
	sc, err := New(Config{Gateway: info.Gateway, Inbox: info.OTPInbox, Data: NewData(e.Dataset()), Settings: s})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return sc
}

// shopperOf returns the shopper of a new VU of sc: the first of the
// data's shoppers whose user matches and that no test took yet.
func shopperOf(tb testing.TB, sc *Script, rec *recorder, match func(mockstore.User) bool) *shopper {
	tb.Helper()
	taken.Lock()
	defer taken.Unlock()
	if taken.m == nil {
		taken.m = map[string]map[int]bool{}
	}
	store := sc.cfg.Gateway
	if taken.m[store] == nil {
		taken.m[store] = map[int]bool{}
	}
	for i, u := range sc.shoppers {
		if !taken.m[store][i] && (match == nil || match(u)) {
			taken.m[store][i] = true
			return sc.NewUser(newVU(tb, i+1, rec)).(*shopper)
		}
	}
	tb.Fatal("no shopper left that matches")
	return nil
}

// taken are the shoppers tests took, by storefront (gateway URL), so
// that tests sharing a storefront do not share an account.
var taken struct {
	sync.Mutex
	m map[string]map[int]bool
}

// addToxic adds t to the proxy of link through the Toxiproxy HTTP API, as
// a scenario's fault does, and returns a function that removes it again;
// the removal also runs at cleanup when the test has not done it.
func addToxic(tb testing.TB, e *env.Inproc, link string, t fault.Toxic) (remove func()) {
	tb.Helper()
	fc := fault.NewClient(e.Info().Toxiproxy)
	proxy, ok := e.Info().Links[link]
	if !ok {
		tb.Fatalf("no link %q", link)
	}
	if t.Name == "" {
		t.Name = t.Type + "_" + link
	}
	if err := fc.AddToxic(ctxFor(tb), proxy, t); err != nil {
		tb.Fatalf("add %s to %s: %v", t.Type, link, err)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := fc.RemoveToxic(ctx, proxy, t.Name); err != nil {
				tb.Errorf("remove %s from %s: %v", t.Name, link, err)
			}
		})
	}
	tb.Cleanup(remove)
	return remove
}

// resetPeer resets every connection of a link as soon as a request
// arrives: the upstream never sees it.
func resetPeer() fault.Toxic {
	return fault.Toxic{Type: "reset_peer", Stream: fault.Upstream, Attributes: map[string]any{"timeout": 0}}
}

// lostAnswers resets every connection of a link as soon as the answer
// starts back: the upstream did the work, the caller never hears of it.
func lostAnswers() fault.Toxic {
	return fault.Toxic{Type: "reset_peer", Stream: fault.Downstream, Attributes: map[string]any{"timeout": 0}}
}

// wantJourneys fails tb unless the recorder's journeys are want, in order.
func wantJourneys(tb testing.TB, rec *recorder, want ...string) {
	tb.Helper()
	if got := rec.journeys(); !slices.Equal(got, want) {
		tb.Fatalf("journeys %v, want %v; recorded:\n%s", got, want, rec)
	}
}

// wantCount fails tb unless the counter metric matching tags adds up to n.
func wantCount(tb testing.TB, rec *recorder, metric string, tags load.Tags, n float64) {
	tb.Helper()
	if got := rec.sum(metric, tags); got != n {
		tb.Fatalf("%s%+v = %v, want %v; recorded:\n%s", metric, tags, got, n, rec)
	}
}
