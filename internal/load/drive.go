// Package load is gameday's load engine: open-model arrival rates
// (Drive), virtual users that each keep their own HTTP client and state
// (VU, Script, User), and the per-second series they record
// (SeriesRecorder), which the judge reads.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// DefaultGracefulStop is how long Drive lets iterations in flight finish
// after the schedule is over when Plan.GracefulStop is 0.
const DefaultGracefulStop = 15 * time.Second

// Stage is one step of a ramping arrival rate: the rate goes linearly from
// where the previous stage left it (or Plan.StartRate) to Target over
// Duration. A stage of Duration 0 sets the rate at once.
type Stage struct {
	Target   float64 // iterations per second at the end of the stage
	Duration time.Duration
}

// Plan is an open-model load: when iterations start, and the virtual users
// that run them. Iterations start on schedule whatever the response times;
// one that finds no free virtual user when it is due, and no room for one
// more, is dropped and counted, never delayed.
//
// A constant arrival rate sets Rate and Duration; a ramping one sets
// StartRate and Stages (and leaves Rate and Duration 0).
type Plan struct {
	Rate      float64       // constant arrival rate: iterations per second
	Duration  time.Duration // of the constant arrival rate
	StartRate float64       // ramping arrival rate: iterations per second at time zero
	Stages    []Stage       // ramping arrival rate: its steps, in order

	PreAllocatedVUs int // virtual users made ready before time zero
	MaxVUs          int // most virtual users for the arrivals; 0: PreAllocatedVUs

	// GracefulStop is how long iterations in flight when the schedule is
	// over may take to finish before their context is cancelled. 0 means
	// DefaultGracefulStop; a negative value cancels them at once.
	GracefulStop time.Duration

	// VU is what every virtual user shares. Drive sets its Recorder.
	VU VUConfig
}

// Validate reports what is wrong with p, every problem in one error, or
// nil when Drive can run it.
func (p Plan) Validate() error {
	errs := p.scheduleErrors()
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.PreAllocatedVUs < 0 {
		bad("%d pre-allocated VUs: want 0 or more", p.PreAllocatedVUs)
	}
	switch {
	case p.MaxVUs < 0:
		bad("%d max VUs: want 0 or more", p.MaxVUs)
	case p.MaxVUs > 0 && p.MaxVUs < p.PreAllocatedVUs:
		bad("%d max VUs below %d pre-allocated: want at least as many", p.MaxVUs, p.PreAllocatedVUs)
	case p.MaxVUs == 0 && p.PreAllocatedVUs <= 0:
		bad("no virtual users: set PreAllocatedVUs or MaxVUs above 0")
	}
	if p.VU.Timeout < 0 {
		bad("request timeout %v: want 0 (the default) or more", p.VU.Timeout)
	}
	return errors.Join(errs...)
}

// scheduleErrors returns what is wrong with the arrival rate of p.
func (p Plan) scheduleErrors() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	rate := func(what string, r float64) {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			bad("%s %v/s: want a finite number of iterations per second, 0 or more", what, r)
		}
	}
	if len(p.Stages) == 0 {
		if p.StartRate != 0 {
			bad("start rate %v/s without stages: a ramping arrival rate needs Stages, a constant one sets Rate", p.StartRate)
		}
		rate("rate", p.Rate)
		if p.Rate == 0 {
			bad("rate 0/s: want more than 0 iterations per second (or Stages for a ramping arrival rate)")
		}
		if p.Duration <= 0 {
			bad("duration %v: want more than 0", p.Duration)
		}
		return errs
	}
	if p.Rate != 0 || p.Duration != 0 {
		bad("rate %v/s and duration %v beside stages: a ramping arrival rate takes StartRate and Stages only", p.Rate, p.Duration)
	}
	rate("start rate", p.StartRate)
	var span time.Duration
	for i, st := range p.Stages {
		rate(fmt.Sprintf("stage %d: target", i+1), st.Target)
		if st.Duration < 0 {
			bad("stage %d: duration %v: want 0 or more", i+1, st.Duration)
		}
		span += max(st.Duration, 0)
	}
	if span <= 0 {
		bad("stages last 0s: want at least one stage longer than 0")
	}
	return errs
}

// Span returns how long the arrivals of p last from time zero, or 0 when
// its arrival rate is not valid.
func (p Plan) Span() time.Duration {
	if len(p.scheduleErrors()) > 0 {
		return 0
	}
	return newSchedule(p).span
}

// Iterations returns how many iterations p schedules, or 0 when its
// arrival rate is not valid.
func (p Plan) Iterations() int64 {
	if len(p.scheduleErrors()) > 0 {
		return 0
	}
	return newSchedule(p).total
}

func (p Plan) maxVUs() int {
	if p.MaxVUs > 0 {
		return p.MaxVUs
	}
	return p.PreAllocatedVUs
}

func (p Plan) gracefulStop() time.Duration {
	switch {
	case p.GracefulStop == 0:
		return DefaultGracefulStop
	case p.GracefulStop < 0:
		return 0
	}
	return p.GracefulStop
}

// Summary is what happened to a load's iterations. Planned = Started +
// Dropped and Started = Completed + Interrupted.
type Summary struct {
	Start       time.Time     // time zero of the schedule; zero when it never began
	Elapsed     time.Duration // from Start until Drive was done
	Planned     int64         // iterations that came due: the whole schedule unless stopped early
	Started     int64         // handed to a virtual user
	Completed   int64         // returned with their context still live
	Dropped     int64         // due when no virtual user was free or could be added
	Interrupted int64         // had their context cancelled (graceful stop ran out, run stopped)
	VUs         int           // most virtual users for the arrivals at once
	Partners    int           // partner virtual users
}

// PanicError is a panic of a script's code (NewUser, Iterate, NewPartner
// or Work), recovered by Drive, which then stops the run and returns it.
type PanicError struct {
	VU    int    // the virtual user whose code panicked
	In    string // the method that panicked: "NewUser", "Iterate", "NewPartner" or "Work"
	Value any    // what it panicked with
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("virtual user %d: %s panicked: %v", e.VU, e.In, e.Value)
}

// Unwrap returns the panic's value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Drive runs script's users on plan's schedule and returns what happened
// to the iterations.
//
// Before time zero it makes plan.PreAllocatedVUs virtual users ready
// (NewVU, then script.NewUser from the goroutine that will run the user),
// and the partners when script implements Partners. Then it calls onStart
// (if not nil) with time zero, the instant the schedule's offsets count
// from, right before the first iteration is due (unless the plan starts
// with a pause); onStart should return at once, as iterations due
// meanwhile start late. Each iteration goes to the virtual user free the
// longest; when none is free Drive adds one, up to plan.MaxVUs, and
// otherwise drops the iteration: it records MetricDropped at that moment
// and goes on. Each iteration that returns with its context live records
// MetricIterations. Partners each get NewPartner and then one call of Work
// from time zero, in a goroutine of their own; their VU IDs follow the
// MaxVUs of the arrivals'.
//
// Iterations start within the scheduler's wake-up delay of their planned
// time: about a millisecond when the process is idle. At high rates the
// iterations that came due meanwhile are handed out together, so the pool
// needs room for about a millisecond's arrivals beyond those in flight.
//
// Once the schedule is over Drive waits up to the graceful stop for the
// iterations in flight, then cancels their context. The partners' context
// ends when no iteration is in flight any more, or the graceful stop ran
// out. Drive returns when every goroutine it started has returned, with
// the idle connections of every virtual user closed; a User or Partner that
// ignores its context holds Drive up.
//
// Cancelling ctx stops everything at once: Drive cancels the context of
// every iteration and partner, waits for them and returns the Summary with
// ctx's error. A panic in the script's code, or a nil User or Partner from
// it, stops the run the same way and comes back as the error (a panic as a
// *PanicError). An invalid plan, or a nil script or rec, is an error
// before anything starts.
func Drive(ctx context.Context, plan Plan, script Script, rec Recorder, onStart func(start time.Time)) (Summary, error) {
	if err := plan.Validate(); err != nil {
		return Summary{}, fmt.Errorf("check plan: %w", err)
	}
	if script == nil {
		return Summary{}, errors.New("check script: no script")
	}
	if rec == nil {
		return Summary{}, errors.New("check recorder: no recorder")
	}
	partners := 0
	ps, hasPartners := script.(Partners)
	if hasPartners {
		partners = ps.Partners()
		if partners < 0 {
			return Summary{}, fmt.Errorf("check script: %d partners: want 0 or more", partners)
		}
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	iterCtx, stopIterations := context.WithCancel(runCtx)
	defer stopIterations()
	partnerCtx, stopPartners := context.WithCancel(iterCtx)
	defer stopPartners()

	cfg := plan.VU
	cfg.Recorder = rec
	d := &driver{
		script:  script,
		rec:     rec,
		cfg:     cfg,
		stopRun: stopRun,
		maxVUs:  plan.maxVUs(),
	}

	// Make the pool and the partners ready before time zero.
	var ready sync.WaitGroup
	for range plan.PreAllocatedVUs {
		ready.Add(1)
		d.spawn(iterCtx, nil, ready.Done)
	}
	begin := make(chan struct{})
	var partnersDone sync.WaitGroup
	for i := range partners {
		ready.Add(1)
		partnersDone.Add(1)
		go d.runPartner(partnerCtx, ps, d.maxVUs+1+i, i, begin, ready.Done, partnersDone.Done)
	}
	ready.Wait()

	var sum Summary
	sum.Partners = partners
	if runCtx.Err() == nil {
		sched := newSchedule(plan)
		sum.Start = time.Now()
		if onStart != nil {
			onStart(sum.Start)
		}
		close(begin)
		ended := d.arrive(iterCtx, &sched, sum.Start, &sum)
		d.closePool()
		if ended {
			d.awaitPool(runCtx, plan.gracefulStop(), stopIterations)
		}
	} else {
		close(begin)
		d.closePool()
	}
	d.pool.Wait()
	stopPartners()
	partnersDone.Wait()
	if !sum.Start.IsZero() {
		sum.Elapsed = time.Since(sum.Start)
	}

	sum.VUs = len(d.vus)
	for _, v := range d.vus {
		sum.Completed += v.completed
		sum.Interrupted += v.interrupted
	}
	if err := d.failure(); err != nil {
		return sum, fmt.Errorf("run script: %w", err)
	}
	return sum, ctx.Err()
}

// driver is the state of one Drive.
type driver struct {
	script  Script
	rec     Recorder
	cfg     VUConfig
	maxVUs  int
	stopRun context.CancelFunc // stops everything: a script panicked

	vus  []*poolVU      // every VU of the arrivals; only Drive's goroutine touches it
	pool sync.WaitGroup // a goroutine per VU of the arrivals

	mu   sync.Mutex
	idle vuQueue // VUs of the arrivals waiting for an iteration

	failMu sync.Mutex
	failed error // the first panic
}

// poolVU is one virtual user of the arrivals, seen from Drive.
type poolVU struct {
	id int
	// next carries the iteration the VU is handed. Drive sends only to a VU
	// it took from idle (or one it has just made), which holds no iteration
	// yet, so with room for one a send never blocks.
	next chan Iteration
	// Written by the VU's goroutine, read once it has returned.
	completed, interrupted int64
}

// spawn adds a virtual user to the pool and starts its goroutine, which
// runs iterations with ctx. A VU made before time zero (first is nil) calls
// ready once its user exists and waits in idle; one made during the run
// starts with first.
func (d *driver) spawn(ctx context.Context, first *Iteration, ready func()) {
	v := &poolVU{id: len(d.vus) + 1, next: make(chan Iteration, 1)}
	if first != nil {
		v.next <- *first
	}
	d.vus = append(d.vus, v)
	d.pool.Add(1)
	go d.runVU(ctx, v, first == nil, ready)
}

// closePool tells every VU of the arrivals that no iteration will come.
func (d *driver) closePool() {
	for _, v := range d.vus {
		close(v.next)
	}
}

func (d *driver) runVU(ctx context.Context, v *poolVU, idleFirst bool, ready func()) {
	defer d.pool.Done()
	vu := NewVU(v.id, d.cfg)
	defer vu.Close()
	user, err := d.newUser(vu)
	if idleFirst && err == nil {
		d.release(v)
	}
	if ready != nil {
		ready()
	}
	if err != nil {
		d.fail(err)
		for range v.next {
			v.interrupted++ // handed over, never run
		}
		return
	}
	for it := range v.next {
		d.iterate(ctx, v, user, it)
		d.release(v)
	}
}

func (d *driver) newUser(vu *VU) (u User, err error) {
	defer d.recoverInto(&err, vu.ID, "NewUser")
	if u = d.script.NewUser(vu); u == nil {
		return nil, fmt.Errorf("make virtual user %d: NewUser returned no user", vu.ID)
	}
	return u, nil
}

// iterate runs one iteration and counts how it ended.
func (d *driver) iterate(ctx context.Context, v *poolVU, u User, it Iteration) {
	if err := d.runIteration(ctx, u, v.id, it); err != nil {
		v.interrupted++
		d.fail(err)
		return
	}
	select {
	case <-ctx.Done():
		v.interrupted++
	default:
		v.completed++
		d.rec.Add(time.Now(), MetricIterations, series.KindCounter, Tags{}, 1)
	}
}

func (d *driver) runIteration(ctx context.Context, u User, id int, it Iteration) (err error) {
	defer d.recoverInto(&err, id, "Iterate")
	u.Iterate(ctx, it)
	return nil
}

func (d *driver) release(v *poolVU) {
	d.mu.Lock()
	d.idle.push(v)
	d.mu.Unlock()
}

// acquire takes the VU that has been free the longest, or returns nil when
// none is free. First in, first out, so that every user of the pool gets
// its turn (a pool of logged-in shoppers all shop, as with k6), and their
// keep-alive connections stay warm.
func (d *driver) acquire() *poolVU {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.idle.pop()
}

// vuQueue is a first-in first-out queue of VUs: a ring that grows to the
// number of VUs, never more.
type vuQueue struct {
	ring []*poolVU
	head int // index of the first
	n    int // VUs queued
}

func (q *vuQueue) push(v *poolVU) {
	if q.n == len(q.ring) {
		grown := make([]*poolVU, max(2*len(q.ring), 16))
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = v
	q.n++
}

func (q *vuQueue) pop() *poolVU {
	if q.n == 0 {
		return nil
	}
	v := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return v
}

// arrive hands out the iterations of sched as they come due, counting
// them into sum, then waits for the schedule's end. VUs it adds run
// iterations with ctx. It reports false when ctx ended first.
func (d *driver) arrive(ctx context.Context, sched *schedule, start time.Time, sum *Summary) bool {
	stop := ctx.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	wait := func(until time.Time) bool {
		w := time.Until(until)
		if w <= 0 {
			select {
			case <-stop:
				return false
			default:
				return true
			}
		}
		timer.Reset(w)
		select {
		case <-stop:
			return false
		case <-timer.C:
			return true
		}
	}
	for i := range sched.total {
		due := start.Add(sched.at(i))
		if !wait(due) {
			return false
		}
		sum.Planned++
		it := Iteration{N: sum.Started, Planned: due}
		if v := d.acquire(); v != nil {
			v.next <- it
			sum.Started++
			continue
		}
		if len(d.vus) < d.maxVUs {
			d.spawn(ctx, &it, nil)
			sum.Started++
			continue
		}
		sum.Dropped++
		d.rec.Add(time.Now(), MetricDropped, series.KindCounter, Tags{}, 1)
	}
	return wait(start.Add(sched.span))
}

// awaitPool waits for the VUs of the arrivals to return, up to grace, then
// cancels the iterations in flight with stopIterations. It stops waiting
// for the grace when ctx ends (which ends the iterations' context too).
func (d *driver) awaitPool(ctx context.Context, grace time.Duration, stopIterations context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		d.pool.Wait()
		close(done)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done(): // the iterations' context is gone already
	case <-timer.C:
		stopIterations()
	}
	<-done
}

// runPartner makes partner i ready, then waits for time zero and works
// until ctx ends.
func (d *driver) runPartner(ctx context.Context, ps Partners, id, i int, begin <-chan struct{}, ready, done func()) {
	defer done()
	vu := NewVU(id, d.cfg)
	defer vu.Close()
	p, err := d.newPartner(ps, vu, i)
	ready()
	if err != nil {
		d.fail(err)
		return
	}
	<-begin
	if ctx.Err() != nil {
		return // the run ended before time zero
	}
	if err := d.work(ctx, p, id); err != nil {
		d.fail(err)
	}
}

func (d *driver) newPartner(ps Partners, vu *VU, i int) (p Partner, err error) {
	defer d.recoverInto(&err, vu.ID, "NewPartner")
	if p = ps.NewPartner(vu, i); p == nil {
		return nil, fmt.Errorf("make partner %d (virtual user %d): NewPartner returned no partner", i, vu.ID)
	}
	return p, nil
}

func (d *driver) work(ctx context.Context, p Partner, id int) (err error) {
	defer d.recoverInto(&err, id, "Work")
	p.Work(ctx)
	return nil
}

// recoverInto turns a panic of the script's code into a *PanicError in
// *err. It must be deferred directly.
func (d *driver) recoverInto(err *error, vu int, in string) {
	if r := recover(); r != nil {
		*err = &PanicError{VU: vu, In: in, Value: r, Stack: debug.Stack()}
	}
}

// fail keeps the first error and stops the run.
func (d *driver) fail(err error) {
	d.failMu.Lock()
	if d.failed == nil {
		d.failed = err
	}
	d.failMu.Unlock()
	d.stopRun()
}

func (d *driver) failure() error {
	d.failMu.Lock()
	defer d.failMu.Unlock()
	return d.failed
}
