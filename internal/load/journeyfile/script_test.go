package journeyfile

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// recorder keeps every sample in memory; added, when set, hears of each.
type recorder struct {
	mu      sync.Mutex
	samples []sample
	added   chan sample
}

type sample struct {
	metric, kind string
	tags         load.Tags
	v            float64
}

func (r *recorder) Add(_ time.Time, metric, kind string, tags load.Tags, v float64) {
	s := sample{metric, kind, tags, v}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
	if r.added != nil {
		r.added <- s
	}
}

// values returns the values of metric's samples whose tags are tags.
func (r *recorder) values(metric string, tags load.Tags) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []float64
	for _, s := range r.samples {
		if s.metric == metric && s.tags == tags {
			out = append(out, s.v)
		}
	}
	return out
}

// count returns how many samples metric has, whatever their tags.
func (r *recorder) count(metric string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.samples {
		if s.metric == metric {
			n++
		}
	}
	return n
}

func equalValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newUser returns user id of src's script against target, and where its
// samples go.
func newUser(tb testing.TB, src, target string, opts ...Option) (load.User, *recorder) {
	tb.Helper()
	f := parseOK(tb, src)
	s, err := f.Script(target, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	rec := &recorder{}
	vu := load.NewVU(1, load.VUConfig{Recorder: rec, Seed: 1, Timeout: 5 * time.Second})
	tb.Cleanup(vu.Close)
	return s.NewUser(vu), rec
}

// seen is what a test server was sent.
type seen struct {
	method, host, path, query, body string
	header                          http.Header
}

// server starts a test server that answers with handle and keeps what it
// was sent.
func server(tb testing.TB, handle func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, func() []seen) {
	tb.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.Host, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Clone()})
		mu.Unlock()
		handle(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// TestCapturesFeedLaterSteps: what a step captures reaches a later step's
// URL (escaped for where it stands), headers and JSON body.
func TestCapturesFeedLaterSteps(t *testing.T) {
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			writeJSON(w, 200, `{"token": "t-1", "items": [{"id": "a b/c", "note": "x&y=z", "qty": 2}]}`)
		default:
			writeJSON(w, 201, `{"ok": true}`)
		}
	})
	const src = `journeys:
  - name: buy
    steps:
      - name: login
        method: POST
        url: /login
        body: {user: "u${vu}", literal: "$${x}"}
        checks: [status == 200]
        captures:
          token: body.token
          item: body.items[0]
      - name: add
        method: PUT
        url: /cart/${item.id}?note=${item.note}&it=${iter}
        headers: {Authorization: "Bearer ${token}", X-Count: "${len(vars)}", Host: "api.example"}
        body: {sku: "${item.id}", qty: "${item.qty}", label: "qty ${item.qty}", tags: ["${token}", 1]}
        checks: [status == 201, body.ok]
`
	u, rec := newUser(t, src, srv.URL)
	u.Iterate(context.Background(), load.Iteration{N: 7})

	got := requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2: %+v", len(got), got)
	}
	login, add := got[0], got[1]
	if login.body != `{"user":"u1","literal":"${x}"}` || login.header.Get("Content-Type") != "application/json" {
		t.Errorf("login sent %s (%s)", login.body, login.header.Get("Content-Type"))
	}
	if add.method != http.MethodPut || add.path != "/cart/a%20b%2Fc" || add.query != "note=x%26y%3Dz&it=7" {
		t.Errorf("add went to %s %s?%s", add.method, add.path, add.query)
	}
	if a, c, h := add.header.Get("Authorization"), add.header.Get("X-Count"), add.host; a != "Bearer t-1" || c != "2" || h != "api.example" {
		t.Errorf("add headers Authorization %q, X-Count %q, Host %q", a, c, h)
	}
	if want := `{"sku":"a b/c","qty":2,"label":"qty 2","tags":["t-1",1]}`; add.body != want {
		t.Errorf("add body %s, want %s", add.body, want)
	}
	if v := rec.values(MetricJourneySuccess, load.Tags{Journey: "buy"}); !equalValues(v, []float64{1}) {
		t.Errorf("journey_success %v, want [1]", v)
	}
	if v := rec.values(load.MetricChecks, load.Tags{Journey: "buy", Endpoint: "add", Name: "add"}); !equalValues(v, []float64{1, 1}) {
		t.Errorf("checks of add %v, want [1 1]", v)
	}
	if v := rec.values(load.MetricReqs, load.Tags{Journey: "buy", Endpoint: "add", Name: "add", Status: "2xx"}); !equalValues(v, []float64{1}) {
		t.Errorf("http_reqs of add %v, want [1]", v)
	}
}

// TestAnswerNames: checks see status, headers, text, body (nil when not
// JSON), duration_ms, vu and iter; tags.endpoint renames the endpoint.
func TestAnswerNames(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Twice", "first")
		w.Header().Add("X-Twice", "second")
		io.WriteString(w, "hello <world>")
	})
	const src = `journeys:
  - name: j
    steps:
      - name: s
        url: /
        tags: {endpoint: root}
        checks:
          - status == 200
          - headers["Content-Type"] == "text/plain" && !("X_Twice" in headers) && headers["X-Twice"] == "first"
          - text contains "hello"
          - body == nil
          - duration_ms >= 0
          - vu == 1 && iter == 3
          - vars == {}
`
	u, rec := newUser(t, src, srv.URL)
	u.Iterate(context.Background(), load.Iteration{N: 3})
	if v := rec.values(load.MetricChecks, load.Tags{Journey: "j", Endpoint: "root", Name: "s"}); !equalValues(v, []float64{1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("checks %v, want seven 1s", v)
	}
}

// TestChecks: each check records one sample; a failed one is counted by
// its number and ends the iteration unless continue_on_failure; a check
// that cannot be evaluated fails; the first failure of a kind is logged.
func TestChecks(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"items": [{"id": 1}]}`)
	})
	tests := []struct {
		name        string
		checks      string
		cont        bool
		wantChecks  []float64 // of step one
		wantFailed  string    // code counted, if any
		wantSecond  bool      // the second step ran
		wantSuccess float64
	}{
		{name: "all hold", checks: "[status == 200, len(body.items) == 1]", wantChecks: []float64{1, 1}, wantSecond: true, wantSuccess: 1},
		{name: "second fails", checks: "[status == 200, len(body.items) > 5]", wantChecks: []float64{1, 0}, wantFailed: "check 2", wantSuccess: 0},
		{name: "fails and continues", checks: "[status == 201]", cont: true, wantChecks: []float64{0}, wantFailed: "check 1", wantSecond: true, wantSuccess: 0},
		{name: "cannot be evaluated", checks: "[body.missing.deeper == 1]", wantChecks: []float64{0}, wantFailed: "check 1", wantSuccess: 0},
		{name: "every check runs", checks: "[status == 500, status == 200]", wantChecks: []float64{0, 1}, wantFailed: "check 1", wantSuccess: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "journeys:\n  - name: j\n    steps:\n      - name: one\n        url: /one\n        continue_on_failure: " +
				map[bool]string{true: "true", false: "false"}[tt.cont] + "\n        checks: " + tt.checks + "\n      - {name: two, url: /two}\n"
			var logs bytes.Buffer
			u, rec := newUser(t, src, srv.URL, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			for i := range 2 {
				u.Iterate(context.Background(), load.Iteration{N: int64(i)})
			}
			one := load.Tags{Journey: "j", Endpoint: "one", Name: "one"}
			want := append(append([]float64{}, tt.wantChecks...), tt.wantChecks...) // two iterations
			if v := rec.values(load.MetricChecks, one); !equalValues(v, want) {
				t.Errorf("checks %v, want %v", v, want)
			}
			if got := len(rec.values(load.MetricReqs, load.Tags{Journey: "j", Endpoint: "two", Name: "two", Status: "2xx"})) > 0; got != tt.wantSecond {
				t.Errorf("second step ran: %v, want %v", got, tt.wantSecond)
			}
			if v := rec.values(MetricJourneySuccess, load.Tags{Journey: "j"}); !equalValues(v, []float64{tt.wantSuccess, tt.wantSuccess}) {
				t.Errorf("journey_success %v, want %v twice", v, tt.wantSuccess)
			}
			if tt.wantFailed == "" {
				if n := rec.count(MetricCheckFailures); n != 0 || logs.Len() != 0 {
					t.Errorf("%d failures counted, log %q", n, logs.String())
				}
				return
			}
			failed := one
			failed.Code = tt.wantFailed
			if v := rec.values(MetricCheckFailures, failed); !equalValues(v, []float64{1, 1}) {
				t.Errorf("check_failures{code: %s} %v, want [1 1]", tt.wantFailed, v)
			}
			if n := strings.Count(logs.String(), "journey step failed"); n != 1 {
				t.Errorf("logged %d times, want once:\n%s", n, logs.String())
			}
			if !strings.Contains(logs.String(), "file=t.yaml:7") || !strings.Contains(logs.String(), "failure=\""+tt.wantFailed+"\"") {
				t.Errorf("log does not say where and what:\n%s", logs.String())
			}
		})
	}
}

// TestCaptureFails: a capture that cannot be evaluated ends the iteration
// and counts as a failed check, logged with its line.
func TestCaptureFails(t *testing.T) {
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"items": []}`)
	})
	const src = `journeys:
  - name: j
    steps:
      - name: list
        url: /items
        captures:
          item: body.items[0].id
      - {name: get, url: "/items/${item}"}
`
	var logs bytes.Buffer
	u, rec := newUser(t, src, srv.URL, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	u.Iterate(context.Background(), load.Iteration{})
	tags := load.Tags{Journey: "j", Endpoint: "list", Name: "list"}
	if v := rec.values(load.MetricChecks, tags); !equalValues(v, []float64{0}) {
		t.Errorf("checks %v, want [0]", v)
	}
	tags.Code = "capture item"
	if v := rec.values(MetricCheckFailures, tags); !equalValues(v, []float64{1}) {
		t.Errorf("check_failures %v, want [1]", v)
	}
	if n := len(requests()); n != 1 {
		t.Errorf("%d requests, want 1: the iteration ends", n)
	}
	if v := rec.values(MetricJourneySuccess, load.Tags{Journey: "j"}); !equalValues(v, []float64{0}) {
		t.Errorf("journey_success %v, want [0]", v)
	}
	for _, want := range []string{"file=t.yaml:7", `failure="capture item"`, `expression=body.items[0].id`, "index out of range"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

// TestRequestFails: a request whose interpolation fails is not sent; the
// step fails with CodeRequest.
func TestRequestFails(t *testing.T) {
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{}`)
	})
	const src = `journeys:
  - name: j
    steps:
      - name: a
        url: /a
        captures: {id: body.id}
      - {name: b, url: "/b/${id}"}
`
	u, rec := newUser(t, src, srv.URL)
	u.Iterate(context.Background(), load.Iteration{})
	if n := len(requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	b := load.Tags{Journey: "j", Endpoint: "b", Name: "b"}
	if v := rec.values(load.MetricChecks, b); !equalValues(v, []float64{0}) {
		t.Errorf("checks %v, want [0]", v)
	}
	b.Code = CodeRequest
	if v := rec.values(MetricCheckFailures, b); !equalValues(v, []float64{1}) {
		t.Errorf("check_failures %v, want [1]", v)
	}
}

// TestWeights: over 2,000 iterations of four users at once, each journey
// gets its share of the weights. The users share the compiled expressions.
func TestWeights(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f := parseOK(t, `journeys:
  - {name: a, weight: 1, steps: [{name: s, url: /, checks: [status == 204], captures: {x: status}}, {name: t, url: '/${x}'}]}
  - {name: b, weight: 3, steps: [{name: s, url: /}]}
  - {name: c, weight: 6, steps: [{name: s, url: /}]}
`)
	s, err := f.Script(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	const users, each = 4, 500
	var wg sync.WaitGroup
	for id := 1; id <= users; id++ {
		vu := load.NewVU(id, load.VUConfig{Recorder: rec, Seed: 42})
		t.Cleanup(vu.Close)
		u := s.NewUser(vu)
		wg.Go(func() {
			for i := range each {
				u.Iterate(context.Background(), load.Iteration{N: int64(id*each + i)})
			}
		})
	}
	wg.Wait()
	for name, share := range map[string]float64{"a": 0.1, "b": 0.3, "c": 0.6} {
		got := float64(len(rec.values(MetricJourneySuccess, load.Tags{Journey: name}))) / (users * each)
		if got < share-0.03 || got > share+0.03 {
			t.Errorf("journey %s: share %.3f, want %.1f ± 0.03", name, got, share)
		}
	}
}

// TestPause: a think time is drawn from 0 to think, spread over the range.
func TestPause(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const think = 100 * time.Millisecond
	var sum, lo, hi time.Duration = 0, think, 0
	const n = 10_000
	for range n {
		d := pause(r, think)
		if d < 0 || d > think {
			t.Fatalf("pause %s outside [0, %s]", d, think)
		}
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	if mean := sum / n; mean < 45*time.Millisecond || mean > 55*time.Millisecond || lo > 5*time.Millisecond || hi < 95*time.Millisecond {
		t.Errorf("pauses from %s to %s, mean %s: not spread over [0, %s]", lo, hi, mean, think)
	}
	if d := pause(r, 0); d != 0 {
		t.Errorf("pause with no think: %s", d)
	}
}

// TestThinkEndsWithContext: a user pausing between steps stops when ctx
// ends, records no journey_success, and never sends the next step; no
// pause follows the last step.
func TestThinkEndsWithContext(t *testing.T) {
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f := parseOK(t, `think: 1h
journeys:
  - name: two
    steps:
      - {name: one, url: /one}
      - {name: two, url: /two}
  - name: single
    steps:
      - {name: only, url: /only}
`)
	rec := &recorder{added: make(chan sample, 100)}
	vu := load.NewVU(1, load.VUConfig{Recorder: rec, Seed: 1})
	t.Cleanup(vu.Close)
	// journey runs the journey j of f alone, with ctx; done closes when
	// Iterate returns.
	journey := func(ctx context.Context, j *Journey) (done chan struct{}) {
		s, err := (&File{Name: f.Name, Journeys: []*Journey{j}}).Script(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		u := s.NewUser(vu)
		done = make(chan struct{})
		go func() {
			u.Iterate(ctx, load.Iteration{})
			close(done)
		}()
		return done
	}

	select {
	case <-journey(context.Background(), f.Journeys[1]):
	case <-time.After(10 * time.Second):
		t.Fatal("a one-step journey paused after its last step")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := journey(ctx, f.Journeys[0])
	for smp := range rec.added { // the first step has its answer: the pause begins
		if smp.metric == load.MetricReqs && smp.tags.Name == "one" {
			break
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Iterate did not return when ctx ended during a pause")
	}
	for _, r := range requests() {
		if r.path == "/two" {
			t.Error("the step after the pause was sent")
		}
	}
	if v := rec.values(MetricJourneySuccess, load.Tags{Journey: "two"}); len(v) != 0 {
		t.Errorf("journey_success %v recorded for an interrupted iteration", v)
	}
}

// TestStepTimeout: a step's timeout cuts its request short; it counts as
// no answer.
func TestStepTimeout(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answer never: until the client gives up
	})
	const src = `journeys:
  - name: j
    steps:
      - {name: slow, url: /, timeout: 50ms, checks: [status == 200]}
`
	u, rec := newUser(t, src, srv.URL) // the VU's own timeout is 5s
	start := time.Now()
	u.Iterate(context.Background(), load.Iteration{})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the step took %s: its 50ms timeout was not applied", d)
	}
	tags := load.Tags{Journey: "j", Endpoint: "slow", Name: "slow", Status: "0"}
	if v := rec.values(load.MetricReqFailed, tags); !equalValues(v, []float64{1}) {
		t.Errorf("http_req_failed{status: 0} %v, want [1]", v)
	}
	tags.Status = ""
	if v := rec.values(load.MetricChecks, tags); !equalValues(v, []float64{0, 0}) {
		t.Errorf("checks %v, want [0 0]: the check and the missing answer", v)
	}
	tags.Code = CodeNoAnswer
	if v := rec.values(MetricCheckFailures, tags); !equalValues(v, []float64{1}) {
		t.Errorf("check_failures{code: no answer} %v, want [1]", v)
	}
}

// TestNoAnswer: a target that does not answer fails the step, without a
// panic, whether it has checks or not.
func TestNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more: connections are refused
	const src = `journeys:
  - name: j
    steps:
      - {name: a, url: /a, checks: ['status == 200', 'body.x == 1'], continue_on_failure: true}
      - {name: b, url: /b}
`
	u, rec := newUser(t, src, target)
	u.Iterate(context.Background(), load.Iteration{})
	if v := rec.values(load.MetricChecks, load.Tags{Journey: "j", Endpoint: "a", Name: "a"}); !equalValues(v, []float64{0, 0, 0}) {
		t.Errorf("checks of a %v, want [0 0 0]", v)
	}
	if v := rec.values(load.MetricChecks, load.Tags{Journey: "j", Endpoint: "b", Name: "b"}); !equalValues(v, []float64{0}) {
		t.Errorf("checks of b (none written) %v, want [0]", v)
	}
	if v := rec.values(MetricJourneySuccess, load.Tags{Journey: "j"}); !equalValues(v, []float64{0}) {
		t.Errorf("journey_success %v, want [0]", v)
	}
}

func TestScriptTarget(t *testing.T) {
	f := parseOK(t, "journeys: [{name: j, steps: [{name: s, url: '/x?a=1'}]}]\n")
	for _, bad := range []string{"", "127.0.0.1:80", "ftp://h/", "http://", "/path", "http://h/?q=1", "http://h/#f", "http://h\x7f/"} {
		if _, err := f.Script(bad); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) {})
	u, _ := newUser(t, "journeys: [{name: j, steps: [{name: s, url: '/x?a=1'}]}]\n", srv.URL+"/base/")
	u.Iterate(context.Background(), load.Iteration{})
	if got := requests(); len(got) != 1 || got[0].path != "/base/x" || got[0].query != "a=1" {
		t.Errorf("requests %+v, want /base/x?a=1", got)
	}
}

var _ load.Recorder = (*recorder)(nil)
