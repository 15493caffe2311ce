package env

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/shopper"
)

// dockerTestConnect returns a provider, or skips tb with the reason when no
// Docker engine answers.
func dockerTestConnect(tb testing.TB) *testcontainers.DockerProvider {
	tb.Helper()
	p, err := dockerConnect(context.Background(), nil)
	if errors.Is(err, ErrNoDocker) {
		tb.Skipf("needs a Docker engine: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// dockerTestLogger returns a logger into tb's log.
func dockerTestLogger(tb testing.TB) *slog.Logger {
	tb.Helper()
	return slog.New(slog.NewTextHandler(dockerTestWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type dockerTestWriter struct{ tb testing.TB }

func (w dockerTestWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dockerTestLeft returns the names of containers and networks labelled
// label that still exist.
func dockerTestLeft(tb testing.TB, c client.APIClient, label string) []string {
	tb.Helper()
	ctx := context.Background()
	f := client.Filters{}.Add("label", label)
	var left []string
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	for _, ct := range cs.Items {
		left = append(left, "container "+strings.Join(ct.Names, ","))
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range ns.Items {
		left = append(left, "network "+n.Name)
	}
	return left
}

// dockerTestImageID returns the ID of image ref, or "" when it is missing.
func dockerTestImageID(tb testing.TB, c client.APIClient, ref string) string {
	tb.Helper()
	img, err := c.ImageInspect(context.Background(), ref)
	if cerrdefs.IsNotFound(err) {
		return ""
	}
	if err != nil {
		tb.Fatal(err)
	}
	return img.ID
}

// dockerTestOwnImage makes the docker runtime use an image repository of
// tb's own until tb ends, and removes that image then: tb may remove the
// image to build it from nothing without pulling it from under another
// process.
func dockerTestOwnImage(tb testing.TB, c client.APIClient) {
	tb.Helper()
	dockerImageRepo = DockerImageRepo + "-test"
	tb.Cleanup(func() {
		dockerImageRepo = DockerImageRepo
		if bin := dockerBinCache.bin; bin != nil {
			_, _ = c.ImageRemove(context.Background(), DockerImageRepo+"-test:"+bin.sum[:12], client.ImageRemoveOptions{})
		}
	})
}

// TestDockerImage builds the storefront image from nothing, without pulling
// anything, and checks that a second call finds it instead of building it
// again.
func TestDockerImage(t *testing.T) {
	p := dockerTestConnect(t)
	ctx := context.Background()
	c := p.Client()
	dockerTestOwnImage(t, c)
	bin, err := dockerBinary(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := dockerImageRepo + ":" + bin.sum[:12]
	if dockerTestImageID(t, c, ref) != "" {
		if _, err := c.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Fatalf("remove the image to build it from nothing: %v", err)
		}
	}

	since := time.Now()
	got, built, err := dockerEnsureImage(ctx, p, dockerTestLogger(t))
	buildTook := time.Since(since)
	if err != nil {
		t.Fatal(err)
	}
	if got != ref || !built {
		t.Fatalf("dockerEnsureImage = %s, built %v; want %s, built", got, built, ref)
	}
	if dockerTestImageID(t, c, ref) == "" {
		t.Fatalf("image %s does not exist after the build", ref)
	}

	since2 := time.Now()
	got, built, err = dockerEnsureImage(ctx, p, dockerTestLogger(t))
	findTook := time.Since(since2)
	if err != nil || got != ref || built {
		t.Fatalf("second dockerEnsureImage = %s, built %v, %v; want %s found, not built", got, built, err, ref)
	}
	t.Logf("image %s: built from nothing in %v (binary ready, %d MB); found in %v the second time",
		ref, buildTook.Round(time.Millisecond), dockerTestSize(t, bin.path)>>20, findTook.Round(time.Millisecond))

	// Nothing was pulled: the engine reports no pull since the build began.
	evCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev := c.Events(evCtx, client.EventsListOptions{
		Since:   strconv.FormatInt(since.Add(-time.Second).Unix(), 10),
		Until:   strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		Filters: client.Filters{}.Add("type", "image"),
	})
	var actions []string
events:
	for {
		select {
		case m := <-ev.Messages:
			actions = append(actions, string(m.Action))
			if m.Action == "pull" {
				t.Errorf("the engine pulled %s during the build", m.Actor.ID)
			}
		case err := <-ev.Err:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("read engine events: %v", err)
			}
			break events
		}
	}
	t.Logf("image events during the build: %v", actions)

	// FROM scratch: one layer (our COPY), our entrypoint, not root.
	img, err := c.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(img.RootFS.Layers); n != 1 {
		t.Errorf("image has %d layers, want 1 (FROM scratch + one COPY)", n)
	}
	if ep := img.Config.Entrypoint; len(ep) != 1 || ep[0] != "/gameday" {
		t.Errorf("entrypoint %v, want [/gameday]", ep)
	}
	if img.Config.User != "65534:65534" {
		t.Errorf("user %q, want 65534:65534", img.Config.User)
	}
}

func dockerTestSize(tb testing.TB, path string) int64 {
	tb.Helper()
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// TestDockerJourney starts the storefront in containers, walks one shopper
// through a whole checkout over the mapped gateway, breaks a step with a
// toxic through the mapped Toxiproxy API, and checks that Close leaves
// nothing labelled behind.
func TestDockerJourney(t *testing.T) {
	p := dockerTestConnect(t)
	c := p.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ref, _, err := dockerEnsureImage(ctx, p, dockerTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	imageID := dockerTestImageID(t, c, ref)

	dir := t.TempDir()
	start := time.Now()
	d, err := StartDocker(ctx, Options{Seed: 7, Shoppers: 20, Dir: dir, Logger: dockerTestLogger(t)})
	if d != nil {
		t.Cleanup(func() { _ = d.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartDocker to ready with the image built: %v", time.Since(start).Round(time.Millisecond))
	if id := dockerTestImageID(t, c, ref); id != imageID {
		t.Errorf("StartDocker rebuilt the image: ID %s, was %s", id, imageID)
	}

	info := d.Info()
	if info.Runtime != "docker" || info.Shoppers != 20 || len(info.Audit) != len(mockstore.Services) || len(info.Links) != len(mockstore.Links()) {
		t.Errorf("info: %+v", info)
	}
	for name, u := range map[string]string{"gateway": info.Gateway, "toxiproxy": info.Toxiproxy, "otp inbox": info.OTPInbox,
		"audit wallet": info.Audit[mockstore.ServiceWallet]} {
		pu, err := url.Parse(u)
		if err != nil || pu.Hostname() != "127.0.0.1" {
			t.Errorf("%s at %q: want a URL on 127.0.0.1", name, u)
		}
	}
	hc := mockstore.NewClient(5 * time.Second)
	for svc, u := range info.Audit {
		resp, err := hc.Get(u + "/healthz")
		if err != nil {
			t.Errorf("audit port of %s: %v", svc, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("audit port of %s: GET /healthz: %s", svc, resp.Status)
		}
	}

	s := shopper.New(info.Gateway, info.OTPInbox, info.SamplePhone, nil)
	if err := s.Login(ctx); err != nil {
		t.Fatalf("login with the code from the OTP inbox: %v", err)
	}
	products, err := s.Products(ctx)
	if err != nil || len(products) == 0 {
		t.Fatalf("products: %v, %v", products, err)
	}

	// A toxic through the mapped API, one of our own: checkout answers 503.
	fc := fault.NewClient(info.Toxiproxy)
	proxy := info.Links["gateway->checkout"]
	if err := fc.AddToxic(ctx, proxy, fault.Toxic{Name: "broken", Type: fault.HTTPErrorType, Attributes: map[string]any{"status": 503}}); err != nil {
		t.Fatalf("add a toxic through %s: %v", info.Toxiproxy, err)
	}
	err = s.AddItem(ctx, products[0].ID, 1)
	var se *mockstore.Error
	if !errors.As(err, &se) || se.Status < 500 {
		t.Errorf("add to cart with checkout answering 503 through its proxy: %v; want a 5xx error", err)
	} else {
		t.Logf("with the toxic, add to cart: %d %v", se.Status, se)
	}
	if err := fc.RemoveToxic(ctx, proxy, "broken"); err != nil {
		t.Fatal(err)
	}

	if err := s.AddItem(ctx, products[0].ID, 2); err != nil {
		t.Fatalf("add to cart without the toxic: %v", err)
	}
	if _, err := s.Topup(ctx, 1_000_000, "docker-topup-1"); err != nil {
		t.Fatalf("top up: %v", err)
	}
	courier := d.Dataset().Couriers[0]
	o, err := s.Checkout(ctx, "docker-checkout-1", shopper.CheckoutRequest{
		Address: mockstore.Address{Line: "Jl. Docker 1", Area: courier.Areas[0]}, Courier: courier.ID, PaymentMethod: mockstore.PaymentWallet,
	})
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	o, err = s.WaitOrder(ctx, o.OrderID, 20*time.Millisecond)
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("order %+v, %v; want paid", o, err)
	}

	run := DockerLabelRun + "=" + d.RunID()
	if left := dockerTestLeft(t, c, run); len(left) != len(mockstore.Services)+2 {
		t.Errorf("while running, labelled %s: %v; want %d containers and a network", run, left, len(mockstore.Services)+1)
	}
	closeStart := time.Now()
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	t.Logf("Close took %v", time.Since(closeStart).Round(time.Millisecond))
	if left := dockerTestLeft(t, c, run); len(left) > 0 {
		t.Errorf("after Close, still labelled %s: %v", run, left)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The stores were in Options.Dir, and stay there.
	for _, svc := range []string{mockstore.ServiceWallet, mockstore.ServiceCheckout, mockstore.ServiceAuth} {
		if _, err := os.Stat(filepath.Join(dir, svc+".db")); err != nil {
			t.Errorf("store of %s in Options.Dir: %v", svc, err)
		}
	}
}

// TestDockerStartCancelled cancels StartDocker while its containers start,
// as Ctrl-C would: it must fail and leave nothing of ours behind.
func TestDockerStartCancelled(t *testing.T) {
	p := dockerTestConnect(t)
	ctx := context.Background()
	if _, _, err := dockerEnsureImage(ctx, p, dockerTestLogger(t)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second) // containers take longer to be healthy
	defer cancel()
	d, err := StartDocker(cctx, Options{Shoppers: 5, Logger: dockerTestLogger(t)})
	if err == nil {
		_ = d.Close()
		t.Skip("the storefront was up within the second meant to interrupt its start")
	}
	if d != nil {
		t.Errorf("StartDocker returned an environment with its error %v", err)
	}
	t.Logf("cancelled start: %v", err)
	if left := dockerTestLeft(t, p.Client(), DockerLabelOwner+"="+dockerOwner()); len(left) > 0 {
		t.Errorf("after a cancelled start, still ours: %v", left)
	}
}

// TestDockerClean leaves a labelled network and container behind, as a
// killed run would, and checks that DockerClean removes them but spares the
// resources of a run whose process is alive.
func TestDockerClean(t *testing.T) {
	p := dockerTestConnect(t)
	c := p.Client()
	ctx := context.Background()
	ref, _, err := dockerEnsureImage(ctx, p, dockerTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runID := "leftover-" + dockerRunID()
	host, _ := os.Hostname()
	labels := map[string]string{DockerLabel: "1", DockerLabelRun: runID, DockerLabelOwner: host + "/999999999"}
	nw, err := network.New(ctx, network.WithLabels(labels))
	testcontainers.CleanupNetwork(t, nw) // in case DockerClean does not
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := p.RunContainer(ctx, testcontainers.ContainerRequest{
		Image:    ref,
		Cmd:      []string{"proxy", "--api-listen", "0.0.0.0:8474"},
		Labels:   labels,
		Networks: []string{nw.Name},
	})
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	ctrName, err := ctr.Name(ctx)
	if err != nil {
		t.Fatal(err)
	}
	liveID := "live-" + dockerRunID()
	live, err := network.New(ctx, network.WithLabels(map[string]string{DockerLabel: "1", DockerLabelRun: liveID, DockerLabelOwner: dockerOwner()}))
	testcontainers.CleanupNetwork(t, live)
	if err != nil {
		t.Fatal(err)
	}

	run := DockerLabelRun + "=" + runID
	if left := dockerTestLeft(t, c, run); len(left) != 2 {
		t.Fatalf("leftovers before DockerClean: %v; want a container and a network", left)
	}
	removed, err := DockerClean(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DockerClean removed %v", removed)
	for _, want := range []string{"container " + strings.TrimPrefix(ctrName, "/"), "network " + nw.Name} {
		if !slices.Contains(removed, want) {
			t.Errorf("DockerClean did not say it removed %s: %v", want, removed)
		}
	}
	if left := dockerTestLeft(t, c, run); len(left) > 0 {
		t.Errorf("after DockerClean, still labelled %s: %v", run, left)
	}
	if left := dockerTestLeft(t, c, DockerLabelRun+"="+liveID); len(left) != 1 {
		t.Errorf("DockerClean removed the network of a live process's run (left: %v)", left)
	}
}

// TestDockerNoEngine runs StartDocker and DockerClean where no engine can be
// reached: in a child of this test with a mount namespace of its own in
// which /var/run (the engine's socket) is an empty tmpfs.
func TestDockerNoEngine(t *testing.T) {
	if os.Getenv("GAMEDAY_DOCKER_NO_ENGINE") == "1" {
		_, err := StartDocker(context.Background(), Options{})
		if !errors.Is(err, ErrNoDocker) {
			t.Fatalf("StartDocker without an engine: %v; want ErrNoDocker", err)
		}
		for _, want := range []string{"needs a running Docker engine", "inproc", "works without Docker"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if _, err := DockerClean(context.Background()); !errors.Is(err, ErrNoDocker) {
			t.Errorf("DockerClean without an engine: %v; want ErrNoDocker", err)
		}
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1) to hide the Docker engine from a child process")
	}
	if out, err := exec.Command(unshare, "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("needs a mount namespace to hide the Docker engine (unshare -m: %v: %s)", err, out)
	}
	cmd := exec.Command(unshare, "-m", "sh", "-c", `mount -t tmpfs none /var/run && exec "$0" "$@"`,
		os.Args[0], "-test.run=^TestDockerNoEngine$", "-test.count=1", "-test.v")
	cmd.Env = []string{"GAMEDAY_DOCKER_NO_ENGINE=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child without an engine failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestDockerNoEngine") {
		t.Fatalf("the child did not run the test:\n%s", out)
	}
}

func TestDockerAPIBinding(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		addr    string
		ip      netip.Addr
		port    string
		wantErr bool
	}{
		{"", lo, "", false},
		{"127.0.0.1:0", lo, "", false},
		{"127.0.0.1:18474", lo, "18474", false},
		{"0.0.0.0:8474", netip.MustParseAddr("0.0.0.0"), "8474", false},
		{"localhost:8474", lo, "", true},
		{"8474", lo, "", true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			b, err := dockerAPIBinding(tc.addr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("dockerAPIBinding(%q) error %v, want error %v", tc.addr, err, tc.wantErr)
			}
			if err == nil && (b.HostIP != tc.ip || b.HostPort != tc.port) {
				t.Errorf("dockerAPIBinding(%q) = %v:%q, want %v:%q", tc.addr, b.HostIP, b.HostPort, tc.ip, tc.port)
			}
		})
	}
}

// TestDockerCrash kills, stops, starts and restarts the wallet's container
// under a logged-in shopper: the wallet answers on the same mapped ports
// each time it is back, with the money it had (its store survives), and
// does not answer while it is stopped.
func TestDockerCrash(t *testing.T) {
	dockerTestConnect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d, err := StartDocker(ctx, Options{Seed: 3, Shoppers: 10, Logger: dockerTestLogger(t)})
	if d != nil {
		t.Cleanup(func() { _ = d.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	var _ Crasher = d
	info := d.Info()
	s := shopper.New(info.Gateway, info.OTPInbox, info.SamplePhone, nil)
	if err := s.Login(ctx); err != nil {
		t.Fatalf("login: %v", err)
	}
	balance, err := s.Topup(ctx, 5_000, "crash-topup-1")
	if err != nil {
		t.Fatalf("top up: %v", err)
	}
	hc := mockstore.NewClient(5 * time.Second)
	auditUp := func() error {
		resp, err := hc.Get(info.Audit[mockstore.ServiceWallet] + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}

	for i, step := range []struct {
		action string
		up     bool
	}{
		{CrashKill, true},
		{CrashStop, false},
		{CrashStart, true},
		{CrashRestart, true},
	} {
		start := time.Now()
		if err := d.Crash(ctx, mockstore.ServiceWallet, step.action); err != nil {
			t.Fatalf("Crash(wallet, %s): %v", step.action, err)
		}
		t.Logf("%s wallet took %v", step.action, time.Since(start).Round(time.Millisecond))
		ref := "crash-topup-" + strconv.Itoa(i+2)
		if !step.up {
			if err := auditUp(); err == nil {
				t.Errorf("after %s, the wallet's audit port answers", step.action)
			}
			if _, err := s.Topup(ctx, 100, ref); err == nil {
				t.Errorf("after %s, a top-up succeeded", step.action)
			}
			continue
		}
		if err := auditUp(); err != nil {
			t.Fatalf("after %s, the wallet's audit port at %s: %v", step.action, info.Audit[mockstore.ServiceWallet], err)
		}
		got, err := s.Topup(ctx, 100, ref)
		if err != nil {
			t.Fatalf("after %s, top up: %v", step.action, err)
		}
		if got != balance+100 {
			t.Errorf("after %s, balance %d; want %d (the %d before and 100 more)", step.action, got, balance+100, balance)
		}
		balance = got
	}
	if err := d.Crash(ctx, "nosuch", CrashKill); err == nil || !strings.Contains(err.Error(), "allowed values") {
		t.Errorf("Crash of an unknown service: %v", err)
	}
	if err := d.Crash(ctx, mockstore.ServiceWallet, "explode"); err == nil {
		t.Error("Crash with an unknown action succeeded")
	}
}

// TestDockerHostUnreachable holds DOCKER_HOST to what it names: an engine
// that does not answer there is no engine, whatever answers elsewhere.
func TestDockerHostUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	err := CheckDocker(context.Background())
	if !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "DOCKER_HOST=") {
		t.Fatalf("CheckDocker with DOCKER_HOST at no engine: %v; want ErrNoDocker naming DOCKER_HOST", err)
	}
	if _, err := StartDocker(context.Background(), Options{}); !errors.Is(err, ErrNoDocker) {
		t.Errorf("StartDocker with DOCKER_HOST at no engine: %v; want ErrNoDocker", err)
	}
}

// TestDockerCachedHash: the hash of a binary is remembered by its path,
// size and time, and taken again when the file changes.
func TestDockerCachedHash(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	bin := filepath.Join(t.TempDir(), "gameday")
	if err := os.WriteFile(bin, []byte("one binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	want, err := dockerHash(bin)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dockerCachedHash(bin); err != nil || got != want {
		t.Fatalf("dockerCachedHash = %q, %v; want %q", got, err, want)
	}
	kept, _ := filepath.Glob(filepath.Join(cache, "gameday", "sums", "*"))
	if len(kept) != 1 {
		t.Fatalf("cache holds %v; want one entry", kept)
	}
	remembered := strings.Repeat("ab", 32)
	if err := os.WriteFile(kept[0], []byte(remembered), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := dockerCachedHash(bin); got != remembered {
		t.Errorf("second dockerCachedHash = %q; want the remembered %q", got, remembered)
	}
	if err := os.WriteFile(bin, []byte("another binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ = dockerHash(bin)
	if got, _ := dockerCachedHash(bin); got != want {
		t.Errorf("after a change, dockerCachedHash = %q; want %q", got, want)
	}
}

// TestDockerImageService replaces the storefront's wallet with an image
// service (the storefront image itself, running `serve wallet` as the
// topology's args say, its placeholders resolved inside the network): a
// shopper tops up through the gateway, which reaches the replacement only
// through its link's proxy; its audit is where Info says; a kill brings it
// back on its store. An image the engine does not have is refused, never
// pulled.
func TestDockerImageService(t *testing.T) {
	p := dockerTestConnect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ref, _, err := dockerEnsureImage(ctx, p, dockerTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(spec string) *topology.Topology {
		svc, err := topology.ParseServiceFlag(spec)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := topology.Default().Replace(svc)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}

	missing := replace("wallet=image:gameday-no-such-image:never {addr}")
	if d, err := StartDocker(ctx, Options{Topology: missing, Logger: dockerTestLogger(t)}); err == nil || !strings.Contains(err.Error(), "gameday never pulls") {
		if d != nil {
			_ = d.Close()
		}
		t.Errorf("a missing image: %v", err)
	}

	tp := replace("wallet=image:" + ref + " serve wallet --listen {addr} --audit-listen {audit_addr} --db {dir}/wallet.db --seed 3 --shoppers 10 --log-level warn")
	d, err := StartDocker(ctx, Options{Seed: 3, Shoppers: 10, Topology: tp, Logger: dockerTestLogger(t)})
	if d != nil {
		t.Cleanup(func() { _ = d.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	info := d.Info()
	s := shopper.New(info.Gateway, info.OTPInbox, info.SamplePhone, nil)
	if err := s.Login(ctx); err != nil {
		t.Fatalf("login: %v", err)
	}
	balance, err := s.Topup(ctx, 5_000, "image-topup-1")
	if err != nil {
		t.Fatalf("top up through the replaced wallet: %v", err)
	}
	resp, err := mockstore.NewClient(5 * time.Second).Get(info.Audit[mockstore.ServiceWallet] + "/audit/totals")
	if err != nil {
		t.Fatalf("the replacement's audit: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the replacement's audit answers %s", resp.Status)
	}
	if err := d.Crash(ctx, mockstore.ServiceWallet, CrashKill); err != nil {
		t.Fatalf("kill the replacement: %v", err)
	}
	// The gateway may answer "retry" while its connections to the killed
	// wallet are cut: retried with the same reference, as a shopper would,
	// until a deadline.
	deadline := time.Now().Add(15 * time.Second)
	got, err := s.Topup(ctx, 100, "image-topup-2")
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // a shopper's pause before retrying, not a readiness wait
		got, err = s.Topup(ctx, 100, "image-topup-2")
	}
	if err != nil || got != balance+100 {
		t.Errorf("after a kill, top up: %d, %v; want %d (its store kept)", got, err, balance+100)
	}
}
