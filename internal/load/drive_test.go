package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// checkGoroutines fails tb when, at its end, goroutines it started are
// still there: it polls their number until it is back to what it was, for
// up to 5 s (idle connections and servers take a moment to wind down).
// Call it first, so that its check runs after every other cleanup.
func checkGoroutines(tb testing.TB) {
	tb.Helper()
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				tb.Errorf("%d goroutines left, %d before the test:\n%s", runtime.NumGoroutine(), before, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// testTarget serves "ok" on loopback after delay (or when the request is
// cancelled), until tb ends.
func testTarget(tb testing.TB, delay time.Duration) string {
	tb.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start() // listening already: no wait for readiness
	tb.Cleanup(srv.Close)
	return srv.URL
}

// get requests url as vu, tagged.
func get(ctx context.Context, vu *VU, url string, tags Tags) Response {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Response{Err: err}
	}
	return vu.Do(req, tags)
}

// scriptFunc is a Script whose users each run the function as their
// iteration.
type scriptFunc func(ctx context.Context, vu *VU, it Iteration)

func (f scriptFunc) NewUser(vu *VU) User { return funcUser{vu: vu, f: f} }

type funcUser struct {
	vu *VU
	f  scriptFunc
}

func (u funcUser) Iterate(ctx context.Context, it Iteration) { u.f(ctx, u.vu, it) }

// run is what a test script saw of one iteration.
type run struct {
	it         Iteration
	vu         int
	start, end time.Time
	err        error // ctx's at the end
}

// runLog collects the runs of a test script.
type runLog struct {
	mu   sync.Mutex
	runs []run
}

// script returns a Script that logs each iteration around body.
func (l *runLog) script(body func(ctx context.Context, vu *VU, it Iteration)) scriptFunc {
	return func(ctx context.Context, vu *VU, it Iteration) {
		r := run{it: it, vu: vu.ID, start: time.Now()}
		if body != nil {
			body(ctx, vu, it)
		}
		r.end, r.err = time.Now(), ctx.Err()
		l.mu.Lock()
		l.runs = append(l.runs, r)
		l.mu.Unlock()
	}
}

// sorted returns the runs by iteration number.
func (l *runLog) sorted() []run {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.runs)
	slices.SortFunc(out, func(a, b run) int { return int(a.it.N - b.it.N) })
	return out
}

// drive runs Drive into a SeriesRecorder and returns the points written.
func drive(tb testing.TB, ctx context.Context, plan Plan, script Script) (Summary, []series.Point, error) {
	tb.Helper()
	var buf bytes.Buffer
	rec := NewSeriesRecorder(&buf)
	sum, err := Drive(ctx, plan, script, rec, nil)
	if cerr := rec.Close(); cerr != nil {
		tb.Fatalf("close recorder: %v", cerr)
	}
	return sum, decodeSeries(tb, buf.Bytes()), err
}

// metricSum adds up a counter's points.
func metricSum(pts []series.Point, metric string) int64 {
	var n float64
	for _, p := range pts {
		if p.Metric == metric {
			n += p.Sum
		}
	}
	return int64(n)
}

// checkSummary checks the identities every Summary keeps.
func checkSummary(tb testing.TB, s Summary) {
	tb.Helper()
	if s.Planned != s.Started+s.Dropped || s.Started != s.Completed+s.Interrupted {
		tb.Errorf("summary %+v: want Planned = Started + Dropped and Started = Completed + Interrupted", s)
	}
}

// checkOnSchedule checks that every run started at its planned time,
// within the scheduler's wake-up delay, whatever the other iterations were
// doing: p50 within 20 ms, the latest within 250 ms (the race detector, two
// cores, other tests running), less than the slow target's 300 ms, which
// an iteration waiting for a VU would add.
func checkOnSchedule(tb testing.TB, runs []run) {
	tb.Helper()
	late := make([]time.Duration, len(runs))
	for i, r := range runs {
		late[i] = r.start.Sub(r.it.Planned)
		if late[i] < 0 {
			tb.Errorf("iteration %d started %v before it was due", r.it.N, -late[i])
		}
	}
	slices.Sort(late)
	if p50, worst := late[len(late)/2], late[len(late)-1]; p50 > 20*time.Millisecond || worst > 250*time.Millisecond {
		tb.Errorf("iterations started late by %v at p50 and %v at worst: want them on schedule", p50, worst)
	}
}

// TestDriveArrivals runs constant arrival rates against a fast and a slow
// target: iterations start on schedule whatever the response times; VUs
// are added when none is free; beyond MaxVUs an iteration is dropped and
// counted, exactly Planned - Started.
func TestDriveArrivals(t *testing.T) {
	tests := []struct {
		name      string
		delay     time.Duration
		plan      Plan
		wantVUs   func(n int) bool
		wantDrops bool
	}{
		{"fast target", 0, Plan{Rate: 50, Duration: 2 * time.Second, PreAllocatedVUs: 5, MaxVUs: 20},
			func(n int) bool { return n >= 1 && n <= 20 }, false},
		{"slow target: VUs grow", 300 * time.Millisecond, Plan{Rate: 40, Duration: time.Second, PreAllocatedVUs: 2, MaxVUs: 40},
			func(n int) bool { return n > 2 && n < 40 }, false},
		{"slow target beyond MaxVUs: dropped", 300 * time.Millisecond, Plan{Rate: 40, Duration: time.Second, PreAllocatedVUs: 2, MaxVUs: 6},
			func(n int) bool { return n == 6 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			url := testTarget(t, tt.delay)
			var log runLog
			script := log.script(func(ctx context.Context, vu *VU, it Iteration) {
				if r := get(ctx, vu, url, Tags{Endpoint: "ping"}); r.Status != http.StatusOK {
					t.Errorf("iteration %d: status %d, error %v", it.N, r.Status, r.Err)
				}
			})
			sum, pts, err := drive(t, context.Background(), tt.plan, script)
			if err != nil {
				t.Fatalf("Drive: %v", err)
			}
			checkSummary(t, sum)
			if want := tt.plan.Iterations(); sum.Planned != want {
				t.Errorf("planned %d, want %d", sum.Planned, want)
			}
			if (sum.Dropped > 0) != tt.wantDrops || sum.Interrupted != 0 {
				t.Errorf("summary %+v: want dropped iterations %v, none interrupted", sum, tt.wantDrops)
			}
			if !tt.wantVUs(sum.VUs) {
				t.Errorf("%d VUs (%d pre-allocated, at most %d)", sum.VUs, tt.plan.PreAllocatedVUs, tt.plan.MaxVUs)
			}
			if got := metricSum(pts, MetricDropped); got != sum.Dropped {
				t.Errorf("%d dropped_iterations in the series, want %d", got, sum.Dropped)
			}
			if got := metricSum(pts, MetricIterations); got != sum.Completed {
				t.Errorf("%d iterations in the series, want %d", got, sum.Completed)
			}
			if got := metricSum(pts, MetricReqs); got != sum.Started {
				t.Errorf("%d http_reqs in the series, want %d", got, sum.Started)
			}

			runs := log.sorted()
			if int64(len(runs)) != sum.Started {
				t.Fatalf("%d runs, want %d", len(runs), sum.Started)
			}
			sched := newSchedule(tt.plan)
			due := map[time.Duration]bool{}
			for i := range sched.total {
				due[sched.at(i)] = true
			}
			for i, r := range runs {
				if r.it.N != int64(i) {
					t.Fatalf("iteration numbers %d at %d: want 0, 1, 2… unique", r.it.N, i)
				}
				if off := r.it.Planned.Sub(sum.Start); !due[off] {
					t.Errorf("iteration %d planned at %v: not a time of the schedule", r.it.N, off)
				}
			}
			checkOnSchedule(t, runs)
			if !tt.wantDrops {
				// No drift: the schedule's spacing exactly, and the same
				// spacing of the actual starts on average.
				step := time.Duration(float64(time.Second) / tt.plan.Rate)
				for i, r := range runs {
					if want := sum.Start.Add(time.Duration(i) * step); !r.it.Planned.Equal(want) {
						t.Fatalf("iteration %d planned at %v, want %v", i, r.it.Planned.Sub(sum.Start), want.Sub(sum.Start))
					}
				}
				mean := runs[len(runs)-1].start.Sub(runs[0].start) / time.Duration(len(runs)-1)
				if (mean - step).Abs() > 2*time.Millisecond {
					t.Errorf("iterations started %v apart on average, want %v", mean, step)
				}
			}
		})
	}
}

// TestDriveStages runs a ramping arrival rate up, flat and down: each
// stage has its number of iterations, started on schedule.
func TestDriveStages(t *testing.T) {
	checkGoroutines(t)
	plan := Plan{
		Stages:          []Stage{{Target: 40, Duration: time.Second}, {Target: 40, Duration: time.Second}, {Target: 0, Duration: time.Second}},
		PreAllocatedVUs: 4, MaxVUs: 20,
	}
	var log runLog
	sum, _, err := drive(t, context.Background(), plan, log.script(nil))
	if err != nil {
		t.Fatalf("Drive: %v", err)
	}
	checkSummary(t, sum)
	if sum.Planned != 80 || sum.Completed != 80 {
		t.Fatalf("summary %+v: want 80 planned and completed (20 + 40 + 20)", sum)
	}
	runs := log.sorted()
	checkOnSchedule(t, runs)
	var planned, started [3]int
	for _, r := range runs {
		planned[min(int(r.it.Planned.Sub(sum.Start)/time.Second), 2)]++
		started[min(int(r.start.Sub(sum.Start)/time.Second), 2)]++
	}
	if planned != [3]int{20, 40, 20} {
		t.Errorf("planned per stage %v, want [20 40 20]", planned)
	}
	for i, want := range []int{20, 40, 20} {
		if d := started[i] - want; d < -2 || d > 2 {
			t.Errorf("started per stage %v, want [20 40 20] within 2", started)
			break
		}
	}
	// Free VUs take turns: each of the pool's shoppers shops.
	used := map[int]int{}
	for _, r := range runs {
		used[r.vu]++
	}
	for id := 1; id <= plan.PreAllocatedVUs; id++ {
		if used[id] < 10 {
			t.Errorf("VU %d ran %d iterations of 80, want the pool's VUs to take turns (%v)", id, used[id], used)
		}
	}
	// In the flat stage iterations are due every 25 ms.
	for _, r := range runs[20:60] {
		want := sum.Start.Add(time.Second + time.Duration(r.it.N-20)*25*time.Millisecond)
		if d := r.it.Planned.Sub(want).Abs(); d > time.Microsecond {
			t.Errorf("iteration %d planned at %v, want %v", r.it.N, r.it.Planned.Sub(sum.Start), want.Sub(sum.Start))
		}
	}
}

// TestDriveGracefulStop has an iteration outlive the schedule by less than
// the graceful stop (it completes) and one by more (it is interrupted when
// the grace runs out).
func TestDriveGracefulStop(t *testing.T) {
	tests := []struct {
		name        string
		grace       time.Duration
		completed   int64
		interrupted int64
		elapsed     time.Duration // at least; at most a second more
	}{
		{"grace outlasts the slow iteration", 400 * time.Millisecond, 4, 1, 900 * time.Millisecond},
		{"no grace", -1, 3, 2, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			// 5 iterations due at 0, 100… 400 ms; the schedule is over at 500 ms.
			plan := Plan{Rate: 10, Duration: 500 * time.Millisecond, PreAllocatedVUs: 5, GracefulStop: tt.grace}
			var log runLog
			script := log.script(func(ctx context.Context, _ *VU, it Iteration) {
				switch it.N {
				case 0:
					<-ctx.Done() // never ends by itself
				case 4:
					Sleep(ctx, 300*time.Millisecond) // ends at 700 ms
				}
			})
			sum, pts, err := drive(t, context.Background(), plan, script)
			if err != nil {
				t.Fatalf("Drive: %v", err)
			}
			checkSummary(t, sum)
			if sum.Completed != tt.completed || sum.Interrupted != tt.interrupted {
				t.Errorf("summary %+v: want %d completed, %d interrupted", sum, tt.completed, tt.interrupted)
			}
			if sum.Elapsed < tt.elapsed || sum.Elapsed > tt.elapsed+time.Second {
				t.Errorf("Drive took %v, want %v (+1 s at most)", sum.Elapsed, tt.elapsed)
			}
			if got := metricSum(pts, MetricIterations); got != tt.completed {
				t.Errorf("%d iterations in the series, want %d (interrupted ones are not counted)", got, tt.completed)
			}
			runs := log.sorted()
			if r := runs[0]; r.err == nil || r.end.Sub(sum.Start) < tt.elapsed {
				t.Errorf("iteration 0 ended at %v with %v: want its context cancelled at %v", r.end.Sub(sum.Start), r.err, tt.elapsed)
			}
		})
	}
}

// TestDriveCancel stops runs by cancelling ctx, mid-run and before time
// zero: Drive returns at once with ctx's error, every iteration in flight
// interrupted, and no goroutine left.
func TestDriveCancel(t *testing.T) {
	t.Run("mid-run", func(t *testing.T) {
		checkGoroutines(t)
		url := testTarget(t, time.Hour) // answers only when cancelled
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		inFlight := make(chan struct{}, 100)
		var log runLog
		script := log.script(func(ctx context.Context, vu *VU, _ Iteration) {
			inFlight <- struct{}{}
			get(ctx, vu, url, Tags{})
		})
		plan := Plan{Rate: 100, Duration: 10 * time.Second, PreAllocatedVUs: 5, MaxVUs: 20}
		var cancelled time.Time
		go func() {
			for range 10 {
				<-inFlight
			}
			cancelled = time.Now()
			cancel()
		}()
		sum, _, err := drive(t, ctx, plan, script)
		returned := time.Now()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Drive: %v, want %v", err, context.Canceled)
		}
		checkSummary(t, sum)
		if took := returned.Sub(cancelled); took > time.Second {
			t.Errorf("Drive returned %v after the cancel, want at once", took)
		}
		if sum.Started < 10 || sum.Completed != 0 || sum.Interrupted != sum.Started || sum.Planned >= plan.Iterations() {
			t.Errorf("summary %+v: want at least 10 started, all interrupted, the schedule cut short", sum)
		}
	})
	t.Run("before time zero", func(t *testing.T) {
		checkGoroutines(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		var log runLog
		sum, err := Drive(ctx, Plan{Rate: 10, Duration: time.Second, PreAllocatedVUs: 3}, log.script(nil), discardRecorder{},
			func(time.Time) { called = true })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Drive: %v, want %v", err, context.Canceled)
		}
		if called || !sum.Start.IsZero() || sum.Planned != 0 || sum.VUs != 3 {
			t.Errorf("onStart called %v, summary %+v: want no start, 3 VUs made", called, sum)
		}
	})
}

// partnerScript is a test Script with partners: its users do nothing, each
// partner runs work.
type partnerScript struct {
	scriptFunc
	n    int
	work func(ctx context.Context, vu *VU, i int)

	mu    sync.Mutex
	ids   []int // of the partners' VUs, by NewPartner
	works []int // i of each call of Work
}

func (s *partnerScript) Partners() int { return s.n }

func (s *partnerScript) NewPartner(vu *VU, i int) Partner {
	s.mu.Lock()
	s.ids = append(s.ids, vu.ID)
	s.mu.Unlock()
	return partnerFunc(func(ctx context.Context) {
		s.mu.Lock()
		s.works = append(s.works, i)
		s.mu.Unlock()
		s.work(ctx, vu, i)
	})
}

type partnerFunc func(ctx context.Context)

func (f partnerFunc) Work(ctx context.Context) { f(ctx) }

// TestDrivePartners checks when the partners' context ends: once the
// schedule is over and no iteration is in flight, once the graceful stop
// ran out, or once the run is stopped.
func TestDrivePartners(t *testing.T) {
	tests := []struct {
		name   string
		grace  time.Duration
		stuck  bool // iteration 0 never ends by itself
		cancel bool // cancel the run once every partner works
		err    error
		end    time.Duration // the partners' context ends after this, and by 500 ms more
	}{
		{"after the last iteration", 0, false, false, nil, 700 * time.Millisecond},
		{"graceful stop ran out", 400 * time.Millisecond, true, false, nil, 900 * time.Millisecond},
		{"run stopped", 0, false, true, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var log runLog
			const partners = 3
			var working sync.WaitGroup
			working.Add(partners)
			var mu sync.Mutex
			var began, ended []time.Time
			s := &partnerScript{
				n: partners,
				scriptFunc: log.script(func(ctx context.Context, _ *VU, it Iteration) {
					switch {
					case it.N == 0 && tt.stuck:
						<-ctx.Done()
					case it.N == 4:
						Sleep(ctx, 300*time.Millisecond) // the last one, ends at 700 ms
					}
				}),
				work: func(ctx context.Context, _ *VU, _ int) {
					mu.Lock()
					began = append(began, time.Now())
					mu.Unlock()
					working.Done()
					<-ctx.Done()
					mu.Lock()
					ended = append(ended, time.Now())
					mu.Unlock()
				},
			}
			if tt.cancel {
				go func() {
					working.Wait()
					cancel()
				}()
			}
			plan := Plan{Rate: 10, Duration: 500 * time.Millisecond, PreAllocatedVUs: 2, MaxVUs: 5, GracefulStop: tt.grace}
			sum, _, err := drive(t, ctx, plan, s)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Drive: %v, want %v", err, tt.err)
			}
			checkSummary(t, sum)
			if sum.Partners != partners || len(ended) != partners {
				t.Fatalf("summary %+v, %d partners' Work returned: want %d", sum, len(ended), partners)
			}
			slices.Sort(s.ids)
			slices.Sort(s.works)
			if !slices.Equal(s.ids, []int{6, 7, 8}) || !slices.Equal(s.works, []int{0, 1, 2}) {
				t.Errorf("partners' VU IDs %v, Work called for %v: want IDs after the pool's 1-5, Work once each", s.ids, s.works)
			}
			var lastEnd time.Time
			for _, r := range log.sorted() {
				if r.end.After(lastEnd) {
					lastEnd = r.end
				}
			}
			for i := range partners {
				if began[i].Before(sum.Start) {
					t.Errorf("a partner began %v before time zero", sum.Start.Sub(began[i]))
				}
				end := ended[i].Sub(sum.Start)
				if end < tt.end || end > tt.end+500*time.Millisecond {
					t.Errorf("a partner's context ended at %v, want %v (+500 ms at most)", end, tt.end)
				}
				if !tt.cancel && !tt.stuck && ended[i].Before(lastEnd) {
					t.Errorf("a partner's context ended %v before the last iteration", lastEnd.Sub(ended[i]))
				}
			}
			if tt.stuck && sum.Interrupted != 1 {
				t.Errorf("summary %+v: want the stuck iteration interrupted", sum)
			}
		})
	}
}

// panicScript panics in the method named.
type panicScript struct {
	in string
}

type panicUser struct{ in string }

func (s panicScript) NewUser(*VU) User {
	if s.in == "NewUser" {
		panic("no user today")
	}
	return panicUser(s)
}

func (u panicUser) Iterate(ctx context.Context, it Iteration) {
	if u.in == "Iterate" && it.N == 3 {
		panic(fmt.Errorf("iteration %d: %w", it.N, errBoom))
	}
	Sleep(ctx, 50*time.Millisecond)
}

func (s panicScript) Partners() int { return 2 }

func (s panicScript) NewPartner(*VU, int) Partner {
	if s.in == "NewPartner" {
		panic("no partner today")
	}
	return partnerFunc(func(ctx context.Context) {
		if s.in == "Work" {
			panic("no work today")
		}
		<-ctx.Done()
	})
}

var errBoom = errors.New("boom")

// TestDrivePanics checks that a panic in the script's code stops the run
// and comes back as a *PanicError, with nothing left running.
func TestDrivePanics(t *testing.T) {
	for _, in := range []string{"NewUser", "Iterate", "NewPartner", "Work"} {
		t.Run(in, func(t *testing.T) {
			checkGoroutines(t)
			plan := Plan{Rate: 20, Duration: 10 * time.Second, PreAllocatedVUs: 2, MaxVUs: 10}
			began := time.Now()
			_, err := Drive(context.Background(), plan, panicScript{in: in}, discardRecorder{}, nil)
			var pe *PanicError
			if !errors.As(err, &pe) || pe.In != in || len(pe.Stack) == 0 {
				t.Fatalf("Drive: %v, want a *PanicError in %s with its stack", err, in)
			}
			if in == "Iterate" && !errors.Is(err, errBoom) {
				t.Errorf("Drive: %v, want it to wrap the error the script panicked with", err)
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("Drive took %v after a panic, want it to stop at once", took)
			}
		})
	}
}

type nilUserScript struct{}

func (nilUserScript) NewUser(*VU) User { return nil }

// TestDriveNilUser checks that a script making no user stops the run with
// an error rather than a panic.
func TestDriveNilUser(t *testing.T) {
	checkGoroutines(t)
	plan := Plan{Rate: 10, Duration: time.Second, PreAllocatedVUs: 2}
	sum, err := Drive(context.Background(), plan, nilUserScript{}, discardRecorder{}, nil)
	if err == nil || !strings.Contains(err.Error(), "NewUser returned no user") || !sum.Start.IsZero() {
		t.Errorf("Drive: %v, summary %+v: want the run refused before time zero, no user", err, sum)
	}
}

// TestDriveRefuses checks what Drive refuses before anything starts.
func TestDriveRefuses(t *testing.T) {
	checkGoroutines(t)
	ok := Plan{Rate: 10, Duration: time.Second, PreAllocatedVUs: 1}
	var log runLog
	tests := []struct {
		name   string
		plan   Plan
		script Script
		rec    Recorder
		want   string
	}{
		{"invalid plan", Plan{Rate: -1, Duration: time.Second}, log.script(nil), discardRecorder{}, "check plan: rate -1/s"},
		{"no script", ok, nil, discardRecorder{}, "check script: no script"},
		{"no recorder", ok, log.script(nil), nil, "check recorder: no recorder"},
		{"negative partners", ok, &partnerScript{scriptFunc: log.script(nil), n: -1}, discardRecorder{}, "check script: -1 partners"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Drive(context.Background(), tt.plan, tt.script, tt.rec, func(time.Time) { t.Error("onStart called") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Drive: %v, want %q", err, tt.want)
			}
		})
	}
	if len(log.runs) != 0 {
		t.Errorf("%d iterations ran", len(log.runs))
	}
}

func TestVUQueue(t *testing.T) {
	var q vuQueue
	vus := make([]*poolVU, 40)
	for i := range vus {
		vus[i] = &poolVU{id: i + 1}
	}
	var order []int
	// Push 3, pop 2, many times over: the ring wraps and grows, and VUs
	// come out in the order they went in.
	next := 0
	for next < len(vus) {
		for range 3 {
			if next < len(vus) {
				q.push(vus[next])
				next++
			}
		}
		for range 2 {
			order = append(order, q.pop().id)
		}
	}
	for v := q.pop(); v != nil; v = q.pop() {
		order = append(order, v.id)
	}
	for i, id := range order {
		if id != i+1 {
			t.Fatalf("VUs out of the queue in order %v, want 1…40", order)
		}
	}
	if len(order) != 40 || len(q.ring) > 32 {
		t.Errorf("%d VUs out, ring of %d: want 40 out of a ring of at most 32", len(order), len(q.ring))
	}
}

// discardRecorder drops every sample.
type discardRecorder struct{}

func (discardRecorder) Add(time.Time, string, string, Tags, float64) {}

// busyCPU returns the CPU time the Go runtime has been busy for so far,
// all threads together: its own estimate, total less idle, which it
// updates at the end of a GC cycle (hence the GC). It counts a thread the
// OS has descheduled as busy, so on a loaded machine it overestimates.
func busyCPU() time.Duration {
	runtime.GC()
	s := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration((s[0].Value.Float64() - s[1].Value.Float64()) * float64(time.Second))
}

// BenchmarkDriveOverhead measures what Drive itself costs per iteration:
// b.N iterations of a script that does nothing at 100,000 per second,
// reported as CPU time per iteration (scheduler, hand-over to a VU, the
// iterations sample, the recorder writing seconds out) and iterations
// dropped. The scheduler wakes about every millisecond and hands out what
// came due meanwhile at once, so the pool must hold about a millisecond's
// iterations, however short they are.
func BenchmarkDriveOverhead(b *testing.B) {
	const rate = 100_000
	plan := Plan{Rate: rate, Duration: max(time.Duration(b.N)*time.Second/rate, time.Millisecond), PreAllocatedVUs: 256}
	script := scriptFunc(func(context.Context, *VU, Iteration) {})
	rec := NewSeriesRecorder(discard{})
	rec.Start()
	b.ReportAllocs()
	cpu := busyCPU()
	b.ResetTimer()
	sum, err := Drive(context.Background(), plan, script, rec, nil)
	b.StopTimer()
	cpu = busyCPU() - cpu
	if err != nil {
		b.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sum.Planned), "cpu-ns/iteration")
	b.ReportMetric(float64(sum.Dropped)/float64(sum.Planned), "dropped/iteration")
}

// BenchmarkDriveVsWrk measures the requests per second Drive sustains
// against a trivial loopback endpoint with 50 VUs (an arrival rate above
// what they can do: the excess is dropped), and wrk's with 50 connections
// against the same endpoint, in turn, each round; it reports the means
// over the rounds (-benchtime 3x for three). Without wrk (`make bench`
// installs it) it reports Drive's figure alone.
func BenchmarkDriveVsWrk(b *testing.B) {
	const (
		vus      = 50
		duration = 3 * time.Second
	)
	url := testTarget(b, 0)
	wrk, _ := exec.LookPath("wrk")
	var driveRPS, wrkRPS float64
	rounds := 0
	for b.Loop() {
		rounds++
		if wrk != "" {
			out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(vus), "-d"+duration.String(), url).CombinedOutput()
			if err != nil {
				b.Fatalf("wrk: %v\n%s", err, out)
			}
			_, rest, ok := strings.Cut(string(out), "Requests/sec:")
			if !ok {
				b.Fatalf("no Requests/sec in wrk's output:\n%s", out)
			}
			rps, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				b.Fatalf("wrk's Requests/sec: %v", err)
			}
			wrkRPS += rps
		}
		plan := Plan{Rate: 100_000, Duration: duration, PreAllocatedVUs: vus}
		script := scriptFunc(func(ctx context.Context, vu *VU, _ Iteration) {
			get(ctx, vu, url, Tags{Endpoint: "ping"})
		})
		rec := NewSeriesRecorder(discard{})
		rec.Start()
		sum, err := Drive(context.Background(), plan, script, rec, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		driveRPS += float64(sum.Completed) / sum.Elapsed.Seconds()
	}
	b.ReportMetric(driveRPS/float64(rounds), "drive-req/s")
	if wrkRPS > 0 {
		b.ReportMetric(wrkRPS/float64(rounds), "wrk-req/s")
		b.ReportMetric(100*driveRPS/wrkRPS, "drive/wrk-%")
	}
}

// BenchmarkDriveMemoryPerVU measures the memory of each virtual user busy
// with a request in flight (keep-alive connection, buffers, goroutines):
// the Go heap and stacks at the peak of a run that keeps 400 VUs busy,
// less before it, per VU. The target runs in the same process, so its side
// of each connection is counted too: an upper bound.
func BenchmarkDriveMemoryPerVU(b *testing.B) {
	const vus = 400
	url := testTarget(b, 400*time.Millisecond)
	inUse := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	for b.Loop() {
		runtime.GC()
		before := inUse()
		var peak atomic.Uint64
		busy := make(chan struct{}, vus)
		done := make(chan struct{})
		go func() { // sample once all VUs are busy
			defer close(done)
			for range vus {
				<-busy
			}
			peak.Store(inUse())
		}()
		script := scriptFunc(func(ctx context.Context, vu *VU, it Iteration) {
			if it.N < vus {
				busy <- struct{}{}
			}
			get(ctx, vu, url, Tags{})
		})
		// Every VU gets an iteration in the first 200 ms and holds it 400 ms.
		plan := Plan{Rate: 2 * vus, Duration: 500 * time.Millisecond, PreAllocatedVUs: vus}
		sum, err := Drive(context.Background(), plan, script, discardRecorder{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		<-done
		b.ReportMetric(float64(peak.Load()-before)/float64(sum.VUs)/(1<<20), "MB/VU")
	}
}
