package fault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// ErrNotFound is wrapped by Client errors when the API says the proxy or
// toxic does not exist (HTTP 404).
var ErrNotFound = errors.New("not found")

// userAgent is what Client sends. Toxiproxy's API refuses any User-Agent
// starting with "Mozilla/" (to keep browsers out); this does not.
const userAgent = "gameday-fault (toxiproxy-client)"

// Client injects faults through a Toxiproxy HTTP API, with Toxiproxy's own
// Go client: the embedded Server's, `gameday proxy`'s in a container, or any
// Toxiproxy 2.x with our toxics.
//
// Every method takes ctx first. Toxiproxy's client cannot be cancelled, so a
// method returns ctx's error as soon as ctx is done while the request itself
// finishes in the background (bounded by that client's 30 s timeout) and may
// still take effect; Reset is the way back to a known state.
type Client struct {
	tp *tpclient.Client
}

// NewClient returns a Client for the API at apiURL ("http://host:port", or
// "host:port").
func NewClient(apiURL string) *Client {
	tp := tpclient.NewClient(apiURL)
	tp.UserAgent = userAgent
	return &Client{tp: tp}
}

// Proxy is a proxy as the API shows it.
type Proxy struct {
	Name     string  `json:"name"`
	Listen   string  `json:"listen"`
	Upstream string  `json:"upstream"`
	Enabled  bool    `json:"enabled"`
	Toxics   []Toxic `json:"toxics"`
}

// call runs fn, giving up waiting when ctx is done.
func call[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, apiError(r.err)
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// apiError makes a 404 from the API match ErrNotFound.
func apiError(err error) error {
	var ae *tpclient.ApiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// AddToxic adds t to the proxy, after checking it with t.Validate. An empty
// t.Name becomes "<type>_<stream>", an empty t.Stream the type's default
// stream, a zero t.Toxicity 1. It returns an error wrapping ErrInvalidToxic
// for a toxic the catalogue refuses, ErrNotFound for an unknown proxy, or
// the API's error (e.g. a toxic of that name already exists).
func (c *Client) AddToxic(ctx context.Context, proxy string, t Toxic) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("add toxic: %w", err)
	}
	t = t.withDefaults()
	attrs := tpclient.Attributes(withAttributeDefaults(t.Type, t.Attributes))
	_, err := call(ctx, func() (*tpclient.Toxic, error) {
		p := c.tp.NewProxy()
		p.Name = proxy
		return p.AddToxic(t.Name, t.Type, t.Stream, t.Toxicity, attrs)
	})
	if err != nil {
		return fmt.Errorf("add toxic %s to %s: %w", t.Name, proxy, err)
	}
	return nil
}

// UpdateToxic changes the toxicity and attributes of the toxic name on the
// proxy; attributes left out keep their values, a zero toxicity means 1. It
// returns an error wrapping ErrNotFound if there is no such proxy or toxic.
func (c *Client) UpdateToxic(ctx context.Context, proxy, name string, toxicity float32, attrs map[string]any) error {
	if toxicity == 0 {
		toxicity = 1
	}
	_, err := call(ctx, func() (*tpclient.Toxic, error) {
		p := c.tp.NewProxy()
		p.Name = proxy
		return p.UpdateToxic(name, toxicity, tpclient.Attributes(attrs))
	})
	if err != nil {
		return fmt.Errorf("update toxic %s on %s: %w", name, proxy, err)
	}
	return nil
}

// RemoveToxic removes the toxic name from the proxy. Open connections carry
// on without it. It returns an error wrapping ErrNotFound if there is no
// such proxy or toxic.
func (c *Client) RemoveToxic(ctx context.Context, proxy, name string) error {
	_, err := call(ctx, func() (struct{}, error) {
		p := c.tp.NewProxy()
		p.Name = proxy
		return struct{}{}, p.RemoveToxic(name)
	})
	if err != nil {
		return fmt.Errorf("remove toxic %s from %s: %w", name, proxy, err)
	}
	return nil
}

// SetEnabled enables or disables the proxy. A disabled proxy is a link that
// is down: it stops listening (connecting is refused) and closes the
// connections through it. Enabling it listens again on the same address.
func (c *Client) SetEnabled(ctx context.Context, proxy string, enabled bool) error {
	_, err := call(ctx, func() (struct{}, error) {
		p, err := c.tp.Proxy(proxy)
		if err != nil {
			return struct{}{}, err
		}
		if enabled {
			return struct{}{}, p.Enable()
		}
		return struct{}{}, p.Disable()
	})
	if err != nil {
		return fmt.Errorf("set %s enabled=%t: %w", proxy, enabled, err)
	}
	return nil
}

// Reset removes every toxic of every proxy and enables every proxy: what
// cleanup calls.
func (c *Client) Reset(ctx context.Context) error {
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, c.tp.ResetState() })
	if err != nil {
		return fmt.Errorf("reset toxiproxy: %w", err)
	}
	return nil
}

// Proxies returns every proxy with its toxics, sorted by name.
func (c *Client) Proxies(ctx context.Context) ([]Proxy, error) {
	m, err := call(ctx, c.tp.Proxies)
	if err != nil {
		return nil, fmt.Errorf("list proxies: %w", err)
	}
	out := make([]Proxy, 0, len(m))
	for _, p := range m {
		out = append(out, proxyFrom(p))
	}
	slices.SortFunc(out, func(a, b Proxy) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Toxics returns the toxics of the proxy, upstream ones first, each stream's
// in chain order. It returns an error wrapping ErrNotFound for an unknown
// proxy.
func (c *Client) Toxics(ctx context.Context, proxy string) ([]Toxic, error) {
	ts, err := call(ctx, func() (tpclient.Toxics, error) {
		p := c.tp.NewProxy()
		p.Name = proxy
		return p.Toxics()
	})
	if err != nil {
		return nil, fmt.Errorf("list toxics of %s: %w", proxy, err)
	}
	return toxicsFrom(ts), nil
}

// CreateProxy creates and starts a proxy through the API (the docker runtime
// has no Server to call AddProxy on). listen "" means 127.0.0.1:0 on the
// API's host; upstream must not be empty. It returns the proxy as created,
// with the address it really listens on.
func (c *Client) CreateProxy(ctx context.Context, name, listen, upstream string) (Proxy, error) {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	p, err := call(ctx, func() (*tpclient.Proxy, error) { return c.tp.CreateProxy(name, listen, upstream) })
	if err != nil {
		return Proxy{}, fmt.Errorf("create proxy %s: %w", name, err)
	}
	return proxyFrom(p), nil
}

// SetUpstream points the proxy at upstream. As Server.SetUpstream, it
// restarts the proxy on the same address, closing open connections.
func (c *Client) SetUpstream(ctx context.Context, proxy, upstream string) error {
	_, err := call(ctx, func() (struct{}, error) {
		p, err := c.tp.Proxy(proxy)
		if err != nil {
			return struct{}{}, err
		}
		p.Upstream = upstream
		return struct{}{}, p.Save()
	})
	if err != nil {
		return fmt.Errorf("set upstream of %s: %w", proxy, err)
	}
	return nil
}

func proxyFrom(p *tpclient.Proxy) Proxy {
	return Proxy{Name: p.Name, Listen: p.Listen, Upstream: p.Upstream, Enabled: p.Enabled, Toxics: toxicsFrom(p.ActiveToxics)}
}

func toxicsFrom(ts tpclient.Toxics) []Toxic {
	out := make([]Toxic, 0, len(ts))
	for _, t := range ts {
		out = append(out, Toxic{Name: t.Name, Type: t.Type, Stream: t.Stream, Toxicity: t.Toxicity, Attributes: t.Attributes})
	}
	return out
}
