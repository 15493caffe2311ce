package gateway

import (
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

func TestPerSecond(t *testing.T) {
	var p perSecond
	t0 := time.Unix(1_700_000_000, 0)
	p.ask(t0)
	p.add(t0, false)
	p.add(t0.Add(300*time.Millisecond), true)
	p.add(t0.Add(2*time.Second), false)
	p.add(t0.Add(1500*time.Millisecond), true) // a clock that stepped back: the newest second
	got := p.snapshot()
	want := []mockstore.UpstreamSecond{{T: t0.Unix(), Asked: 1, Calls: 2, Retries: 1}, {T: t0.Unix() + 2, Calls: 2, Retries: 1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("seconds %+v, want %+v", got, want)
	}
	got[0].Calls = 99
	if p.snapshot()[0].Calls != 2 {
		t.Error("the snapshot shares memory with the counts")
	}
	for i := range keepSeconds + 5 {
		p.add(t0.Add(time.Duration(10+i)*time.Second), false)
	}
	s := p.snapshot()
	if len(s) != keepSeconds || s[len(s)-1].T != t0.Unix()+int64(10+keepSeconds+4) || s[0].T != s[len(s)-1].T-keepSeconds+1 {
		t.Errorf("after %d more seconds: %d kept, from %d to %d", keepSeconds+5, len(s), s[0].T, s[len(s)-1].T)
	}
}
