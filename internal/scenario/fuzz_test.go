package scenario

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/yamlpos"
)

// FuzzParse holds that no input makes the parser panic (it runs without
// Parse's recover), and that what it accepts is a scenario the engine can
// run: a timeline within the load, compressible.
func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "testdata/full.yaml"))
	for _, name := range Builtins() {
		src, err := BuiltinSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src.Data)
	}
	f.Add([]byte(base))
	f.Add([]byte(probeBase))
	f.Add([]byte("load: &a {duration: 1s}\nchecks: [*a, *a]\n"))
	f.Add([]byte("load: {duration: 10s, rate: 10/500ms}\nchecks: [{metric: 'http_reqs{status: 5xx , code:x}', window: {from: 1s}, count: '>= 1e3'}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &parser{Reader: yamlpos.Reader{File: "f.yaml"}}
		sc, err := p.run(context.Background(), data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml:") || e.Msg == "" {
					t.Fatalf("malformed problem %q", e.Error())
				}
			}
			return
		}
		if sc == nil {
			t.Fatal("no scenario and no error")
		}
		for _, s := range []*Scenario{sc, sc.Quick()} {
			for _, e := range s.Events() {
				if e.At < 0 || e.At > s.Load.Duration {
					t.Fatalf("event %v outside the load (%s)", e, s.Load.Duration)
				}
			}
			_ = s.Intervals()
		}
	})
}
