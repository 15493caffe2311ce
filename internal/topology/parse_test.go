package topology

import (
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

var update = flag.Bool("update", false, "rewrite scenarios/topology.schema.json")

// foreign is a valid topology of a system that is not the storefront.
const foreign = `name: shop
services:
  - name: api
    kind: process
    command: ./bin/api
    args: [--listen, "{addr}", --db, "{dir}/api.db", --ledger, "{link.ledger}"]
    env: {PORT: "{port}", JSON: '{"a": {}}', BRACE: "{{port}"}
    health: {http: /healthz}
  - name: ledger
    kind: image
    image: ledger:dev
    args: [--port, "{port}"]
    health: {tcp: true}
links:
  - {from: client, to: api}
  - {from: api, to: ledger}
`

func parseOK(tb testing.TB, src string) *Topology {
	tb.Helper()
	tp, err := Parse("t.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, src)
	}
	return tp
}

func TestParseForeign(t *testing.T) {
	tp := parseOK(t, foreign)
	if tp.Name != "shop" || len(tp.Services) != 2 || len(tp.Links) != 2 {
		t.Fatalf("got %+v", tp)
	}
	api, _ := tp.Service("api")
	if api.Kind != KindProcess || api.Command != "./bin/api" || api.Health.HTTP != "/healthz" || api.Line != 3 {
		t.Errorf("api = %+v", api)
	}
	ledger, _ := tp.Service("ledger")
	if ledger.Kind != KindImage || ledger.Image != "ledger:dev" || !ledger.Health.TCP {
		t.Errorf("ledger = %+v", ledger)
	}
	if got := tp.Entries(); len(got) != 1 || got[0].Name() != "client->api" || got[0].Proxy() != "client_api" {
		t.Errorf("entries = %+v", got)
	}
	if tp.IsStorefront() {
		t.Error("a foreign topology taken for the storefront")
	}
	x, err := api.Expand(Values{Port: 8080, Addr: "127.0.0.1:8080", Dir: "/run", Links: map[string]string{"ledger": "http://127.0.0.1:9001"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--listen", "127.0.0.1:8080", "--db", "/run/api.db", "--ledger", "http://127.0.0.1:9001"}
	if !slices.Equal(x.Args, want) || x.Env["PORT"] != "8080" || x.Env["JSON"] != `{"a": {}}` || x.Env["BRACE"] != "{port}" {
		t.Errorf("expanded = %+v", x)
	}
	if _, err := api.Expand(Values{Port: 1}); err == nil || !strings.Contains(err.Error(), "{link.ledger}") {
		t.Errorf("Expand without the link: %v", err)
	}
}

// TestParseErrors: each problem is reported at its line with the allowed
// values, and the file is refused.
func TestParseErrors(t *testing.T) {
	svc := func(s string) string {
		return "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\n" + s + "links:\n  - {from: client, to: api}\n"
	}
	tests := []struct {
		name, src string
		line      int
		want      []string
	}{
		{"unknown kind", svc("  - {name: db, kind: procss}\n"), 3,
			[]string{`unknown service kind "procss": did you mean "process"?`, "(allowed: builtin, process, image)"}},
		{"missing kind", svc("  - {name: db}\n"), 3, []string{"missing field kind", "(allowed: builtin, process, image)"}},
		{"link to no service", "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\nlinks:\n  - {from: client, to: api}\n  - {from: api, to: db}\n", 5,
			[]string{`link to "db": unknown service "db" (allowed: api)`}},
		{"link from no service", "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\nlinks:\n  - {from: client, to: api}\n  - {from: apx, to: api}\n", 5,
			[]string{`unknown service "apx": did you mean "api"? (allowed: client, api)`}},
		{"duplicate service", svc("  - {name: api, kind: process, command: ./api2, health: {tcp: true}}\n"), 3,
			[]string{`duplicate service name "api" (first at line 2)`}},
		{"duplicate link", "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\nlinks:\n  - {from: client, to: api}\n  - {from: client, to: api}\n", 5,
			[]string{"duplicate link client->api (first at line 4)"}},
		{"process without command", svc("  - {name: db, kind: process, health: {tcp: true}}\n"), 3,
			[]string{"service db: a process needs a command"}},
		{"image without image", svc("  - {name: db, kind: image, health: {tcp: true}}\n"), 3,
			[]string{"service db: an image service needs image"}},
		{"process without health", svc("  - {name: db, kind: process, command: ./db}\n"), 3,
			[]string{"service db: missing field health"}},
		{"placeholder names no link", svc("  - name: db\n    kind: process\n    command: ./db\n    args: [--up, \"{link.cache}\"]\n    health: {tcp: true}\n"), 6,
			[]string{"placeholder {link.cache}: service db has no link to cache", "(allowed: {port}, {addr}, {dir}, {audit_addr})"}},
		{"unknown placeholder", svc("  - name: db\n    kind: process\n    command: ./db\n    env: {P: \"{prot}\"}\n    health: {tcp: true}\n"), 6,
			[]string{`env.P: unknown placeholder "{prot}": did you mean "{port}"?`}},
		{"unknown builtin", svc("  - {name: ledger, kind: builtin}\n"), 3,
			[]string{`unknown builtin service "ledger"`, "(allowed: sessions, otp, wallet, auth, checkout, food, gateway)"}},
		{"builtin without its links", svc("  - {name: checkout, kind: builtin}\n"), 3,
			[]string{"builtin service checkout calls wallet: add the link {from: checkout, to: wallet}"}},
		{"builtin with a link it does not call", "services:\n  - {name: wallet, kind: builtin}\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\nlinks:\n  - {from: client, to: wallet}\n  - {from: wallet, to: api}\n", 6,
			[]string{"link wallet->api: builtin service wallet calls only nothing"}},
		{"field of another kind", svc("  - {name: db, kind: builtin, builtin: wallet, command: x}\n"), 3,
			[]string{"service db: a builtin service has no command (allowed: name, kind, builtin)"}},
		{"unknown field", svc("  - {name: db, kind: process, comand: x, health: {tcp: true}}\n"), 3,
			[]string{`unknown field "comand" in a process service: did you mean "command"?`}},
		{"no entry", "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\n  - {name: db, kind: process, command: ./db, health: {tcp: true}}\nlinks:\n  - {from: api, to: db}\n", 5,
			[]string{"no link from client"}},
		{"link to client", "services:\n  - {name: api, kind: process, command: ./api, health: {tcp: true}}\nlinks:\n  - {from: client, to: api}\n  - {from: api, to: client}\n", 5,
			[]string{"link to client"}},
		{"client as a name", svc("  - {name: client, kind: process, command: ./c, health: {tcp: true}}\n"), 3,
			[]string{`service name "client" is reserved`}},
		{"bad name", svc("  - {name: My DB, kind: process, command: ./c, health: {tcp: true}}\n"), 3,
			[]string{`service name "My DB": use at most 40 lower-case letters`}},
		{"both health checks", svc("  - {name: db, kind: process, command: ./db, health: {tcp: true, http: /h}}\n"), 3,
			[]string{"health is one of http or tcp, not both"}},
		{"health path", svc("  - {name: db, kind: process, command: ./db, health: {http: healthz}}\n"), 3,
			[]string{`health.http "healthz": want a path starting with /`}},
		{"no services", "links: []\n", 1, []string{"missing field services"}},
		{"empty", "", 0, []string{"empty file"}},
		{"two documents", svc("") + "---\nname: x\n", 6, []string{"a second YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := Parse("t.yaml", []byte(tt.src))
			if err == nil || tp != nil {
				t.Fatalf("accepted:\n%s", tt.src)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			found := false
			for _, e := range es {
				if e.Line != tt.line {
					continue
				}
				all := true
				for _, w := range tt.want {
					all = all && strings.Contains(e.Msg, w)
				}
				found = found || all
			}
			if !found {
				t.Errorf("want a problem at t.yaml:%d with %q; got:\n%v", tt.line, tt.want, err)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml") {
				t.Errorf("problem without the file: %v", err)
			}
		})
	}
}

// TestStorefront holds the built-in storefront topology to the storefront
// itself: its services are mockstore.Services, builtin under their own
// names, and its links mockstore.Links, in the same order.
func TestStorefront(t *testing.T) {
	tp, err := Builtin(Storefront)
	if err != nil {
		t.Fatal(err)
	}
	if !tp.Builtin || tp.File != "" || tp.Name != Storefront {
		t.Errorf("name %q, file %q, builtin %v", tp.Name, tp.File, tp.Builtin)
	}
	if got := tp.ServiceNames(); !slices.Equal(got, mockstore.Services) {
		t.Errorf("services %v, want mockstore.Services %v", got, mockstore.Services)
	}
	for _, s := range tp.Services {
		if s.Kind != KindBuiltin || s.Builtin != s.Name {
			t.Errorf("service %+v is not the builtin of its name", s)
		}
	}
	var want []string
	for _, l := range mockstore.Links() {
		want = append(want, l.Name+" "+l.Proxy)
	}
	var got []string
	for _, l := range tp.Links {
		got = append(got, l.Name()+" "+l.Proxy())
	}
	if !slices.Equal(got, want) {
		t.Errorf("links %v, want mockstore.Links %v", got, want)
	}
	if !tp.IsStorefront() || len(tp.Replaced()) != 0 {
		t.Errorf("IsStorefront %v, Replaced %v", tp.IsStorefront(), tp.Replaced())
	}
	if err := CheckRuntime(tp, RuntimeInproc); err != nil {
		t.Error(err)
	}
	if err := CheckRuntime(tp, RuntimeDocker); err != nil {
		t.Error(err)
	}
	if _, err := Builtin("storfront"); err == nil || !strings.Contains(err.Error(), `did you mean "storefront"`) {
		t.Errorf("Builtin(storfront): %v", err)
	}
}

// TestReplaceOne: the storefront with its wallet a process of its own is
// still the storefront, with one service replaced.
func TestReplaceOne(t *testing.T) {
	src := strings.Replace(storefrontSource(t), "{name: wallet, kind: builtin}",
		`{name: wallet, kind: process, command: ./w, args: ["{addr}"], health: {http: /healthz}}`, 1)
	tp := parseOK(t, src)
	if !tp.IsStorefront() || !slices.Equal(tp.Replaced(), []string{"wallet"}) {
		t.Errorf("IsStorefront %v, Replaced %v", tp.IsStorefront(), tp.Replaced())
	}
}

func TestCheckRuntime(t *testing.T) {
	tp := parseOK(t, foreign)
	err := CheckRuntime(tp, RuntimeInproc)
	if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), "t.yaml:9: service ledger is an image") {
		t.Errorf("inproc: %v", err)
	}
	err = CheckRuntime(tp, RuntimeDocker)
	if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), "t.yaml:3: service api is a process") {
		t.Errorf("docker: %v", err)
	}
}

func TestExpand(t *testing.T) {
	v := Values{Port: 9, Addr: "h:9", Dir: "/d", Links: map[string]string{"w": "http://x"}}
	tests := []struct{ in, want, err string }{
		{"{port}", "9", ""},
		{"a{addr}b{dir}/{link.w}", "ah:9b/d/http://x", ""},
		{"{{port}} {} {\"k\": 1}", "{port}} {} {\"k\": 1}", ""},
		{"{link.v}", "", "{link.v}"},
		{"{PORT}", "", "{PORT}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in, v)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Expand(%q) = %q, %v; want an error naming %s", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestServiceFlag(t *testing.T) {
	sf := Default()
	tests := []struct {
		flag string
		want string // in the error; "" for none
	}{
		{"wallet=process:./my-wallet --listen {addr} --db {dir}/w.db --audit {audit_addr}", ""},
		{"checkout=process:./co --wallet {link.wallet}", ""},
		{"wallet=image:my-wallet:dev --port {port}", ""},
		{"checkout=process:./co --auth {link.auth}", "placeholder {link.auth}: service checkout has no link to auth"},
		{"wallet=process:./w {prot}", `unknown placeholder "{prot}": did you mean "{port}"?`},
		{"walet=process:./w", `unknown service "walet": did you mean "wallet"?`},
		{"wallet=proces:./w", `unknown service kind "proces": did you mean "process"?`},
		{"wallet=process:", "want NAME=process:COMMAND"},
		{"wallet", "want NAME=process:COMMAND"},
		{"Wallet=process:./w", `name "Wallet"`},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			svc, err := ParseServiceFlag(tt.flag)
			var tp *Topology
			if err == nil {
				tp, err = sf.Replace(svc)
			}
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got %v, want an error with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := tp.Service(svc.Name)
			if got.Kind == KindBuiltin || !tp.IsStorefront() || !slices.Equal(tp.Replaced(), []string{svc.Name}) || !got.Health.TCP {
				t.Errorf("replaced %+v; replaced %v", got, tp.Replaced())
			}
			if orig, _ := sf.Service(svc.Name); orig.Kind != KindBuiltin {
				t.Errorf("Replace changed the original topology")
			}
		})
	}
}
