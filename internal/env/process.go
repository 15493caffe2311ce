package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/procgroup"
)

// Defaults of ProcessConfig.
const (
	DefaultProcessStart = 30 * time.Second // for a process to answer its health check
	DefaultProcessGrace = 5 * time.Second  // between SIGTERM and SIGKILL
)

const (
	healthAttempt = time.Second            // bound of one health check
	healthBackoff = 200 * time.Millisecond // the longest wait between two checks
	logTailLines  = 10                     // lines of a process's log quoted in errors
)

// Health is how the harness tells that a service is up, on the address it
// was told to listen on: HTTP is a path that a GET must answer with a 2xx
// status; without it (or with TCP) an accepted connection is enough.
type Health struct {
	HTTP string // e.g. "/healthz"
	TCP  bool
}

func (h Health) String() string {
	if h.HTTP != "" {
		return "GET " + h.HTTP
	}
	return "tcp connect"
}

// Command is a program to run, with every placeholder already resolved.
type Command struct {
	Path string
	Args []string
	Env  map[string]string // added to the harness's own environment
	Dir  string            // working directory; "" is the harness's
}

// ProcessConfig describes a service that runs as a process of its own.
type ProcessConfig struct {
	Service string  // its name, for logs and errors
	Command Command // how to start it, the same at every start
	// Addr is the host:port the service was told (in Command) to listen on;
	// the health check goes there. A restart runs the same command, so the
	// service comes back on the same address and the proxies in front of it
	// keep pointing at it.
	Addr   string
	Health Health
	// LogPath is the file the process's stdout and stderr are appended to,
	// across restarts (required).
	LogPath string
	// StartTimeout bounds the wait for the health check after each start;
	// default DefaultProcessStart.
	StartTimeout time.Duration
	// StopGrace is how long a stop waits after SIGTERM before the process
	// group is killed; default DefaultProcessGrace.
	StopGrace time.Duration
	// RestartDelay is how long a killed or restarted service stays down
	// before it is started again, as a supervisor's restart delay keeps a
	// real one down (systemd's RestartSec, Kubernetes' back-off); 0 starts
	// it again at once.
	RestartDelay time.Duration
	Logger       *slog.Logger // nil discards
}

// Process supervises a service that runs as a child process: in a process
// group of its own, killed by the kernel if the harness dies (Linux; see
// procgroup), started again on the same address after a crash. A process
// that exits without being asked to is logged, with the tail of its log,
// and stays down: what the verdicts see is the service's health through its
// proxies. Its methods are safe for concurrent use.
type Process struct {
	cfg  ProcessConfig
	log  *slog.Logger
	logf *os.File

	mu      sync.Mutex // held through a crash action, so actions do not interleave
	cmd     *exec.Cmd  // the current run; nil before the first start
	exited  <-chan struct{}
	asked   bool // the harness stopped the current run
	closed  bool
	lastErr error
}

// StartProcess starts the service and returns once it answers its health
// check. On failure (the program cannot start, exits first, or the check
// does not pass within StartTimeout, or ctx ends) nothing it started is left
// and the error quotes the tail of its log.
func StartProcess(ctx context.Context, cfg ProcessConfig) (*Process, error) {
	if cfg.Command.Path == "" {
		return nil, fmt.Errorf("start %s: no command", cfg.Service)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("start %s: address %q is not host:port", cfg.Service, cfg.Addr)
	}
	if cfg.LogPath == "" {
		return nil, fmt.Errorf("start %s: no log file", cfg.Service)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultProcessStart
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultProcessGrace
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	logf, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open its log: %w", cfg.Service, err)
	}
	p := &Process{cfg: cfg, log: log.With("service", cfg.Service), logf: logf}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(ctx); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Service, err)
	}
	return p, nil
}

// Addr is the host:port the service listens on, the same across restarts.
func (p *Process) Addr() string { return p.cfg.Addr }

// PID returns the process id of the current run (also its process group's
// id), or 0 when it never started.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the current run has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running()
}

func (p *Process) running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Healthy runs the health check once; nil means the service answered.
func (p *Process) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, healthAttempt)
	defer cancel()
	return checkHealth(ctx, p.cfg.Addr, p.cfg.Health)
}

// Crash carries out action (CrashKill, CrashStop, CrashRestart, CrashStart;
// see Crasher) and returns once it is done: for an action that starts the
// service, once it answers its health check on the same address. Start on
// a running service only checks its health.
func (p *Process) Crash(ctx context.Context, action string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the environment is closed")
	}
	began := time.Now()
	switch action {
	case CrashKill:
		if err := p.stop(syscall.SIGKILL); err != nil {
			return err
		}
	case CrashStop, CrashRestart:
		if err := p.stop(syscall.SIGTERM); err != nil {
			return err
		}
	case CrashStart:
		if p.running() {
			return p.waitHealthy(ctx)
		}
	default:
		return fmt.Errorf("unknown action %q (allowed values: %s, %s, %s, %s)", action, CrashKill, CrashStop, CrashRestart, CrashStart)
	}
	if action == CrashStop {
		p.log.Info("service down", "action", action)
		return nil
	}
	if action != CrashStart {
		p.log.Info("service down", "action", action)
		t := time.NewTimer(p.cfg.RestartDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("start again: %w", context.Cause(ctx))
		}
	}
	if err := p.start(ctx); err != nil {
		return fmt.Errorf("start again: %w", err)
	}
	p.log.Info("service up again", "action", action, "pid", p.cmd.Process.Pid, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// Close stops the service (SIGTERM, its group killed after StopGrace) and
// returns once no process of its group is left, or an error naming those
// that are. It is idempotent.
func (p *Process) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return p.lastErr
	}
	p.closed = true
	p.lastErr = p.stop(syscall.SIGTERM)
	if err := p.logf.Close(); err != nil {
		p.lastErr = errors.Join(p.lastErr, fmt.Errorf("close log of %s: %w", p.cfg.Service, err))
	}
	return p.lastErr
}

// start runs the command once and waits for its health check. Held: p.mu.
func (p *Process) start(ctx context.Context) error {
	c := p.cfg.Command
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = os.Environ()
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = p.logf, p.logf // a file: the child writes it directly
	fmt.Fprintf(p.logf, "--- gameday: starting %s at %s\n", p.cfg.Service, time.Now().Format(time.RFC3339Nano))
	exited, err := procgroup.Start(cmd, nil)
	if err != nil {
		return err
	}
	p.cmd, p.exited, p.asked = cmd, exited, false
	p.log.Debug("service process started", "pid", cmd.Process.Pid, "addr", p.cfg.Addr)
	go p.watch(cmd, exited)
	if err := p.waitHealthy(ctx); err != nil {
		return errors.Join(err, p.stop(syscall.SIGKILL))
	}
	return nil
}

// watch reports a run that ends without the harness asking.
func (p *Process) watch(cmd *exec.Cmd, exited <-chan struct{}) {
	<-exited
	p.mu.Lock()
	asked := p.asked || p.cmd != cmd
	p.mu.Unlock()
	if asked {
		return
	}
	p.log.Error("service process exited by itself", "pid", cmd.Process.Pid,
		"state", cmd.ProcessState.String(), "log", p.cfg.LogPath, "tail", logTail(p.cfg.LogPath))
}

// waitHealthy polls the health check, with a growing pause between
// attempts, until it passes, the process exits, StartTimeout passes or ctx
// ends. Held: p.mu.
func (p *Process) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StartTimeout)
	defer cancel()
	pause := 5 * time.Millisecond
	for {
		err := p.Healthy(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-p.exited:
			t.Stop()
			return fmt.Errorf("exited (%s) before answering its health check (%s on %s)%s",
				p.cmd.ProcessState, p.cfg.Health, p.cfg.Addr, quoteTail(p.cfg.LogPath))
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no answer to its health check (%s on %s) within %v: %w%s",
				p.cfg.Health, p.cfg.Addr, p.cfg.StartTimeout, err, quoteTail(p.cfg.LogPath))
		case <-t.C:
		}
		pause = min(2*pause, healthBackoff)
	}
}

// stop ends the current run: sig to the process (SIGTERM waits StopGrace
// for it to exit), then SIGKILL to its whole group; it returns once no
// process of the group is left. Held: p.mu.
func (p *Process) stop(sig syscall.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	p.asked = true
	if p.running() {
		procgroup.Signal(pid, sig)
		t := time.NewTimer(p.cfg.StopGrace)
		select {
		case <-p.exited:
		case <-t.C:
			p.log.Warn("service did not stop; killing its process group", "pid", pid)
		}
		t.Stop()
	}
	procgroup.Kill(pid) // anything it left behind in its group
	<-p.exited
	if left := procgroup.WaitGone(pid, 5*time.Second); len(left) > 0 {
		return fmt.Errorf("stop %s: processes %v of group %d are still alive after SIGKILL", p.cfg.Service, left, pid)
	}
	return nil
}

// checkHealth runs h once against addr.
func checkHealth(ctx context.Context, addr string, h Health) error {
	if h.HTTP == "" || h.TCP {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		c.Close()
		if h.HTTP == "" {
			return nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+h.HTTP, nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: status %d", h.HTTP, resp.StatusCode)
	}
	return nil
}

// healthClient keeps no connection open: a check must reach the process
// that runs now, never one a killed run left in a pool.
var healthClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// FreeAddr returns a loopback host:port that nothing listens on now, for a
// process that must be told its address before it starts.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// logTail returns the last lines of the file at path ("" when unreadable).
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 8 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(-window, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

func quoteTail(path string) string {
	if t := logTail(path); t != "" {
		return "; its log (" + path + ") ends:\n" + t
	}
	return ""
}

// ProcessSpec is how the inproc runtime runs a service as a process of its
// own instead of inside the harness (Options.Processes): the harness picks
// the service's address, puts the proxies of the links to it in front of
// that address, tells the service where it listens and where its upstreams'
// proxies are (Wiring), and supervises it (Process): crash faults reach it.
type ProcessSpec struct {
	// Command returns the command that runs the service as w describes
	// (placeholders such as {port}, {addr} and {link.NAME} resolved from
	// w). It is called once; the same command runs again at each start
	// after a crash, so the service keeps its address.
	Command func(w Wiring) (Command, error)
	// Health is checked on Wiring.Addr after each start.
	Health Health
	// RestartDelay is how long a kill or a restart keeps the service down
	// (ProcessConfig.RestartDelay).
	RestartDelay time.Duration
	// Audit says that the service serves the storefront's audit endpoints
	// (mockstore/API.md) on Wiring.AuditAddr; Info.Audit names that
	// address. Without it the service has no audit in Info.
	Audit bool
}

// Wiring is what a service run as a process is told.
type Wiring struct {
	Service string
	Addr    string // host:port it must listen on (loopback, a port the harness picked)
	// AuditAddr is a second host:port, for its audit endpoints; set only
	// when ProcessSpec.Audit is.
	AuditAddr string
	// Links maps each upstream of the service (the To of each link From the
	// service) to the base URL of that link's proxy, "http://127.0.0.1:PORT".
	Links map[string]string
	Dir   string // the run directory: stores and logs go there
}
