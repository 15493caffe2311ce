package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// Defaults of a SeriesRecorder.
const (
	DefaultFlushInterval = 250 * time.Millisecond
	DefaultFlushSlack    = 100 * time.Millisecond
)

// SeriesRecorder is a Recorder that folds samples into one series.Point per
// (second, metric, Tags) and writes whole seconds to an io.Writer as JSON
// lines, one series.Point each: the series.jsonl the judge reads. Trends
// carry their histogram. A second is written once it is over by the flush
// slack; a sample that arrives for a second already written comes out as
// an extra point for that second and is counted by Late. Its memory is
// bounded by the seconds not written yet, whatever the number of samples.
//
// Make one with NewSeriesRecorder, call Start to have seconds written as
// they end (without it everything is written at Close), and Close it. It is
// safe for concurrent use.
type SeriesRecorder struct {
	interval time.Duration
	slack    time.Duration
	onFlush  func([]series.Point)

	mu     sync.Mutex // guards table, closed, stop, done
	table  *secondTable
	closed bool
	stop   chan struct{} // closed by Close to end the flushing goroutine
	done   chan struct{} // closed when the flushing goroutine has returned

	wmu    sync.Mutex // one flush at a time, so seconds come out in order
	enc    *json.Encoder
	buf    *bufio.Writer
	werr   error // the first write error: nothing is written after it
	points atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// RecorderOption sets an option of a SeriesRecorder.
type RecorderOption func(*SeriesRecorder)

// WithFlushInterval sets how often a started recorder writes the seconds
// that are over (DefaultFlushInterval when d <= 0).
func WithFlushInterval(d time.Duration) RecorderOption {
	return func(r *SeriesRecorder) {
		if d > 0 {
			r.interval = d
		}
	}
}

// WithFlushSlack sets how long after its end a second is written, for the
// samples still on their way (DefaultFlushSlack when d < 0).
func WithFlushSlack(d time.Duration) RecorderOption {
	return func(r *SeriesRecorder) {
		if d >= 0 {
			r.slack = d
		}
	}
}

// WithOnFlush has f called with each batch of points written, in order,
// from the goroutine that writes them (for a live progress line). f may
// keep the points but must not change them, and should return quickly:
// the next batch waits for it.
func WithOnFlush(f func([]series.Point)) RecorderOption {
	return func(r *SeriesRecorder) { r.onFlush = f }
}

// NewSeriesRecorder returns a recorder that writes to w. It never closes w.
func NewSeriesRecorder(w io.Writer, opts ...RecorderOption) *SeriesRecorder {
	buf := bufio.NewWriterSize(w, 64<<10)
	r := &SeriesRecorder{
		interval: DefaultFlushInterval,
		slack:    DefaultFlushSlack,
		table:    newSecondTable(),
		buf:      buf,
		enc:      json.NewEncoder(buf),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Add records one sample; see Recorder. Samples added after Close, and
// NaN or infinite values, are left out.
func (r *SeriesRecorder) Add(t time.Time, metric, kind string, tags Tags, v float64) {
	r.mu.Lock()
	if !r.closed {
		r.table.add(t, metric, kind, tags, v)
	}
	r.mu.Unlock()
}

// Start begins writing each second once it is over, every flush interval,
// until Close. Later calls, and calls after Close, do nothing.
func (r *SeriesRecorder) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.stop != nil {
		return
	}
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go r.run(r.stop, r.done)
}

func (r *SeriesRecorder) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.flushDue(now)
		}
	}
}

// Close stops the periodic writes, writes every second still held and
// returns the first write error, if any. Later calls return the same.
func (r *SeriesRecorder) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		stop, done := r.stop, r.done
		r.mu.Unlock()
		if stop != nil {
			close(stop)
			<-done
		}
		r.flushBefore(math.MaxInt64)
		r.wmu.Lock()
		if r.werr != nil {
			r.closeErr = fmt.Errorf("write series: %w", r.werr)
		}
		r.wmu.Unlock()
	})
	return r.closeErr
}

// Points returns how many points have been written.
func (r *SeriesRecorder) Points() int64 { return r.points.Load() }

// Late returns how many samples arrived for a second already written.
func (r *SeriesRecorder) Late() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.table.late
}

// flushDue writes the seconds over by the slack at now.
func (r *SeriesRecorder) flushDue(now time.Time) {
	// Second s is over once now >= s+1+slack, so every s before
	// floor(now-slack) is.
	r.flushBefore(now.Add(-r.slack).Unix())
}

// flushBefore writes every second before `before`, then hands the points
// to the hook.
func (r *SeriesRecorder) flushBefore(before int64) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	held := r.table.take(before)
	r.mu.Unlock()
	if len(held) == 0 {
		return
	}
	// Building points reads histograms: done outside mu, so that Add is
	// never held up by it.
	pts := pointsOf(held)
	r.write(pts)
	if r.onFlush != nil {
		r.onFlush(pts)
	}
}

// write appends pts as JSON lines and flushes the buffer, so that a reader
// of w sees whole seconds. After a write error it writes nothing more.
func (r *SeriesRecorder) write(pts []series.Point) {
	if r.werr != nil {
		return
	}
	for i := range pts {
		if err := r.enc.Encode(&pts[i]); err != nil {
			r.werr = err
			return
		}
	}
	if err := r.buf.Flush(); err != nil {
		r.werr = err
		return
	}
	r.points.Add(int64(len(pts)))
}
