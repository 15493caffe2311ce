//go:build unix

package env

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/topology"
)

// BenchmarkForeignReady measures the time to ready of a system that is not
// the storefront: the worked example of scenarios/examples (the inventory
// program as two process services, shop and stock, and two proxies), from
// StartInproc's call until it returns with both processes healthy.
//
// Most of that is the program's own start, which gameday cannot make
// faster; so each round also starts the same two processes bare (no
// harness, no proxies, their /healthz polled every 200 µs) and the
// benchmark reports both means and their difference, after-process-ms:
// what the harness adds once its processes are ready. The program is built
// with go build once, before any timing; closing is not timed.
func BenchmarkForeignReady(b *testing.B) {
	topo, bin := benchInventory(b)
	ctx := context.Background()
	opts := Options{Seed: 1, Shoppers: 1, Topology: topo}
	b.ResetTimer() // the build is not timed
	var envTime, bareTime time.Duration
	for range b.N {
		b.StopTimer()
		bareTime += benchBareInventory(b, bin)
		b.StartTimer()
		start := time.Now()
		e, err := StartInproc(ctx, opts)
		envTime += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(envTime.Milliseconds())/n, "env-ms")
	b.ReportMetric(float64(bareTime.Microseconds())/1e3/n, "bare-process-ms")
	b.ReportMetric(float64((envTime-bareTime).Microseconds())/1e3/n, "after-process-ms")
}

// benchInventory builds the inventory example into a directory of tb's,
// beside a copy of its topology laid out as in the repository (the
// topology runs ../../bin/inventory), and returns the parsed topology and
// the program. It skips tb where go is not on PATH.
func benchInventory(tb testing.TB) (*topology.Topology, string) {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("the inventory example is built with `go build`, and go is not on PATH")
	}
	root := tb.TempDir()
	bin := filepath.Join(root, "bin", "inventory")
	if out, err := exec.Command(goBin, "build", "-o", bin, "../../scenarios/examples/inventory").CombinedOutput(); err != nil {
		tb.Fatalf("build the inventory example: %v\n%s", err, out)
	}
	src, err := os.ReadFile("../../scenarios/examples/inventory.topology.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(root, "scenarios", "examples", "inventory.topology.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, src, 0o644); err != nil {
		tb.Fatal(err)
	}
	topo, err := topology.Parse(file, src)
	if err != nil {
		tb.Fatal(err)
	}
	return topo, bin
}

// benchBareInventory starts stock and shop from bin at once, without
// gameday, and returns the time until both answer GET /healthz; it stops
// them before returning.
func benchBareInventory(tb testing.TB, bin string) time.Duration {
	tb.Helper()
	dir := tb.TempDir()
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close() // the process listens there now
	}
	cmds := []*exec.Cmd{
		exec.Command(bin, "stock", "-listen", addrs[0], "-db", filepath.Join(dir, "stock.db")),
		exec.Command(bin, "shop", "-listen", addrs[1], "-db", filepath.Join(dir, "shop.db"), "-stock", "http://"+addrs[0]),
	}
	hc := &http.Client{Timeout: time.Second}
	start := time.Now()
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		wg.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if resp, err := hc.Get("http://" + addrs[i] + "/healthz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return
					}
				}
				time.Sleep(200 * time.Microsecond) // the bare process tells nothing when it is ready
			}
			tb.Errorf("inventory at %s not healthy within 10s", addrs[i])
		})
	}
	wg.Wait()
	took := time.Since(start)
	for _, cmd := range cmds {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return took
}
