package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// upReady bounds how long `gameday up` may take to start the storefront.
const upReady = 60 * time.Second

func TestUpBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // each must appear on stderr: what was wrong and what is allowed
	}{
		{"unknown profile", []string{"--profile", "bogus"}, []string{`"bogus"`, "resilient", "naive"}},
		{"unknown feature", []string{"--feature", "nope=off"}, []string{`"nope"`, "session_fallback", "retry_budget"}},
		{"feature value", []string{"--feature", "session_fallback=maybe"}, []string{`"maybe"`, "on, off"}},
		{"feature without value", []string{"--feature", "session_fallback"}, []string{"name=on", "name=off"}},
		{"negative shoppers", []string{"--shoppers", "-1"}, []string{"-1", "1 to 100000"}},
		{"zero shoppers", []string{"--shoppers", "0"}, []string{"1 to 100000"}},
		{"too many shoppers", []string{"--shoppers", "100001"}, []string{"100001", "1 to 100000"}},
		{"shoppers beyond int", []string{"--shoppers", "99999999999999999999"}, []string{"out of range", "1 to 100000"}},
		{"shoppers not a number", []string{"--shoppers", "many"}, []string{`"many"`, "1 to 100000"}},
		{"unknown runtime", []string{"--runtime", "k8s"}, []string{`"k8s"`, "inproc"}},
		{"unknown flag", []string{"--color"}, []string{"-color"}},
		{"stray argument", []string{"now"}, []string{`"now"`}},
		{"unknown topology", []string{"--topology", "storfront"}, []string{`"storfront"`, "storefront"}},
		{"no topology file", []string{"--topology", "none.topology.yaml"}, []string{"none.topology.yaml", "no such file"}},
		{"topology with problems", []string{"--topology", "testdata/broken.topology.yaml"}, []string{`broken.topology.yaml:5:`, `"proces"`, `did you mean "process"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A bad flag must be refused before anything starts: a context
			// that is never cancelled would hang a command that started.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, stdout, stderr := runCmd(t, ctx, append([]string{"up"}, tc.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestUpHelp(t *testing.T) {
	code, stdout, stderr := runCmd(t, context.Background(), "up", "-h")
	if code != exitOK {
		t.Errorf("exit code %d, want %d", code, exitOK)
	}
	for _, flag := range []string{"-json", "-profile", "-feature", "-shoppers", "-seed"} {
		if !strings.Contains(stdout+stderr, flag) {
			t.Errorf("help does not list %s:\n%s%s", flag, stdout, stderr)
		}
	}
}

// upInfo is what the tests read from `gameday up --json`.
type upInfo struct {
	Gateway     string            `json:"gateway"`
	Toxiproxy   string            `json:"toxiproxy"`
	OTPInbox    string            `json:"otp_inbox"`
	Audit       map[string]string `json:"audit"`
	Links       map[string]string `json:"links"`
	SamplePhone string            `json:"sample_phone"`
}

// parseUpJSON checks that out is exactly one JSON object with every field
// the README promises, and returns it.
func parseUpJSON(tb testing.TB, out string) upInfo {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		tb.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		tb.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	for _, k := range []string{"gateway", "toxiproxy", "otp_inbox", "audit", "links", "sample_phone"} {
		if _, ok := raw[k]; !ok {
			tb.Errorf("the JSON lacks %q:\n%s", k, out)
		}
	}
	var info upInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		tb.Fatalf("decode the JSON: %v\n%s", err, out)
	}
	for name, u := range map[string]string{"gateway": info.Gateway, "toxiproxy": info.Toxiproxy, "otp_inbox": info.OTPInbox} {
		if _, err := hostPort(u); err != nil {
			tb.Errorf("%s: %v", name, err)
		}
	}
	for _, svc := range mockstore.Services {
		if _, err := hostPort(info.Audit[svc]); err != nil {
			tb.Errorf("audit of %s: %v", svc, err)
		}
	}
	want := map[string]string{}
	for _, l := range mockstore.Links() {
		want[l.Name] = l.Proxy
	}
	if fmt.Sprint(info.Links) != fmt.Sprint(want) {
		tb.Errorf("links %v, want %v", info.Links, want)
	}
	if info.SamplePhone == "" {
		tb.Error("sample_phone is empty")
	}
	return info
}

// hostPort returns the host:port of an http URL on loopback.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" || u.Port() == "" {
		return "", fmt.Errorf("%q: want http://host:port", raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%q is not on loopback", raw)
	}
	return u.Host, nil
}

// checkLive checks that the environment answers: the gateway's /healthz,
// the OTP inbox, and the Toxiproxy API listing a proxy per link. It returns
// every address the environment listens on, the proxies' included.
func checkLive(tb testing.TB, info upInfo) []string {
	tb.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(u string, out any) {
		tb.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			tb.Fatal(err)
		}
		// Toxiproxy refuses browsers (a User-Agent starting "Mozilla/").
		req.Header.Set("User-Agent", "gameday-test")
		resp, err := hc.Do(req)
		if err != nil {
			tb.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			tb.Fatalf("GET %s: read: %v", u, err)
		}
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			tb.Fatalf("GET %s: %v\n%s", u, err, body)
		}
	}
	var health map[string]any
	get(info.Gateway+"/healthz", &health)
	var inbox []json.RawMessage
	get(info.OTPInbox+"/inbox/"+url.PathEscape(info.SamplePhone), &inbox)

	var proxies map[string]struct {
		Listen  string `json:"listen"`
		Enabled bool   `json:"enabled"`
	}
	get(info.Toxiproxy+"/proxies", &proxies)
	addrs := []string{}
	for _, l := range mockstore.Links() {
		p, ok := proxies[l.Proxy]
		if !ok {
			tb.Errorf("the Toxiproxy API does not list %s (link %s)", l.Proxy, l.Name)
			continue
		}
		if !p.Enabled {
			tb.Errorf("proxy %s is disabled", l.Proxy)
		}
		addrs = append(addrs, p.Listen)
	}
	if len(proxies) != len(mockstore.Links()) {
		tb.Errorf("the Toxiproxy API lists %d proxies, want %d", len(proxies), len(mockstore.Links()))
	}
	for _, u := range append([]string{info.Gateway, info.Toxiproxy, info.OTPInbox}, mapValues(info.Audit)...) {
		if hp, err := hostPort(u); err == nil {
			addrs = append(addrs, hp)
		}
	}
	return addrs
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// assertClosed checks that nothing listens on any of addrs any more.
func assertClosed(tb testing.TB, addrs []string) {
	tb.Helper()
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err == nil {
			c.Close()
			tb.Errorf("%s still accepts connections after up stopped", a)
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			tb.Errorf("dial %s: %v, want connection refused", a, err)
		}
	}
}

// startUp runs `gameday up args...` in this process until the returned
// stop is called; stop cancels its context and returns its exit code.
func startUp(tb testing.TB, args ...string) (stdout, stderr *syncBuffer, done <-chan struct{}, stop func() int) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = newSyncBuffer(), newSyncBuffer()
	ch := make(chan struct{})
	code := -1
	go func() {
		defer close(ch)
		code = run(ctx, append([]string{"up"}, args...), stdout, stderr)
	}()
	stop = func() int {
		tb.Helper()
		cancel()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			tb.Fatalf("up did not return within 30s of its context being cancelled; stderr:\n%s", stderr.String())
		}
		return code
	}
	tb.Cleanup(func() { cancel(); <-ch })
	return stdout, stderr, ch, stop
}

func TestUpJSON(t *testing.T) {
	stdout, stderr, done, stop := startUp(t, "--json", "--shoppers", "5", "--feature", "session_fallback=off")
	out := stdout.waitFor(t, "\n", upReady, done)
	info := parseUpJSON(t, out)
	addrs := checkLive(t, info)
	if code := stop(); code != exitOK {
		t.Errorf("exit code %d after cancel, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	if stdout.String() != out {
		t.Errorf("up wrote to stdout after the JSON object:\n%s", strings.TrimPrefix(stdout.String(), out))
	}
	assertClosed(t, addrs)
}

func TestUpTable(t *testing.T) {
	stdout, stderr, done, stop := startUp(t, "--shoppers", "5", "--profile", "naive")
	out := stdout.waitFor(t, "Ready.", upReady, done)
	var gateway, toxiproxy string
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "gateway":
			gateway = f[1]
		case len(f) == 3 && f[0] == "toxiproxy" && f[1] == "API":
			toxiproxy = f[2]
		}
	}
	if _, err := hostPort(gateway); err != nil {
		t.Errorf("the table has no gateway URL (%v):\n%s", err, out)
	}
	if _, err := hostPort(toxiproxy); err != nil {
		t.Errorf("the table has no toxiproxy API URL (%v):\n%s", err, out)
	}
	if !strings.Contains(out, "profile naive") {
		t.Errorf("the table does not show the profile:\n%s", out)
	}
	for _, l := range mockstore.Links() {
		if !strings.Contains(out, l.Name) || !strings.Contains(out, l.Proxy) {
			t.Errorf("the table does not show link %s (proxy %s):\n%s", l.Name, l.Proxy, out)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("without --json, up printed JSON:\n%s", out)
	}
	if code := stop(); code != exitOK {
		t.Errorf("exit code %d after cancel, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	hp, _ := hostPort(gateway)
	tp, _ := hostPort(toxiproxy)
	assertClosed(t, []string{hp, tp})
}

// TestUpProcess runs gameday up as its own process and stops it with a
// signal, as Ctrl-C or a supervisor would.
func TestUpProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole storefront in a child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(exe, "up", "--json", "--shoppers", "5")
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
			t.Cleanup(func() {
				select {
				case <-exited:
				default:
					_ = cmd.Process.Kill()
					<-exited
				}
			})

			out := stdout.waitFor(t, "\n", upReady, exited)
			info := parseUpJSON(t, out)
			checkLive(t, info)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("gameday up still running 30s after %v; stderr:\n%s", sig, stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != exitOK {
				t.Errorf("exit code %d after %v, want %d; stderr:\n%s", code, sig, exitOK, stderr.String())
			}
			if stdout.String() != out {
				t.Errorf("up wrote to stdout after the JSON object:\n%s", strings.TrimPrefix(stdout.String(), out))
			}
			if !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("up did not say it stopped; stderr:\n%s", stderr.String())
			}
			// The process has exited and the kernel has closed its sockets:
			// dialing its old ports now would only race with the other test
			// processes the kernel hands them to (seen in CI). The in-process
			// tests check that up closes what it opened.
		})
	}
}
