package env

import (
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// serveArgs returns the arguments of `gameday serve svc` (after "serve")
// for the storefront opts describe, with feats its exact features: listen
// and auditListen are where it listens, db its store ("" for the gateway,
// which keeps none), and to(upstream) the base URL it reaches each of its
// upstreams at (the proxy of its link to it). Both the docker runtime (a
// container per service) and the inproc runtime (a service it may crash)
// start services this way.
func serveArgs(svc string, opts Options, feats mockstore.Features, shoppers int, listen, auditListen, db string, to func(upstream string) string) []string {
	dur := func(flag string, v time.Duration) []string {
		if v == 0 {
			return nil
		}
		return []string{"--" + flag, v.String()}
	}
	args := []string{svc,
		"--listen", listen,
		"--audit-listen", auditListen,
		"--seed", strconv.FormatInt(opts.Seed, 10), "--shoppers", strconv.Itoa(shoppers),
		"--profile", mockstore.ProfileNaive, "--feature", feats.String(), // the exact set, whatever its profile
		"--log-level", "warn",
	}
	switch svc {
	case mockstore.ServiceAuth:
		args = append(args, "--sessions-url", to(mockstore.ServiceSessions), "--otp-url", to(mockstore.ServiceOTP))
		args = append(args, dur("otp-timeout", opts.OTPTimeout)...)
		args = append(args, dur("otp-fallback-after", opts.OTPFallbackAfter)...)
	case mockstore.ServiceCheckout:
		args = append(args, "--wallet-url", to(mockstore.ServiceWallet))
		args = append(args, dur("refund-sla", opts.RefundSLA)...)
		args = append(args, dur("pending-bound", opts.PendingBound)...)
	case mockstore.ServiceGateway:
		args = append(args, "--auth-url", to(mockstore.ServiceAuth), "--checkout-url", to(mockstore.ServiceCheckout),
			"--wallet-url", to(mockstore.ServiceWallet), "--food-url", to(mockstore.ServiceFood))
		args = append(args, dur("auth-timeout", opts.GatewayTimeouts.Auth)...)
		args = append(args, dur("checkout-timeout", opts.GatewayTimeouts.Checkout)...)
		args = append(args, dur("wallet-timeout", opts.GatewayTimeouts.Wallet)...)
		args = append(args, dur("food-timeout", opts.GatewayTimeouts.Food)...)
	}
	if db != "" && svc != mockstore.ServiceGateway {
		args = append(args, "--db", db)
	}
	return args
}

// serveRestartDelay keeps a killed or restarted storefront service down as
// long as the docker runtime's does while its container starts again
// (about a second measured here), so that a crash fault means the same
// outage in both runtimes: a `gameday serve` child alone is back in ~20 ms,
// less than one shopper's request apart.
const serveRestartDelay = time.Second

// serveSpec runs the storefront service svc as `gameday serve svc`, a child
// process, with its store in the run directory (so that it survives a
// crash) and its audit on a second address. serve is the command that runs
// `gameday serve` (nil: this executable's).
func serveSpec(svc string, opts Options, feats mockstore.Features, shoppers int, serve []string) ProcessSpec {
	return ProcessSpec{
		Health:       Health{HTTP: "/healthz"}, // the service's own health answer, on its API
		RestartDelay: serveRestartDelay,
		Audit:        true,
		Command: func(w Wiring) (Command, error) {
			cmd := serve
			if len(cmd) == 0 {
				exe, err := os.Executable()
				if err != nil {
					return Command{}, err
				}
				cmd = []string{exe, "serve"}
			}
			db := ""
			if svc != mockstore.ServiceGateway {
				db = filepath.Join(w.Dir, svc+".db")
			}
			args := serveArgs(svc, opts, feats, shoppers, w.Addr, w.AuditAddr, db, func(up string) string { return w.Links[up] })
			return Command{Path: cmd[0], Args: append(cmd[1:len(cmd):len(cmd)], args...)}, nil
		},
	}
}
