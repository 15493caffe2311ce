package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/shopper"
)

// Headline is the scenario `gameday demo` (and `make demo`) runs: the
// replay of the 22 March 2022 outage.
const Headline = "replay-2022-03-22"

// runDemo is `gameday demo`: the headline scenario, in-process unless
// --runtime says otherwise, with the live progress, the verdict table and
// the report of `gameday run`. Its flags are run's.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintf(stderr, "usage: gameday demo [run flags]\n\nRuns the headline scenario %s: 'gameday run %s' with the same flags.\n", Headline, Headline)
			return exitOK
		}
	}
	fmt.Fprintf(stdout, "gameday demo: the headline scenario, %s — the storefront in-process behind Toxiproxy, shoppers from our load engine, the outage's faults on its timeline\n", Headline)
	return runRun(ctx, append(append([]string(nil), args...), Headline), stdout, stderr)
}

// runWalk starts the storefront (in-process unless --runtime says
// otherwise) and walks one shopper through a whole journey, every request
// crossing the proxies, printing each step: a smoke test of a storefront.
func runWalk(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday walk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg envConfig
	cfg.register(fs)
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	feats, err := cfg.Validate()
	if err != nil {
		fmt.Fprintf(stderr, "gameday walk: %v\n", err)
		return exitUsage
	}
	e, err := engine.StartEnv(ctx, cfg.Runtime, cfg.options(feats, stderr))
	if err != nil {
		fmt.Fprintf(stderr, "gameday walk: start the storefront: %v\n", err)
		return exitEnvironment
	}
	defer e.Close()
	info := e.Info()
	fmt.Fprintf(stdout, "storefront up (runtime %s, profile %s); gateway %s, toxiproxy %s\n", info.Runtime, info.Profile, info.Gateway, info.Toxiproxy)

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := journey(ctx, stdout, e); err != nil {
		fmt.Fprintf(stdout, "FAIL  %v\n", err)
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return exitInterrupted
		}
		return exitFail
	}
	fmt.Fprintln(stdout, "PASS  one shopper logged in, filled a cart, topped up and paid, through every proxy")
	return exitOK
}

// journey is one shopper's full checkout, narrated.
func journey(ctx context.Context, w io.Writer, e env.Env) error {
	info := e.Info()
	ds := e.Dataset()
	s := shopper.New(info.Gateway, info.OTPInbox, info.SamplePhone, nil)
	step := func(format string, args ...any) { fmt.Fprintf(w, "  ok  "+format+"\n", args...) }

	ls, err := s.StartLogin(ctx, "")
	if err != nil {
		return fmt.Errorf("login start: %w", err)
	}
	step("login started for %s (code valid %ds)", s.Phone, ls.ExpiresInS)
	msg, err := s.WaitCode(ctx, ls.LoginID, 20*time.Millisecond)
	if err != nil {
		return err
	}
	step("OTP arrived by %s", msg.Channel)
	if _, err := s.Verify(ctx, ls.LoginID, msg.Code); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	step("logged in as %s", s.UserID)
	products, err := s.Products(ctx)
	if err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	step("browsed %d products", len(products))
	p := products[0]
	if err := s.AddItem(ctx, p.ID, 2); err != nil {
		return fmt.Errorf("add to cart: %w", err)
	}
	cart, err := s.Cart(ctx)
	if err != nil {
		return fmt.Errorf("read cart: %w", err)
	}
	step("cart holds 2 × %s, total %d %s", p.Name, cart.Total, mockstore.Currency)
	bal, err := s.Topup(ctx, 100_000, "demo-topup-1")
	if err != nil {
		return fmt.Errorf("top up: %w", err)
	}
	step("topped up 100000, balance %d", bal)
	c := ds.Couriers[0]
	o, err := s.Checkout(ctx, "demo-checkout-1", shopper.CheckoutRequest{
		Address: mockstore.Address{Line: "Jl. Demo 1", Area: c.Areas[0]}, Courier: c.ID, PaymentMethod: mockstore.PaymentWallet,
	})
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	step("order %s placed, status %s, amount %d", o.OrderID, o.Status, o.Amount)
	o, err = s.WaitOrder(ctx, o.OrderID, 20*time.Millisecond)
	if err != nil {
		return err
	}
	if o.Status != mockstore.OrderPaid {
		return fmt.Errorf("order %s ended %s, want paid", o.OrderID, o.Status)
	}
	wal, err := s.Wallet(ctx)
	if err != nil {
		return fmt.Errorf("read wallet: %w", err)
	}
	step("order paid; wallet balance now %d", wal.Balance)
	return nil
}
