//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// inventory is the worked example of scenarios/examples copied into a
// directory of its own, laid out as in the repository: its program built at
// bin/inventory, where the topology's command (../../bin/inventory) finds
// it, and its files under scenarios/examples.
type inventory struct {
	bin      string // the built program
	examples string // the copies of scenarios/examples/inventory*.yaml
}

// exampleFiles are the worked example's files, as the README tells a user
// to run them.
var exampleFiles = []string{"inventory.topology.yaml", "inventory.journeys.yaml", "inventory.yaml"}

// buildInventory builds scenarios/examples/inventory with go build (the
// build cache makes it cheap after the first time) and copies the example's
// files beside it. It skips tb where go is not on PATH.
func buildInventory(tb testing.TB) inventory {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("the inventory example is built with `go build`, and go is not on PATH")
	}
	root := tb.TempDir()
	inv := inventory{bin: filepath.Join(root, "bin", "inventory"), examples: filepath.Join(root, "scenarios", "examples")}
	build := exec.Command(goBin, "build", "-o", inv.bin, "../../scenarios/examples/inventory")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the inventory example: %v\n%s", err, out)
	}
	if err := os.MkdirAll(inv.examples, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, f := range exampleFiles {
		b, err := os.ReadFile(filepath.Join("../../scenarios/examples", f))
		if err != nil {
			tb.Fatal(err)
		}
		inv.write(tb, f, string(b))
	}
	return inv
}

// write writes body to the file called name beside the example's files and
// returns its path.
func (inv inventory) write(tb testing.TB, name, body string) string {
	tb.Helper()
	p := filepath.Join(inv.examples, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// edit replaces old by new in the copy of the example's file name; it
// fails tb when old is not there (the example changed under the test).
func (inv inventory) edit(tb testing.TB, name, old, new string) {
	tb.Helper()
	p := filepath.Join(inv.examples, name)
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		tb.Fatalf("%s does not hold %q", name, old)
	}
	inv.write(tb, name, strings.Replace(string(b), old, new, 1))
}

// runScenario runs `gameday run --out OUT path` as a process of its own and
// returns its exit code, its stdout and stderr, and OUT.
func runScenario(tb testing.TB, path string, args ...string) (code int, stdout, stderr, out string) {
	tb.Helper()
	out = tb.TempDir()
	cmd := gamedayCmd(tb, nil, append(append([]string{"run", "--out", out}, args...), path)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	_ = cmd.Run() // the exit code says how it went
	return cmd.ProcessState.ExitCode(), o.String(), e.String(), out
}

// TestInventoryExample runs the worked example as written: it passes. With
// the shop waiting for stock as long as stock takes (its 1 s timeout, the
// defence, taken away) the same scenario fails, on the check that guards it.
func TestInventoryExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example's 40 s load")
	}
	for _, tc := range []struct {
		name     string
		old, new string // an edit of the topology; "" none
		wantCode int
		want     []string // lines of the verdict table, each in stdout
	}{
		{"as written", "", "", exitOK, []string{"PASS    the shop gives up on stock", "PASS    recovery of order within 5s",
			"PASS    the shop stays up while stock is slow", "PASS    no stock below zero", "=> PASS: 6 of 6"}},
		{"shop without its timeout", "-timeout, 1s", "-timeout, 30s", exitFail, []string{"FAIL    the shop gives up on stock", "=> FAIL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inv := buildInventory(t)
			if tc.old != "" {
				inv.edit(t, "inventory.topology.yaml", tc.old, tc.new)
			}
			code, stdout, stderr, _ := runScenario(t, filepath.Join(inv.examples, "inventory.yaml"))
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout has no %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// foreignHead is the start of a short scenario on the inventory topology.
const foreignHead = `topology: inventory.topology.yaml
load: {journeys: inventory.journeys.yaml, rate: 10/s, duration: 8s}
`

// TestForeignTopology runs short scenarios on the inventory example, a
// system of two processes that is not the storefront: a latency fault on
// its inner link shows in the series, down on its entry fails the probe
// that goes through it (not the one around it), and a crash fault really
// kills its process, which the harness starts again on the same address.
func TestForeignTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	t.Run("latency shows in its series", func(t *testing.T) {
		t.Parallel()
		inv := buildInventory(t)
		// The shop's order waits for stock: 400 ms more on shop->stock is
		// 400 ms more on the order, and nothing before the fault.
		path := inv.write(t, "latency.yaml", foreignHead+`faults:
  - {link: shop->stock, toxic: latency, latency: 400ms, start: 3s, duration: 3s}
checks:
  - {metric: "http_req_duration{name:order}", window: baseline, p95: "<= 200ms"}
  - {metric: "http_req_duration{name:order}", window: fault, p50: ">= 400ms"}
  - {metric: "http_req_duration{name:lookup}", window: fault, p95: "<= 200ms", name: the lookup does not call stock}
`)
		code, stdout, stderr, _ := runScenario(t, path)
		if code != exitOK {
			t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
		}
		// The storefront's audits are no business of another system's run.
		if strings.Contains(stderr, "audit") {
			t.Errorf("a run of the inventory speaks of audits:\n%s", stderr)
		}
	})
	t.Run("down makes its probe fail", func(t *testing.T) {
		t.Parallel()
		inv := buildInventory(t)
		// The same probe through the client's link and around it: down on
		// client->shop fails the first, and only the first.
		path := inv.write(t, "down.yaml", foreignHead+`faults:
  - {link: client->shop, toxic: down, start: 3s, duration: 3s}
checks:
  - {probe: http, url: "{entry.shop}/healthz", every: 1s, expect: status == 200, name: through the entry}
  - {probe: http, url: "{service.shop}/healthz", every: 1s, expect: status == 200, name: around the proxy}
`)
		code, stdout, stderr, _ := runScenario(t, path)
		if code != exitFail {
			t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFail, stdout, stderr)
		}
		for _, w := range []string{"FAIL    through the entry", "PASS    around the proxy"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout has no %q:\n%s", w, stdout)
			}
		}
	})
	t.Run("crash kills and restarts it", func(t *testing.T) {
		t.Parallel()
		inv := buildInventory(t)
		// A kill is started again at once: whether an order meets the gap
		// of a few milliseconds is timing (CI once saw none in 13), so
		// the kill is proven by stock's log and the orders' failures by a
		// stop of two seconds after it. The orders the stop holds wait
		// for the shop's timeout, so the load runs 10 s to give the last
		// window enough of them (CI once judged 8 in two seconds, fewer
		// than the least).
		path := inv.write(t, "crash.yaml", strings.Replace(foreignHead, "duration: 8s", "duration: 10s", 1)+`faults:
  - {service: stock, action: kill, at: 2s}
  - {service: stock, action: stop, at: 3s, duration: 2s}
checks:
  - {metric: "http_req_failed{name:order}", window: {from: 3s, to: 5s}, count: ">= 1", name: orders fail while stock is down}
  - {metric: "http_req_failed{name:order}", window: {from: 6s, to: 10s}, rate: "<= 0.05", name: stock is back}
`)
		code, stdout, stderr, out := runScenario(t, path)
		if code != exitOK {
			t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
		}
		// stock's log holds a line per start: one at the start, one after
		// the kill.
		logs := findFiles(t, out, "stock.log")
		if len(logs) != 1 {
			t.Fatalf("stock logs under %s: %v; want one", out, logs)
		}
		b, err := os.ReadFile(logs[0])
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "gameday: starting stock"); n != 3 {
			t.Errorf("stock started %d times, want 3 (once, again after its kill, again after its stop); its log:\n%s", n, b)
		}
	})
}

// findFiles returns the paths under root of the files called name.
func findFiles(tb testing.TB, root, name string) []string {
	tb.Helper()
	var out []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestForeignLeavesNothing ends a run of the inventory example, whose stock
// is killed and started again on the way, every way a run ends: it passes,
// it fails, it is interrupted (SIGINT), the harness is killed (SIGKILL).
// Each time, no process of the example's program is left, nor any process
// whose command line names the run's directory.
func TestForeignLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	const body = foreignHead + `faults:
  - {service: stock, action: kill, at: 2s}
checks:
  - {metric: http_reqs, window: run, count: "> 10"}
`
	for _, tc := range []struct {
		name     string
		body     string
		signal   syscall.Signal // 0: the run ends by itself
		wantCode int            // -1: killed
	}{
		{"pass", body, 0, exitOK},
		{"fail", body + "  - {metric: http_reqs, window: run, count: \"> 1000000\"}\n", 0, exitFail},
		{"sigint", body, syscall.SIGINT, exitInterrupted},
		{"harness killed", body, syscall.SIGKILL, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inv := buildInventory(t)
			out := t.TempDir()
			cmd := gamedayCmd(t, nil, "run", "--out", out, inv.write(t, "short.yaml", tc.body))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			var got strings.Builder
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				got.WriteString(sc.Text() + "\n")
				// Interrupt once stock has been killed and is back.
				if tc.signal != 0 && strings.Contains(sc.Text(), "recovery") {
					if len(processesRunning(inv.bin)) != 2 {
						t.Errorf("before the %v, the example's processes: %v; want shop and stock", tc.signal, processesRunning(inv.bin))
					}
					if err := cmd.Process.Signal(tc.signal); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			go func() {
				for sc.Scan() {
				}
			}()
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.wantCode {
				t.Errorf("exit code %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, got.String(), stderr.String())
			}
			if len(findFiles(t, out, "stock.log")) != 1 {
				t.Errorf("no stock.log under %s: the example did not run", out)
			}
			waitNoneRunning(t, inv.bin)
			waitGone(t, out)
		})
	}
}

// TestUpTopology runs `gameday up --topology` on the inventory example as a
// process of its own: the ready JSON lists its services, links and entry;
// an order placed through the entry works, and fails honestly once the
// shop->stock proxy is disabled through Toxiproxy's own client (what
// toxiproxy-cli does); SIGINT stops it and leaves no process behind.
func TestUpTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the example's processes")
	}
	t.Parallel()
	inv := buildInventory(t)
	cmd := gamedayCmd(t, nil, "up", "--json", "--topology", filepath.Join(inv.examples, "inventory.topology.yaml"))
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
	var info struct {
		Topology  string            `json:"topology"`
		Toxiproxy string            `json:"toxiproxy"`
		Dir       string            `json:"dir"`
		Services  map[string]string `json:"services"`
		Entries   map[string]string `json:"entries"`
		Links     map[string]string `json:"links"`
	}
	out := stdout.waitFor(t, "\n", upReady, exited)
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("the ready line is not JSON: %v\n%s", err, out)
	}
	if info.Topology != "inventory" || len(info.Services) != 2 || info.Services["shop"] == "" || info.Services["stock"] == "" ||
		len(info.Entries) != 1 || info.Entries["client->shop"] == "" ||
		len(info.Links) != 2 || info.Links["client->shop"] != "client_shop" || info.Links["shop->stock"] != "shop_stock" {
		t.Fatalf("the ready JSON does not describe the inventory example:\n%s", out)
	}
	for name, u := range info.Services {
		if code, _ := order(t, u+"/healthz", http.MethodGet); code != http.StatusOK {
			t.Errorf("service %s at %s: GET /healthz answered %d", name, u, code)
		}
	}
	entry := info.Entries["client->shop"]
	if code, _ := order(t, entry+"/orders", http.MethodPost); code != http.StatusCreated {
		t.Errorf("an order through the entry: %d, want 201", code)
	}
	tp := tpclient.NewClient(info.Toxiproxy)
	tp.UserAgent = "gameday-up-test"
	p, err := tp.Proxy(info.Links["shop->stock"])
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	if code, h := order(t, entry+"/orders", http.MethodPost); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("an order with shop->stock down: %d (Retry-After %q), want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	if code, _ := order(t, entry+"/orders", http.MethodPost); code != http.StatusCreated {
		t.Errorf("an order with shop->stock back: %d, want 201", code)
	}
	if n := len(processesRunning(inv.bin)); n != 2 {
		t.Errorf("%d processes of the example while up runs, want 2 (shop and stock)", n)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("gameday up still running 30s after SIGINT; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("exit code %d after SIGINT, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	waitNoneRunning(t, inv.bin)
	waitGone(t, info.Dir)
	if _, err := os.Stat(info.Dir); !os.IsNotExist(err) {
		t.Errorf("the stores' directory %s is still there (%v)", info.Dir, err)
	}
}

// order sends method to u (a body of one sku-1 for a POST) and returns the
// status and headers of the answer.
func order(tb testing.TB, u, method string) (int, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(`{"sku":"sku-1","qty":1}`))
	if err != nil {
		tb.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// processesRunning returns the pids of the live processes whose executable
// is bin (its command line may name it by a relative path).
func processesRunning(bin string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
				if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && (st[i+2] == 'Z' || st[i+2] == 'X') {
					continue // a zombie holds nothing
				}
			}
			out = append(out, e.Name())
		}
	}
	return out
}

// waitNoneRunning waits until no process runs bin; it fails tb with those
// left after a deadline, and kills them.
func waitNoneRunning(tb testing.TB, bin string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesRunning(bin)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("processes of %s left behind: %v", bin, left)
			for _, pid := range left { // not to leave them to the next test
				if n, err := strconv.Atoi(pid); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
			return
		}
		time.Sleep(50 * time.Millisecond) // a killed process's teardown has no event to wait on
	}
}
