package load

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.k6.io/k6/metrics"
	"go.k6.io/k6/output"

	"github.com/gameday/gameday/internal/series"
)

// OutputName is the name of our k6 output: `k6 run --out gameday=<file>`.
const OutputName = "gameday"

// Defaults of the output.
const (
	// DefaultLag is how long after a second ends the output waits for late
	// samples before it writes that second. k6 hands samples to outputs
	// every 50 ms or so; the rest is slack for a loaded machine. The
	// environment variable LagEnv (a Go duration) changes it.
	DefaultLag = 2 * time.Second
	// LagEnv is the environment variable that sets the lag: K6_GAMEDAY_LAG=500ms.
	LagEnv = "K6_GAMEDAY_LAG"
	// flushEvery is how often the output looks for complete seconds.
	flushEvery = 250 * time.Millisecond
)

// builtinSkipped are the k6 built-in metrics the series leave out: the
// connection-phase timings, VU counts and data volumes. The built-ins kept are
// http_reqs, http_req_failed, http_req_duration, iterations, checks and
// dropped_iterations (a constant-arrival-rate run that cannot keep up shows
// there); every metric the script creates is kept too.
var builtinSkipped = map[string]bool{
	metrics.VUsName:                   true,
	metrics.VUsMaxName:                true,
	metrics.IterationDurationName:     true,
	metrics.GroupDurationName:         true,
	metrics.HTTPReqBlockedName:        true,
	metrics.HTTPReqConnectingName:     true,
	metrics.HTTPReqTLSHandshakingName: true,
	metrics.HTTPReqSendingName:        true,
	metrics.HTTPReqWaitingName:        true,
	metrics.HTTPReqReceivingName:      true,
	metrics.WSSessionsName:            true,
	metrics.WSMessagesSentName:        true,
	metrics.WSMessagesReceivedName:    true,
	metrics.WSPingName:                true,
	metrics.WSSessionDurationName:     true,
	metrics.WSConnectingName:          true,
	metrics.GRPCReqDurationName:       true,
	metrics.DataSentName:              true,
	metrics.DataReceivedName:          true,
}

// kindOf maps a k6 metric type to a series kind.
func kindOf(t metrics.MetricType) string {
	switch t {
	case metrics.Counter:
		return series.KindCounter
	case metrics.Gauge:
		return series.KindGauge
	case metrics.Rate:
		return series.KindRate
	default:
		return series.KindTrend
	}
}

// maxTagGroups bounds the cache of tag sets seen; a script that puts
// unbounded values in tags (ids in URLs) only costs a cache reset.
const maxTagGroups = 10_000

// Output is our k6 output: it folds samples into one series.Point per
// (second, metric, kept tag set) and writes them as JSON lines to a file,
// a second at a time once the second is over (plus Lag for late samples),
// and everything left when k6 stops it. Memory does not grow with the
// number of samples. Create it with NewOutput; k6 calls its methods.
type Output struct {
	path   string
	lag    time.Duration
	every  time.Duration // 0: no periodic flush (tests call flushDue)
	now    func() time.Time
	logger logrus.FieldLogger

	mu     sync.Mutex // guards agg, kinds, groups
	agg    *aggregator
	kinds  map[*metrics.Metric]string // "" for skipped metrics
	groups map[*metrics.TagSet]tagGroup

	f       *os.File
	w       *bufio.Writer
	written int64
	werr    error // first write error; writes stop after it
	stop    chan struct{}
	done    chan struct{}

	stopOnce sync.Once
	stopErr  error
}

var _ output.Output = (*Output)(nil)

// NewOutput is the k6 output constructor: params.ConfigArgument is the path
// of the file to write (`--out gameday=<path>`), LagEnv in
// params.Environment the lag. It returns an error when the path is missing
// or the lag is not a non-negative duration; the file is created by Start.
func NewOutput(params output.Params) (output.Output, error) {
	if params.ConfigArgument == "" {
		return nil, errors.New("gameday output: missing file: use --out gameday=<path>")
	}
	logger := params.Logger
	if logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		logger = l
	}
	o := newOutput(params.ConfigArgument, logger.WithField("output", OutputName))
	if v := params.Environment[LagEnv]; v != "" {
		lag, err := time.ParseDuration(v)
		if err != nil || lag < 0 {
			return nil, fmt.Errorf("gameday output: %s=%q: want a duration like 2s", LagEnv, v)
		}
		o.lag = lag
	}
	return o, nil
}

func newOutput(path string, logger logrus.FieldLogger) *Output {
	return &Output{
		path:   path,
		lag:    DefaultLag,
		every:  flushEvery,
		now:    time.Now,
		logger: logger,
		agg:    newAggregator(),
		kinds:  make(map[*metrics.Metric]string),
		groups: make(map[*metrics.TagSet]tagGroup),
	}
}

// Description is what k6 shows for this output.
func (o *Output) Description() string { return fmt.Sprintf("%s (%s)", OutputName, o.path) }

// Start creates (or truncates) the file and starts the periodic flush.
func (o *Output) Start() error {
	f, err := os.Create(o.path)
	if err != nil {
		return fmt.Errorf("gameday output: create series file: %w", err)
	}
	o.f = f
	o.w = bufio.NewWriterSize(f, 64<<10)
	o.stop = make(chan struct{})
	o.done = make(chan struct{})
	go o.run()
	return nil
}

func (o *Output) run() {
	defer close(o.done)
	if o.every <= 0 {
		<-o.stop
		return
	}
	t := time.NewTicker(o.every)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.flushDue()
		}
	}
}

// AddMetricSamples folds samples into the current seconds. It only takes a
// lock and does map updates, so it does not hold k6 up.
func (o *Output) AddMetricSamples(containers []metrics.SampleContainer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, sc := range containers {
		for _, s := range sc.GetSamples() {
			if s.Metric == nil {
				continue
			}
			kind, ok := o.kinds[s.Metric]
			if !ok {
				if !builtinSkipped[s.Metric.Name] {
					kind = kindOf(s.Metric.Type)
				}
				o.kinds[s.Metric] = kind
			}
			if kind == "" {
				continue
			}
			o.agg.add(s.Time, s.Metric.Name, kind, o.groupOf(s.Tags), s.Value)
		}
	}
}

// groupOf cuts a k6 tag set down to the kept tags. k6 interns tag sets, so
// the pointer is a good cache key.
func (o *Output) groupOf(ts *metrics.TagSet) tagGroup {
	if ts == nil {
		return tagGroup{}
	}
	if g, ok := o.groups[ts]; ok {
		return g
	}
	if len(o.groups) >= maxTagGroups {
		clear(o.groups)
	}
	g := newTagGroup(ts.Get)
	o.groups[ts] = g
	return g
}

// flushDue writes every second that ended more than lag ago.
func (o *Output) flushDue() {
	cutoff := o.now().Add(-o.lag).Unix() // seconds before the one holding now-lag are complete
	o.mu.Lock()
	pts := o.agg.flush(cutoff)
	o.mu.Unlock()
	o.write(pts)
}

// write appends points to the file and flushes the buffer so that a reader
// tailing the file sees whole seconds.
func (o *Output) write(pts []series.Point) {
	if len(pts) == 0 || o.werr != nil {
		return
	}
	for i := range pts {
		b, err := json.Marshal(&pts[i])
		if err == nil {
			b = append(b, '\n')
			_, err = o.w.Write(b)
		}
		if err != nil {
			o.fail(fmt.Errorf("write series: %w", err))
			return
		}
		o.written++
	}
	if err := o.w.Flush(); err != nil {
		o.fail(fmt.Errorf("write series: %w", err))
	}
}

func (o *Output) fail(err error) {
	o.werr = err
	o.logger.WithError(err).Error("gameday output stops writing")
}

// Stop writes everything still held, closes the file and returns the first
// write error, if any. k6 calls it once, after the last AddMetricSamples;
// later calls return the same error.
func (o *Output) Stop() error {
	o.stopOnce.Do(func() { o.stopErr = o.stopNow() })
	return o.stopErr
}

func (o *Output) stopNow() error {
	if o.stop == nil {
		return nil // never started
	}
	close(o.stop)
	<-o.done
	o.mu.Lock()
	pts := o.agg.flushAll()
	late := o.agg.late
	o.mu.Unlock()
	o.write(pts)
	if late > 0 {
		o.logger.WithField("samples", late).Warn("samples arrived after their second was written; they are in extra points for that second")
	}
	err := o.werr
	if cerr := o.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close series file: %w", cerr)
	}
	o.logger.WithField("points", o.written).Debug("gameday output stopped")
	if err != nil {
		return fmt.Errorf("gameday output: %w", err)
	}
	return nil
}
