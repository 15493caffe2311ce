package env

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// ErrNoDocker is wrapped by StartDocker and DockerClean when no Docker engine
// answers.
var ErrNoDocker = errors.New("the docker runtime needs a running Docker engine and none answered; " +
	"the default runtime (inproc) works without Docker")

// Labels on everything the docker runtime starts. DockerLabel=1 marks all
// of it (what DockerClean removes); DockerLabelRun names one environment.
const (
	DockerLabel        = "gameday"
	DockerLabelRun     = "gameday.run"
	DockerLabelService = "gameday.service"
	// DockerLabelOwner is "<hostname>/<pid>" of the process that started
	// the run; DockerClean spares the runs of a process still alive.
	DockerLabelOwner = "gameday.owner"
)

// DockerImageRepo is the repository of the storefront image; its tag is the
// first 12 hex digits of the SHA-256 of its Dockerfile and binary.
const DockerImageRepo = "gameday-storefront"

// dockerImageRepo is the repository the docker runtime uses: DockerImageRepo,
// except in the tests that remove the image to build it from nothing. Those
// use one of their own, so that no other process (another package's tests
// run from the same tree, with the same binary) finds its image gone.
var dockerImageRepo = DockerImageRepo

// dockerCommand is the import path of the gameday command, what the image
// must hold: its `serve` and `proxy` subcommands run in the containers.
const dockerCommand = "github.com/gameday/gameday/cmd/gameday"

// Ports inside the containers (the flags StartDocker passes to `gameday
// serve` and `gameday proxy`). Proxy ports follow mockstore.Links' order.
const (
	dockerServePort  = 8080
	dockerAuditPort  = 8081
	dockerAPIPort    = 8474
	dockerProxyPort0 = 9001
	dockerProxyAlias = "toxiproxy"
	dockerDataDir    = "/data"
)

// Bounds of the docker runtime's waits.
const (
	dockerStartTimeout = 60 * time.Second // one container, from start to healthy
	dockerBuildTimeout = 3 * time.Minute  // the image (and, if needed, the binary)
	dockerStopTimeout  = 5 * time.Second  // SIGTERM to SIGKILL, per container
	dockerCloseTimeout = 60 * time.Second // all of Close
	dockerPoll         = 50 * time.Millisecond
)

// dockerfile is the whole image: our static binary and two empty writable
// directories (the stores, and a TMPDIR), run as nobody. Nothing is pulled:
// scratch is no image.
const dockerfile = `FROM scratch
COPY rootfs/ /
ENV TMPDIR=/tmp
USER 65534:65534
ENTRYPOINT ["/gameday"]
`

// Docker is the docker runtime: one container per service and one
// Toxiproxy container on a network of their own, built from an image that
// holds only gameday's static binary. Services reach their upstreams only
// through the Toxiproxy container; the host reaches the gateway (through the
// client->gateway proxy), the Toxiproxy API, the OTP inbox and every audit
// endpoint through ports mapped on loopback.
type Docker struct {
	info    Info
	dataset mockstore.Dataset
	logger  *slog.Logger
	runID   string
	image   string
	host    string // where mapped ports are reached

	// provider makes the network and finds what a run left. Each container
	// has a provider of its own (providers): testcontainers closes a
	// container's client's idle connections after each inspect and at
	// Terminate, which on a client shared by containers started or
	// removed side by side breaks another's request in flight ("http:
	// CloseIdleConnections called", seen in CI while removing them).
	provider *testcontainers.DockerProvider

	mu         sync.Mutex
	containers map[string]testcontainers.Container       // by service name, and dockerProxyAlias
	providers  map[string]*testcontainers.DockerProvider // the provider of each container, by the same names
	network    *testcontainers.DockerNetwork
	closed     bool
	closeErr   error
	// ports are each service's mapped ports (container port -> host port)
	// as Info gave them; a restarted service must be found there again.
	ports map[string]map[string]string
}

// StartDocker starts the storefront in containers and returns once every
// container answers its health check and the gateway answers through its
// proxy. The image is built first if this binary's is not there yet.
//
// The image holds this process's own executable when that is the gameday
// command, statically linked, for Linux; otherwise (a test binary, or a
// build with cgo or -race) it holds gameday built with CGO_ENABLED=0 by the
// go command into the user's cache directory, once per process.
//
// Options.Dir, when set, is bind-mounted as every service's store
// directory and the containers run as this process's user; otherwise the
// stores live in the containers and go with them. Options.ToxiproxyAddr
// fixes the host port (and loopback IP) of the Toxiproxy API; Direct is
// not supported. Options.Logger receives testcontainers' messages.
//
// On a local engine the host ports of the services are chosen free by
// StartDocker rather than by the engine, which would pick new ones when a
// crash fault starts a container again (see Crash).
//
// testcontainers' reaper (Ryuk) needs an image pull, so StartDocker turns it
// off (TESTCONTAINERS_RYUK_DISABLED=true in this process's environment) and
// removes what it started itself: on failure before returning, and at
// Close. With no engine it returns an error wrapping ErrNoDocker.
func StartDocker(ctx context.Context, opts Options) (_ *Docker, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Direct {
		return nil, errors.New("the docker runtime has no direct mode: every link goes through Toxiproxy")
	}
	if opts.NewAuth != nil {
		return nil, errors.New("the docker runtime runs auth as gameday serve auth: it takes no auth of a test's own (NewAuth)")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	feats := opts.Features
	if feats == nil {
		feats, _ = mockstore.Profile(mockstore.ProfileResilient)
	}
	profile := opts.Profile
	if profile == "" {
		profile = "custom"
	}
	topo := opts.topology()
	if err := topology.CheckRuntime(topo, topology.RuntimeDocker); err != nil {
		return nil, err
	}
	apiBind, err := dockerAPIBinding(opts.ToxiproxyAddr)
	if err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
			return nil, fmt.Errorf("run directory: %w", err)
		}
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("make run directory: %w", err)
		}
	}

	began := time.Now()
	p, err := dockerConnect(ctx, logger)
	if err != nil {
		return nil, err
	}
	d := &Docker{
		dataset:    mockstore.Seed(opts.Seed, opts.Shoppers),
		logger:     logger.With("runtime", "docker"),
		runID:      dockerRunID(),
		provider:   p,
		containers: map[string]testcontainers.Container{},
		providers:  map[string]*testcontainers.DockerProvider{},
		ports:      map[string]map[string]string{},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.Close())
		}
	}()

	// The network does not need the image: both are made at once.
	madeNetwork := make(chan error, 1)
	go func() {
		nw, err := network.New(ctx, network.WithLabels(d.labels("")))
		if nw != nil {
			d.mu.Lock()
			d.network = nw
			d.mu.Unlock()
		}
		madeNetwork <- err
	}()
	d.image, _, err = dockerEnsureImage(ctx, p, logger)
	if err == nil {
		err = dockerImagesPresent(ctx, p.Client(), topo)
	}
	if nerr := <-madeNetwork; nerr != nil {
		err = errors.Join(err, fmt.Errorf("create network: %w", nerr))
	}
	if err != nil {
		return nil, err
	}
	image, nw := d.image, d.network
	host, loopback, err := dockerHost(p)
	if err != nil {
		return nil, err
	}
	d.host = host
	if !loopback {
		apiBind.HostIP = netip.Addr{} // a remote engine: ports on its every interface
	}

	d.logger.Debug("docker: image and network ready", "image", image, "network", nw.Name, "after", time.Since(began))
	reqs, err := d.requests(topo, opts, feats, nw.Name, loopback, apiBind)
	if err != nil {
		return nil, err
	}
	if err := d.run(ctx, reqs); err != nil {
		return nil, err
	}
	d.logger.Debug("docker: every container healthy", "after", time.Since(began))

	url := func(name string, port int) (string, error) {
		mp, err := d.containers[name].MappedPort(ctx, strconv.Itoa(port)+"/tcp")
		if err != nil {
			return "", fmt.Errorf("mapped port %d of %s: %w", port, name, err)
		}
		return "http://" + net.JoinHostPort(host, mp.Port()), nil
	}
	info := Info{
		Runtime:     "docker",
		Profile:     profile,
		Features:    feats.String(),
		Seed:        opts.Seed,
		Shoppers:    len(d.dataset.Users),
		Dir:         opts.Dir,
		Audit:       map[string]string{},
		Links:       map[string]string{},
		Topology:    topo.Name,
		Services:    map[string]string{},
		Entries:     map[string]string{},
		SamplePhone: samplePhone(d.dataset),
		Run:         d.runID,
	}
	for _, l := range topo.Links {
		info.Links[l.Name()] = l.Proxy()
	}
	for _, svc := range topo.Services {
		if d.ports[svc.Name], err = dockerMappedPorts(ctx, d.containers[svc.Name]); err != nil {
			return nil, err
		}
	}
	var errs []error
	var e error
	for i, l := range topo.Links {
		if l.From == topology.Client {
			info.Entries[l.Name()], e = url(dockerProxyAlias, dockerProxyPort0+i)
			errs = append(errs, e)
		}
	}
	info.Gateway = info.Entries[topo.Entries()[0].Name()]
	info.Toxiproxy, e = url(dockerProxyAlias, dockerAPIPort)
	errs = append(errs, e)
	for _, svc := range topo.Services {
		if svc.Kind == topology.KindBuiltin || svc.ServesAudit() {
			info.Audit[svc.Name], e = url(svc.Name, dockerAuditPort)
			errs = append(errs, e)
		}
		info.Services[svc.Name], e = url(svc.Name, dockerServePort)
		errs = append(errs, e)
	}
	info.OTPInbox = info.Services[mockstore.ServiceOTP]
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.info = info
	if err := dockerAwaitGateway(ctx, info.Gateway); err != nil {
		return nil, err
	}
	d.logger.Info("storefront up in containers", "run", d.runID, "image", image, "gateway", info.Gateway,
		"toxiproxy", info.Toxiproxy, "took", time.Since(began).Round(time.Millisecond))
	return d, nil
}

// Info describes where everything is, as seen from the host.
func (d *Docker) Info() Info { return d.info }

// Dataset is the seeded world every service was started with.
func (d *Docker) Dataset() mockstore.Dataset { return d.dataset }

// RunID is the value of the DockerLabelRun label on this environment's
// containers and network.
func (d *Docker) RunID() string { return d.runID }

// Image is the image the containers run.
func (d *Docker) Image() string { return d.image }

// Close stops and removes every container (SIGTERM, then SIGKILL after 5 s),
// then the network, then anything else still labelled with this run; it
// returns what could not be removed. It is idempotent.
func (d *Docker) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.closeErr
	}
	d.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), dockerCloseTimeout)
	defer cancel()

	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	for name, c := range d.containers {
		wg.Go(func() {
			if err := c.Terminate(ctx, testcontainers.StopTimeout(dockerStopTimeout)); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range d.providers {
		p.Close()
	}
	if d.network != nil {
		if err := d.network.Remove(ctx); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network: %w", err))
		}
	}
	// Whatever a failed start left without handing it back.
	if _, err := dockerRemoveLabelled(ctx, d.provider.Client(), DockerLabelRun+"="+d.runID, nil); err != nil {
		errs = append(errs, err)
	}
	d.provider.Close()
	if len(errs) > 0 {
		d.closeErr = fmt.Errorf("clean up docker run %s (`gameday clean` removes what is left): %w", d.runID, errors.Join(errs...))
	}
	return d.closeErr
}

// DockerClean removes what earlier runs left behind: every container
// (running or not) and network labelled gameday=1, except those of a run
// whose process is still alive on this host (a `gameday up` in another
// terminal, another test). Images are kept, as the cache they are. It
// returns what it removed ("container <name>", "network <name>") and what
// it could not remove; the error wraps ErrNoDocker when no engine answers.
func DockerClean(ctx context.Context) (removed []string, err error) {
	p, err := dockerConnect(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return dockerRemoveLabelled(ctx, p.Client(), DockerLabel+"=1", dockerOwnerAlive)
}

// CheckDocker returns nil when a Docker engine answers, and an error
// wrapping ErrNoDocker, which says why, when none does.
func CheckDocker(ctx context.Context) error {
	p, err := dockerConnect(ctx, nil)
	if err != nil {
		return err
	}
	p.Close()
	return nil
}

// dockerOwner is the owner label of this process's runs.
func dockerOwner() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// dockerOwnerAlive reports whether the process an owner label names is
// alive on this host. A resource without the label is nobody's.
func dockerOwnerAlive(labels map[string]string) bool {
	owner, ok := labels[DockerLabelOwner]
	host, pidText, found := strings.Cut(owner, "/")
	me, _ := os.Hostname()
	if !ok || !found || host != me {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	// Signal 0 checks existence; EPERM means it exists but is not ours.
	err = proc.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// labels returns the labels of this run's resources, for service svc ("" for
// the network).
func (d *Docker) labels(svc string) map[string]string {
	l := map[string]string{DockerLabel: "1", DockerLabelRun: d.runID, DockerLabelOwner: dockerOwner()}
	if svc != "" {
		l[DockerLabelService] = svc
	}
	return l
}

// requests returns the container requests of every service of topo and of
// the Toxiproxy container. Each builtin service runs `gameday serve` with
// the flags of its configuration (Configure, Builtin.Args).
func (d *Docker) requests(topo *topology.Topology, opts Options, feats mockstore.Features, netName string, loopback bool, apiBind dockernetwork.PortBinding) (map[string]testcontainers.ContainerRequest, error) {
	proxyURL := map[string]string{} // link name -> URL a service uses
	proxyArgs := []string{"proxy", "--api-listen", fmt.Sprintf("0.0.0.0:%d", dockerAPIPort), "--log-level", "warn"}
	for i, l := range topo.Links {
		port := dockerProxyPort0 + i
		proxyURL[l.Name()] = fmt.Sprintf("http://%s:%d", dockerProxyAlias, port)
		proxyArgs = append(proxyArgs, "--proxy", fmt.Sprintf("%s=0.0.0.0:%d=%s:%d", l.Proxy(), port, l.To, dockerServePort))
	}

	bind := dockernetwork.PortBinding{}
	if loopback {
		bind.HostIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	opts.Features, opts.Shoppers = feats, len(d.dataset.Users)
	reqs := map[string]testcontainers.ContainerRequest{}
	for _, svc := range topo.Services {
		if svc.Kind == topology.KindImage {
			req, err := d.imageRequest(topo, svc, proxyURL, netName, bind, loopback, opts.Dir)
			if err != nil {
				return nil, err
			}
			reqs[svc.Name] = req
			continue
		}
		cfg, err := Configure(topo, svc, opts, dockerDataDir, func(l topology.Link) string { return proxyURL[l.Name()] })
		if err != nil {
			return nil, err
		}
		args := append([]string{"serve", svc.Builtin,
			"--listen", fmt.Sprintf("0.0.0.0:%d", dockerServePort),
			"--audit-listen", fmt.Sprintf("0.0.0.0:%d", dockerAuditPort),
			"--log-level", "warn",
		}, cfg.Args()...)
		ports := map[int]dockernetwork.PortBinding{dockerAuditPort: bind, dockerServePort: bind}
		reqs[svc.Name] = d.request(svc.Name, args, netName, ports, loopback, opts.Dir, dockerAuditPort, "/healthz")
	}
	// The proxy container is never crashed: the engine may pick its ports.
	ports := map[int]dockernetwork.PortBinding{dockerAPIPort: apiBind}
	for i, l := range topo.Links {
		if l.From == topology.Client {
			ports[dockerProxyPort0+i] = bind
		}
	}
	reqs[dockerProxyAlias] = d.request(dockerProxyAlias, proxyArgs, netName, ports, false, "", dockerAPIPort, "/version")
	return reqs, nil
}

// imageRequest is the container of svc, an image service of topo: its own
// image (present on the engine: never pulled) with its args and env, the
// placeholders resolved inside the run's network ({addr} 0.0.0.0:8080,
// {audit_addr} 0.0.0.0:8081, {dir} the stores' directory, {link.NAME} the
// Toxiproxy container's proxy of its link), ready when its health check
// passes on the mapped port.
func (d *Docker) imageRequest(topo *topology.Topology, svc topology.Service, proxyURL map[string]string, netName string, bind dockernetwork.PortBinding, pin bool, dir string) (testcontainers.ContainerRequest, error) {
	links := map[string]string{}
	for _, u := range topo.Upstreams(svc.Name) {
		links[u] = proxyURL[topology.Link{From: svc.Name, To: u}.Name()]
	}
	v := topology.Values{Port: dockerServePort, Addr: fmt.Sprintf("0.0.0.0:%d", dockerServePort), Dir: dockerDataDir, Links: links}
	ports := map[int]dockernetwork.PortBinding{dockerServePort: bind}
	if svc.ServesAudit() {
		v.AuditAddr = fmt.Sprintf("0.0.0.0:%d", dockerAuditPort)
		ports[dockerAuditPort] = bind
	}
	x, err := svc.Expand(v)
	if err != nil {
		return testcontainers.ContainerRequest{}, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	req := d.request(svc.Name, x.Args, netName, ports, pin, dir, dockerServePort, svc.Health.HTTP)
	req.Image, req.Env = svc.Image, x.Env
	if svc.Health.HTTP == "" {
		req.WaitingFor = dockerWait{host: d.host, Strategy: wait.ForListeningPort(fmt.Sprintf("%d/tcp", dockerServePort)).
			SkipInternalCheck().WithPollInterval(dockerPoll).WithStartupTimeout(dockerStartTimeout)}
	}
	return req, nil
}

// dockerImagesPresent returns an error naming every image service of topo
// whose image the engine does not have: gameday never pulls one.
func dockerImagesPresent(ctx context.Context, c client.APIClient, topo *topology.Topology) error {
	var errs []error
	for _, svc := range topo.Services {
		if svc.Kind != topology.KindImage {
			continue
		}
		if _, err := c.ImageInspect(ctx, svc.Image); cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("service %s: image %s is not on the engine: build it (docker build -t %s .); gameday never pulls", svc.Name, svc.Image, svc.Image))
		} else if err != nil {
			errs = append(errs, fmt.Errorf("service %s: inspect image %s: %w", svc.Name, svc.Image, err))
		}
	}
	return errors.Join(errs...)
}

// request is one container: name (a service, or dockerProxyAlias) is its
// network alias, ports are mapped as given (with pin, a binding without a
// host port gets a free one chosen at each creation), and it is ready when
// GET health on the mapped healthPort answers 200. `gameday proxy` serves
// its API only once every proxy listens, and has no /healthz of its own:
// Toxiproxy's /version is its health check.
func (d *Docker) request(name string, args []string, netName string, ports map[int]dockernetwork.PortBinding, pin bool, dir string, healthPort int, health string) testcontainers.ContainerRequest {
	exposed := make([]string, 0, len(ports))
	bindings := dockernetwork.PortMap{}
	for port, b := range ports {
		p := dockernetwork.MustParsePort(fmt.Sprintf("%d/tcp", port))
		exposed = append(exposed, p.String())
		bindings[p] = []dockernetwork.PortBinding{b}
	}
	return testcontainers.ContainerRequest{
		Image:          d.image,
		Name:           fmt.Sprintf("gameday-%s-%s", d.runID, name),
		Cmd:            args,
		Labels:         d.labels(name),
		ExposedPorts:   exposed,
		Networks:       []string{netName},
		NetworkAliases: map[string][]string{netName: {name}},
		ConfigModifier: func(c *container.Config) {
			if dir != "" {
				c.User = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()) // files on the host stay the user's
			}
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = bindings
			if pin {
				hc.PortBindings = dockerPinPorts(bindings)
			}
			if dir != "" {
				hc.Binds = append(hc.Binds, dir+":"+dockerDataDir)
			}
		},
		WaitingFor: dockerWait{host: d.host, Strategy: wait.ForHTTP(health).
			WithPort(fmt.Sprintf("%d/tcp", healthPort)).
			WithPollInterval(dockerPoll).
			WithStartupTimeout(dockerStartTimeout)},
	}
}

// run starts every container at once and waits until each is healthy. A
// container that fails takes the tail of its log into the error.
func (d *Docker) run(ctx context.Context, reqs map[string]testcontainers.ContainerRequest) error {
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	for name, req := range reqs {
		wg.Go(func() {
			p, err := dockerConnect(ctx, d.logger)
			if err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("start %s: %w", name, err))
				emu.Unlock()
				return
			}
			d.mu.Lock()
			d.providers[name] = p
			d.mu.Unlock()
			c, err := p.RunContainer(ctx, req)
			// A host port chosen free was taken before the engine bound
			// it: remove the container and try with other ports.
			for try := 1; err != nil && try < dockerPortTries && dockerPortTaken(err); try++ {
				d.logger.Debug("docker: host port taken, trying others", "service", name, "err", err)
				if c != nil {
					if terr := c.Terminate(ctx); terr != nil {
						err = errors.Join(err, terr)
						break
					}
				}
				c, err = p.RunContainer(ctx, req)
			}
			if c != nil {
				d.mu.Lock()
				d.containers[name] = c
				d.mu.Unlock()
			}
			if err != nil {
				err = fmt.Errorf("start %s: %w%s", name, err, dockerLogTail(c))
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dockerPortTries bounds the attempts to start a container whose chosen
// host ports another process took first.
const dockerPortTries = 3

// dockerPortTaken reports whether err is the engine refusing a host port
// that is in use.
func dockerPortTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "address already in use") || strings.Contains(s, "port is already allocated")
}

// dockerPinPorts returns bindings with a free port of the host chosen for
// each binding that has none and an IP of this machine. An engine would
// choose one anew at every start of the container; a port chosen here stays
// with the container. A port that cannot be chosen is left to the engine.
func dockerPinPorts(bindings dockernetwork.PortMap) dockernetwork.PortMap {
	out := dockernetwork.PortMap{}
	for p, bs := range bindings {
		out[p] = slices.Clone(bs)
		for i, b := range out[p] {
			if b.HostPort != "" || !b.HostIP.IsValid() {
				continue
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(b.HostIP.String(), "0"))
			if err != nil {
				continue
			}
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			ln.Close()
			out[p][i].HostPort = port
		}
	}
	return out
}

// dockerMappedPorts returns the host port of each exposed port of c
// ("8081/tcp" -> "32768").
func dockerMappedPorts(ctx context.Context, c testcontainers.Container) (map[string]string, error) {
	ins, err := c.Inspect(ctx)
	if err != nil {
		return nil, fmt.Errorf("inspect container: %w", err)
	}
	out := map[string]string{}
	for p, bs := range ins.NetworkSettings.Ports {
		if len(bs) > 0 {
			out[p.String()] = bs[0].HostPort
		}
	}
	return out, nil
}

// Crash carries out a crash action on service's container (see Crasher):
// kill sends SIGKILL and starts the container again once it is down; stop
// sends SIGTERM and SIGKILL after 5 s; restart is a stop and a start; start
// starts a stopped container. Starting returns once the service answers its
// health check. The container, with its store, is the same before and
// after. It returns an error when the container cannot be crashed or
// started, or when it came back on other host ports than Info gave (an
// engine that is not local picks them anew at each start).
func (d *Docker) Crash(ctx context.Context, service, action string) (err error) {
	d.mu.Lock()
	c, ok := d.containers[service]
	p := d.providers[service]
	want := d.ports[service]
	closed := d.closed
	d.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("%s %s: the environment is closed", action, service)
	case !ok || want == nil:
		return fmt.Errorf("%s %s: no such service (allowed values: %s)", action, service, strings.Join(slices.Sorted(maps.Keys(d.ports)), ", "))
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s %s: %w", action, service, err)
		}
	}()
	began := time.Now()
	stopWait := dockerStopTimeout
	switch action {
	case CrashKill:
		cli := p.Client()
		if _, err := cli.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			return fmt.Errorf("kill container: %w", err)
		}
		w := cli.ContainerWait(ctx, c.GetContainerID(), client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-w.Result:
		case err := <-w.Error:
			return fmt.Errorf("wait for the container to be down: %w", err)
		}
	case CrashStop, CrashRestart:
		if err := c.Stop(ctx, &stopWait); err != nil {
			return err
		}
	case CrashStart:
	default:
		return fmt.Errorf("unknown action (allowed values: %s, %s, %s, %s)", CrashKill, CrashStop, CrashRestart, CrashStart)
	}
	switch action {
	case CrashStop:
		d.logger.Info("service down", "service", service, "action", action)
		return nil
	case CrashKill, CrashRestart:
		d.logger.Info("service down", "service", service, "action", action)
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start again: %w%s", err, dockerLogTail(c))
	}
	got, err := dockerMappedPorts(ctx, c)
	if err != nil {
		return err
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("started again on host ports %v, not %v: crash faults need a local engine", got, want)
	}
	d.logger.Info("service up again", "service", service, "action", action, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// dockerLogTail returns the last lines a container wrote, for an error.
func dockerLogTail(c testcontainers.Container) string {
	if c == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "; its log ends:\n\t" + strings.Join(lines, "\n\t")
}

// dockerAwaitGateway polls the gateway's health through the client->gateway
// proxy until it answers 200: the whole path from the host through
// Toxiproxy to the gateway works.
func dockerAwaitGateway(ctx context.Context, gatewayURL string) error {
	ctx, cancel := context.WithTimeout(ctx, dockerStartTimeout)
	defer cancel()
	hc := mockstore.NewClient(time.Second)
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(dockerPoll)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway through its proxy at %s: not healthy: %w", gatewayURL, last)
		case <-tick.C:
		}
	}
}

// dockerSetup runs once per process: it turns testcontainers' reaper off and
// routes testcontainers' package logger into slog's default at debug level
// (it would print a banner on stderr otherwise).
var dockerSetup = sync.OnceFunc(func() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") != "true" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	tclog.SetDefault(dockerLogger{slog.Default()})
})

// dockerLogger is a testcontainers logger writing to slog at debug level.
type dockerLogger struct{ l *slog.Logger }

func (d dockerLogger) Printf(format string, v ...any) {
	d.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "testcontainers")
}

// dockerConnect returns a provider for an engine that answers, or an error
// wrapping ErrNoDocker.
func dockerConnect(ctx context.Context, logger *slog.Logger) (*testcontainers.DockerProvider, error) {
	dockerSetup()
	if logger == nil {
		logger = slog.Default()
	}
	if err := dockerCheckHostEnv(ctx); err != nil {
		return nil, err
	}
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(dockerLogger{logger}))
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoDocker, err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Health(hctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w (%v)", ErrNoDocker, err)
	}
	if !p.Config().RyukDisabled {
		p.Close()
		return nil, errors.New("testcontainers' reaper (Ryuk) is on, and it needs an image pull: " +
			"set TESTCONTAINERS_RYUK_DISABLED=true before the first use of testcontainers in this process")
	}
	return p, nil
}

// dockerCheckHostEnv holds DOCKER_HOST to what it says, as the docker
// command does: when it is set, the engine there must answer.
// testcontainers would go on to the next engine it finds (the default
// socket), which is not the one the user named.
func dockerCheckHostEnv(ctx context.Context) error {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return nil
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("%w (DOCKER_HOST=%s: %v)", ErrNoDocker, host, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("%w (DOCKER_HOST=%s: %v)", ErrNoDocker, host, err)
	}
	return nil
}

// dockerHost returns the host to reach mapped ports at, and whether it is
// this machine's loopback (then ports are mapped on 127.0.0.1 only). An
// engine on a local socket is taken to share this machine's network, even
// when this process runs in a container (testcontainers would then use the
// default route's gateway); TESTCONTAINERS_HOST_OVERRIDE says otherwise.
func dockerHost(p *testcontainers.DockerProvider) (host string, loopback bool, err error) {
	isLoopback := func(h string) bool {
		ip, err := netip.ParseAddr(h)
		return h == "localhost" || (err == nil && ip.IsLoopback())
	}
	if h := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); h != "" {
		return h, isLoopback(h), nil
	}
	u, err := url.Parse(p.Client().DaemonHost())
	if err != nil {
		return "", false, fmt.Errorf("docker host: %w", err)
	}
	switch u.Scheme {
	case "unix", "npipe":
		return "127.0.0.1", true, nil
	}
	if h := u.Hostname(); h != "" && !isLoopback(h) {
		return h, false, nil
	}
	return "127.0.0.1", true, nil
}

// dockerWait is a wait strategy run against host instead of the host
// testcontainers would pick (see dockerHost).
type dockerWait struct {
	wait.Strategy
	host string
}

func (w dockerWait) WaitUntilReady(ctx context.Context, t wait.StrategyTarget) error {
	return w.Strategy.WaitUntilReady(ctx, dockerWaitTarget{t, w.host})
}

type dockerWaitTarget struct {
	wait.StrategyTarget
	host string
}

func (t dockerWaitTarget) Host(context.Context) (string, error) { return t.host, nil }

// dockerAPIBinding maps Options.ToxiproxyAddr to the Toxiproxy API's port
// binding: "" or a port of 0 lets the engine pick the host port.
func dockerAPIBinding(addr string) (dockernetwork.PortBinding, error) {
	b := dockernetwork.PortBinding{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	if addr == "" {
		return b, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return b, fmt.Errorf("toxiproxy address %q: %w", addr, err)
	}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return b, fmt.Errorf("toxiproxy address %q: want an IP address", addr)
		}
		b.HostIP = ip
	}
	if port != "0" {
		b.HostPort = port
	}
	return b, nil
}

// dockerRunID returns a fresh run ID: the time and a few random bits, so
// that names sort by age and never collide.
func dockerRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b[:])
}

// dockerRemoveLabelled force-removes every container, then every network,
// that carries label ("key=value"), except those spare (if not nil) keeps.
// It returns what it removed and what it could not.
func dockerRemoveLabelled(ctx context.Context, c client.APIClient, label string, spare func(labels map[string]string) bool) (removed []string, err error) {
	if spare == nil {
		spare = func(map[string]string) bool { return false }
	}
	f := client.Filters{}.Add("label", label)
	var errs []error
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers labelled %s: %w", label, err)
	}
	for _, ct := range cs.Items {
		if spare(ct.Labels) {
			continue
		}
		name := strings.TrimPrefix(strings.Join(ct.Names, ","), "/")
		_, err := c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			removed = append(removed, "container "+name)
		case !cerrdefs.IsNotFound(err):
			errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
		}
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list networks labelled %s: %w", label, err))...)
	}
	for _, n := range ns.Items {
		if spare(n.Labels) {
			continue
		}
		_, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		switch {
		case err == nil:
			removed = append(removed, "network "+n.Name)
		case !cerrdefs.IsNotFound(err):
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}

// dockerEnsureImage returns the storefront image for this binary, building
// it (FROM scratch, with testcontainers' FromDockerfile and a generated
// context) only when the engine does not have it yet.
func dockerEnsureImage(ctx context.Context, p *testcontainers.DockerProvider, logger *slog.Logger) (ref string, built bool, err error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(ctx, dockerBuildTimeout)
	defer cancel()
	bin, err := dockerBinary(ctx, logger)
	if err != nil {
		return "", false, err
	}
	ref = dockerImageRepo + ":" + bin.sum[:12]
	if _, err := p.Client().ImageInspect(ctx, ref); err == nil {
		return ref, false, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", false, fmt.Errorf("inspect image %s: %w", ref, err)
	}

	start := time.Now()
	archive, err := dockerContext(bin.path)
	if err != nil {
		return "", false, err
	}
	defer func() {
		archive.Close()
		os.Remove(archive.Name())
	}()
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: archive,
		Repo:           dockerImageRepo,
		Tag:            bin.sum[:12],
		KeepImage:      true,
		BuildLogWriter: io.Discard,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.PullParent = false
			o.Labels = map[string]string{DockerLabel + ".image": "storefront"}
		},
	}}
	got, err := p.BuildImage(ctx, &req)
	if err != nil {
		return "", false, fmt.Errorf("build image %s: %w", ref, err)
	}
	logger.Info("built the storefront image", "image", got, "binary", bin.path, "took", time.Since(start).Round(time.Millisecond))
	dockerPruneImages(ctx, p.Client(), ref, logger)
	return ref, true, nil
}

// dockerPruneImages removes storefront images other than keep that are an
// hour old, so that each change of the binary does not leave 75 MB behind
// for good. An image a container still uses is refused by the engine (no
// force) and kept; the hour spares one another process has just found.
func dockerPruneImages(ctx context.Context, c client.APIClient, keep string, logger *slog.Logger) {
	imgs, err := c.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", dockerImageRepo)})
	if err != nil {
		logger.Warn("list old storefront images", "err", err)
		return
	}
	for _, img := range imgs.Items {
		if slices.Contains(img.RepoTags, keep) || time.Since(time.Unix(img.Created, 0)) < time.Hour {
			continue
		}
		for _, tag := range img.RepoTags {
			if _, err := c.ImageRemove(ctx, tag, client.ImageRemoveOptions{}); err != nil {
				logger.Debug("keep old storefront image", "image", tag, "err", err)
			} else {
				logger.Info("removed old storefront image", "image", tag)
			}
		}
	}
}

// dockerContext writes the build context, a tar of the Dockerfile and the
// image's root (the binary, /data and /tmp), to a temporary file.
func dockerContext(binPath string) (_ *os.File, err error) {
	bin, err := os.Open(binPath)
	if err != nil {
		return nil, fmt.Errorf("open binary: %w", err)
	}
	defer bin.Close()
	st, err := bin.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat binary: %w", err)
	}
	f, err := os.CreateTemp("", "gameday-image-*.tar")
	if err != nil {
		return nil, fmt.Errorf("make build context: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	tw := tar.NewWriter(f)
	mod := time.Unix(0, 0)
	entries := []struct {
		hdr  tar.Header
		body io.Reader
	}{
		{tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}, strings.NewReader(dockerfile)},
		{tar.Header{Name: "rootfs/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "rootfs/data/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
		{tar.Header{Name: "rootfs/tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
		{tar.Header{Name: "rootfs/gameday", Mode: 0o755, Size: st.Size()}, bin},
	}
	for _, e := range entries {
		e.hdr.ModTime = mod
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, fmt.Errorf("write build context: %w", err)
		}
		if e.body != nil {
			if _, err := io.Copy(tw, e.body); err != nil {
				return nil, fmt.Errorf("write build context: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	return f, nil
}

// dockerBin is the binary the image holds and the hash its tag comes from
// (of the Dockerfile and the binary).
type dockerBin struct {
	path string
	sum  string
}

// dockerBinCache keeps the binary of this process's images: it is found
// (or built) and hashed once.
var dockerBinCache struct {
	sync.Mutex
	bin *dockerBin
}

// dockerBinary returns the static gameday binary to put in the image: this
// executable when it is one, else a build by the go command into the
// user's cache directory (once per process; Go's build cache makes it a few
// seconds of linking).
func dockerBinary(ctx context.Context, logger *slog.Logger) (dockerBin, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dockerBinCache.Lock()
	defer dockerBinCache.Unlock()
	if b := dockerBinCache.bin; b != nil {
		if _, err := os.Stat(b.path); err == nil {
			return *b, nil
		}
		dockerBinCache.bin = nil // pruned by another process: build it again
	}
	path, why := dockerSelf()
	if path == "" {
		var err error
		if path, err = dockerBuildBinary(ctx, why, logger); err != nil {
			return dockerBin{}, err
		}
	}
	sum, err := dockerCachedHash(path)
	if err != nil {
		return dockerBin{}, err
	}
	b := &dockerBin{path: path, sum: sum}
	dockerBinCache.bin = b
	return *b, nil
}

// dockerSelf returns this executable's path if it can go in a FROM scratch
// Linux image as the gameday command, or why not.
func dockerSelf() (path, whyNot string) {
	if runtime.GOOS != "linux" {
		return "", "it is built for " + runtime.GOOS
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Path != dockerCommand {
		return "", "it is not the gameday command"
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Sprintf("its path is unknown (%v)", err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		return "", fmt.Sprintf("it cannot be read as ELF (%v)", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", "it is dynamically linked (built with cgo or -race)"
		}
	}
	return exe, ""
}

// dockerBuildBinary builds the gameday command with CGO_ENABLED=0 for Linux
// into the user's cache directory and returns its path, named by its hash
// so that concurrent processes never overwrite a binary another is using.
func dockerBuildBinary(ctx context.Context, why string, logger *slog.Logger) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the storefront image needs a static gameday binary, this executable cannot be it (%s), "+
			"and there is no go command to build one: run a gameday built with CGO_ENABLED=0", why)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "gameday", "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make binary cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "build-*")
	if err != nil {
		return "", fmt.Errorf("make binary cache: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // gone after the rename; left by a failed build otherwise

	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp.Name(), dockerCommand)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build a static gameday for the image (this executable cannot be it: %s): %w\n%s", why, err, out)
	}
	sum, err := dockerHash(tmp.Name())
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "gameday-"+sum[:12])
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("keep built binary: %w", err)
	}
	logger.Info("built a static gameday for the image", "binary", path, "reason", why, "took", time.Since(start).Round(time.Millisecond))
	dockerPruneBinaries(dir, path)
	return path, nil
}

// dockerPruneBinaries removes earlier builds from dir, but only those an
// hour old: a process that built one recently may still be building its
// image from it.
func dockerPruneBinaries(dir, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, "gameday-*"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && p != keep && time.Since(st.ModTime()) > time.Hour {
			_ = os.Remove(p)
		}
	}
}

// dockerCachedHash is dockerHash remembered in the user's cache directory,
// by the file's path, size and modification time: hashing an 80 MB binary
// takes most of a second of every start on a busy machine. Entries a week
// old are removed when one is written.
func dockerCachedHash(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("hash binary: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return dockerHash(path)
	}
	dir := filepath.Join(cache, "gameday", "sums")
	key := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%s", path, st.Size(), st.ModTime().UnixNano(), dockerfile))
	file := filepath.Join(dir, hex.EncodeToString(key[:16]))
	if b, err := os.ReadFile(file); err == nil && len(b) == sha256.Size*2 {
		if _, err := hex.DecodeString(string(b)); err == nil {
			return string(b), nil
		}
	}
	sum, err := dockerHash(path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, nil // a cache that cannot be written only costs time
	}
	if tmp, err := os.CreateTemp(dir, ".tmp-*"); err == nil {
		_, werr := tmp.WriteString(sum)
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
			_ = os.Remove(tmp.Name())
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > 7*24*time.Hour {
			_ = os.Remove(p)
		}
	}
	return sum, nil
}

// dockerHash returns the hex SHA-256 of the Dockerfile and the file at path.
func dockerHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	h.Write([]byte(dockerfile))
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash binary: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var _ Env = (*Docker)(nil)
