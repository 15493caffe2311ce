package env

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/gateway"
)

// TestConfigure: each storefront service gets its own settings out of the
// options and no other's, its upstreams at the URLs of its links' proxies,
// and a store in the directory (but the gateway).
func TestConfigure(t *testing.T) {
	topo := topology.Default()
	opts := Options{Seed: 3, RefundSLA: time.Second, OTPTimeout: 2 * time.Second,
		GatewayTimeouts: gateway.Timeouts{Food: 3 * time.Second}}
	url := func(l topology.Link) string { return "http://proxy/" + l.Proxy() }
	for _, svc := range topo.Services {
		t.Run(svc.Name, func(t *testing.T) {
			b, err := Configure(topo, svc, opts, "/d", url)
			if err != nil {
				t.Fatal(err)
			}
			if b.Shoppers != 100 || b.Seed != 3 || b.Features == nil {
				t.Errorf("shoppers %d, seed %d, features %v", b.Shoppers, b.Seed, b.Features)
			}
			if (b.DBPath == "") != (svc.Name == mockstore.ServiceGateway) || (b.DBPath != "" && b.DBPath != "/d/"+svc.Name+".db") {
				t.Errorf("store %q", b.DBPath)
			}
			for _, up := range BuiltinUpstreams(svc.Name) {
				if got, want := b.Upstreams[up], "http://proxy/"+svc.Name+"_"+up; got != want {
					t.Errorf("upstream %s at %q, want %q", up, got, want)
				}
			}
			want := Settings{}
			switch svc.Name {
			case mockstore.ServiceCheckout:
				want.RefundSLA = time.Second
			case mockstore.ServiceAuth:
				want.OTPTimeout = 2 * time.Second
			case mockstore.ServiceGateway:
				want.Gateway.Food = 3 * time.Second
			}
			if b.Settings != want {
				t.Errorf("settings %+v, want %+v", b.Settings, want)
			}
		})
	}
}

func TestBuiltinValidate(t *testing.T) {
	ok := Builtin{Service: mockstore.ServiceCheckout, Shoppers: 1, Upstreams: map[string]string{"wallet": "http://w"}}
	tests := []struct {
		name string
		edit func(*Builtin)
		want string
	}{
		{"unknown service", func(b *Builtin) { b.Service = "cart" }, `service "cart": allowed values: sessions`},
		{"missing upstream", func(b *Builtin) { b.Upstreams = nil }, "checkout needs --wallet-url"},
		{"extra upstream", func(b *Builtin) { b.Upstreams["auth"] = "http://a" }, "--auth-url: checkout has no such upstream (it takes: --wallet-url)"},
		{"relative URL", func(b *Builtin) { b.Upstreams["wallet"] = "wallet:8080" }, "is not an absolute http(s) URL"},
		{"setting of another service", func(b *Builtin) { b.Settings.Gateway.Food = time.Second }, "--food-timeout is for gateway only"},
		{"negative setting", func(b *Builtin) { b.Settings.PendingBound = -time.Second }, "--pending-bound -1s: must not be negative"},
		{"shoppers", func(b *Builtin) { b.Shoppers = 0 }, "--shoppers 0: want 1 to 100000"},
		{"unknown feature", func(b *Builtin) { b.Features = mockstore.Features{"teleport": true} }, `unknown feature "teleport"`},
		{"gateway store", func(b *Builtin) {
			b.Service, b.DBPath = mockstore.ServiceGateway, "/g.db"
			b.Upstreams = map[string]string{"auth": "http://a", "checkout": "http://c", "wallet": "http://w", "food": "http://f"}
		}, "the gateway keeps no store"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid configuration refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ok
			b.Upstreams = map[string]string{"wallet": "http://w"}
			tt.edit(&b)
			if err := b.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestInprocTopology: the inproc runtime tells the topology's services and
// entries, and refuses what it cannot run with the service's file:line.
func TestInprocTopology(t *testing.T) {
	e, err := StartInproc(t.Context(), Options{Shoppers: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	info := e.Info()
	if info.Topology != topology.Storefront || len(info.Services) != len(mockstore.Services) ||
		info.Entries["client->gateway"] != info.Gateway || info.OTPInbox != info.Services[mockstore.ServiceOTP] {
		t.Errorf("info: topology %q, services %v, entries %v, gateway %q", info.Topology, info.Services, info.Entries, info.Gateway)
	}
	img, err := topology.Parse("img.yaml", []byte("services: [{name: a, kind: image, image: x, health: {tcp: true}}]\nlinks: [{from: client, to: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartInproc(t.Context(), Options{Topology: img}); err == nil || !strings.Contains(err.Error(), "img.yaml:1: service a is an image") {
		t.Errorf("an image in-process: %v", err)
	}
}
