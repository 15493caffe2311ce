package topology

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/yamlpos"
	"github.com/gameday/gameday/mockstore"
)

// Error is one problem in a topology file, at a position when one is known.
// It renders "file:line:col: msg".
type Error = yamlpos.Error

// Errors is every problem found in a topology file, in file order. Parse
// returns it as the error; get it back with errors.As. errors.As with an
// *Error target finds the first problem.
type Errors = yamlpos.Errors

// The fields each part of a file may have, in the order the documentation
// lists them.
var (
	topFields     = []string{"name", "description", "services", "links"}
	serviceFields = map[Kind][]string{
		KindBuiltin: {"name", "kind", "builtin"},
		KindProcess: {"name", "kind", "command", "args", "env", "dir", "health"},
		KindImage:   {"name", "kind", "image", "args", "env", "health"},
	}
	allServiceFields = []string{"name", "kind", "builtin", "command", "args", "env", "dir", "image", "health"}
	healthFields     = []string{"http", "tcp"}
	linkFields       = []string{"from", "to"}
)

// maxNameLen bounds a service's name: it names a proxy, a container and a
// network alias.
const maxNameLen = 40

// namePatternText is what a service or topology name may be.
const namePatternText = `^[a-z][a-z0-9_-]*$`

var (
	namePattern = regexp.MustCompile(namePatternText)
	envPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Parse parses and validates the topology in data; filename is used in
// messages, for the default name, and is the directory process services'
// dir is relative to. It returns every problem it finds, as Errors in file
// order, and then no topology.
func Parse(filename string, data []byte) (t *Topology, err error) {
	defer func() {
		// A panic in the YAML library must not take a run down with it.
		if r := recover(); r != nil {
			t, err = nil, Errors{{File: filename, Msg: fmt.Sprintf("invalid YAML: %v", r)}}
		}
	}()
	return parse(filename, data)
}

// parse is Parse without its safety net, so that the fuzz test sees every
// panic.
func parse(filename string, data []byte) (*Topology, error) {
	p := &parser{Reader: yamlpos.Reader{File: filename}}
	t := p.file(data)
	if len(p.Errs) > 0 {
		yamlpos.Sort(p.Errs)
		return nil, Errors(p.Errs)
	}
	return t, nil
}

type parser struct {
	yamlpos.Reader
	texts []placed // values that may hold placeholders, checked once the links are known
}

// placed is a value of a service that may hold placeholders, with its node.
type placed struct {
	service, what string
	node          *yaml.Node
}

const emptyFile = "empty file: a topology needs services and links"

func (p *parser) file(data []byte) *Topology {
	root, _ := p.Document(yaml.NewDecoder(bytes.NewReader(data)), emptyFile, "a file holds one topology", nil)
	if root == nil {
		return nil
	}
	top, ok := p.Mapping(root, "the topology")
	if !ok {
		return nil
	}
	p.OnlyFields(top, "the topology", topFields)
	base := filepath.Base(p.File)
	base = strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".topology")
	t := &Topology{Name: base, File: p.File, Line: root.Line}
	if n, ok := top.Get("name"); ok {
		if v, ok := p.name(n, "name"); ok {
			t.Name = v
		}
	}
	if n, ok := top.Get("description"); ok {
		if s, ok := p.Scalar(n, "description"); ok {
			t.Description = s.Value
		}
	}

	n, ok := top.Get("services")
	if !ok {
		p.ErrAt(root, "missing field services: a topology needs at least one service")
	} else if items, ok := p.Seq(n, "services"); ok {
		if len(items) == 0 {
			p.ErrAt(p.Deref(n), "services is empty: a topology needs at least one service")
		}
		t.Line = p.Deref(n).Line
		seen := map[string]int{}
		for _, it := range items {
			s, ok := p.service(it)
			if !ok {
				continue
			}
			if l, dup := seen[s.Name]; dup {
				p.ErrAt(p.Deref(it), "duplicate service name %q (first at line %d): a name must be unique", s.Name, l)
				continue
			}
			seen[s.Name] = s.Line
			t.Services = append(t.Services, s)
		}
	}

	n, ok = top.Get("links")
	linksOK := false
	if !ok {
		p.ErrAt(root, "missing field links: the load enters through a link {from: client, to: SERVICE}")
	} else if items, ok := p.Seq(n, "links"); ok {
		before := len(p.Errs)
		seen := map[string]int{}
		for _, it := range items {
			l, ok := p.link(it, t)
			if !ok {
				continue
			}
			if first, dup := seen[l.Name()]; dup {
				p.ErrAt(p.Deref(it), "duplicate link %s (first at line %d): one proxy per link", l.Name(), first)
				continue
			}
			seen[l.Name()] = l.Line
			t.Links = append(t.Links, l)
		}
		linksOK = len(p.Errs) == before
		if linksOK && len(t.Entries()) == 0 {
			p.ErrAt(p.Deref(n), "no link from client: the load enters through a link {from: client, to: SERVICE} %s",
				yamlpos.Allowed(t.ServiceNames()))
		}
	}
	if linksOK {
		p.builtinLinks(t)
		p.placeholders(t)
	}
	return t
}

// name reads a service or topology name.
func (p *parser) name(n *yaml.Node, what string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	if !namePattern.MatchString(s.Value) || len(s.Value) > maxNameLen {
		p.ErrAt(s, "%s %q: use at most %d lower-case letters, digits, '_' and '-', starting with a letter (it names proxies and containers)",
			what, s.Value, maxNameLen)
		return "", false
	}
	return s.Value, true
}

// text reads a non-empty string.
func (p *parser) text(n *yaml.Node, what string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	if s.Kind == yaml.ScalarNode && strings.HasPrefix(s.Tag, "!") && !strings.HasPrefix(s.Tag, "!!") {
		p.ErrAt(s, "%s: YAML read %s as a tag: quote the text", what, s.Tag)
		return "", false
	}
	if strings.TrimSpace(s.Value) == "" {
		p.ErrAt(s, "%s: missing value", what)
		return "", false
	}
	return s.Value, true
}

func (p *parser) service(n *yaml.Node) (Service, bool) {
	before := len(p.Errs)
	m, ok := p.Mapping(n, "a service")
	if !ok {
		return Service{}, false
	}
	s := Service{Line: m.Node.Line}
	if v, ok := m.Get("name"); ok {
		s.Name, _ = p.name(v, "service name")
		if s.Name == Client {
			p.ErrAt(p.Deref(v), "service name %q is reserved: links from client are where the load enters", Client)
			s.Name = ""
		}
	} else {
		p.ErrAt(m.Node, "a service needs a name")
	}
	what := "service " + s.Name
	if s.Name == "" {
		what = "a service"
	}
	v, ok := m.Get("kind")
	if !ok {
		p.ErrAt(m.Node, "%s: missing field kind %s", what, yamlpos.Allowed(Kinds()))
		p.OnlyFields(m, what, allServiceFields)
		return Service{}, false
	}
	sv, ok := p.Scalar(v, "kind")
	if !ok {
		return Service{}, false
	}
	if !slices.Contains(Kinds(), sv.Value) {
		p.ErrAt(sv, "%s: %s", what, yamlpos.Unknown("service kind", sv.Value, Kinds()))
		p.OnlyFields(m, what, allServiceFields)
		return Service{}, false
	}
	s.Kind = Kind(sv.Value)
	fields := serviceFields[s.Kind]
	for _, k := range m.Keys {
		if slices.Contains(fields, k) {
			continue
		}
		if slices.Contains(allServiceFields, k) {
			p.ErrAt(m.Key(k), "%s: a %s service has no %s %s", what, s.Kind, k, yamlpos.Allowed(fields))
		} else {
			p.UnknownField(m.Key(k), "a "+string(s.Kind)+" service", fields)
		}
	}
	switch s.Kind {
	case KindBuiltin:
		s.Builtin = s.Name
		if v, ok := m.Get("builtin"); ok {
			if b, ok := p.Scalar(v, "builtin"); ok {
				s.Builtin = b.Value
			}
		}
		if s.Builtin != "" && !slices.Contains(mockstore.Services, s.Builtin) {
			at := m.Node
			if v, ok := m.Get("builtin"); ok {
				at = p.Deref(v)
			} else if v, ok := m.Get("name"); ok {
				at = p.Deref(v)
			}
			p.ErrAt(at, "%s: %s", what, yamlpos.Unknown("builtin service", s.Builtin, mockstore.Services))
		}
	case KindProcess:
		if v, ok := m.Get("command"); ok {
			s.Command, _ = p.text(v, "command")
			p.place(s.Name, "command", v)
		} else {
			p.ErrAt(m.Node, "%s: a process needs a command (the program to run, like ./bin/my-wallet)", what)
		}
		if v, ok := m.Get("dir"); ok {
			s.Dir, _ = p.text(v, "dir")
			p.place(s.Name, "dir", v)
		}
	case KindImage:
		if v, ok := m.Get("image"); ok {
			s.Image, _ = p.text(v, "image")
		} else {
			p.ErrAt(m.Node, "%s: an image service needs image (a local image reference, like my-wallet:dev; never pulled)", what)
		}
	}
	if s.Kind != KindBuiltin {
		if v, ok := m.Get("args"); ok {
			items, _ := p.Seq(v, "args")
			for _, it := range items {
				if a, ok := p.Scalar(it, "an argument"); ok {
					s.Args = append(s.Args, a.Value)
					p.place(s.Name, "args", a)
				}
			}
		}
		if v, ok := m.Get("env"); ok {
			s.Env = p.env(v, s.Name)
		}
		if v, ok := m.Get("health"); ok {
			s.Health = p.health(v, what)
		} else {
			p.ErrAt(m.Node, "%s: missing field health: how gameday knows it is up, {http: /healthz} or {tcp: true}", what)
		}
	}
	return s, len(p.Errs) == before && s.Name != ""
}

func (p *parser) env(n *yaml.Node, service string) map[string]string {
	m, ok := p.Mapping(n, "env")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, k := range m.Keys {
		if !envPattern.MatchString(k) {
			p.ErrAt(m.Key(k), "env: %q is not a variable name (letters, digits and _, not starting with a digit)", k)
			continue
		}
		v, _ := m.Get(k)
		if s, ok := p.Scalar(v, "env."+k); ok {
			out[k] = s.Value
			p.place(service, "env."+k, s)
		}
	}
	return out
}

func (p *parser) health(n *yaml.Node, what string) Health {
	var h Health
	m, ok := p.Mapping(n, "health")
	if !ok {
		return h
	}
	p.OnlyFields(m, "health", healthFields)
	if v, ok := m.Get("http"); ok {
		if s, ok := p.text(v, "health.http"); ok {
			if !strings.HasPrefix(s, "/") {
				p.ErrAt(p.Deref(v), "health.http %q: want a path starting with /, like /healthz", s)
			} else {
				h.HTTP = s
			}
		}
	}
	if v, ok := m.Get("tcp"); ok {
		if b, ok := p.Boolean(v, "health.tcp"); ok {
			if !b {
				p.ErrAt(p.Deref(v), "health.tcp: false checks nothing: write tcp: true, or http: PATH")
			}
			h.TCP = b
		}
	}
	switch {
	case m.Has("http") && m.Has("tcp"):
		p.ErrAt(m.Key("tcp"), "%s: health is one of http or tcp, not both", what)
	case !m.Has("http") && !m.Has("tcp"):
		p.ErrAt(m.Node, "%s: health needs http (a path answered with 2xx) or tcp: true", what)
	}
	return h
}

func (p *parser) link(n *yaml.Node, t *Topology) (Link, bool) {
	before := len(p.Errs)
	m, ok := p.Mapping(n, "a link")
	if !ok {
		return Link{}, false
	}
	p.OnlyFields(m, "a link", linkFields)
	l := Link{Line: m.Node.Line}
	names := t.ServiceNames()
	if v, ok := m.Get("from"); ok {
		if s, ok := p.Scalar(v, "from"); ok {
			if s.Value != Client && !slices.Contains(names, s.Value) {
				p.ErrAt(s, "link from %q: %s", s.Value, yamlpos.Unknown("service", s.Value, append([]string{Client}, names...)))
			}
			l.From = s.Value
		}
	} else {
		p.ErrAt(m.Node, "a link needs from (client or a service) %s", yamlpos.Allowed(append([]string{Client}, names...)))
	}
	if v, ok := m.Get("to"); ok {
		if s, ok := p.Scalar(v, "to"); ok {
			switch {
			case s.Value == Client:
				p.ErrAt(s, "link to client: client is where the load comes from; a link goes to a service %s", yamlpos.Allowed(names))
			case !slices.Contains(names, s.Value):
				p.ErrAt(s, "link to %q: %s", s.Value, yamlpos.Unknown("service", s.Value, names))
			case s.Value == l.From:
				p.ErrAt(s, "link from %s to itself: a link joins two services", s.Value)
			}
			l.To = s.Value
		}
	} else {
		p.ErrAt(m.Node, "a link needs to (a service) %s", yamlpos.Allowed(names))
	}
	return l, len(p.Errs) == before
}

// builtinLinks holds a builtin service's links to what its code calls: a
// link for each upstream of the storefront service it runs (the service
// must exist under that name, builtin or not), and no link to anything else.
func (p *parser) builtinLinks(t *Topology) {
	calls := map[string][]string{}
	for _, l := range mockstore.Links() {
		if l.From != Client {
			calls[l.From] = append(calls[l.From], l.To)
		}
	}
	for _, s := range t.Services {
		if s.Kind != KindBuiltin {
			continue
		}
		want := calls[s.Builtin]
		have := t.Upstreams(s.Name)
		for _, u := range want {
			if !slices.Contains(have, u) {
				p.Errs = append(p.Errs, &Error{File: p.File, Line: s.Line, Msg: fmt.Sprintf(
					"builtin service %s calls %s: add the link {from: %s, to: %s} (and a service named %s)", s.Name, u, s.Name, u, u)})
			}
		}
		for _, l := range t.Links {
			if l.From == s.Name && !slices.Contains(want, l.To) {
				p.Errs = append(p.Errs, &Error{File: p.File, Line: l.Line, Msg: fmt.Sprintf(
					"link %s: builtin service %s calls only %s", l.Name(), s.Name, orNothing(want))})
			}
		}
	}
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

// place keeps n, a value of service that may hold placeholders.
func (p *parser) place(service, what string, n *yaml.Node) {
	if n = p.Deref(n); n != nil && n.Kind == yaml.ScalarNode {
		p.texts = append(p.texts, placed{service: service, what: what, node: n})
	}
}

// placeholders reports every placeholder a service cannot use: a name that
// is no placeholder, or {link.X} without a link from the service to X.
func (p *parser) placeholders(t *Topology) {
	for _, v := range p.texts {
		if _, ok := t.Service(v.service); !ok {
			continue // a service with problems of its own
		}
		ups := t.Upstreams(v.service)
		for _, name := range placeholdersOf(v.node.Value) {
			switch {
			case name == PlaceholderPort, name == PlaceholderAddr, name == PlaceholderDir, name == PlaceholderAuditAddr:
			case strings.HasPrefix(name, placeholderLink) && slices.Contains(ups, strings.TrimPrefix(name, placeholderLink)):
			default:
				p.ErrAt(v.node, "service %s: %s: %s", v.service, v.what, unknownPlaceholder(v.service, name, ups))
			}
		}
	}
}
