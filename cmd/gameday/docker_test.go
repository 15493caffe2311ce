package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/env/envtest"
)

// ownerLabel is the label on everything a gameday process with pid starts.
func ownerLabel(pid int) string {
	host, _ := os.Hostname()
	return env.DockerLabelOwner + "=" + host + "/" + strconv.Itoa(pid)
}

// TestDockerNoEngine: with DOCKER_HOST naming an engine that is not there,
// every command of the docker runtime exits 3 and says that Docker is
// needed and that the default runtime works without it; nothing starts.
func TestDockerNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
	path := writeScenario(t, short)
	for _, args := range [][]string{
		{"run", "--runtime", "docker", "--out", t.TempDir(), path},
		{"up", "--runtime", "docker"},
		{"demo", "--runtime", "docker", "--out", t.TempDir()},
		{"clean"},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, _, stderr := runCmd(t, ctx, args...)
			if code != exitEnvironment {
				t.Errorf("exit %d; want %d\nstderr:\n%s", code, exitEnvironment, stderr)
			}
			for _, want := range []string{"needs a running Docker engine", "DOCKER_HOST=", "inproc", "works without Docker"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestCleanUsage(t *testing.T) {
	code, _, stderr := runCmd(t, context.Background(), "clean", "now")
	if code != exitUsage || !strings.Contains(stderr, `unexpected argument "now"`) {
		t.Errorf("clean now: exit %d, stderr %q", code, stderr)
	}
}

// TestRunDocker runs a short scenario in containers through the command
// line, runs the load on the host, and checks its verdict and that the run
// removed every container and network it labelled.
func TestRunDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario in containers")
	}
	envtest.DockerOrSkip(t)
	t.Parallel() // a run waits on its timeline more than it computes
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, stdout, stderr := runCmd(t, ctx, "run", "--runtime", "docker", "--out", out, writeScenario(t, short))
	if code != exitOK {
		t.Fatalf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
	}
	if !strings.Contains(stdout, "=> PASS") {
		t.Errorf("no PASS verdict line:\n%s", stdout)
	}
	if left := envtest.Labelled(t, ownerLabel(os.Getpid())); len(left) > 0 {
		t.Errorf("after the run, still labelled as this process's: %v", left)
	}
}

// TestRunDockerInterrupted interrupts a docker run in the middle of its
// fault with SIGINT, as Ctrl-C would, and checks that the gameday process
// exits 130 having removed every container and network it labelled.
func TestRunDockerInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the storefront in containers")
	}
	envtest.DockerOrSkip(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "--runtime", "docker", "--out", t.TempDir(), writeScenario(t, short))
	cmd.Env = append(os.Environ(), "GAMEDAY_TEST_MAIN=1")
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is read from cmd.ProcessState
		close(exited)
	}()
	owner := ownerLabel(cmd.Process.Pid)
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if left := envtest.Labelled(t, owner); len(left) > 0 {
			if _, err := env.DockerClean(context.Background()); err != nil {
				t.Logf("clean up after the test: %v", err)
			}
		}
	})

	stdout.waitFor(t, " fault ", 4*time.Minute, exited) // a progress line in the fault phase
	if left := envtest.Labelled(t, owner); len(left) == 0 {
		t.Fatalf("nothing labelled %s while the scenario runs", owner)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("gameday run still running 2m after SIGINT; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d after SIGINT, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "faults removed and the storefront stopped") {
		t.Errorf("stderr does not say it cleaned up:\n%s", stderr.String())
	}
	if left := envtest.Labelled(t, owner); len(left) > 0 {
		t.Errorf("after SIGINT, still labelled %s: %v", owner, left)
	}
}

// TestUpDocker runs `gameday up --runtime docker` as its own process, uses
// the storefront through the mapped ports, stops it with SIGINT and checks
// that every container and network of the run is gone.
func TestUpDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the storefront in containers")
	}
	envtest.DockerOrSkip(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "up", "--runtime", "docker", "--json", "--shoppers", "5")
	cmd.Env = append(os.Environ(), "GAMEDAY_TEST_MAIN=1")
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	owner := ownerLabel(cmd.Process.Pid)
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if left := envtest.Labelled(t, owner); len(left) > 0 {
			if _, err := env.DockerClean(context.Background()); err != nil {
				t.Logf("clean up after the test: %v", err)
			}
		}
	})

	out := stdout.waitFor(t, "\n", 4*time.Minute, exited)
	info := parseUpJSON(t, out)
	checkLive(t, info)
	var runID struct {
		Runtime string `json:"runtime"`
		Run     string `json:"run"`
	}
	if err := json.Unmarshal([]byte(out), &runID); err != nil || runID.Runtime != "docker" || runID.Run == "" {
		t.Fatalf("runtime %q, run %q (%v): want a docker run", runID.Runtime, runID.Run, err)
	}
	run := env.DockerLabelRun + "=" + runID.Run
	if left := envtest.Labelled(t, run); len(left) == 0 {
		t.Fatalf("nothing labelled %s while up runs", run)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatalf("gameday up still running 1m after SIGINT; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("exit code %d after SIGINT, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	if left := envtest.Labelled(t, run); len(left) > 0 {
		t.Errorf("after SIGINT, still labelled %s: %v", run, left)
	}
}
