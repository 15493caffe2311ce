package topology

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/gameday/gameday/scenarios"
)

func storefrontSource(tb testing.TB) string {
	tb.Helper()
	b, err := fs.ReadFile(scenarios.FS, "topologies/"+Storefront+".yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// FuzzParse holds that no input makes the parser panic (it runs without
// Parse's recover), that every problem it reports is in the file, and that
// what it accepts is whole: services with a kind, links between them, an
// entry, and placeholders that expand.
func FuzzParse(f *testing.F) {
	f.Add([]byte(storefrontSource(f)))
	f.Add([]byte(foreign))
	f.Add([]byte("services: &s [{name: a, kind: process, command: x, health: {tcp: true}}]\nlinks: [{from: client, to: a}]\nx: *s\n"))
	f.Add([]byte("services: [{name: a, kind: image, image: i, args: ['{link.b}', '{{', '{x'], health: {http: /}}]\nlinks: [{from: client, to: a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := parse("f.yaml", data)
		if err != nil {
			var es Errors
			if tp != nil || !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T without problems, or with a topology: %v", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml") || e.Msg == "" {
					t.Fatalf("malformed problem %q", e.Error())
				}
			}
			return
		}
		if len(tp.Services) == 0 || len(tp.Entries()) == 0 {
			t.Fatalf("accepted %+v", tp)
		}
		for _, l := range tp.Links {
			if _, ok := tp.Service(l.To); !ok {
				t.Fatalf("link %s to no service", l.Name())
			}
		}
		for _, s := range tp.Services {
			links := map[string]string{}
			for _, u := range tp.Upstreams(s.Name) {
				links[u] = "http://u"
			}
			if _, err := s.Expand(Values{Port: 1, Addr: "a:1", Dir: "/d", Links: links}); err != nil {
				t.Fatalf("accepted a placeholder that does not expand: %v", err)
			}
		}
	})
}
