//go:build unix

package env

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/shopper"
)

// benchWorkers is how many shoppers check out at once: enough to keep both
// cores of the reference machine busy while each journey waits on its
// hops, few enough that the numbers measure the storefront, not queueing.
const benchWorkers = 16

// benchTopup is one top-up of a pooled shopper's wallet: the gateway's
// largest (gateway.MaxTopup).
const benchTopup = 100_000_000

// benchRig is one running storefront with a pool of logged-in shoppers,
// shared by every round of one sub-benchmark (the testing package calls a
// benchmark function again for each b.N).
type benchRig struct {
	env     *Inproc
	pool    chan *shopper.Client
	product mockstore.Product
	courier mockstore.Courier
	runID   string
	keys    atomic.Int64 // makes every Idempotency-Key unique across rounds
	topups  int          // top-ups so far, for unique references
}

// BenchmarkCheckoutJourney measures the storefront's checkout path through
// the gateway's public API v1, with every internal link behind its Toxiproxy
// proxy (proxied) and around them (direct); the difference is what the
// proxies cost.
//
// One journey is what a logged-in shopper with money does to buy: POST
// /api/v1/cart/items (one item), then POST /api/v1/checkout with a fresh
// Idempotency-Key, which answers once the wallet has been charged; the
// journey ends when the order is paid (polled only in the rare case checkout
// answers payment_pending). Login is not part of it: the shoppers log in by
// OTP and top up before the timer starts, since a login per journey would
// measure the OTP provider and its rate limits, not checkout.
//
// Besides ns/op (wall time per journey divided by the workers' overlap) it
// reports journeys/s, the p50 and p99 latency of one journey, and the CPU
// time of the whole process per journey.
func BenchmarkCheckoutJourney(b *testing.B) {
	for _, mode := range []struct {
		name   string
		direct bool
	}{
		{"proxied", false},
		{"direct", true},
	} {
		// Started in the first round and shared by the later ones, so every
		// round after the first runs on warm connections and stores.
		var rig *benchRig
		b.Run(mode.name, func(b *testing.B) {
			if rig == nil {
				rig = benchStart(b, Options{Seed: 1, Shoppers: 200, Direct: mode.direct})
			}
			benchJourneys(b, rig)
		})
		if rig != nil {
			if err := rig.env.Close(); err != nil {
				b.Errorf("close the %s storefront: %v", mode.name, err)
			}
		}
	}
}

// benchStart starts a storefront and logs benchWorkers active shoppers in.
// The caller closes rig.env: it outlives
// the round of tb that started it (a benchmark's cleanups run after every
// round). On failure benchStart closes what it started and fails tb.
func benchStart(tb testing.TB, opts Options) *benchRig {
	tb.Helper()
	e, err := StartInproc(context.Background(), opts)
	if err != nil {
		tb.Fatalf("start storefront: %v", err)
	}
	ready := false
	defer func() {
		if !ready {
			_ = e.Close()
		}
	}()
	info := e.Info()
	ds := e.Dataset()
	product, courier, ok := benchPick(ds)
	if !ok {
		tb.Fatalf("seed %d has no product a courier can take", ds.Seed)
	}
	// One transport for every shopper: connections are reused across
	// journeys and the pool is large enough for every worker at once.
	hc := benchHTTPClient()

	rig := &benchRig{env: e, pool: make(chan *shopper.Client, benchWorkers), product: product, courier: courier,
		runID: fmt.Sprintf("%x", time.Now().UnixNano())}
	var active []mockstore.User
	for _, u := range ds.Users {
		if u.Status == mockstore.StatusActive {
			active = append(active, u)
		}
	}
	if len(active) < benchWorkers {
		tb.Fatalf("%d active shoppers, want at least %d", len(active), benchWorkers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range benchWorkers {
		s := shopper.New(info.Gateway, info.OTPInbox, active[i].Phone, hc)
		wg.Go(func() {
			if err := s.Login(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("shopper %s: %w", s.Phone, err))
				mu.Unlock()
				return
			}
			rig.pool <- s
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("prepare shoppers: %v (and %d more)", errs[0], len(errs)-1)
	}
	ready = true
	return rig
}

// benchHTTPClient is a client whose idle pool holds a connection per
// worker, so no journey pays for a new TCP connection.
func benchHTTPClient() *http.Client {
	hc := mockstore.NewClient(10 * time.Second)
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 4 * benchWorkers
	return hc
}

// benchFund tops every pooled shopper's wallet up until it holds need, so
// that no journey of the coming round can be refused for lack of money.
func benchFund(tb testing.TB, rig *benchRig, need int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range benchWorkers {
		s := <-rig.pool
		w, err := s.Wallet(ctx)
		for bal := w.Balance; err == nil && bal < need; {
			rig.topups++
			bal, err = s.Topup(ctx, benchTopup, fmt.Sprintf("%s-topup-%d", rig.runID, rig.topups))
		}
		rig.pool <- s
		if err != nil {
			tb.Fatalf("fund shopper %s: %v", s.Phone, err)
		}
	}
}

// benchPick returns the cheapest product and a courier that takes it.
func benchPick(ds mockstore.Dataset) (mockstore.Product, mockstore.Courier, bool) {
	products := slices.Clone(ds.Products)
	slices.SortFunc(products, func(a, b mockstore.Product) int { return int(a.Price - b.Price) })
	for _, p := range products {
		for _, c := range ds.Couriers {
			if len(c.Areas) > 0 && p.WeightG <= c.MaxWeightG && p.SizeCM <= c.MaxSizeCM {
				return p, c, true
			}
		}
	}
	return mockstore.Product{}, mockstore.Courier{}, false
}

// benchJourneys runs b.N journeys from benchWorkers goroutines and reports
// the throughput and latency percentiles.
func benchJourneys(b *testing.B, rig *benchRig) {
	b.Helper()
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failed    atomic.Int64
		firstErr  atomic.Value
	)
	// The goroutines do not share out b.N evenly: fund every shopper for all
	// of it.
	benchFund(b, rig, int64(b.N)*rig.product.Price)
	// RunParallel starts parallelism × GOMAXPROCS goroutines; the pool has
	// exactly benchWorkers shoppers, each used by one goroutine at a time.
	b.SetParallelism(max(1, benchWorkers/runtime.GOMAXPROCS(0)))
	cpu0 := benchCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := <-rig.pool
		defer func() { rig.pool <- s }()
		local := make([]time.Duration, 0, 1024)
		ctx := context.Background()
		for pb.Next() {
			key := fmt.Sprintf("%s-%d", rig.runID, rig.keys.Add(1))
			start := time.Now()
			if err := benchJourney(ctx, s, rig, key); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				continue
			}
			local = append(local, time.Since(start))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	b.StopTimer()
	cpu := benchCPU(b) - cpu0
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d journeys failed; first: %v", n, b.N, firstErr.Load())
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "journeys/s")
	b.ReportMetric(benchPercentile(latencies, 0.50).Seconds()*1000, "p50-ms")
	b.ReportMetric(benchPercentile(latencies, 0.99).Seconds()*1000, "p99-ms")
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/journey")
}

// benchCPU returns the CPU time (user and system) this process has used:
// the shoppers, every service and every proxy together. Per journey it is
// the cost of a checkout, which other load on the machine barely changes,
// unlike journeys/s.
func benchCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchJourney is one journey: one item into the cart, checkout, order paid.
func benchJourney(ctx context.Context, s *shopper.Client, rig *benchRig, key string) error {
	if err := s.AddItem(ctx, rig.product.ID, 1); err != nil {
		return fmt.Errorf("add item: %w", err)
	}
	o, err := s.Checkout(ctx, key, shopper.CheckoutRequest{
		Address:       mockstore.Address{Line: "Jl. Bench 1", Area: rig.courier.Areas[0]},
		Courier:       rig.courier.ID,
		PaymentMethod: mockstore.PaymentWallet,
	})
	if err != nil {
		return fmt.Errorf("checkout %s: %w", key, err)
	}
	if o.Status != mockstore.OrderPaid {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if o, err = s.WaitOrder(wctx, o.OrderID, 5*time.Millisecond); err != nil {
			return err
		}
	}
	if o.Status != mockstore.OrderPaid {
		return fmt.Errorf("order %s ended %s, want %s", o.OrderID, o.Status, mockstore.OrderPaid)
	}
	return nil
}

// benchPercentile returns the q-quantile (0..1) of sorted by the
// nearest-rank method; 0 for no samples.
func benchPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
