package campaign

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

func TestEach(t *testing.T) {
	var mu sync.Mutex
	running, most, calls := 0, 0, 0
	release := make(chan struct{})
	go func() {
		// Let every call through once the first two are both running.
		for {
			mu.Lock()
			r := running
			mu.Unlock()
			if r == 2 {
				close(release)
				return
			}
			runtime.Gosched()
		}
	}()
	Each(context.Background(), 5, 2, func(int) {
		mu.Lock()
		running++
		calls++
		most = max(most, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
	})
	if calls != 5 || most != 2 {
		t.Errorf("%d calls, at most %d at once; want 5, 2", calls, most)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	Each(ctx, 5, 1, func(int) {
		n++
		cancel()
	})
	if n != 1 {
		t.Errorf("%d calls after ctx ended in the first; want 1", n)
	}
}

// TestRun: each result is handed to done as its cell ends and returned in
// index order; once ctx has ended, a cell that ends is cut short and no
// more start.
func TestRun(t *testing.T) {
	var seen []int
	got, err := Run(context.Background(), 4, 2, func(i int) int { return 10 * i }, func(r int) { seen = append(seen, r) })
	if err != nil || !slices.Equal(got, []int{0, 10, 20, 30}) {
		t.Errorf("Run = %v, %v; want [0 10 20 30] and no error", got, err)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []int{0, 10, 20, 30}) {
		t.Errorf("done saw %v", seen)
	}

	ctx, cancel := context.WithCancel(context.Background())
	seen = nil
	got, err = Run(ctx, 5, 1, func(i int) int {
		if i == 1 {
			cancel() // an interrupt while the second cell runs
		}
		return i
	}, func(r int) { seen = append(seen, r) })
	if !errors.Is(err, context.Canceled) || !slices.Equal(got, []int{0}) || !slices.Equal(seen, []int{0}) {
		t.Errorf("interrupted in the second cell: Run = %v, %v, done saw %v; want [0], context.Canceled, [0]", got, err, seen)
	}
}
