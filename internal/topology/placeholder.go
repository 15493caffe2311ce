package topology

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gameday/gameday/internal/yamlpos"
)

// Placeholders a process or image service's command, args, env and dir may
// hold; gameday replaces them before it starts the service.
const (
	PlaceholderPort = "port" // the port the service must listen on (gameday picks it)
	PlaceholderAddr = "addr" // host:port the service must listen on
	PlaceholderDir  = "dir"  // the run directory: stores go there
	// PlaceholderAuditAddr is host:port where a replacement of a storefront
	// service serves the storefront's audit endpoints (mockstore/API.md);
	// a service that names it is taken to serve them there.
	PlaceholderAuditAddr = "audit_addr"
	placeholderLink      = "link."
)

// Values are what the placeholders of one service stand for.
type Values struct {
	Port int    // {port}
	Addr string // {addr}
	Dir  string // {dir}
	// AuditAddr is {audit_addr}.
	AuditAddr string
	// Links maps an upstream service U to the base URL
	// ("http://127.0.0.1:PORT") of the proxy of the link from this service
	// to U: {link.U}.
	Links map[string]string
}

// placeholder matches "{{" (a literal "{") and "{name}"; any other brace is
// text, so that JSON in an environment variable needs no escaping.
var placeholder = regexp.MustCompile(`\{\{|\{[A-Za-z_][A-Za-z0-9_.-]*\}`)

// Expand returns s with every placeholder replaced by its value in v, and
// "{{" by "{". It returns an error naming the first placeholder v has no
// value for (a name that is no placeholder, or a link v does not hold).
func Expand(s string, v Values) (string, error) {
	var b strings.Builder
	var err error
	last := 0
	for _, m := range placeholder.FindAllStringIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		last = m[1]
		tok := s[m[0]:m[1]]
		if tok == "{{" {
			b.WriteByte('{')
			continue
		}
		name := tok[1 : len(tok)-1]
		switch {
		case name == PlaceholderPort:
			b.WriteString(strconv.Itoa(v.Port))
		case name == PlaceholderAddr:
			b.WriteString(v.Addr)
		case name == PlaceholderDir:
			b.WriteString(v.Dir)
		case name == PlaceholderAuditAddr && v.AuditAddr != "":
			b.WriteString(v.AuditAddr)
		case strings.HasPrefix(name, placeholderLink) && v.Links[strings.TrimPrefix(name, placeholderLink)] != "":
			b.WriteString(v.Links[strings.TrimPrefix(name, placeholderLink)])
		default:
			if err == nil {
				err = fmt.Errorf("expand %q: no value for placeholder %s", s, tok)
			}
		}
	}
	b.WriteString(s[last:])
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// Expanded is a process or image service with its placeholders replaced.
type Expanded struct {
	Command string
	Args    []string
	Env     map[string]string
	Dir     string
}

// Expand returns s's command, args, env and dir with the placeholders
// replaced by v's values; see Expand for its error.
func (s Service) Expand(v Values) (Expanded, error) {
	var out Expanded
	var err error
	if out.Command, err = Expand(s.Command, v); err != nil {
		return Expanded{}, err
	}
	if out.Dir, err = Expand(s.Dir, v); err != nil {
		return Expanded{}, err
	}
	for _, a := range s.Args {
		e, err := Expand(a, v)
		if err != nil {
			return Expanded{}, err
		}
		out.Args = append(out.Args, e)
	}
	if len(s.Env) > 0 {
		out.Env = map[string]string{}
	}
	for k, val := range s.Env {
		e, err := Expand(val, v)
		if err != nil {
			return Expanded{}, err
		}
		out.Env[k] = e
	}
	return out, nil
}

// placeholdersOf returns the names of the placeholders in s ("port",
// "link.wallet"), in order.
func placeholdersOf(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllString(s, -1) {
		if m != "{{" {
			out = append(out, m[1:len(m)-1])
		}
	}
	return out
}

// allowedPlaceholders are the placeholders a service with links to
// upstreams may use, as written: "{port}", "{link.wallet}".
func allowedPlaceholders(upstreams []string) []string {
	out := []string{"{" + PlaceholderPort + "}", "{" + PlaceholderAddr + "}", "{" + PlaceholderDir + "}", "{" + PlaceholderAuditAddr + "}"}
	for _, u := range upstreams {
		out = append(out, "{"+placeholderLink+u+"}")
	}
	return out
}

// unknownPlaceholder renders the message for a placeholder a service cannot
// use.
func unknownPlaceholder(service, name string, upstreams []string) string {
	if up, ok := strings.CutPrefix(name, placeholderLink); ok {
		return fmt.Sprintf("placeholder {%s}: service %s has no link to %s (add {from: %s, to: %s} to links) %s",
			name, service, up, service, up, yamlpos.Allowed(allowedPlaceholders(upstreams)))
	}
	return yamlpos.Unknown("placeholder", "{"+name+"}", allowedPlaceholders(upstreams))
}

// ServesAudit reports whether s names {audit_addr} in its command, args,
// env or dir: it serves the storefront's audit endpoints there.
func (s Service) ServesAudit() bool {
	all := append([]string{s.Command, s.Dir}, s.Args...)
	for _, v := range s.Env {
		all = append(all, v)
	}
	for _, v := range all {
		if slices.Contains(placeholdersOf(v), PlaceholderAuditAddr) {
			return true
		}
	}
	return false
}

// ValuesFor returns the values of the placeholders of a service told to
// listen on addr (and to serve audits on auditAddr, "" for none), with its
// run directory dir and its links' proxies (upstream -> base URL). It
// returns an error when addr is not host:port.
func ValuesFor(addr, auditAddr, dir string, links map[string]string) (Values, error) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return Values{}, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return Values{}, fmt.Errorf("address %q: port %q", addr, portText)
	}
	return Values{Port: port, Addr: addr, Dir: dir, AuditAddr: auditAddr, Links: links}, nil
}
