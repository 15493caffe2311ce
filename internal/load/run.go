package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// Files a run writes in Spec.Dir.
const (
	SeriesFile = "series.jsonl" // one series.Point per line, written by our output
	LogFile    = "k6.log"       // everything k6 printed: banner, progress, summary, logs
)

// Defaults of Spec.
const (
	DefaultMaxDuration = time.Hour
	DefaultStopGrace   = 10 * time.Second
)

const (
	tailEvery      = 100 * time.Millisecond // how often the series file is read while k6 runs
	stderrKept     = 20                     // lines of stderr kept for errors
	restTimeout    = 2 * time.Second        // for the stop request to k6's REST API
	portAttempts   = 3                      // starts when the REST API address was taken meanwhile
	maxPendingLine = 16 << 20               // a series line longer than this is dropped
)

// Spec is one k6 run.
type Spec struct {
	// Script is the k6 script to run (required). A relative path is relative
	// to the working directory of the harness.
	Script string
	// Dir is the run directory (required, created if missing): SeriesFile and
	// LogFile are written there.
	Dir string
	// Env is added to the child's environment (the harness's own), and so
	// reaches the script as __ENV: target URLs, data file, RATE, DURATION…
	// K6_AUTO_EXTENSION_RESOLUTION=false and K6_NO_USAGE_REPORT=true are
	// added unless set here or in the harness's environment.
	Env map[string]string
	// Args are extra `k6 run` flags, placed before the script ("--vus", "5").
	Args []string
	// Command starts k6: the program and its first arguments, to which "run"
	// and the rest are appended. Default: [os.Executable(), "k6"].
	Command []string
	// MaxDuration bounds the run: past it the run is stopped as by Stop, and
	// killed at the latest 2×StopGrace later. Default DefaultMaxDuration.
	MaxDuration time.Duration
	// StopGrace is how long each step of a stop (REST API, then SIGTERM)
	// waits for k6 to exit before the next one. Default DefaultStopGrace.
	StopGrace time.Duration
	// Logger receives what k6 writes to stderr (at debug; k6's errors at
	// warn) and the run's milestones. Nil discards.
	Logger *slog.Logger
}

// Result is what a run did, whether it succeeded or not.
type Result struct {
	ExitCode   int           // k6's exit code; -1 when killed by a signal
	PID        int           // of the (last) k6 process; it is gone when Wait returns
	APIAddr    string        // where k6's REST API listened
	SeriesPath string        // the series file (absolute)
	LogPath    string        // k6's console output (absolute)
	Points     int64         // points handed to onPoint
	BadLines   int64         // series lines that could not be read
	Stopped    bool          // the harness asked k6 to stop (Stop, ctx, MaxDuration)
	Elapsed    time.Duration // from start to exit
}

// Process is a running k6. Its methods are safe for concurrent use.
type Process struct {
	spec    Spec
	argv    []string // command and fixed arguments before "run"
	env     []string
	log     *slog.Logger
	onPoint func(series.Point)

	series  string
	logf    *os.File
	reader  *os.File
	stderr  *stderrLog
	started time.Time

	stopOnce  sync.Once
	stopCh    chan struct{}
	stopCause error // set before stopCh is closed

	cur atomic.Pointer[attempt]

	points   atomic.Int64
	badLines atomic.Int64

	done chan struct{}
	res  Result
	err  error
}

// attempt is one child process.
type attempt struct {
	cmd    *exec.Cmd
	addr   string
	pid    int
	exited chan struct{} // closed once the child is reaped
}

// Run runs k6 as described by spec, hands every series point to onPoint
// while the run goes on (from one goroutine, in file order, never after Run
// returns; onPoint may be nil), and returns once k6 has exited and no process
// of its group is left. Cancelling ctx stops the run (see Process.Stop).
// The error is nil when k6 exited 0, an *ExitError matching ErrThresholds,
// ErrStopped, ErrAborted, ErrScript, ErrScriptAbort, ErrConfig, ErrKilled,
// ErrTimeout or ErrExit (and ctx's cause when ctx stopped it) otherwise, or a
// plain error when k6 could not be started at all.
func Run(ctx context.Context, spec Spec, onPoint func(series.Point)) (Result, error) {
	p, err := Start(ctx, spec, onPoint)
	if err != nil {
		return Result{}, err
	}
	return p.Wait()
}

// Start starts k6 as Run does and returns without waiting for it.
func Start(ctx context.Context, spec Spec, onPoint func(series.Point)) (*Process, error) {
	p, err := newProcess(spec, onPoint)
	if err != nil {
		return nil, err
	}
	a, err := p.startAttempt()
	if err != nil {
		p.close()
		return nil, err
	}
	tailStop := make(chan struct{})
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		p.tail(tailStop)
	}()
	go p.supervise(ctx, a, tailStop, tailDone)
	return p, nil
}

func newProcess(spec Spec, onPoint func(series.Point)) (*Process, error) {
	if spec.Script == "" {
		return nil, errors.New("load: no script")
	}
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
	argv := slices.Clone(spec.Command)
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("load: find own executable: %w", err)
		}
		argv = []string{exe, "k6"}
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, fmt.Errorf("load: run directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("load: create run directory: %w", err)
	}
	p := &Process{
		spec:    spec,
		argv:    argv,
		env:     childEnv(os.Environ(), spec.Env),
		log:     log,
		onPoint: onPoint,
		series:  filepath.Join(dir, SeriesFile),
		stopCh:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	// The file is created empty here, before k6 starts, so that the reader
	// never sees what an earlier run left in it.
	if err := os.WriteFile(p.series, nil, 0o644); err != nil {
		return nil, fmt.Errorf("load: create series file: %w", err)
	}
	if p.reader, err = os.Open(p.series); err != nil {
		return nil, fmt.Errorf("load: open series file: %w", err)
	}
	logPath := filepath.Join(dir, LogFile)
	if p.logf, err = os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		p.reader.Close()
		return nil, fmt.Errorf("load: create k6 log: %w", err)
	}
	p.stderr = &stderrLog{file: p.logf, log: log}
	p.res = Result{SeriesPath: p.series, LogPath: logPath}
	return p, nil
}

// childEnv is base with extra set over it and defaultEnv added where unset.
func childEnv(base []string, extra map[string]string) []string {
	env := make(map[string]string, len(base)+len(extra)+len(defaultEnv))
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		set(k, extra[k])
	}
	for _, k := range slices.Sorted(maps.Keys(defaultEnv)) {
		if _, ok := env[k]; !ok {
			set(k, defaultEnv[k])
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// freeLoopbackAddr picks a port the OS says is free. Another process may take
// it before k6 listens; k6 then exits 106 and supervise starts it again.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// startAttempt starts one child. The goroutine that starts it stays locked
// to its OS thread until the child is reaped, because Pdeathsig fires when
// the starting thread ends, not the process.
func (p *Process) startAttempt() (*attempt, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("load: pick REST API address: %w", err)
	}
	args := append(slices.Clone(p.argv[1:]), "run",
		"--address", addr,
		"--out", OutputName+"="+p.series,
		"--no-color")
	args = append(args, p.spec.Args...)
	args = append(args, p.spec.Script)
	cmd := exec.Command(p.argv[0], args...)
	cmd.Env = p.env
	cmd.Stdin = nil
	cmd.Stdout = p.logf
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	a := &attempt{cmd: cmd, addr: addr, exited: make(chan struct{})}

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(a.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("load: start k6: %w", err)
	}
	a.pid = cmd.Process.Pid
	p.cur.Store(a)
	if p.started.IsZero() {
		p.started = time.Now()
	}
	p.log.Info("k6 started", "pid", a.pid, "api", addr, "script", p.spec.Script)
	return a, nil
}

// PID returns the process id of the running k6.
func (p *Process) PID() int { return p.cur.Load().pid }

// APIAddr returns the address of the running k6's REST API.
func (p *Process) APIAddr() string { return p.cur.Load().addr }

// Stop asks the run to stop and returns at once; Wait tells how it ended.
// k6 is asked through its REST API (it runs teardown, writes its summary
// and exits 103); failing that (the API only listens once the script's init
// is done), or StopGrace later, it gets SIGTERM (exit 105, or death by the
// signal during init), and StopGrace after that its whole process group is
// killed.
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
func (p *Process) supervise(ctx context.Context, a *attempt, tailStop chan<- struct{}, tailDone <-chan struct{}) {
	defer close(p.done)
	bound := time.NewTimer(p.spec.MaxDuration)
	defer bound.Stop()
	var startErr error
	for tries := 1; ; tries++ {
		p.watch(ctx, a, bound.C)
		killGroup(a.pid) // anything the child left behind in its group
		code := a.cmd.ProcessState.ExitCode()
		if code != ExitRESTAPI || tries >= portAttempts || p.stopRequested() || fileSize(p.series) > 0 {
			break
		}
		p.log.Warn("k6 could not listen for its REST API; starting it again", "api", a.addr)
		next, err := p.startAttempt()
		if err != nil {
			startErr = err
			break
		}
		a = next
	}
	close(tailStop)
	<-tailDone
	p.close()
	left := waitGroupGone(a.pid, 5*time.Second)

	st := a.cmd.ProcessState
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
	p.res.PID = a.pid
	p.res.APIAddr = a.addr
	p.res.Points = p.points.Load()
	p.res.BadLines = p.badLines.Load()
	p.res.Stopped = cause != nil
	p.res.Elapsed = time.Since(p.started)
	p.err = exitError(code, sig, cause, p.stderr.lines())
	if startErr != nil {
		p.err = errors.Join(startErr, p.err)
	}
	if len(left) > 0 {
		p.log.Error("processes of k6's group outlived it", "pgid", a.pid, "pids", left)
		p.err = errors.Join(p.err, fmt.Errorf("load: processes %v of k6's group %d are still alive after SIGKILL", left, a.pid))
	}
	p.log.Info("k6 exited", "pid", a.pid, "code", code, "points", p.res.Points, "elapsed", p.res.Elapsed.Round(time.Millisecond))
}

// watch returns once the child has exited, stopping it first if ctx ends,
// Stop is called or bound fires.
func (p *Process) watch(ctx context.Context, a *attempt, bound <-chan time.Time) {
	select {
	case <-a.exited:
		return
	case <-ctx.Done():
		p.requestStop(context.Cause(ctx))
	case <-bound:
		p.requestStop(ErrTimeout)
	case <-p.stopCh:
	}
	grace := p.spec.StopGrace
	p.log.Info("stopping k6", "pid", a.pid, "cause", p.stopCause)
	viaREST := restStop(a.addr) == nil
	if !viaREST {
		_ = syscall.Kill(a.pid, syscall.SIGTERM)
	}
	if waitExit(a, grace) {
		return
	}
	if viaREST {
		p.log.Warn("k6 did not stop through its REST API; sending SIGTERM", "pid", a.pid)
		_ = syscall.Kill(a.pid, syscall.SIGTERM)
		if waitExit(a, grace) {
			return
		}
	}
	p.log.Warn("k6 did not stop; killing its process group", "pid", a.pid)
	killGroup(a.pid)
	<-a.exited
}

func waitExit(a *attempt, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-a.exited:
		return true
	case <-t.C:
		return false
	}
}

// waitGroupGone waits up to d for the processes of group pgid, killed
// already, to be gone (the kernel tears a killed process down after kill
// returns) and returns those still alive.
func waitGroupGone(pgid int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		left := groupMembers(pgid)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		killGroup(pgid)
		time.Sleep(10 * time.Millisecond) // teardown has no event to wait on
	}
}

// killGroup kills every process of the group led by pid. A group that is
// already gone is not an error.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// restStop asks k6's REST API at addr to stop the test run.
func restStop(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), restTimeout)
	defer cancel()
	body := `{"data":{"type":"status","id":"default","attributes":{"stopped":true}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, "http://"+addr+"/v1/status", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("stop through REST API: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stop through REST API: status %d", resp.StatusCode)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (p *Process) close() {
	p.reader.Close()
	p.logf.Close()
}

// tail reads the series file as k6 writes it, until stop is closed; then it
// reads what is left and returns.
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

// stderrLog writes k6's stderr to the log file, keeps its last lines for
// errors and forwards each line to slog.
type stderrLog struct {
	file io.Writer
	log  *slog.Logger

	mu      sync.Mutex
	partial []byte
	last    []string
}

func (s *stderrLog) Write(b []byte) (int, error) {
	_, _ = s.file.Write(b) // losing the log file must not fail k6
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
	level, msg := parseLogrus(raw)
	lv := slog.LevelDebug
	switch level {
	case "error", "fatal", "panic":
		lv = slog.LevelWarn
	}
	s.log.Log(context.Background(), lv, "k6", "level", level, "msg", msg)
	text := msg
	if level != "" {
		text = level + ": " + msg
	}
	s.last = append(s.last, text)
	if len(s.last) > stderrKept {
		s.last = slices.Delete(s.last, 0, len(s.last)-stderrKept)
	}
}

// lines returns the last lines k6 wrote to stderr, made readable.
func (s *stderrLog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.last)
	if rest := strings.TrimSpace(string(s.partial)); rest != "" {
		out = append(out, rest)
	}
	return out
}

// parseLogrus reads the level and message of a line in logrus's text format
// (time="…" level=error msg="…" key=value…), which is how k6 logs. Other
// lines come back whole, with no level. Extra fields are kept after the
// message.
func parseLogrus(line string) (level, msg string) {
	i := strings.Index(line, "level=")
	j := strings.Index(line, " msg=")
	if i < 0 || j < 0 || j < i {
		return "", line
	}
	level, _, _ = strings.Cut(line[i+len("level="):], " ")
	rest := line[j+len(" msg="):]
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return level, rest
		}
		m, err := strconv.Unquote(q)
		if err != nil {
			return level, rest
		}
		if extra := strings.TrimSpace(rest[len(q):]); extra != "" {
			m += " (" + extra + ")"
		}
		return level, m
	}
	return level, rest
}
