package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/procgroup"
	"github.com/gameday/gameday/internal/series"
)

// Files a run writes in Spec.Dir.
const (
	SeriesFile = "series.jsonl" // one series.Point per line, written by the child
	LogFile    = "load.log"     // everything the child wrote to stderr
)

// Defaults of Spec.
const (
	DefaultMaxDuration = time.Hour
	DefaultStopGrace   = 10 * time.Second
)

const (
	tailEvery      = 100 * time.Millisecond // how often the series file is read while the child runs
	stderrKept     = 20                     // lines of stderr kept for errors
	maxPendingLine = 16 << 20               // a series line longer than this is dropped
)

// The child's exit codes, the same as gameday's own (see cmd/gameday).
const (
	ExitOK          = 0   // the load ran to its end
	ExitThresholds  = 1   // the load ran, and a limit it was given was crossed (--max-failed)
	ExitConfig      = 2   // bad flags, configuration or journey file
	ExitEnvironment = 3   // the target could not be reached, a file could not be written
	ExitStopped     = 130 // stopped by SIGINT or SIGTERM
)

// Event is one line the child writes on its standard output in JSON mode:
// EventRunning once the schedule's time zero is set, EventSummary at the
// end.
type Event struct {
	Event   string    `json:"event"`
	Start   time.Time `json:"start,omitzero"`    // EventRunning: offset 0 of the load
	Summary *Summary  `json:"summary,omitempty"` // EventSummary
}

// Events the child writes.
const (
	EventRunning = "running"
	EventSummary = "summary"
)

// Spec is one load run as a child process.
type Spec struct {
	// Command starts the child: the program and its arguments, to which
	// Args are appended. Default: [os.Executable(), "load"].
	Command []string
	// Args are the child's arguments (the harness passes --config FILE);
	// the child must write JSON events on stdout and series to Dir/SeriesFile.
	Args []string
	// Dir is the run directory (required, created if missing): the child
	// writes SeriesFile there, and its stderr goes to LogFile.
	Dir string
	// Env is added to the child's environment.
	Env map[string]string
	// MaxDuration bounds the run: past it the run is stopped as by Stop.
	// Default DefaultMaxDuration.
	MaxDuration time.Duration
	// StopGrace is how long a stop waits for the child to exit after SIGTERM
	// before its process group is killed. Default DefaultStopGrace.
	StopGrace time.Duration
	// Logger receives what the child wrote to stderr (at debug) and the
	// run's milestones. Nil discards.
	Logger *slog.Logger
}

// Result is what a run did, whether it succeeded or not.
type Result struct {
	ExitCode   int           // the child's exit code; -1 when killed by a signal
	PID        int           // of the child; it is gone when Wait returns
	SeriesPath string        // the series file (absolute)
	LogPath    string        // the child's stderr (absolute)
	Points     int64         // points handed to onPoint
	BadLines   int64         // series lines that could not be read
	Stopped    bool          // the harness asked the child to stop (Stop, ctx, MaxDuration)
	Elapsed    time.Duration // from start to exit
	Summary    *Summary      // the child's own account, when it wrote one
}

// Errors a run ends with; test them with errors.Is. A run's error is an
// *ExitError that matches every one that applies.
var (
	// ErrThresholds: the child exited 1, a limit it was given was crossed.
	ErrThresholds = errors.New("load limit crossed")
	// ErrStopped: the harness stopped the run before its end.
	ErrStopped = errors.New("load stopped")
	// ErrConfig: the child exited 2, its configuration is invalid.
	ErrConfig = errors.New("load configuration invalid")
	// ErrEnvironment: the child exited 3, it could not set up.
	ErrEnvironment = errors.New("load could not set up")
	// ErrKilled: the child died of a signal without an exit code.
	ErrKilled = errors.New("load killed")
	// ErrTimeout: the run went past Spec.MaxDuration and was stopped.
	ErrTimeout = errors.New("load exceeded its time bound")
	// ErrNotRunning: the child ended before it started its schedule.
	ErrNotRunning = errors.New("load ended before it started")
	// ErrExit: any other exit code (see ExitError.Code).
	ErrExit = errors.New("load failed")
)

// ExitError is how a load run that did not succeed ended.
type ExitError struct {
	Code   int            // exit code; -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it, when Code is -1
	Stderr []string       // the last lines the child wrote to stderr
	kinds  []error
}

// Error names the outcome and quotes the child's last stderr lines.
func (e *ExitError) Error() string {
	var b strings.Builder
	for i, k := range e.kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.Error())
	}
	if e.Code >= 0 {
		fmt.Fprintf(&b, " (exit code %d)", e.Code)
	} else {
		fmt.Fprintf(&b, " (signal %s)", e.Signal)
	}
	if len(e.Stderr) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Stderr, "\n"))
	}
	return b.String()
}

// Unwrap returns the sentinels and causes the error matches.
func (e *ExitError) Unwrap() []error { return e.kinds }

// exitError classifies how the child ended; nil for a clean exit that
// nobody asked for.
func exitError(code int, sig syscall.Signal, stopCause error, stderr []string) error {
	var kinds []error
	switch {
	case code == ExitOK && stopCause == nil:
		return nil
	case code == ExitOK, code == ExitStopped:
		kinds = append(kinds, ErrStopped)
	case code == ExitThresholds:
		kinds = append(kinds, ErrThresholds)
	case code == ExitConfig:
		kinds = append(kinds, ErrConfig)
	case code == ExitEnvironment:
		kinds = append(kinds, ErrEnvironment)
	case code < 0:
		if stopCause != nil {
			kinds = append(kinds, ErrStopped)
		}
		kinds = append(kinds, ErrKilled)
	default:
		kinds = append(kinds, ErrExit)
	}
	if stopCause != nil && !slices.Contains(kinds, stopCause) {
		kinds = append(kinds, stopCause)
	}
	tail := stderr
	if stopCause != nil {
		tail = nil // what the child says about being stopped is noise
	}
	return &ExitError{Code: code, Signal: sig, Stderr: tail, kinds: kinds}
}

// Process is a running load child. Its methods are safe for concurrent use.
type Process struct {
	spec    Spec
	log     *slog.Logger
	onPoint func(series.Point)

	cmd     *exec.Cmd
	pid     int
	exited  <-chan struct{} // closed once the child is reaped
	series  string
	logf    *os.File
	reader  *os.File
	stderr  *stderrLog
	started time.Time

	running     chan struct{} // closed when the running event came
	runningAt   time.Time
	summary     atomic.Pointer[Summary]
	eventsDone  chan struct{}
	runningOnce sync.Once

	stopOnce  sync.Once
	stopCh    chan struct{}
	stopCause error // set before stopCh is closed

	points   atomic.Int64
	badLines atomic.Int64

	done chan struct{}
	res  Result
	err  error
}

// Run runs the load as described by spec, hands every series point to
// onPoint while the run goes on (from one goroutine, in file order, never
// after Run returns; onPoint may be nil), and returns once the child has
// exited and no process of its group is left. Cancelling ctx stops the run.
// The error is nil when the child exited 0 unasked, an *ExitError matching
// ErrThresholds, ErrStopped, ErrConfig, ErrEnvironment, ErrKilled,
// ErrTimeout or ErrExit (and ctx's cause when ctx stopped it) otherwise, or
// a plain error when the child could not be started at all.
func Run(ctx context.Context, spec Spec, onPoint func(series.Point)) (Result, error) {
	p, err := Start(ctx, spec, onPoint)
	if err != nil {
		return Result{}, err
	}
	return p.Wait()
}

// Start starts the child as Run does and returns without waiting for it.
func Start(ctx context.Context, spec Spec, onPoint func(series.Point)) (*Process, error) {
	p, err := newProcess(spec, onPoint)
	if err != nil {
		return nil, err
	}
	stdout, err := p.start()
	if err != nil {
		p.close()
		return nil, err
	}
	go p.readEvents(stdout)
	tailStop := make(chan struct{})
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		p.tail(tailStop)
	}()
	go p.supervise(ctx, tailStop, tailDone)
	return p, nil
}

func newProcess(spec Spec, onPoint func(series.Point)) (*Process, error) {
	if spec.Dir == "" {
		return nil, errors.New("load: no run directory")
	}
	if spec.MaxDuration <= 0 {
		spec.MaxDuration = DefaultMaxDuration
	}
	if spec.StopGrace <= 0 {
		spec.StopGrace = DefaultStopGrace
	}
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(spec.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("load: find own executable: %w", err)
		}
		spec.Command = []string{exe, "load"}
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, fmt.Errorf("load: run directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("load: create run directory: %w", err)
	}
	p := &Process{
		spec:       spec,
		log:        log,
		onPoint:    onPoint,
		series:     filepath.Join(dir, SeriesFile),
		running:    make(chan struct{}),
		eventsDone: make(chan struct{}),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
	}
	// The file is created empty here, before the child starts, so that the
	// reader never sees what an earlier run left in it.
	if err := os.WriteFile(p.series, nil, 0o644); err != nil {
		return nil, fmt.Errorf("load: create series file: %w", err)
	}
	if p.reader, err = os.Open(p.series); err != nil {
		return nil, fmt.Errorf("load: open series file: %w", err)
	}
	logPath := filepath.Join(dir, LogFile)
	if p.logf, err = os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		p.reader.Close()
		return nil, fmt.Errorf("load: create load log: %w", err)
	}
	p.stderr = &stderrLog{file: p.logf, log: log}
	p.res = Result{SeriesPath: p.series, LogPath: logPath}
	return p, nil
}

// start starts the child in a process group of its own (see procgroup.Start).
func (p *Process) start() (io.ReadCloser, error) {
	args := append(slices.Clone(p.spec.Command[1:]), p.spec.Args...)
	cmd := exec.Command(p.spec.Command[0], args...)
	cmd.Env = os.Environ()
	for k, v := range p.spec.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = nil
	cmd.Stderr = p.stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("load: child's stdout: %w", err)
	}
	p.cmd = cmd
	// Wait closes stdout: readEvents reads it to the end first.
	if p.exited, err = procgroup.Start(cmd, p.eventsDone); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	p.pid = cmd.Process.Pid
	p.started = time.Now()
	p.log.Info("load started", "pid", p.pid, "args", p.spec.Args)
	return stdout, nil
}

// readEvents reads the child's JSON events until its stdout closes.
func (p *Process) readEvents(r io.Reader) {
	defer close(p.eventsDone)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			p.log.Debug("load stdout", "line", sc.Text())
			continue
		}
		switch ev.Event {
		case EventRunning:
			p.runningOnce.Do(func() {
				p.runningAt = ev.Start
				close(p.running)
			})
		case EventSummary:
			if ev.Summary != nil {
				p.summary.Store(ev.Summary)
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// PID returns the process id of the child.
func (p *Process) PID() int { return p.pid }

// Running waits until the child says its schedule started and returns that
// moment (offset 0 of the load). It fails with ErrNotRunning and the
// child's last words when the child exits first, or with ctx's cause.
func (p *Process) Running(ctx context.Context) (time.Time, error) {
	select {
	case <-p.running:
		return p.runningAt, nil
	case <-ctx.Done():
		return time.Time{}, context.Cause(ctx)
	case <-p.done:
		select {
		case <-p.running:
			return p.runningAt, nil
		default:
		}
		return time.Time{}, errors.Join(ErrNotRunning, p.err)
	}
}

// Stop asks the run to stop and returns at once; Wait tells how it ended.
// The child gets SIGTERM (it stops its virtual users, writes what it holds
// and exits) and StopGrace later its whole process group is killed.
// Calling Stop more than once, or after the run ended, does nothing.
func (p *Process) Stop() { p.requestStop(ErrStopped) }

func (p *Process) requestStop(cause error) {
	p.stopOnce.Do(func() {
		p.stopCause = cause
		close(p.stopCh)
	})
}

// Wait waits for the run to end and returns what Run returns. It may be
// called any number of times.
func (p *Process) Wait() (Result, error) {
	<-p.done
	return p.res, p.err
}

func (p *Process) stopRequested() bool {
	select {
	case <-p.stopCh:
		return true
	default:
		return false
	}
}

// supervise waits for the child, stops it when asked or when out of time,
// and records the outcome.
func (p *Process) supervise(ctx context.Context, tailStop chan<- struct{}, tailDone <-chan struct{}) {
	defer close(p.done)
	bound := time.NewTimer(p.spec.MaxDuration)
	defer bound.Stop()
	p.watch(ctx, bound.C)
	procgroup.Kill(p.pid) // anything the child left behind in its group
	close(tailStop)
	<-tailDone
	p.close()
	left := procgroup.WaitGone(p.pid, 5*time.Second)

	st := p.cmd.ProcessState
	code := st.ExitCode()
	var sig syscall.Signal
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig = ws.Signal()
	}
	var cause error
	if p.stopRequested() {
		cause = p.stopCause
	}
	p.res.ExitCode = code
	p.res.PID = p.pid
	p.res.Points = p.points.Load()
	p.res.BadLines = p.badLines.Load()
	p.res.Stopped = cause != nil
	p.res.Elapsed = time.Since(p.started)
	p.res.Summary = p.summary.Load()
	p.err = exitError(code, sig, cause, p.stderr.lines())
	if len(left) > 0 {
		p.log.Error("processes of the load's group outlived it", "pgid", p.pid, "pids", left)
		p.err = errors.Join(p.err, fmt.Errorf("load: processes %v of group %d are still alive after SIGKILL", left, p.pid))
	}
	p.log.Info("load exited", "pid", p.pid, "code", code, "points", p.res.Points, "elapsed", p.res.Elapsed.Round(time.Millisecond))
}

// watch returns once the child has exited, stopping it first if ctx ends,
// Stop is called or bound fires.
func (p *Process) watch(ctx context.Context, bound <-chan time.Time) {
	select {
	case <-p.exited:
		return
	case <-ctx.Done():
		p.requestStop(context.Cause(ctx))
	case <-bound:
		p.requestStop(ErrTimeout)
	case <-p.stopCh:
	}
	p.log.Info("stopping load", "pid", p.pid, "cause", p.stopCause)
	_ = syscall.Kill(p.pid, syscall.SIGTERM)
	t := time.NewTimer(p.spec.StopGrace)
	defer t.Stop()
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	p.log.Warn("load did not stop; killing its process group", "pid", p.pid)
	procgroup.Kill(p.pid)
	<-p.exited
}

func (p *Process) close() {
	p.reader.Close()
	p.logf.Close()
}

// tail reads the series file as the child writes it, until stop is
// closed; then it reads what is left and returns.
func (p *Process) tail(stop <-chan struct{}) {
	t := time.NewTicker(tailEvery)
	defer t.Stop()
	var pending []byte
	buf := make([]byte, 256<<10)
	for {
		final := false
		select {
		case <-stop:
			final = true
		case <-t.C:
		}
		for {
			n, err := p.reader.Read(buf)
			pending = append(pending, buf[:n]...)
			pending = p.emitLines(pending)
			if n == 0 || err != nil {
				break
			}
		}
		if final {
			if len(bytes.TrimSpace(pending)) > 0 {
				p.emit(pending) // a last line without its newline
			}
			return
		}
	}
}

// emitLines hands every complete line of b to onPoint and returns the rest.
func (p *Process) emitLines(b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		p.emit(b[:i])
		b = b[i+1:]
	}
	if len(b) > maxPendingLine {
		p.badLines.Add(1)
		return nil
	}
	// Move the rest to the front so the buffer does not creep forward.
	return append(make([]byte, 0, len(b)), b...)
}

func (p *Process) emit(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	var pt series.Point
	if err := json.Unmarshal(line, &pt); err != nil {
		if p.badLines.Add(1) == 1 {
			p.log.Warn("unreadable series line", "err", err)
		}
		return
	}
	p.points.Add(1)
	if p.onPoint != nil {
		p.onPoint(pt)
	}
}

// stderrLog writes the child's stderr to the log file, keeps its last lines
// for errors and forwards each line to slog.
type stderrLog struct {
	file io.Writer
	log  *slog.Logger

	mu      sync.Mutex
	partial []byte
	last    []string
}

func (s *stderrLog) Write(b []byte) (int, error) {
	_, _ = s.file.Write(b) // losing the log file must not fail the load
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 {
		s.line(string(s.partial))
		s.partial = nil
	}
	return len(b), nil
}

func (s *stderrLog) line(raw string) {
	raw = strings.TrimRight(raw, "\r")
	if strings.TrimSpace(raw) == "" {
		return
	}
	s.log.Debug("load", "line", raw)
	s.last = append(s.last, raw)
	if len(s.last) > stderrKept {
		s.last = slices.Delete(s.last, 0, len(s.last)-stderrKept)
	}
}

// lines returns the last lines the child wrote to stderr.
func (s *stderrLog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.last)
	if rest := strings.TrimSpace(string(s.partial)); rest != "" {
		out = append(out, rest)
	}
	return out
}
