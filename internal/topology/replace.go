package topology

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gameday/gameday/internal/yamlpos"
)

// ParseServiceFlag reads the value of a --service flag, a service that
// replaces the one of its name: "NAME=process:COMMAND [ARG...]" (a program
// on this host) or "NAME=image:REF [ARG...]" (a local image, docker
// runtime). Words are split at spaces, with no quoting, and may hold
// placeholders ({addr}, {port}, {dir}, {link.NAME}, {audit_addr}); its
// health check is a TCP connection to its address. Anything more (an
// environment, a directory, an HTTP health check) is a topology file's.
func ParseServiceFlag(v string) (Service, error) {
	name, spec, ok := strings.Cut(v, "=")
	kind, rest, ok2 := strings.Cut(spec, ":")
	words := strings.Fields(rest)
	if !ok || !ok2 || len(words) == 0 {
		return Service{}, fmt.Errorf("--service %q: want NAME=process:COMMAND [ARG...] or NAME=image:REF [ARG...], like wallet=process:./my-wallet --listen {addr}", v)
	}
	if !namePattern.MatchString(name) || len(name) > maxNameLen {
		return Service{}, fmt.Errorf("--service %q: name %q: use lower-case letters, digits, '_' and '-', starting with a letter", v, name)
	}
	s := Service{Name: name, Kind: Kind(kind), Args: words[1:], Health: Health{TCP: true}}
	switch s.Kind {
	case KindProcess:
		s.Command = words[0]
	case KindImage:
		s.Image = words[0]
	default:
		return Service{}, fmt.Errorf("--service %q: %s", v, yamlpos.Unknown("service kind", kind, []string{string(KindProcess), string(KindImage)}))
	}
	return s, nil
}

// Replace returns a copy of t with the service of svc's name replaced by
// svc, behind the same links (so the same proxies, under the same names).
// It returns an error naming the services of t when there is none of that
// name, and one for every placeholder of svc that names no link of it.
func (t *Topology) Replace(svc Service) (*Topology, error) {
	i := slices.IndexFunc(t.Services, func(s Service) bool { return s.Name == svc.Name })
	if i < 0 {
		return nil, fmt.Errorf("--service %s: %s", svc.Name, yamlpos.Unknown("service", svc.Name, t.ServiceNames()))
	}
	ups := t.Upstreams(svc.Name)
	var errs []error
	for _, v := range append([]string{svc.Command, svc.Dir}, svc.Args...) {
		for _, name := range placeholdersOf(v) {
			switch {
			case name == PlaceholderPort, name == PlaceholderAddr, name == PlaceholderDir, name == PlaceholderAuditAddr:
			case strings.HasPrefix(name, placeholderLink) && slices.Contains(ups, strings.TrimPrefix(name, placeholderLink)):
			default:
				errs = append(errs, fmt.Errorf("--service %s: %s", svc.Name, unknownPlaceholder(svc.Name, name, ups)))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := *t
	out.Services = slices.Clone(t.Services)
	svc.Line = 0 // from a flag, not the file
	out.Services[i] = svc
	return &out, nil
}
