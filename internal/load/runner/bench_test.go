package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/series"
)

// The load of BenchmarkLoadVsPeers: every tool keeps at most peerConns
// connections (wrk's -c, vegeta's -max-workers, our VUs) for peerDuration.
const (
	peerConns    = 50
	peerDuration = 4 * time.Second
	vegetaModule = "github.com/tsenart/vegeta/v12@v12.13.0"
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
	return "http://" + ln.Addr().String()
}

// bareJourneys writes a journey file of one GET / with no check and no
// think time: the load engine's own cost per request.
func bareJourneys(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bare.yaml")
	src := "journeys:\n  - name: bare\n    steps:\n      - name: root\n        method: GET\n        url: /\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

var wrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)

// runWrk runs wrk against url and returns its requests per second.
func runWrk(b *testing.B, wrk, url string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerDuration+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t2", "-c"+strconv.Itoa(peerConns),
		"-d"+strconv.Itoa(int(peerDuration.Seconds()))+"s", url+"/").CombinedOutput()
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

// vegetaBinary builds vegeta (MIT; not a module of ours) into a directory
// of the benchmark, or returns "" when the module proxy cannot serve it.
func vegetaBinary(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command("go", "install", vegetaModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Logf("go install %s: %v\n%s", vegetaModule, err, out)
		return ""
	}
	return filepath.Join(dir, "vegeta")
}

// runVegeta attacks url at vegeta's maximum rate (-rate=0) with peerConns
// workers and returns the requests per second its report gives.
func runVegeta(b *testing.B, vegeta, url string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerDuration+30*time.Second)
	defer cancel()
	attack := exec.CommandContext(ctx, vegeta, "attack", "-rate=0", "-max-workers="+strconv.Itoa(peerConns),
		"-workers="+strconv.Itoa(peerConns), "-duration="+peerDuration.String(), "-keepalive=true")
	attack.Stdin = strings.NewReader("GET " + url + "/\n")
	results, err := attack.Output()
	if err != nil {
		b.Fatalf("vegeta attack: %v", err)
	}
	report := exec.CommandContext(ctx, vegeta, "report", "-type=json")
	report.Stdin = bytes.NewReader(results)
	out, err := report.Output()
	if err != nil {
		b.Fatalf("vegeta report: %v", err)
	}
	var r struct {
		Requests   int64   `json:"requests"`
		Throughput float64 `json:"throughput"`
		Rate       float64 `json:"rate"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("vegeta report: %v\n%s", err, out)
	}
	return r.Rate
}

// runOurs runs our load child against url at rate iterations per second
// with at most peerConns VUs and returns the requests per second of its
// steady seconds and its summary.
func runOurs(b *testing.B, journeys, url string, rate float64, d time.Duration) (float64, *load.Summary) {
	b.Helper()
	spec := childSpec(b, Config{Target: url, Journeys: journeys, Rate: rate, Duration: Duration(d), VUs: peerConns, MaxFailed: -1})
	res, err := load.Run(context.Background(), spec, nil)
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	return steadyRate(readSeries(b, res.SeriesPath)), res.Summary
}

// steadyRate is the request rate of a run's series over its whole seconds:
// the first and last seconds (ramp-up and the end) are left out.
func steadyRate(pts []series.Point) float64 {
	perSec := map[int64]float64{}
	for _, p := range pts {
		if p.Metric == load.MetricReqs {
			perSec[p.T] += p.Sum
		}
	}
	var secs []int64
	for s := range perSec {
		secs = append(secs, s)
	}
	slices.Sort(secs)
	if len(secs) < 3 {
		return 0
	}
	var n float64
	for _, s := range secs[1 : len(secs)-1] {
		n += perSec[s]
	}
	return n / float64(len(secs)-2)
}

// BenchmarkLoadVsPeers measures the requests per second our load child
// sustains against a trivial loopback endpoint, beside wrk's and vegeta's at
// their maximum on the same endpoint in the same run, with the same number
// of connections. Ours is an open model: it runs at 1.15 × the rate a short
// probe reached, so that it is saturated (some iterations dropped, and
// counted) without spending its time counting drops. wrk comes from
// Debian's packages (`make bench` installs it), vegeta from the module
// proxy; each is skipped when missing.
func BenchmarkLoadVsPeers(b *testing.B) {
	url := trivialServer(b)
	journeys := bareJourneys(b)
	wrk, _ := exec.LookPath("wrk")
	vegeta := vegetaBinary(b)
	for b.Loop() {
		probe, _ := runOurs(b, journeys, url, 100_000, 3*time.Second)
		ours, sum := runOurs(b, journeys, url, 1.15*probe, peerDuration)
		b.ReportMetric(ours, "ours-req/s")
		b.ReportMetric(float64(sum.Dropped)/float64(max(sum.Planned, 1))*100, "ours-dropped-%")
		if wrk != "" {
			w := runWrk(b, wrk, url)
			b.ReportMetric(w, "wrk-req/s")
			b.ReportMetric(100*ours/w, "ours/wrk-%")
		}
		if vegeta != "" {
			v := runVegeta(b, vegeta, url)
			b.ReportMetric(v, "vegeta-req/s")
			b.ReportMetric(100*ours/v, "ours/vegeta-%")
		}
	}
}

// BenchmarkMemoryPerVU measures the resident memory of the load child with
// 1 and with 200 virtual users busy and reports the difference per added
// VU: for the storefront's shoppers (logged in, walking their visits with a
// second's thought between steps) against the in-process storefront, and
// for a bare GET.
func BenchmarkMemoryPerVU(b *testing.B) {
	e := startStore(b)
	shoppers := func(vus int) Config {
		cfg := shopperConfig(b, e, float64(vus)*2, 4*time.Second)
		cfg.VUs = vus
		cfg.Env = map[string]string{"GAMEDAY_THINK": "2"}
		cfg.GracefulStop = Duration(time.Second)
		return cfg
	}
	url := trivialServer(b)
	journeys := bareJourneys(b)
	bare := func(vus int) Config {
		return Config{Target: url, Journeys: journeys, Rate: float64(vus) * 50, Duration: Duration(4 * time.Second), VUs: vus, MaxFailed: -1}
	}
	for b.Loop() {
		for _, m := range []struct {
			name string
			cfg  func(vus int) Config
		}{{"shopper", shoppers}, {"bare", bare}} {
			rss1 := peakRSS(b, childSpec(b, m.cfg(1)))
			rss200 := peakRSS(b, childSpec(b, m.cfg(200)))
			b.ReportMetric(float64(rss1)/(1<<20), m.name+"-MB@1VU")
			b.ReportMetric(float64(rss200)/(1<<20), m.name+"-MB@200VU")
			b.ReportMetric(float64(rss200-rss1)/199/(1<<20), m.name+"-MB/VU")
		}
	}
}

// peakRSS runs spec and returns the highest resident set size of the child
// seen while it ran.
func peakRSS(b *testing.B, spec load.Spec) int64 {
	b.Helper()
	p, err := load.Start(context.Background(), spec, nil)
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
		b.Fatalf("load: %v", err)
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

// BenchmarkArrivalAccuracy runs 500 iterations per second for 60 s against
// a target slowed by Toxiproxy's latency toxic (50 ms each way of a
// request): once with VUs enough (every planned iteration must start), once
// with too few (the ones that found no VU must be counted as dropped,
// exactly: started + dropped = planned, and the series says the same). It
// reports how many started of those planned, and the drops counted.
func BenchmarkArrivalAccuracy(b *testing.B) {
	const (
		rate     = 500
		duration = 60 * time.Second
		latency  = 50 // ms, on the answers
	)
	srv := fault.New(nil)
	if _, err := srv.Start(context.Background(), ""); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	upstream := strings.TrimPrefix(trivialServer(b), "http://")
	addr, err := srv.AddProxy("slow", "", upstream)
	if err != nil {
		b.Fatal(err)
	}
	tp := fault.NewClient(srv.APIURL())
	if err := tp.AddToxic(context.Background(), "slow", fault.Toxic{Type: "latency", Stream: "downstream", Attributes: map[string]any{"latency": latency}}); err != nil {
		b.Fatal(err)
	}
	url := "http://" + addr
	journeys := bareJourneys(b)
	for b.Loop() {
		for _, m := range []struct {
			name string
			vus  int
		}{{"enough", 200}, {"too-few", 20}} {
			spec := childSpec(b, Config{Target: url, Journeys: journeys, Rate: rate, Duration: Duration(duration), VUs: m.vus, MaxFailed: -1})
			res, err := load.Run(context.Background(), spec, nil)
			if err != nil {
				b.Fatalf("load: %v", err)
			}
			s := res.Summary
			var dropped float64
			for _, p := range readSeries(b, res.SeriesPath) {
				if p.Metric == load.MetricDropped {
					dropped += p.Sum
				}
			}
			if s.Started+s.Dropped != s.Planned || int64(dropped) != s.Dropped {
				b.Errorf("%s: planned %d, started %d, dropped %d (series: %v): not exact", m.name, s.Planned, s.Started, s.Dropped, dropped)
			}
			if m.name == "enough" && float64(s.Started) < 0.99*float64(s.Planned) {
				b.Errorf("%s: %d of %d planned iterations started", m.name, s.Started, s.Planned)
			}
			b.ReportMetric(100*float64(s.Started)/float64(s.Planned), m.name+"-started-%")
			b.ReportMetric(float64(s.Dropped), m.name+"-dropped")
			b.ReportMetric(float64(s.Planned), m.name+"-planned")
		}
	}
}
