package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// The load of BenchmarkK6VsWrk: wrk keeps benchConns connections open, k6
// runs benchVUs VUs (each has one connection; on 2 cores k6 does best with
// about 20 — more VUs only add scheduling), each for benchDuration.
const (
	benchConns    = 50
	benchVUs      = 20
	benchDuration = 4 * time.Second
)

// trivialServer serves a 2-byte 200 on loopback until b ends.
func trivialServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("ok")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

var wrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)

// runWrk runs wrk against url and returns its requests per second.
func runWrk(b *testing.B, wrk, url string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchDuration+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t2", "-c"+strconv.Itoa(benchConns),
		"-d"+strconv.Itoa(int(benchDuration.Seconds()))+"s", url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no Requests/sec in wrk's output:\n%s", out)
	}
	rate, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}

// steadyRate is the request rate of a run's series over its whole seconds:
// the first and last seconds (ramp-up and the end) are left out.
func steadyRate(pts []series.Point) float64 {
	perSec := map[int64]float64{}
	for _, p := range pts {
		if p.Metric == "http_reqs" {
			perSec[p.T] += p.Sum
		}
	}
	secs := slices.Sorted(func(yield func(int64) bool) {
		for s := range perSec {
			if !yield(s) {
				return
			}
		}
	})
	if len(secs) < 3 {
		return 0
	}
	var n float64
	for _, s := range secs[1 : len(secs)-1] {
		n += perSec[s]
	}
	return n / float64(len(secs)-2)
}

// BenchmarkK6VsWrk measures the requests per second the embedded k6 (a child
// process, with our output) sustains against a trivial loopback endpoint,
// and wrk's on the same endpoint in the same run: two rounds, wrk and k6 in
// turn, so that a machine busy with something else weighs on both. It skips
// when wrk is not installed (`make bench` installs it from Debian's packages).
func BenchmarkK6VsWrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed: `make bench` installs it (apt-get install wrk); without it there is nothing to compare k6 with")
	}
	url := trivialServer(b)
	const rounds = 2
	for b.Loop() {
		var wrkRPS, k6RPS float64
		for range rounds {
			wrkRPS += runWrk(b, wrk, url) / rounds
			spec := testSpec(b, "bench.js", map[string]string{
				"TARGET": url, "VUS": strconv.Itoa(benchVUs), "DURATION": benchDuration.String(),
			})
			c := newCollector()
			if _, err := Run(context.Background(), spec, c.add); err != nil {
				b.Fatalf("k6: %v", err)
			}
			k6RPS += steadyRate(c.points()) / rounds
		}
		b.ReportMetric(wrkRPS, "wrk-req/s")
		b.ReportMetric(k6RPS, "k6-req/s")
		b.ReportMetric(100*k6RPS/wrkRPS, "k6/wrk-%")
	}
}

// BenchmarkK6MemoryPerVU measures the resident memory of the k6 child at 1
// and at 200 VUs and reports the difference per added VU: for a VU that
// requests a loopback endpoint every 100 ms, and for a shopper of
// scenarios/k6/shopper.js against the in-process storefront.
func BenchmarkK6MemoryPerVU(b *testing.B) {
	url := trivialServer(b)
	trivial := func(vus int) Spec {
		return testSpec(b, "bench.js", map[string]string{
			"TARGET": url, "VUS": strconv.Itoa(vus), "DURATION": "4s", "PAUSE": "0.1",
		})
	}
	e := startStore(b)
	shoppers := func(vus int) Spec {
		spec := shopperSpec(b, e, Shape{})
		spec.Env["GAMEDAY_THINK"] = "1"
		spec.Args = []string{"--vus", strconv.Itoa(vus), "--duration", "4s"}
		return spec
	}
	for b.Loop() {
		for _, m := range []struct {
			name string
			spec func(vus int) Spec
		}{{"trivial", trivial}, {"shopper", shoppers}} {
			rss1 := peakRSS(b, m.spec(1))
			rss200 := peakRSS(b, m.spec(200))
			b.ReportMetric(float64(rss1)/(1<<20), m.name+"-MB@1VU")
			b.ReportMetric(float64(rss200)/(1<<20), m.name+"-MB@200VU")
			b.ReportMetric(float64(rss200-rss1)/199/(1<<20), m.name+"-MB/VU")
		}
	}
}

// peakRSS runs spec and returns the highest resident set size of the k6
// process seen while it ran.
func peakRSS(b *testing.B, spec Spec) int64 {
	b.Helper()
	p, err := Start(context.Background(), spec, nil)
	if err != nil {
		b.Fatal(err)
	}
	var peak int64 // written by the sampler, read once it is done
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			rss, err := vmRSS(p.PID())
			if err != nil {
				return // exited
			}
			peak = max(peak, rss)
			<-t.C
		}
	}()
	if _, err := p.Wait(); err != nil {
		b.Fatalf("k6: %v", err)
	}
	<-done
	if peak == 0 {
		b.Fatal("no RSS read")
	}
	return peak
}

// vmRSS reads the resident set size of pid from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d (a zombie?)", pid)
}
