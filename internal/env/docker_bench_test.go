package env

import (
	"context"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/moby/moby/client"
)

// BenchmarkDockerUp measures the time from start to ready (every service
// healthy and the gateway answering through its proxy) of each runtime:
//
//   - inproc: StartInproc;
//   - docker/image-built: StartDocker with the storefront image present;
//   - docker/from-nothing: StartDocker after the image was removed, so the
//     time includes building it (FROM scratch, the binary copied in); it
//     uses an image repository of its own, so that no other process finds
//     its image removed.
//
// Closing is not timed. The docker cases skip when no engine answers. The
// static binary the image holds is found (or, for a test binary, built by
// the go command) once before any timing: a gameday binary built with
// CGO_ENABLED=0 never builds anything.
func BenchmarkDockerUp(b *testing.B) {
	ctx := context.Background()
	opts := Options{Seed: 1, Shoppers: 100}
	b.Run("inproc", func(b *testing.B) {
		for range b.N {
			e, err := StartInproc(ctx, opts)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	for _, fromNothing := range []bool{false, true} {
		name := "docker/image-built"
		if fromNothing {
			name = "docker/from-nothing"
		}
		b.Run(name, func(b *testing.B) {
			b.StopTimer()
			p := dockerTestConnect(b)
			if fromNothing {
				dockerTestOwnImage(b, p.Client())
			}
			ref, _, err := dockerEnsureImage(ctx, p, nil)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				if fromNothing {
					if _, err := p.Client().ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				d, err := StartDocker(ctx, opts)
				b.StopTimer()
				if d != nil {
					if cerr := d.Close(); cerr != nil {
						b.Error(cerr)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChildReady measures the time from start to ready of the inproc
// runtime with one storefront service, the wallet, run as a child process
// (`gameday serve wallet`, as when a scenario crashes it): StartInproc
// returns once the child answers its health check. The gameday binary the
// child runs is found (or built) once before any timing, as for the docker
// image. Closing is not timed.
func BenchmarkChildReady(b *testing.B) {
	ctx := context.Background()
	bin, err := dockerBinary(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Seed: 1, Shoppers: 100, Crashable: []string{mockstore.ServiceWallet}, Serve: []string{bin.path, "serve"}}
	for range b.N {
		e, err := StartInproc(ctx, opts)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
