package scenario

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// naiveOverlaps is overlaps as it was, comparing every fault with every one
// before it: the reference the sweep must agree with.
func (p *parser) naiveOverlaps(fs []Fault) {
	for i, a := range fs {
		for _, b := range fs[:i] {
			if a.Start >= b.Start+b.Duration || b.Start >= a.Start+a.Duration {
				continue
			}
			switch {
			case a.Kind == FaultMaintenance && b.Kind == FaultMaintenance:
				p.errAt(&yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col}, "maintenance overlaps the maintenance at line %d: the switch is on or off", b.Pos.Line)
			case a.Kind == FaultToxic && b.Kind == FaultToxic && a.Toxic == "down" && b.Toxic == "down" && a.Link == b.Link:
				p.errAt(&yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col}, "down on %s overlaps the down at line %d: a link is down or not", a.Link, b.Pos.Line)
			}
		}
	}
}

// TestOverlapsSameAsNaive holds the sweep of overlaps to the pairwise
// comparison it replaced, on random timelines full of ties, shared
// positions (aliases) and instants.
func TestOverlapsSameAsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := rng.IntN(12)
		fs := make([]Fault, n)
		for i := range fs {
			f := Fault{Pos: Pos{Line: i + 4, Col: 5}, Start: time.Duration(rng.IntN(6)) * time.Second, Duration: time.Duration(rng.IntN(4)) * time.Second}
			if rng.IntN(5) == 0 { // an alias: the position of an earlier fault
				f.Pos.Line = 4 + rng.IntN(i+1)
			}
			switch rng.IntN(4) {
			case 0:
				f.Kind = FaultMaintenance
			case 1:
				f.Kind, f.Toxic, f.Link = FaultToxic, "down", []string{"gateway->auth", "checkout->wallet"}[rng.IntN(2)]
			case 2:
				f.Kind, f.Toxic, f.Link = FaultToxic, "latency", "gateway->auth"
			default:
				f.Kind, f.Service, f.Action = FaultCrash, "wallet", CrashStop
			}
			fs[i] = f
		}
		want, got := &parser{file: "t.yaml"}, &parser{file: "t.yaml"}
		want.naiveOverlaps(fs)
		got.overlaps(fs)
		if !reflect.DeepEqual(got.errs, want.errs) {
			t.Fatalf("round %d, faults %+v:\ngot\n%v\nwant\n%v", round, fs, got.errs, want.errs)
		}
	}
}
