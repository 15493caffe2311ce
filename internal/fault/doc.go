// Package fault is how gameday breaks the storefront's links: the real
// Toxiproxy server embedded in our binary, our own HTTP-aware toxics
// registered with it, and a client that injects faults through Toxiproxy's
// HTTP API.
//
// The harness always goes through the API (Client), never through the
// server's internals, so the same code drives the embedded server of the
// inproc runtime (Server), the `gameday proxy` container of the docker
// runtime (RunProxy), and any other Toxiproxy 2.x that has our toxics.
// toxiproxy-cli and Toxiproxy's own Go client work against every one of them
// unchanged.
//
// Our toxics (registered by this package's init, so importing it is enough):
//
//   - http_error (downstream): answers a fraction of HTTP/1.1 requests with an
//     error status. Toxiproxy v2.12 has no bidirectional toxics, so it works
//     on responses: the upstream DID receive and process a hit request, and
//     its response is replaced. See HTTPErrorToxic.
//   - http_latency (upstream): delays only the requests whose path starts
//     with a prefix. See HTTPLatencyToxic.
//
// Toxics lists every fault type usable here with its attributes.
package fault
