// Package topology is the system under test as data: the services gameday
// starts and the links between them, each link a Toxiproxy proxy through
// which alone a service reaches its upstream. The storefront is the
// built-in topology "storefront" (scenarios/topologies/storefront.yaml); a
// team's own system is a topology file of its own, and a scenario names
// the one it runs on (`topology:`).
//
// A topology file (YAML; its JSON Schema is scenarios/topology.schema.json):
//
//	name: my-shop                      # default: the file's name
//	description: Our wallet in place of the storefront's.
//	services:
//	  - {name: sessions, kind: builtin}  # a storefront service (mockstore.Services)
//	  - name: wallet
//	    kind: process                    # a program on this host (inproc runtime)
//	    command: ./bin/my-wallet         # relative to dir
//	    args: [--listen, "{addr}", --db, "{dir}/wallet.db"]
//	    env: {LOG_LEVEL: info}
//	    dir: ..                          # relative to this file; default: its directory
//	    health: {http: /healthz}         # or {tcp: true}
//	  - name: ledger
//	    kind: image                      # a container (docker runtime only)
//	    image: my-ledger:dev             # a local image, never pulled
//	    args: [--port, "{port}", --wallet, "{link.wallet}"]
//	    health: {tcp: true}
//	links:
//	  - {from: client, to: gateway}      # where the load enters
//	  - {from: gateway, to: wallet}      # one Toxiproxy proxy: "gateway->wallet" in faults
//
// Services: each has a unique name (lower-case letters, digits, '_' and
// '-'; "client" is reserved) and a kind. A builtin service runs the
// storefront service named by builtin (default: its name) and needs exactly
// the links that service calls (the gateway: auth, checkout, wallet, food),
// to services of those names, whatever their kind: that is how a
// replacement sits behind the same proxies. A process needs a command; an
// image needs an image; both need a health check.
//
// Placeholders: gameday picks the ports, so a process or image service
// learns its own address and its upstreams' through placeholders in its
// command, args, env values and dir: {port} (the port it must listen on),
// {addr} (host:port it must listen on), {dir} (the run directory, where
// stores go), {link.NAME} (the base URL, "http://127.0.0.1:PORT", of the
// proxy of its link to service NAME) and {audit_addr} (host:port where a
// replacement of a storefront service serves the storefront's audit
// endpoints, mockstore/API.md; naming it says the service serves them). A placeholder that names no link of
// the service is an error with its file:line and the allowed placeholders;
// "{{" is a literal "{", and a brace not followed by a name is text.
//
// Links: {from, to}; from is client or a service, to a service, each link
// once. At least one link is from client.
//
// Runtimes: CheckRuntime refuses an image service in-process and a process
// service in the docker runtime, with the service's file:line.
package topology
