// Package campaign runs the cells of a campaign a few at a time: many
// scenario runs, each in a fresh environment of its own, each result handed
// back as its cell ends. The resilience matrix (internal/matrix), the
// sensitivity matrix (internal/sensitivity) and `gameday run --parallel`
// are campaigns over this one runner; what a cell does is its caller's.
package campaign

import (
	"context"
	"sync"
)

// Each calls fn(i) for every i in [0, n), at most parallel at a time, each
// in its own goroutine, and returns once every call it started has
// returned. It starts no more calls once ctx has ended; fn learns of ctx
// from its own closure.
func Each(ctx context.Context, n, parallel int, fn func(i int)) {
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// Run runs cell(i) for every i in [0, n), at most parallel at a time (see
// Each), and hands each result to done (when set), from one goroutine at a
// time, as its cell ends. A cell that ends once ctx has ended was cut short:
// it is neither handed to done nor returned. Run returns the results of the
// cells that were not cut short, in index order, and ctx's error when ctx
// ended (the cells it never started are missing too).
func Run[T any](ctx context.Context, n, parallel int, cell func(i int) T, done func(T)) ([]T, error) {
	var mu sync.Mutex
	results := make([]T, n)
	ended := make([]bool, n)
	Each(ctx, n, parallel, func(i int) {
		res := cell(i)
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		results[i], ended[i] = res, true
		if done != nil {
			done(res)
		}
	})
	var out []T
	for i, r := range results {
		if ended[i] {
			out = append(out, r)
		}
	}
	return out, ctx.Err()
}
