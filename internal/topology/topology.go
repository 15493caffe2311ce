package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/yamlpos"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/scenarios"
)

// Kind is what runs a service.
type Kind string

// Service kinds.
const (
	KindBuiltin Kind = "builtin" // a storefront service (mockstore.Services), run by gameday
	KindProcess Kind = "process" // a program on the host
	KindImage   Kind = "image"   // a container from a local image (docker runtime only)
)

// Kinds returns the service kinds, in the order the documentation lists them.
func Kinds() []string { return []string{string(KindBuiltin), string(KindProcess), string(KindImage)} }

// Client is the pseudo-service links start from where the load enters.
const Client = "client"

// Storefront is the name of the built-in topology gameday's own storefront
// is, and the topology of a scenario that names none.
const Storefront = "storefront"

// BuiltinDir is where the built-in topologies live in the gameday
// repository and in scenarios.FS; a built-in's File is named after it.
const BuiltinDir = "scenarios/topologies"

// Runtimes a topology may be started in (the engine's names).
const (
	RuntimeInproc = "inproc"
	RuntimeDocker = "docker"
)

// Topology is the system under test as data: its services and the links
// between them, each link a Toxiproxy proxy.
type Topology struct {
	Name        string
	Description string
	File        string    // "" for a built-in; else the file it was read from
	Services    []Service // in file order
	Links       []Link    // in file order; From Client is where the load enters
	Builtin     bool      // embedded in the binary (see Builtin)
	Line        int       // where services begins, for errors about the whole
}

// Service is one service of a topology.
type Service struct {
	Name string
	Kind Kind
	// Builtin is, for KindBuiltin, the storefront service that runs (one of
	// mockstore.Services); it defaults to Name.
	Builtin string
	Command string            // process: the program; may hold placeholders
	Args    []string          // process, image: may hold placeholders
	Env     map[string]string // process, image: may hold placeholders
	Dir     string            // process: the working directory, relative to the topology file's
	Image   string            // image: a local image reference, never pulled
	Health  Health            // how gameday knows the service is up
	Line    int               // where it is declared, for errors
}

// Health is a service's health check: an HTTP GET of a path answered with a
// 2xx, or a TCP connection accepted. A builtin service's is gameday's own.
type Health struct {
	HTTP string // a path, like "/healthz"; "" for none
	TCP  bool
}

// String renders the check: "GET /healthz", "tcp".
func (h Health) String() string {
	if h.HTTP != "" {
		return "GET " + h.HTTP
	}
	if h.TCP {
		return "tcp"
	}
	return "none"
}

// Link is one arrow of a topology: From reaches To only through a Toxiproxy
// proxy. From is Client where the load enters.
type Link struct {
	From, To string
	Line     int // where it is declared, for errors
}

// Name is the link's name as scenario files write it: "from->to".
func (l Link) Name() string { return l.From + "->" + l.To }

// Proxy is the name of the link's Toxiproxy proxy: "from_to", as
// mockstore.Links names the storefront's.
func (l Link) Proxy() string { return l.From + "_" + l.To }

// Service returns the service called name.
func (t *Topology) Service(name string) (Service, bool) {
	for _, s := range t.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// ServiceNames returns the names of the services, in file order.
func (t *Topology) ServiceNames() []string {
	out := make([]string, len(t.Services))
	for i, s := range t.Services {
		out[i] = s.Name
	}
	return out
}

// LinkNames returns the names of the links ("from->to"), in file order.
func (t *Topology) LinkNames() []string {
	out := make([]string, len(t.Links))
	for i, l := range t.Links {
		out[i] = l.Name()
	}
	return out
}

// Link returns the link called name ("from->to").
func (t *Topology) Link(name string) (Link, bool) {
	for _, l := range t.Links {
		if l.Name() == name {
			return l, true
		}
	}
	return Link{}, false
}

// Upstreams returns the services the service called name reaches through a
// link of its own, in file order.
func (t *Topology) Upstreams(name string) []string {
	var out []string
	for _, l := range t.Links {
		if l.From == name {
			out = append(out, l.To)
		}
	}
	return out
}

// Entries returns the links from Client, where the load enters.
func (t *Topology) Entries() []Link {
	var out []Link
	for _, l := range t.Links {
		if l.From == Client {
			out = append(out, l)
		}
	}
	return out
}

// IsStorefront reports whether t holds the storefront: every storefront
// service under its own name (builtin or a replacement behind the same
// proxies) and every link of mockstore.Links. The storefront's journeys and
// checks need exactly that.
func (t *Topology) IsStorefront() bool {
	for _, name := range mockstore.Services {
		if _, ok := t.Service(name); !ok {
			return false
		}
	}
	for _, l := range mockstore.Links() {
		if _, ok := t.Link(l.Name); !ok {
			return false
		}
	}
	return true
}

// Replaced returns the storefront services that t runs as something other
// than the builtin service of that name, in file order.
func (t *Topology) Replaced() []string {
	var out []string
	for _, s := range t.Services {
		if slices.Contains(mockstore.Services, s.Name) && (s.Kind != KindBuiltin || s.Builtin != s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// where renders "file:line" for a position of t, for errors; a service
// given by a flag (line 0) is "--service".
func (t *Topology) where(line int) string {
	if line == 0 {
		return "--service"
	}
	f := t.File
	if f == "" {
		f = path.Join(BuiltinDir, t.Name+".yaml")
	}
	return fmt.Sprintf("%s:%d", f, line)
}

// ErrRuntime is wrapped by CheckRuntime's errors.
var ErrRuntime = errors.New("the runtime cannot run this topology")

// runtimeError is one of CheckRuntime's problems: "file:line: what".
type runtimeError string

func (e runtimeError) Error() string        { return string(e) }
func (e runtimeError) Is(target error) bool { return target == ErrRuntime }

// CheckRuntime returns nil when every service of t can run in runtime
// (RuntimeInproc or RuntimeDocker; "" is inproc). An image service needs
// the docker runtime; a process service, a program on this host, needs the
// inproc runtime (the docker runtime's proxies live in a container of their
// own network). The error wraps ErrRuntime and names the service with its
// file:line first.
func CheckRuntime(t *Topology, runtime string) error {
	var errs []error
	for _, s := range t.Services {
		switch {
		case s.Kind == KindImage && (runtime == "" || runtime == RuntimeInproc):
			errs = append(errs, runtimeError(fmt.Sprintf("%s: service %s is an image: images run in the docker runtime only (--runtime docker)",
				t.where(s.Line), s.Name)))
		case s.Kind == KindProcess && runtime == RuntimeDocker:
			errs = append(errs, runtimeError(fmt.Sprintf("%s: service %s is a process on this host: the docker runtime runs builtin and image services only (--runtime inproc)",
				t.where(s.Line), s.Name)))
		}
	}
	return errors.Join(errs...)
}

// Builtins returns the names of the built-in topologies, sorted.
func Builtins() []string {
	ents, err := fs.ReadDir(scenarios.FS, "topologies")
	if err != nil {
		return nil // cannot happen: the embedded directory is there
	}
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			out = append(out, name)
		}
	}
	return out
}

// Builtin returns the built-in topology called name. It returns an error
// naming the built-ins when there is none of that name.
func Builtin(name string) (*Topology, error) {
	if !slices.Contains(Builtins(), name) {
		return nil, errors.New(yamlpos.Unknown("built-in topology", name, Builtins()))
	}
	data, err := fs.ReadFile(scenarios.FS, "topologies/"+name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("read built-in topology: %w", err)
	}
	t, err := Parse(path.Join(BuiltinDir, name+".yaml"), data)
	if err != nil {
		return nil, err
	}
	t.File, t.Builtin = "", true
	return t, nil
}

// Default returns the storefront, the topology of a scenario that names
// none. It panics if the embedded file does not parse, which a test rules
// out.
func Default() *Topology {
	t, err := Builtin(Storefront)
	if err != nil {
		panic(fmt.Sprintf("the built-in storefront topology: %v", err))
	}
	return t
}

// Load reads and parses the topology file at path. A file that cannot be
// read is a wrapped fs error; a file with problems is Errors.
func Load(file string) (*Topology, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Parse(file, data)
}

// Resolve returns the topology a file names with ref: a built-in's name,
// or a path (ending in .yaml or .yml) relative to the directory dir of the
// naming file.
func Resolve(ref, dir string) (*Topology, error) {
	if !strings.HasSuffix(ref, ".yaml") && !strings.HasSuffix(ref, ".yml") {
		return Builtin(ref)
	}
	p := ref
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, ref)
	}
	return Load(p)
}

// FileSuffix ends the name of a topology file that gameday validate tells
// from a scenario by its name alone.
const FileSuffix = ".topology.yaml"

// IsTopology reports whether the file called filename with data is a
// topology rather than a scenario: its name ends in FileSuffix, or it is
// a YAML mapping with a services field (no scenario has one).
func IsTopology(filename string, data []byte) (is bool) {
	if strings.HasSuffix(filename, FileSuffix) {
		return true
	}
	defer func() {
		if recover() != nil {
			is = false // the scenario parser will say what is wrong
		}
	}()
	var doc struct {
		Services yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return false
	}
	return doc.Services.Kind != 0
}
